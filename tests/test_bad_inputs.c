/*
 * test_bad_inputs.c — the bad-input corpus through gf_mnist_load
 * and gf_idx_read, and the replay of every fuzz/regressions/ and fuzz/corpus/ file.
 */
/* Every bad dataset must give its status code and a message that no other
 * case shares, and no single allocation larger than 4x the files' size +
 * 1 MiB (a counting gf_allocator records the largest request). The replay
 * runs each file through its fuzz target's entry point (fuzz_entries.h,
 * linked from gradflow_fuzz_entries) in a child process, so that one crash
 * names its file and the others still run. */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "fuzz_entries.h"

/* Longest a replayed fuzz input may run (a hang is a finding too). */
#define REPLAY_SECONDS 20

/* ---- a counting allocator ---- */

typedef struct counting {
    size_t largest; /* the largest single request */
    size_t calls;
} counting;

static void *c_malloc(void *ctx, size_t n)
{
    counting *c = ctx;
    if (n > c->largest) c->largest = n;
    c->calls++;
    return malloc(n);
}

static void *c_realloc(void *ctx, void *p, size_t n)
{
    counting *c = ctx;
    if (n > c->largest) c->largest = n;
    c->calls++;
    return realloc(p, n);
}

static void c_free(void *ctx, void *p)
{
    (void)ctx;
    free(p);
}

static counting counter;

static void count_start(void)
{
    memset(&counter, 0, sizeof counter);
    gf_allocator a = { c_malloc, c_realloc, c_free, &counter };
    gf_set_allocator(&a);
}

static void count_stop(void) { gf_set_allocator(NULL); }

/* What a file of n bytes may justify: 4x its size (floats of its bytes)
 * plus 1 MiB (the reader's first gzip buffer and zlib's own). */
static size_t justified(size_t n) { return 4 * n + ((size_t)1 << 20); }

/* ---- building files ---- */

typedef struct file {
    uint8_t *p;
    size_t n;
    int gz_name; /* written as NAME.gz */
    int skip;    /* not written at all */
    int as_dir;  /* a directory of that name instead */
} file;

static void file_set(file *f, const uint8_t *p, size_t n)
{
    free(f->p);
    f->p = malloc(n ? n : 1);
    assert_non_null(f->p);
    if (n) memcpy(f->p, p, n);
    f->n = n;
}

/* An IDX file: magic 00 00 08 rank, the dims, then ndata bytes. */
static void idx_make(file *f, int rank, const uint32_t *dims, const uint8_t *data, size_t ndata)
{
    uint8_t *b = malloc(4 + 4 * (size_t)rank + ndata + 1);
    assert_non_null(b);
    b[0] = 0;
    b[1] = 0;
    b[2] = 8;
    b[3] = (uint8_t)rank;
    size_t at = 4;
    for (int i = 0; i < rank; i++)
        for (int k = 3; k >= 0; k--) b[at++] = (uint8_t)(dims[i] >> (8 * k));
    if (ndata) memcpy(b + at, data, ndata);
    file_set(f, b, at + ndata);
    free(b);
}

static void images_make(file *f, uint32_t n, uint32_t rows, uint32_t cols)
{
    uint32_t dims[3] = { n, rows, cols };
    size_t count = (size_t)n * rows * cols;
    uint8_t *d = malloc(count + 1);
    assert_non_null(d);
    for (size_t i = 0; i < count; i++) d[i] = (uint8_t)(i * 37 + 5);
    idx_make(f, 3, dims, d, count);
    free(d);
}

static void labels_make(file *f, uint32_t n, const uint8_t *vals)
{
    uint32_t dims[1] = { n };
    idx_make(f, 1, dims, vals, n);
}

/* Replaces f's bytes by their gzip compression and names it NAME.gz. */
static void gzip_file(file *f)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&zs, (uLong)f->n) + 32;
    uint8_t *out = malloc(cap);
    assert_non_null(out);
    zs.next_in = f->p;
    zs.avail_in = (uInt)f->n;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    size_t n = cap - zs.avail_out;
    deflateEnd(&zs);
    file_set(f, out, n);
    free(out);
    f->gz_name = 1;
}

