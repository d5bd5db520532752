/*
 * npy.c — NumPy .npy files: read into a float32 tensor (versions 1.0, 2.0,
 * 3.0; bool, integer and float dtypes of either byte order; C or Fortran
 * order), and written from one (version 1.0, little-endian, C order).
 */
/* The hostile-input rules of idx.c: the preamble and the header's length
 * are checked against the file's size before the header is allocated, and
 * the shape's promise (count x item size) before the data's floats are;
 * data is converted in chunks straight into the tensor, never held twice.
 * The header is a Python dict literal, parsed strictly: the three keys of
 * the format ('descr', 'fortran_order', 'shape'), once each. Writes go to
 * DIR/.BASE.tmp-XXXXXX, synced, then renamed over the path (as
 * io/checkpoint.c does). */
#include "data/data.h"
#include "io/atomic.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define NPY_MAX_HEADER ((uint32_t)1 << 20)
#define NPY_MAX_DIMS 32

typedef struct npy_dtype {
    char kind;  /* 'f', 'i', 'u', 'b' */
    int size;   /* bytes */
    bool big;   /* big-endian */
} npy_dtype;

typedef struct npy_header {
    npy_dtype dt;
    char descr[40];
    bool fortran;
    int rank;
    int64_t dim[NPY_MAX_DIMS];
    int have_descr, have_fortran, have_shape;
} npy_header;

static bool host_big_endian(void)
{
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 0;
}

/* ---- the header's dict literal ---- */

typedef struct lexer {
    const char *s, *p, *end;
    const char *path;
    gf_error *err;
} lexer;

static gf_status bad(lexer *l, const char *what)
{
    return gf__error_set(l->err, GF_ERR_FORMAT, "%s: malformed .npy header at byte %lld: %s",
                         l->path, (long long)(l->p - l->s), what);
}

static void ws(lexer *l)
{
    while (l->p < l->end && (*l->p == ' ' || *l->p == '\t' || *l->p == '\n' || *l->p == '\r'))
        l->p++;
}

static bool eat(lexer *l, char ch)
{
    ws(l);
    if (l->p < l->end && *l->p == ch) {
        l->p++;
        return true;
    }
    return false;
}

/* A quoted string ('...' or "...", no escapes) into out. */
static gf_status string(lexer *l, char *out, size_t cap)
{
    ws(l);
    if (l->p >= l->end || (*l->p != '\'' && *l->p != '"')) return bad(l, "expected a quoted string");
    char q = *l->p++;
    size_t n = 0;
    while (l->p < l->end && *l->p != q) {
        if (*l->p == '\\') return bad(l, "escapes in strings are not supported");
        if (n + 1 >= cap) return bad(l, "string too long");
        out[n++] = *l->p++;
    }
    if (l->p >= l->end) return bad(l, "string not closed");
    l->p++;
    out[n] = '\0';
    return GF_OK;
}

static gf_status shape_tuple(lexer *l, npy_header *h)
{
    if (!eat(l, '(')) return bad(l, "expected '(' starting the shape");
    h->rank = 0;
    for (;;) {
        if (eat(l, ')')) return GF_OK;
        ws(l);
        if (l->p >= l->end || *l->p < '0' || *l->p > '9')
            return bad(l, "expected a dimension (a non-negative integer)");
        int64_t d = 0;
        while (l->p < l->end && *l->p >= '0' && *l->p <= '9') {
            if (d > (INT64_MAX - 9) / 10) return bad(l, "dimension too large");
            d = d * 10 + (*l->p++ - '0');
        }
        if (l->p < l->end && (*l->p == 'L' || *l->p == 'l')) l->p++; /* Python 2's 3L */
        if (h->rank >= NPY_MAX_DIMS) return bad(l, "more than 32 dimensions");
        h->dim[h->rank++] = d;
        if (eat(l, ',')) continue;
        if (eat(l, ')')) return GF_OK;
        return bad(l, "expected ',' or ')' in the shape");
    }
}

