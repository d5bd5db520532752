/*
 * test_dataset_bytes.c — datasets read from IDX files keep the bytes and
 * make floats as they gather a batch: every byte value converted exactly
 * as (float)b / 255.0f on every path this CPU has, the very batches a
 * dataset of the same floats gives (bit for bit, across epochs and
 * splits), and the float arrays that gf_dataset_images, _labels and _head
 * lend, made on first request (from several threads at once: test_threads).
 * ctest runs it once per unit: as the CPU allows, with GF_NO_AVX512=1
 * (test_dataset_bytes_avx2) and with GF_NO_SIMD=1 (_portable).
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/data.h"
#include "kernels/simd.h"

/* ---- the conversion ---- */

static uint32_t bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* fn must give (float)b / 255.0f for every byte, whatever the length (the
 * vector loops and their tails) and the alignment of either array. */
static void check_path(const char *name, gf__unit_floats_fn fn)
{
    enum { MAXN = 300 };
    uint8_t src[MAXN + 64];
    float out[MAXN + 64 + 1];
    for (int off = 0; off < 4; off++)
        for (int n = 0; n <= MAXN; n += n < 70 ? 1 : 23) {
            for (int i = 0; i < n; i++) src[off + i] = (uint8_t)(i * 37 + off * 101 + n);
            const float canary = -1.5f;
            out[off + n] = canary;
            fn(out + off, src + off, n);
            for (int i = 0; i < n; i++) {
                float want = (float)src[off + i] / 255.0f;
                if (bits(out[off + i]) != bits(want))
                    fail_msg("%s: byte %d (length %d, offset %d) gave %.9g (0x%08x), want %.9g (0x%08x)", name,
                             src[off + i], n, off, (double)out[off + i], bits(out[off + i]), (double)want,
                             bits(want));
            }
            if (out[off + n] != canary) fail_msg("%s: wrote past %d floats", name, n);
        }
    /* Every value once more, in order: 0..255 in one call. */
    for (int b = 0; b < 256; b++) src[b] = (uint8_t)b;
    fn(out, src, 256);
    for (int b = 0; b < 256; b++)
        if (bits(out[b]) != bits((float)b / 255.0f)) fail_msg("%s: byte %d gave %.9g", name, b, (double)out[b]);
}

static int env_on(const char *name)
{
    const char *e = getenv(name);
    return e && *e && strcmp(e, "0") != 0;
}

static void every_byte_on_every_path(void **state)
{
    (void)state;
    check_path("portable", gf__unit_floats_portable);
#if GF_HAVE_AVX2_KERNELS
    if (gf__cpu_has_avx2_fma())
        check_path("avx2", gf__unit_floats_avx2);
    else
        printf("# skipped: the AVX2 path (this CPU has no AVX2+FMA)\n");
    if (gf__cpu_has_avx512())
        check_path("avx512", gf__unit_floats_avx512);
    else
        printf("# skipped: the AVX-512 path (this CPU has no AVX-512F, or the OS does not save zmm state)\n");
#else
    printf("# skipped: the AVX2 and AVX-512 paths (not an x86 GCC/clang build)\n");
#endif
    /* The path datasets use in this process: the kernels' unit, after
     * GF_NO_SIMD and GF_NO_AVX512 (ctest runs this test under each). */
    gf__unit_floats_fn picked = gf__unit_floats_pick();
    check_path("picked", picked);
    const char *unit = gf__simd_unit();
    if (!strcmp(unit, "portable")) assert_ptr_equal(picked, gf__unit_floats_portable);
#if GF_HAVE_AVX2_KERNELS
    if (!strcmp(unit, "avx2")) assert_ptr_equal(picked, gf__unit_floats_avx2);
    if (!strcmp(unit, "avx512")) assert_ptr_equal(picked, gf__unit_floats_avx512);
#endif
    if (env_on("GF_NO_SIMD")) assert_string_equal(unit, "portable");
    printf("# datasets convert with the %s path here\n", unit);
}

/* ---- IDX files and the same data as floats ---- */