/* ---- a dataset folder ---- */

enum { TRAIN_IMG, TRAIN_LAB, TEST_IMG, TEST_LAB, N_FILES };
static const char *const file_names[N_FILES] = { "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte" };

typedef struct dataset {
    file f[N_FILES];
} dataset;

/* A good dataset: 3 training and 2 test images of 2x2, labels 0 1 2 / 3 9. */
static void ds_good(dataset *d, int gz)
{
    memset(d, 0, sizeof *d);
    static const uint8_t tr[3] = { 0, 1, 2 }, te[2] = { 3, 9 };
    images_make(&d->f[TRAIN_IMG], 3, 2, 2);
    labels_make(&d->f[TRAIN_LAB], 3, tr);
    images_make(&d->f[TEST_IMG], 2, 2, 2);
    labels_make(&d->f[TEST_LAB], 2, te);
    if (gz)
        for (int i = 0; i < N_FILES; i++) gzip_file(&d->f[i]);
}

/* Gzips every file the case left plain (the second pass of each case). */
static void ds_gzip_rest(dataset *d)
{
    for (int i = 0; i < N_FILES; i++)
        if (!d->f[i].gz_name && !d->f[i].as_dir && !d->f[i].skip) gzip_file(&d->f[i]);
}

static void ds_free(dataset *d)
{
    for (int i = 0; i < N_FILES; i++) free(d->f[i].p);
    memset(d, 0, sizeof *d);
}

/* Writes d into dir; returns the bytes written. */
static size_t ds_write(const char *dir, const dataset *d)
{
    size_t total = 0;
    char name[128];
    for (int i = 0; i < N_FILES; i++) {
        const file *f = &d->f[i];
        if (f->skip) continue;
        snprintf(name, sizeof name, "%s%s", file_names[i], f->gz_name ? ".gz" : "");
        if (f->as_dir) {
            char path[4200];
            snprintf(path, sizeof path, "%s/%s", dir, name);
            assert_int_equal(mkdir(path, 0755), 0);
            continue;
        }
        free(gf_test_write_file(dir, name, f->p, f->n));
        total += f->n;
    }
    return total;
}

/* Loads d from a fresh folder under the counting allocator; checks the code,
 * that the message holds want and that no allocation went past what the
 * files justify. Returns the message (malloc'ed) when keep is set. */
static char *expect_load(const dataset *d, gf_status code, const char *want, int keep)
{
    char *dir = gf_test_tmpdir();
    size_t total = ds_write(dir, d);
    gf_mnist *m = NULL;
    gf_error err = { 0 };
    count_start();
    gf_status st = gf_mnist_load(dir, NULL, &m, &err);
    count_stop();
    if (st != code || (code != GF_OK && (!want || !strstr(err.message, want))))
        fail_msg("load: got %s '%s', want %s with '%s'", gf_status_string(st), err.message,
                 gf_status_string(code), want ? want : "");
    if (counter.largest > justified(total))
        fail_msg("load ('%s'): an allocation of %zu bytes for %zu bytes of files", err.message,
                 counter.largest, total);
    if (code != GF_OK) {
        assert_null(m);
        assert_int_equal(err.code, code);
    } else {
        assert_non_null(m);
        gf_mnist_free(m);
    }
    char *msg = keep ? strdup(err.message) : NULL;
    gf_test_rmdir(dir);
    return msg;
}