static gf_status parse_header(lexer *l, npy_header *h)
{
    memset(h, 0, sizeof *h);
    if (!eat(l, '{')) return bad(l, "expected '{'");
    for (;;) {
        if (eat(l, '}')) break;
        char key[32];
        gf_status st = string(l, key, sizeof key);
        if (st != GF_OK) return st;
        if (!eat(l, ':')) return bad(l, "expected ':' after a key");
        ws(l);
        if (!strcmp(key, "descr")) {
            if (h->have_descr++) return bad(l, "'descr' given twice");
            if (l->p < l->end && (*l->p == '[' || *l->p == '('))
                return gf__error_set(l->err, GF_ERR_FORMAT,
                                     "%s: a structured dtype (a list of fields) is not supported: "
                                     "save one plain array per file", l->path);
            if ((st = string(l, h->descr, sizeof h->descr)) != GF_OK) return st;
        } else if (!strcmp(key, "fortran_order")) {
            if (h->have_fortran++) return bad(l, "'fortran_order' given twice");
            if (l->end - l->p >= 4 && !memcmp(l->p, "True", 4)) {
                h->fortran = true;
                l->p += 4;
            } else if (l->end - l->p >= 5 && !memcmp(l->p, "False", 5)) {
                l->p += 5;
            } else {
                return bad(l, "fortran_order must be True or False");
            }
        } else if (!strcmp(key, "shape")) {
            if (h->have_shape++) return bad(l, "'shape' given twice");
            if ((st = shape_tuple(l, h)) != GF_OK) return st;
        } else {
            return bad(l, "unknown key (the keys are 'descr', 'fortran_order' and 'shape')");
        }
        if (eat(l, ',')) continue;
        if (eat(l, '}')) break;
        return bad(l, "expected ',' or '}'");
    }
    ws(l);
    if (l->p != l->end) return bad(l, "text after the closing '}'");
    if (!h->have_descr || !h->have_fortran || !h->have_shape)
        return gf__error_set(l->err, GF_ERR_FORMAT, "%s: the .npy header has no '%s'", l->path,
                             !h->have_descr ? "descr" : !h->have_fortran ? "fortran_order" : "shape");
    return GF_OK;
}

static gf_status parse_descr(const char *path, const char *descr, npy_dtype *dt, gf_error *err)
{
    char order = descr[0];
    const char *k = descr + 1;
    if (order != '<' && order != '>' && order != '|' && order != '=') {
        order = '=';
        k = descr;
    }
    char kind = k[0];
    int size = 0;
    if (k[0] && k[1] >= '1' && k[1] <= '8' && k[2] == '\0') size = k[1] - '0';
    bool ok = (kind == 'f' && (size == 4 || size == 8)) ||
              ((kind == 'i' || kind == 'u') && (size == 1 || size == 2 || size == 4 || size == 8)) ||
              (kind == 'b' && size == 1);
    if (!ok)
        return gf__error_set(err, GF_ERR_FORMAT,
                             "%s: dtype '%s' is not supported: f4, f8, i1, i2, i4, i8, u1, u2, u4, "
                             "u8 and b1 are", path, descr);
    if (order == '|' && size > 1)
        return gf__error_set(err, GF_ERR_FORMAT,
                             "%s: dtype '%s' has no byte order, but its items are %d bytes", path,
                             descr, size);
    dt->kind = kind;
    dt->size = size;
    dt->big = order == '>' || (order == '=' && host_big_endian());
    return GF_OK;
}

static float convert(const unsigned char *p, npy_dtype t)
{
    uint64_t u = 0;
    if (t.big)
        for (int i = 0; i < t.size; i++) u = u << 8 | p[i];
    else
        for (int i = t.size - 1; i >= 0; i--) u = u << 8 | p[i];
    switch (t.kind) {
    case 'f':
        if (t.size == 4) {
            uint32_t b = (uint32_t)u;
            float f;
            memcpy(&f, &b, 4);
            return f;
        } else {
            double d;
            memcpy(&d, &u, 8);
            return (float)d;
        }
    case 'i':
        switch (t.size) {
        case 1: return (float)(int8_t)(uint8_t)u;
        case 2: return (float)(int16_t)(uint16_t)u;
        case 4: return (float)(int32_t)(uint32_t)u;
        default: return (float)(int64_t)u;
        }
    case 'u': return (float)u;
    default: return u ? 1.0f : 0.0f; /* bool */
    }
}