/* An IDX pair read twice: as the library's byte dataset, and as floats
 * (float)b / 255.0f with class-index labels given to from_arrays. */
typedef struct pair {
    gf_dataset *bytes, *floats;
    gf_tensor *x, *y;
    gf_idx img, lab;
} pair;

static void pair_open(pair *p, const char *ip, const char *lp, int64_t classes, uint64_t seed, uint64_t stream)
{
    memset(p, 0, sizeof *p);
    gf_error err = { 0 };
    gf_dataset_options o = { .seed = seed, .stream = stream, .classes = classes };
    if (gf_dataset_load_idx(ip, lp, &o, &p->bytes, &err) != GF_OK) fail_msg("load_idx: %s", err.message);
    assert_int_equal(gf_idx_read(ip, 0, &p->img, &err), GF_OK);
    assert_int_equal(gf_idx_read(lp, 0, &p->lab, &err), GF_OK);
    int64_t n = p->img.dim[0], dim = p->img.count / n;
    p->x = gf_tensor_new(GF_F32, gf_dims(2, (int)n, (int)dim), NULL);
    p->y = gf_tensor_new(GF_F32, gf_dims(1, (int)n), NULL);
    assert_non_null(p->x);
    assert_non_null(p->y);
    for (int64_t i = 0; i < n * dim; i++) gf_tensor_data(p->x)[i] = (float)p->img.data[i] / 255.0f;
    for (int64_t i = 0; i < n; i++) gf_tensor_data(p->y)[i] = (float)p->lab.data[i];
    if (gf_dataset_from_arrays(p->x, p->y, &o, &p->floats, &err) != GF_OK)
        fail_msg("from_arrays: %s", err.message);
}

static void pair_close(pair *p)
{
    gf_dataset_free(p->bytes);
    gf_dataset_free(p->floats);
    gf_tensor_free(p->x);
    gf_tensor_free(p->y);
    gf_idx_free(&p->img);
    gf_idx_free(&p->lab);
}

static void same_tensor(const gf_tensor *a, const gf_tensor *b, const char *what, int64_t call)
{
    gf_shape sa = gf_tensor_shape(a), sb = gf_tensor_shape(b);
    if (sa.rank != sb.rank || gf_tensor_count(a) != gf_tensor_count(b))
        fail_msg("batch %lld: %s shapes differ", (long long)call, what);
    for (int i = 0; i < sa.rank; i++) assert_int_equal(sa.dim[i], sb.dim[i]);
    if (memcmp(gf_tensor_data(a), gf_tensor_data(b), (size_t)gf_tensor_count(a) * sizeof(float)))
        fail_msg("batch %lld: %s differ", (long long)call, what);
}

/* a and b give the same batches, bit for bit, for calls of the sizes
 * sizes[0], sizes[1], ... (cycled), until both have done `epochs` epochs. */
static int64_t same_batches(gf_dataset *a, gf_dataset *b, const int64_t *sizes, int n_sizes, int64_t epochs)
{
    int64_t call = 0;
    while (gf_dataset_epochs(a) < epochs) {
        int64_t n = sizes[call % n_sizes];
        if (n > gf_dataset_count(a)) n = gf_dataset_count(a);
        const gf_tensor *ax, *ay, *bx, *by;
        assert_int_equal(gf_dataset_next_batch(a, n, &ax, &ay), GF_OK);
        assert_int_equal(gf_dataset_next_batch(b, n, &bx, &by), GF_OK);
        same_tensor(ax, bx, "images", call);
        same_tensor(ay, by, "labels", call);
        assert_int_equal(gf_dataset_epochs(a), gf_dataset_epochs(b));
        call++;
    }
    return call;
}