/* gf_idx_read of n bytes, likewise. */
static void expect_idx(const uint8_t *p, size_t n, gf_status code, const char *want)
{
    char *dir = gf_test_tmpdir();
    char *path = gf_test_write_file(dir, "t-idx3-ubyte", p, n);
    gf_idx idx;
    gf_error err = { 0 };
    count_start();
    gf_status st = gf_idx_read(path, 0, &idx, &err);
    count_stop();
    if (st != code || (code != GF_OK && !strstr(err.message, want)))
        fail_msg("idx %zu bytes: got %s '%s', want %s with '%s'", n, gf_status_string(st),
                 err.message, gf_status_string(code), want ? want : "");
    if (counter.largest > justified(n))
        fail_msg("idx ('%s'): an allocation of %zu bytes for a file of %zu", err.message,
                 counter.largest, n);
    if (code == GF_OK) gf_idx_free(&idx);
    else assert_null(idx.data);
    free(path);
    gf_test_rmdir(dir);
}

/* ---- the good case ---- */

static void test_good_dataset(void **state)
{
    (void)state;
    for (int gz = 0; gz < 2; gz++) {
        dataset d;
        ds_good(&d, gz);
        expect_load(&d, GF_OK, NULL, 0);
        for (int i = 0; i < N_FILES; i++) expect_idx(d.f[i].p, d.f[i].n, GF_OK, NULL);
        ds_free(&d);
    }
}

/* ---- truncation at every length ---- */

static void test_truncated_every_length(void **state)
{
    (void)state;
    int loads = 0;
    for (int gz = 0; gz < 2; gz++) {
        for (int i = 0; i < N_FILES; i++) {
            dataset good;
            ds_good(&good, gz);
            for (size_t len = 0; len < good.f[i].n; len++) {
                dataset d;
                ds_good(&d, gz);
                d.f[i].n = len;
                const char *want = len == 0 ? "empty file (0 bytes)" : "truncated";
                expect_load(&d, GF_ERR_FORMAT, want, 0);
                expect_idx(good.f[i].p, len, GF_ERR_FORMAT, want);
                ds_free(&d);
                loads++;
            }
            ds_free(&good);
        }
    }
    print_message("truncated: %d lengths, each through gf_mnist_load and gf_idx_read\n", loads);
}

/* ---- the corpus: one distinct message per kind of damage ---- */

typedef struct bad_case {
    const char *what;
    gf_status code;
    const char *want;   /* the message's distinct part */
    void (*make)(dataset *d);
    int idx_file;       /* the file to read with gf_idx_read too, or -1 */
    gf_status idx_code; /* what gf_idx_read gives for it */
    int plain_only;     /* no second pass with every file gzipped */
} bad_case;