static const char *shape_text(const npy_header *h, char *out, size_t cap)
{
    size_t k = (size_t)snprintf(out, cap, "(");
    for (int i = 0; i < h->rank && k < cap; i++)
        k += (size_t)snprintf(out + k, cap - k, "%s%lld", i ? ", " : "", (long long)h->dim[i]);
    if (k < cap) snprintf(out + k, cap - k, h->rank == 1 ? ",)" : ")");
    return out;
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Reads the data (count items, file order) into out (C order). */
static gf_status read_data(gf__src *s, const npy_header *h, int64_t count, float *out)
{
    if (count == 0) return GF_OK; /* a zero dimension: the others' product may not fit in 64 bits */
    unsigned char chunk[GF_SRC_CHUNK];
    int64_t per = GF_SRC_CHUNK / h->dt.size, done = 0;
    int64_t idx[NPY_MAX_DIMS] = { 0 }, stride[NPY_MAX_DIMS];
    bool fortran = h->fortran && h->rank > 1;
    int64_t acc = 1;
    for (int i = h->rank - 1; i >= 0; i--) { /* each dimension >= 1, their product count */
        stride[i] = acc;
        acc *= h->dim[i];
    }
    int64_t at = 0; /* C offset of the current Fortran-order item */
    while (done < count) {
        int64_t n = count - done < per ? count - done : per;
        int64_t r = gf__src_read(s, chunk, n * h->dt.size);
        if (r < 0) return s->st;
        if (r < n * h->dt.size)
            return gf__error_set(s->err, GF_ERR_IO, "%s: file shrank while being read", s->path);
        for (int64_t k = 0; k < n; k++) {
            float v = convert(chunk + k * h->dt.size, h->dt);
            if (!fortran) {
                out[done + k] = v;
                continue;
            }
            out[at] = v;
            for (int i = 0; i < h->rank; i++) { /* the first index moves fastest */
                at += stride[i];
                if (++idx[i] < h->dim[i]) break;
                at -= stride[i] * h->dim[i];
                idx[i] = 0;
            }
        }
        done += n;
    }
    return GF_OK;
}

gf_status gf_npy_read(const char *path, gf_tensor **out, gf_error *err)
{
    if (!out) return gf__error_set(err, GF_ERR_ARG, "gf_npy_read: out is NULL");
    *out = NULL;
    if (!path) return gf__error_set(err, GF_ERR_ARG, "gf_npy_read: path is NULL");
    gf__src s;
    gf_status st = gf__src_open(&s, path, ".npy file", err);
    if (st != GF_OK) return st;
    char *text = NULL;
    float *data = NULL;
    gf_tensor *t = NULL;
    unsigned char pre[12];
    if (s.gz) {
        st = gf__error_set(err, GF_ERR_FORMAT,
                           "%s: a gzip-compressed file, not a .npy file: decompress it first", path);
        goto done;
    }
    int64_t r = gf__src_read(&s, pre, 10);
    if (r < 0) {
        st = s.st;
        goto done;
    }
    if (r < 6 || memcmp(pre, "\x93NUMPY", 6) != 0) {
        st = r >= 6 || memcmp(pre, "\x93NUMPY", (size_t)r) != 0
                 ? gf__error_set(err, GF_ERR_FORMAT,
                                 "%s: not a .npy file: bad magic (a .npy file starts with "
                                 "\\x93NUMPY)", path)
                 : gf__error_set(err, GF_ERR_FORMAT,
                                 "%s: truncated: %lld bytes, shorter than the .npy magic", path,
                                 (long long)r);
        goto done;
    }
    if (r < 8) {
        st = gf__error_set(err, GF_ERR_FORMAT, "%s: truncated: the file ends in the version", path);
        goto done;
    }
    int major = pre[6], minor = pre[7];
    if ((major < 1 || major > 3) || minor != 0) {
        st = gf__error_set(err, GF_ERR_FORMAT,
                           "%s: unsupported .npy format version %d.%d (1.0, 2.0 and 3.0 are)",
                           path, major, minor);
        goto done;
    }
    int lenbytes = major == 1 ? 2 : 4;
    if (r == 10 && lenbytes == 4) {
        int64_t r2 = gf__src_read(&s, pre + 10, 2);
        if (r2 < 0) {
            st = s.st;
            goto done;
        }
        r += r2;
    }
    int64_t pre_len = 8 + lenbytes;
    if (r < pre_len) {
        st = gf__error_set(err, GF_ERR_FORMAT,
                           "%s: truncated: the file ends in the header length (%lld bytes)", path,
                           (long long)r);
        goto done;
    }
    uint32_t hlen = lenbytes == 2 ? (uint32_t)(pre[8] | pre[9] << 8) : le32(pre + 8);
    if ((int64_t)hlen > s.file_size - pre_len) {
        st = gf__error_set(err, GF_ERR_FORMAT,
                           "%s: truncated: the header is %lu bytes but the file holds %lld after "
                           "the preamble", path, (unsigned long)hlen,
                           (long long)(s.file_size - pre_len));
        goto done;
    }
    if (hlen > NPY_MAX_HEADER) {
        st = gf__error_set(err, GF_ERR_FORMAT,
                           "%s: a header of %lu bytes, over the limit of %lu", path,
                           (unsigned long)hlen, (unsigned long)NPY_MAX_HEADER);
        goto done;
    }
    text = gf__malloc(hlen + 1);
    if (!text) {
        st = gf__error_set(err, GF_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    r = gf__src_read(&s, text, hlen);
    if (r != (int64_t)hlen) {
        st = r < 0 ? s.st : gf__error_set(err, GF_ERR_IO, "%s: file shrank while being read", path);
        goto done;
    }
    text[hlen] = '\0';
    npy_header h;
    lexer l = { text, text, text + hlen, path, err };
    if ((st = parse_header(&l, &h)) != GF_OK) goto done;
    if ((st = parse_descr(path, h.descr, &h.dt, err)) != GF_OK) goto done;
    char shape[128];
    shape_text(&h, shape, sizeof shape);
    if (h.rank > GF_MAX_RANK) {
        st = gf__error_set(err, GF_ERR_FORMAT,
                           "%s: shape %s has rank %d: gradflow's tensors have rank 0..%d", path,
                           shape, h.rank, GF_MAX_RANK);
        goto done;
    }
    int64_t count = 1;
    bool overflow = false;
    for (int i = 0; i < h.rank; i++) {
        if (h.dim[i] && count > INT64_MAX / 8 / h.dim[i]) overflow = true;
        else count *= h.dim[i];
    }
    gf_shape gs = gf_shape_from(h.rank, h.dim);
    if (overflow || gf__shape_count_checked(gs) < 0) {
        st = gf__error_set(err, GF_ERR_FORMAT, "%s: shape %s is too many elements for a tensor",
                           path, shape);
        goto done;
    }
    int64_t promised = count * h.dt.size, held = s.file_size - pre_len - hlen;
    if (held < promised) {
        st = gf__error_set(err, GF_ERR_FORMAT,
                           "%s: truncated: shape %s of '%s' promises %lld bytes of data, the "
                           "file holds %lld", path, shape, h.descr, (long long)promised,
                           (long long)held);
        goto done;
    }
    if (held > promised) {
        st = gf__error_set(err, GF_ERR_FORMAT,
                           "%s: trailing bytes: %lld bytes after the %lld bytes of data that "
                           "shape %s of '%s' promises", path, (long long)(held - promised),
                           (long long)promised, shape, h.descr);
        goto done;
    }
    t = gf__calloc(1, sizeof *t);
    data = gf__malloc((size_t)(count ? count : 1) * sizeof(float));
    if (!t || !data) {
        st = gf__error_set(err, GF_ERR_NOMEM, "%s: out of memory for shape %s", path, shape);
        goto done;
    }
    if ((st = read_data(&s, &h, count, data)) != GF_OK) goto done;
    t->dtype = GF_F32;
    t->shape = gs;
    t->data = data;
    t->capacity = count ? count : 1;
    data = NULL;
    *out = t;
    t = NULL;
done:
    gf__src_close(&s);
    gf__free(text);
    gf__free(data);
    gf__free(t);
    return st;
}

/* ---- writing ---- */

static void put_item(unsigned char *p, float v, gf_dtype dt)
{
    uint32_t u;
    if (dt == GF_BOOL) {
        p[0] = v != 0.0f;
        return;
    }
    if (dt == GF_I32) {
        int32_t i = !(v == v) ? 0 : v >= 2147483647.0f ? INT32_MAX
                                : v <= -2147483648.0f ? INT32_MIN : (int32_t)v;
        u = (uint32_t)i;
    } else {
        memcpy(&u, &v, 4);
    }
    p[0] = (unsigned char)u;
    p[1] = (unsigned char)(u >> 8);
    p[2] = (unsigned char)(u >> 16);
    p[3] = (unsigned char)(u >> 24);
}

/* The version 1.0 preamble and header of t into out (at most 256 bytes);
 * returns its length, a multiple of 64. */
static size_t header_for(const gf_tensor *t, char *out)
{
    const char *descr = t->dtype == GF_BOOL ? "|b1" : t->dtype == GF_I32 ? "<i4" : "<f4";
    char dict[200];
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
    for (int i = 0; i < t->shape.rank; i++)
        n += snprintf(dict + n, sizeof dict - (size_t)n, "%s%lld", i ? ", " : "",
                      (long long)t->shape.dim[i]);
    n += snprintf(dict + n, sizeof dict - (size_t)n, "%s), }", t->shape.rank == 1 ? "," : "");
    size_t total = 10 + (size_t)n + 1;
    total = (total + 63) / 64 * 64;
    size_t hlen = total - 10;
    memcpy(out, "\x93NUMPY\x01\x00", 8);
    out[8] = (char)(hlen & 0xff);
    out[9] = (char)(hlen >> 8);
    memcpy(out + 10, dict, (size_t)n);
    memset(out + 10 + n, ' ', hlen - (size_t)n - 1);
    out[total - 1] = '\n';
    return total;
}

gf_status gf_npy_write(const char *path, const gf_tensor *t, gf_error *err)
{
    if (!path || !*path) return gf__error_set(err, GF_ERR_ARG, "gf_npy_write: path is NULL or empty");
    if (!t) return gf__error_set(err, GF_ERR_ARG, "gf_npy_write: %s: the tensor is NULL", path);
    int64_t count = gf__shape_count_checked(t->shape);
    if (t->shape.rank < 0 || t->shape.rank > GF_MAX_RANK || count < 0 ||
        (count > 0 && !t->data) || (unsigned)t->dtype > GF_BOOL)
        return gf__error_set(err, GF_ERR_ARG, "gf_npy_write: %s: not a valid tensor", path);
    /* The checkpoints' atomic save (io/atomic.h): a temporary file,
     * fsync'ed and renamed over path. */
    char msg[400];
    gf_atomic a;
    gf_status st = gf__atomic_open(&a, path, msg, sizeof msg);
    if (st != GF_OK) return gf__error_set(err, st, "%s: %s", path, msg);
    char head[256];
    gf__atomic_write(&a, head, header_for(t, head));
    unsigned char chunk[16384];
    int item = t->dtype == GF_BOOL ? 1 : 4;
    int64_t per = (int64_t)sizeof chunk / item;
    for (int64_t done = 0; done < count; done += per) {
        int64_t n = count - done < per ? count - done : per;
        for (int64_t k = 0; k < n; k++) put_item(chunk + k * item, t->data[done + k], t->dtype);
        gf__atomic_write(&a, chunk, (size_t)(n * item));
    }
    if ((st = gf__atomic_close(&a, path, msg, sizeof msg)) != GF_OK)
        return gf__error_set(err, st, "%s: %s", path, msg);
    return GF_OK;
}