/* Images of 5x7 (35 bytes: every vector loop has a tail), 13 classes. */
static void small_files_same_batches(void **state)
{
    (void)state;
    enum { N = 61, ROWS = 5, COLS = 7, CLASSES = 13 };
    char *dir = gf_test_tmpdir();
    uint8_t img[N * ROWS * COLS], lab[N];
    for (int i = 0; i < N * ROWS * COLS; i++) img[i] = (uint8_t)(i * 97 + 11);
    for (int i = 0; i < N; i++) lab[i] = (uint8_t)((i * 5) % CLASSES);
    char *ip = gf_test_path(dir, "img-idx3-ubyte.gz"), *lp = gf_test_path(dir, "lab-idx1-ubyte");
    gf_test_write_idx(dir, "img-idx3-ubyte", 1, 3, (uint32_t[]){ N, ROWS, COLS }, img, sizeof img);
    gf_test_write_idx(dir, "lab-idx1-ubyte", 0, 1, (uint32_t[]){ N }, lab, sizeof lab);
    static const int64_t sizes[] = { 8, 1, 17, 61, 3, 60 };
    for (uint64_t stream = 0; stream < 3; stream++) {
        pair p;
        pair_open(&p, ip, lp, stream == 2 ? 20 : 0, 9, stream);
        assert_int_equal(gf_dataset_classes(p.bytes), stream == 2 ? 20 : CLASSES);
        same_batches(p.bytes, p.floats, sizes, 6, 7);
        /* Splits of each: first and rest, any batch sizes. */
        gf_dataset *b1, *b2, *f1, *f2;
        assert_int_equal(gf_dataset_split(p.bytes, 23, &b1, &b2), GF_OK);
        assert_int_equal(gf_dataset_split(p.floats, 23, &f1, &f2), GF_OK);
        same_batches(b1, f1, sizes + 1, 2, 4);
        same_batches(b2, f2, sizes, 3, 4);
        gf_dataset_free(b1);
        gf_dataset_free(f1);
        pair_close(&p); /* b2 and f2 outlive the datasets split */
        same_batches(b2, f2, sizes + 2, 2, 6);
        gf_dataset_free(b2);
        gf_dataset_free(f2);
    }
    free(ip);
    free(lp);
    gf_test_rmdir(dir);
}

/* A real training file: many batches of 10 over three epochs, and the
 * splits gf_mnist_load makes against the same split of the floats. */
static void check_folder(const char *dir, int64_t epochs)
{
    char ip[4200], lp[4200];
    snprintf(ip, sizeof ip, "%s/train-images-idx3-ubyte.gz", dir);
    snprintf(lp, sizeof lp, "%s/train-labels-idx1-ubyte.gz", dir);
    pair p;
    pair_open(&p, ip, lp, 10, 4, 1);
    static const int64_t ten[] = { 10 }, mixed[] = { 10, 100, 7, 1000 };
    int64_t calls = same_batches(p.bytes, p.floats, ten, 1, epochs);
    calls += same_batches(p.bytes, p.floats, mixed, 4, epochs + 1);
    printf("# %s: %lld batches the same, bit for bit\n", dir, (long long)calls);
    /* gf_mnist_load: the training file split into validation (stream 2)
     * and train (stream 1), as the floats split here. */
    gf_mnist *m = NULL;
    gf_error err = { 0 };
    assert_int_equal(gf_mnist_load(dir, &(gf_mnist_options){ .seed = 4, .validation_size = 100 }, &m, &err), GF_OK);
    gf_dataset *val, *train;
    assert_int_equal(gf_dataset_split(p.floats, 100, &val, &train), GF_OK);
    same_batches(m->train, train, ten, 1, 1);
    same_batches(m->validation, val, ten, 1, 3);
    gf_dataset_free(val);
    gf_dataset_free(train);
    gf_mnist_free(m);
    pair_close(&p);
}

static void mnist_folder_same_batches(void **state)
{
    (void)state;
    const char *dir = gf_test_mnist_dir();
    if (!dir) skip();
    check_folder(dir, 3);
}

static void fashion_same_batches(void **state)
{
    (void)state;
    if (access(GF_FASHION_DIR "/train-images-idx3-ubyte.gz", R_OK) != 0) skip();
    check_folder(GF_FASHION_DIR, 1);
}

/* ---- the float arrays lent ---- */