static void mk_empty(dataset *d) { d->f[TRAIN_IMG].n = 0; }
static void mk_truncated_data(dataset *d) { d->f[TRAIN_LAB].n -= 1; }
static void mk_truncated_header(dataset *d) { d->f[TEST_IMG].n = 10; }
static void mk_short_magic(dataset *d) { d->f[TEST_LAB].n = 3; }
static void mk_gz_cut(dataset *d)
{
    gzip_file(&d->f[TRAIN_IMG]);
    d->f[TRAIN_IMG].n = 24; /* 10 bytes of gzip header, 14 of deflate data */
}
static void mk_gz_no_trailer(dataset *d)
{
    gzip_file(&d->f[TEST_LAB]);
    d->f[TEST_LAB].n -= 6;
}
static void mk_bad_magic(dataset *d) { d->f[TRAIN_IMG].p[0] = 1; }
static void mk_text(dataset *d) { file_set(&d->f[TRAIN_LAB], (const uint8_t *)"hello, world\n", 13); }
static void mk_bad_dtype(dataset *d) { d->f[TRAIN_IMG].p[2] = 0x0D; }
static void mk_bad_rank(dataset *d) { d->f[TEST_IMG].p[3] = 7; }
static void mk_zero_dim(dataset *d)
{
    static const uint32_t dims[3] = { 3, 0, 2 };
    idx_make(&d->f[TRAIN_IMG], 3, dims, NULL, 0);
}
static void mk_overflow(dataset *d)
{
    static const uint32_t dims[3] = { 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu };
    idx_make(&d->f[TRAIN_IMG], 3, dims, (const uint8_t *)"0123456789", 10);
}
static void mk_larger_than_file(dataset *d)
{
    static const uint32_t dims[3] = { 1000000, 28, 28 };
    idx_make(&d->f[TRAIN_IMG], 3, dims, (const uint8_t *)"0123456789ab", 12);
}
static void mk_larger_than_file_gz(dataset *d)
{
    static const uint32_t dims[1] = { 3000000000u }; /* over the 1 GiB cap too */
    idx_make(&d->f[TEST_LAB], 1, dims, (const uint8_t *)"\1\2\3", 3);
    gzip_file(&d->f[TEST_LAB]);
}
static void mk_trailing(dataset *d)
{
    file *f = &d->f[TRAIN_LAB];
    uint8_t b[64];
    memcpy(b, f->p, f->n);
    memcpy(b + f->n, "\0\0\0\0\0", 5);
    file_set(f, b, f->n + 5);
}
static void mk_label_10(dataset *d)
{
    static const uint8_t v[3] = { 0, 10, 2 };
    labels_make(&d->f[TRAIN_LAB], 3, v);
}
static void mk_label_255_gz(dataset *d)
{
    static const uint8_t v[2] = { 255, 1 };
    labels_make(&d->f[TEST_LAB], 2, v);
    gzip_file(&d->f[TEST_LAB]);
}
static void mk_count_mismatch(dataset *d)
{
    static const uint8_t v[4] = { 0, 1, 2, 3 };
    labels_make(&d->f[TRAIN_LAB], 4, v);
}
static void mk_count_mismatch_test(dataset *d) { images_make(&d->f[TEST_IMG], 5, 2, 2); }
static void mk_image_size(dataset *d) { images_make(&d->f[TEST_IMG], 2, 3, 2); }
static void mk_images_rank(dataset *d)
{
    static const uint32_t dims[2] = { 3, 4 };
    idx_make(&d->f[TRAIN_IMG], 2, dims, (const uint8_t *)"abcdefghijkl", 12);
}
static void mk_labels_rank(dataset *d)
{
    static const uint32_t dims[2] = { 2, 1 };
    idx_make(&d->f[TEST_LAB], 2, dims, (const uint8_t *)"\3\4", 2);
}
/* A labels file whose header says rank 3: read as such, its first label
 * bytes are dimensions, promising far more bytes than the file holds. */
static void mk_labels_rank3(dataset *d)
{
    static const uint32_t dims[3] = { 2, 0x03090102, 0x04050607 };
    idx_make(&d->f[TEST_LAB], 3, dims, (const uint8_t *)"\3\4", 2);
}
static void mk_gz_garbage(dataset *d)
{
    uint8_t g[64] = { 0x1f, 0x8b };
    for (int i = 2; i < 64; i++) g[i] = (uint8_t)(i * 37 + 11);
    file_set(&d->f[TRAIN_IMG], g, sizeof g);
    d->f[TRAIN_IMG].gz_name = 1;
}
static void mk_gz_bad_crc(dataset *d)
{
    gzip_file(&d->f[TEST_IMG]);
    d->f[TEST_IMG].p[d->f[TEST_IMG].n - 6] ^= 0x55;
}
static void mk_gz_junk_after(dataset *d)
{
    file *f = &d->f[TRAIN_LAB];
    gzip_file(f);
    uint8_t b[256];
    memcpy(b, f->p, f->n);
    memcpy(b + f->n, "JUNK!", 5);
    file_set(f, b, f->n + 5);
}
static void mk_directory(dataset *d) { d->f[TRAIN_IMG].as_dir = 1; }
static void mk_directory_gz(dataset *d)
{
    d->f[TEST_LAB].as_dir = 1;
    d->f[TEST_LAB].gz_name = 1;
}
static void mk_missing(dataset *d) { d->f[TEST_LAB].skip = 1; }

static const bad_case bad_cases[] = {
    { "an empty file", GF_ERR_FORMAT, "empty file (0 bytes)", mk_empty, TRAIN_IMG, GF_ERR_FORMAT, 1 },
    { "data cut short", GF_ERR_FORMAT, "truncated: header promises 3 bytes of data, file holds 2",
      mk_truncated_data, TRAIN_LAB, GF_ERR_FORMAT, 0 },
    { "a header cut short", GF_ERR_FORMAT, "a rank-3 header needs 16 bytes, file ends after 10",
      mk_truncated_header, TEST_IMG, GF_ERR_FORMAT, 0 },
    { "shorter than the magic", GF_ERR_FORMAT, "3 bytes, shorter than the 4-byte IDX magic",
      mk_short_magic, TEST_LAB, GF_ERR_FORMAT, 0 },
    { "a gzip stream cut short", GF_ERR_FORMAT, "(the gzip stream is cut off)", mk_gz_cut, TRAIN_IMG,
      GF_ERR_FORMAT, 0 },
    { "a gzip stream without its trailer", GF_ERR_FORMAT, "(its end and checksum are missing)",
      mk_gz_no_trailer, TEST_LAB, GF_ERR_FORMAT, 0 },
    { "wrong magic", GF_ERR_FORMAT, "bad magic 01 00 08 03", mk_bad_magic, TRAIN_IMG, GF_ERR_FORMAT, 0 },
    { "a text file", GF_ERR_FORMAT, "bad magic 68 65 6c 6c", mk_text, TRAIN_LAB, GF_ERR_FORMAT, 0 },
    { "a float32 IDX file", GF_ERR_FORMAT, "unsupported IDX dtype 0x0d (float32)", mk_bad_dtype,
      TRAIN_IMG, GF_ERR_FORMAT, 0 },
    { "rank 7", GF_ERR_FORMAT, "unsupported rank 7", mk_bad_rank, TEST_IMG, GF_ERR_FORMAT, 0 },
    { "a zero dimension", GF_ERR_FORMAT, "dimension 1 is 0", mk_zero_dim, TRAIN_IMG, GF_ERR_FORMAT, 0 },
    { "dimensions whose product overflows", GF_ERR_FORMAT,
      "[4294967295,4294967295,4294967295] overflow", mk_overflow, TRAIN_IMG, GF_ERR_FORMAT, 0 },
    { "dimensions larger than the file", GF_ERR_FORMAT,
      "header promises 784000000 bytes of data, file holds 12", mk_larger_than_file, TRAIN_IMG,
      GF_ERR_FORMAT, 0 },
    { "dimensions larger than the file, gzipped", GF_ERR_FORMAT,
      "header promises 3000000000 bytes of data, file holds 3", mk_larger_than_file_gz, TEST_LAB,
      GF_ERR_FORMAT, 0 },
    { "trailing bytes", GF_ERR_FORMAT, "trailing bytes: 5 bytes after the 3 bytes", mk_trailing,
      TRAIN_LAB, GF_ERR_FORMAT, 0 },
    { "label 10", GF_ERR_FORMAT, "label 10 at index 1 is not a digit 0..9", mk_label_10, TRAIN_LAB,
      GF_OK, 0 },
    { "label 255, gzipped", GF_ERR_FORMAT, "label 255 at index 0 is not a digit", mk_label_255_gz,
      TEST_LAB, GF_OK, 0 },
    { "3 images, 4 labels", GF_ERR_FORMAT, "holds 3 images but", mk_count_mismatch, TRAIN_LAB, GF_OK, 0 },
    { "5 test images, 2 labels", GF_ERR_FORMAT, "holds 5 images but", mk_count_mismatch_test,
      TEST_IMG, GF_OK, 0 },
    { "test images of another size", GF_ERR_FORMAT, "test images are 3x2 but training images 2x2",
      mk_image_size, TEST_IMG, GF_OK, 0 },
    { "images of rank 2", GF_ERR_FORMAT, "images must be rank 3", mk_images_rank, TRAIN_IMG, GF_OK, 0 },
    { "labels of rank 2", GF_ERR_FORMAT, "labels must be rank 1 [count], but its IDX magic 00 00 08 02",
      mk_labels_rank, TEST_LAB, GF_OK, 0 },
    { "labels of rank 3, promising more than the file", GF_ERR_FORMAT,
      "labels must be rank 1 [count], but its IDX magic 00 00 08 03 says rank 3",
      mk_labels_rank3, -1, GF_OK, 0 },
    { "gzip garbage", GF_ERR_FORMAT, "corrupt gzip data (unknown compression method)", mk_gz_garbage, TRAIN_IMG, GF_ERR_FORMAT, 0 },
    { "a gzip CRC mismatch", GF_ERR_FORMAT, "(incorrect data check)", mk_gz_bad_crc, TEST_IMG,
      GF_ERR_FORMAT, 0 },
    { "junk after the gzip stream", GF_ERR_FORMAT, "5 bytes of non-gzip data after the end",
      mk_gz_junk_after, TRAIN_LAB, GF_ERR_FORMAT, 0 },
    { "a directory instead of a file", GF_ERR_IO, "train-images-idx3-ubyte: is a directory",
      mk_directory, -1, GF_OK, 0 },
    { "a directory instead of a .gz file", GF_ERR_IO, "t10k-labels-idx1-ubyte.gz: is a directory",
      mk_directory_gz, -1, GF_OK, 0 },
    { "a missing file", GF_ERR_IO, "missing t10k-labels-idx1-ubyte (or", mk_missing, -1, GF_OK, 0 },
};
#define N_BAD ((int)(sizeof bad_cases / sizeof bad_cases[0]))