static void images_labels_and_head(void **state)
{
    (void)state;
    enum { N = 9, DIM = 35, CLASSES = 6 };
    char *dir = gf_test_tmpdir();
    uint8_t img[N * DIM], lab[N];
    for (int i = 0; i < N * DIM; i++) img[i] = (uint8_t)(i * 29 + 3);
    for (int i = 0; i < N; i++) lab[i] = (uint8_t)(i % CLASSES);
    char *ip = gf_test_path(dir, "img"), *lp = gf_test_path(dir, "lab");
    gf_test_write_idx(dir, "img", 0, 2, (uint32_t[]){ N, DIM }, img, sizeof img);
    gf_test_write_idx(dir, "lab", 0, 1, (uint32_t[]){ N }, lab, sizeof lab);
    gf_dataset *d = NULL;
    gf_error err = { 0 };
    assert_int_equal(gf_dataset_load_idx(ip, lp, NULL, &d, &err), GF_OK);

    /* head first: labels alone, then both; the tensors borrow the arrays. */
    const gf_tensor *hx, *hy;
    assert_int_equal(gf_dataset_head(d, 4, NULL, &hy), GF_OK);
    assert_int_equal(gf_tensor_shape(hy).dim[0], 4);
    assert_int_equal(gf_tensor_shape(hy).dim[1], CLASSES);
    assert_int_equal(gf_dataset_head(d, 4, &hx, &hy), GF_OK);
    const gf_tensor *x = gf_dataset_images(d), *y = gf_dataset_labels(d);
    assert_non_null(x);
    assert_non_null(y);
    assert_ptr_equal(gf_tensor_data(hx), gf_tensor_data(x));
    assert_ptr_equal(gf_tensor_data(hy), gf_tensor_data(y));
    assert_ptr_equal(gf_dataset_images(d), x); /* made once */
    assert_ptr_equal(gf_tensor_data(gf_dataset_images(d)), gf_tensor_data(x));
    assert_int_equal(gf_tensor_shape(x).dim[0], N);
    assert_int_equal(gf_tensor_shape(x).dim[1], DIM);
    for (int i = 0; i < N * DIM; i++)
        if (bits(gf_tensor_data(x)[i]) != bits((float)img[i] / 255.0f)) fail_msg("image float %d", i);
    for (int i = 0; i < N; i++)
        for (int c = 0; c < CLASSES; c++)
            assert_true(gf_tensor_data(y)[i * CLASSES + c] == (c == lab[i] ? 1.0f : 0.0f));

    /* Splits make their own arrays, of their own rows; an empty one has
     * tensors of no rows; the parent can go first. */
    gf_dataset *a, *b, *e0, *all;
    assert_int_equal(gf_dataset_split(d, 3, &a, &b), GF_OK);
    assert_int_equal(gf_dataset_split(d, 0, &e0, &all), GF_OK);
    gf_dataset_free(d);
    const gf_tensor *bx = gf_dataset_images(b), *by = gf_dataset_labels(b);
    assert_int_equal(gf_tensor_shape(bx).dim[0], N - 3);
    for (int i = 0; i < (N - 3) * DIM; i++)
        if (bits(gf_tensor_data(bx)[i]) != bits((float)img[3 * DIM + i] / 255.0f)) fail_msg("split image float %d", i);
    assert_true(gf_tensor_data(by)[0 * CLASSES + lab[3]] == 1.0f);
    assert_int_equal(gf_tensor_shape(gf_dataset_images(e0)).dim[0], 0);
    assert_non_null(gf_tensor_data(gf_dataset_images(e0)));
    assert_int_equal(gf_tensor_shape(gf_dataset_labels(e0)).dim[1], CLASSES);
    assert_int_equal(gf_dataset_head(e0, 3, &hx, &hy), GF_OK);
    assert_null(hx);
    /* A dataset whose arrays were never asked for frees cleanly (ASan). */
    gf_dataset_free(all);
    gf_dataset_free(e0);
    gf_dataset_free(b);
    gf_dataset_free(a);
    free(ip);
    free(lp);
    gf_test_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_byte_on_every_path),
        cmocka_unit_test(small_files_same_batches),
        cmocka_unit_test(mnist_folder_same_batches),
        cmocka_unit_test(fashion_same_batches),
        cmocka_unit_test(images_labels_and_head),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