static void test_bad_corpus(void **state)
{
    (void)state;
    char *msg[N_BAD];
    for (int c = 0; c < N_BAD; c++) {
        const bad_case *b = &bad_cases[c];
        for (int gz = 0; gz < 2 - b->plain_only; gz++) {
            dataset d;
            ds_good(&d, 0);
            b->make(&d);
            if (gz) ds_gzip_rest(&d);
            char *m = expect_load(&d, b->code, b->want, 1);
            if (gz == 0) msg[c] = m;
            else free(m);
            if (b->idx_file >= 0 && !d.f[b->idx_file].as_dir)
                expect_idx(d.f[b->idx_file].p, d.f[b->idx_file].n, b->idx_code, b->want);
            ds_free(&d);
        }
    }
    /* Distinct: no case's phrase appears in another case's message. */
    for (int c = 0; c < N_BAD; c++)
        for (int o = 0; o < N_BAD; o++)
            if (o != c && strstr(msg[o], bad_cases[c].want))
                fail_msg("'%s' (%s) also appears for %s: %s", bad_cases[c].want, bad_cases[c].what,
                         bad_cases[o].what, msg[o]);
    for (int c = 0; c < N_BAD; c++) free(msg[c]);
    print_message("bad corpus: %d cases, plain and gzipped, each with a distinct message\n", N_BAD);
}

/* The folder itself: missing, or a file. */
static void test_bad_folder(void **state)
{
    (void)state;
    char *dir = gf_test_tmpdir();
    char path[4200];
    snprintf(path, sizeof path, "%s/nope", dir);
    gf_mnist *m = NULL;
    gf_error err = { 0 };
    count_start();
    assert_int_equal(gf_mnist_load(path, NULL, &m, &err), GF_ERR_IO);
    count_stop();
    assert_non_null(strstr(err.message, "nope: no such directory"));
    assert_null(m);
    assert_true(counter.largest < 4096);

    char *file_path = gf_test_write_file(dir, "plain", "x", 1);
    count_start();
    assert_int_equal(gf_mnist_load(file_path, NULL, &m, &err), GF_ERR_IO);
    count_stop();
    assert_non_null(strstr(err.message, "plain: not a directory"));
    assert_null(m);

    /* gf_idx_read on a folder and on a missing file. */
    gf_idx idx;
    assert_int_equal(gf_idx_read(dir, 0, &idx, &err), GF_ERR_IO);
    assert_non_null(strstr(err.message, "is a directory, not an IDX file"));
    assert_int_equal(gf_idx_read(path, 0, &idx, &err), GF_ERR_IO);
    assert_non_null(strstr(err.message, "nope: no such file"));
    free(file_path);
    gf_test_rmdir(dir);
}

/* ---- replaying the fuzz targets' files ---- */

typedef int (*fuzz_entry)(const uint8_t *, size_t);

static uint8_t *read_all(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, len = 0;
    uint8_t *b = malloc(cap);
    for (size_t r; b && (r = fread(b + len, 1, cap - len, f)) > 0;) {
        len += r;
        if (len == cap) {
            uint8_t *nb = realloc(b, cap *= 2);
            if (!nb) free(b);
            b = nb;
        }
    }
    fclose(f);
    *n = len;
    return b;
}

/* Runs every file of GF_SOURCE_DIR/top/target/ through entry, each in a
 * child; returns the number of files, failing with the names of any that
 * crash or trip a sanitizer. */
static int replay_folder(const char *top, const char *target, fuzz_entry entry)
{
    char dir[4200], failed[2048] = "";
    snprintf(dir, sizeof dir, "%s/%s/%s", GF_SOURCE_DIR, top, target);
    DIR *dp = opendir(dir);
    if (!dp) return 0;
    int files = 0, bad = 0;
    struct dirent *e;
    while ((e = readdir(dp)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char path[4500];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) continue;
        files++;
        fflush(stdout);
        fflush(stderr);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            /* cmocka's handlers would report a crash as a test failure
             * inside the child and carry on there: die of it instead. */
            static const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGSYS };
            for (size_t k = 0; k < sizeof sigs / sizeof sigs[0]; k++) signal(sigs[k], SIG_DFL);
            closedir(dp); /* the child's copy: LeakSanitizer would count it */
            /* A hang is a finding too (a fuzzer timeout): each file runs
             * in milliseconds, so twenty seconds is a hang even under ASan. */
            alarm(REPLAY_SECONDS);
            size_t n = 0;
            uint8_t *bytes = read_all(path, &n);
            if (!bytes) _exit(3);
            entry(bytes, n);
            free(bytes);
            exit(0); /* exit, not _exit: LeakSanitizer runs at exit */
        }
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            bad++;
            size_t used = strlen(failed);
            if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
                snprintf(failed + used, sizeof failed - used, "\n  %s/%s/%s (still running after %d s)",
                         top, target, e->d_name, REPLAY_SECONDS);
            else
                snprintf(failed + used, sizeof failed - used, "\n  %s/%s/%s (%s %d)", top, target,
                         e->d_name, WIFEXITED(status) ? "exit" : "signal",
                         WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
        }
    }
    closedir(dp);
    if (bad) fail_msg("%d of %d files of %s/%s fail (replay one with build-fuzz/%s FILE):%s", bad,
                      files, top, target, target, failed);
    return files;
}

static int replay_all(const char *top)
{
    return replay_folder(top, "fuzz_idx", gf_fuzz_idx) +
           replay_folder(top, "fuzz_graph", gf_fuzz_graph) +
           replay_folder(top, "fuzz_checkpoint", gf_fuzz_checkpoint) +
           replay_folder(top, "fuzz_npy", gf_fuzz_npy) + replay_folder(top, "fuzz_csv", gf_fuzz_csv) +
           replay_folder(top, "fuzz_model", gf_fuzz_model);
}

static void test_replay_regressions(void **state)
{
    (void)state;
    print_message("fuzz/regressions: %d files replayed\n", replay_all("fuzz/regressions"));
}

static void test_replay_seed_corpora(void **state)
{
    (void)state;
    int n = replay_all("fuzz/corpus");
    assert_true(n > 0);
    print_message("fuzz/corpus: %d files replayed\n", n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_dataset),
        cmocka_unit_test(test_truncated_every_length),
        cmocka_unit_test(test_bad_corpus),
        cmocka_unit_test(test_bad_folder),
        cmocka_unit_test(test_replay_seed_corpora),
        cmocka_unit_test(test_replay_regressions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
