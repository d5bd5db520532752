/*
 * bench_support.h — what `gradflow bench` needs besides its workloads: JSON
 * lines, the measured FMA peak, and the data (loaded or generated, batched).
 */
#ifndef GF_BENCH_SUPPORT_H
#define GF_BENCH_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

#include "gradflow.h"

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"
#define NPIX 784
#define NCLS 10

/* Seconds on a monotonic clock. */
double bench_now(void);

/* One JSON object on one line: j_begin, fields, j_end (prints it to stdout
 * and flushes). A line that outgrows buf is cut (never overflows). */
typedef struct jline {
    char buf[4096];
    size_t len;
    int fields; /* fields in the innermost open object */
} jline;
void j_begin(jline *j, const char *bench);
void j_raw(jline *j, const char *fmt, ...);
void j_key(jline *j, const char *key);
void j_str(jline *j, const char *key, const char *v);
void j_int(jline *j, const char *key, long long v);
void j_num(jline *j, const char *key, double v);
void j_bool(jline *j, const char *key, int v);
void j_plan(jline *j, const char *key, const gf_plan_stats *p);
void j_end(jline *j);

/* This core's FMA peak, measured with the widest vector unit the CPU has
 * (whatever GF_NO_SIMD or GF_NO_AVX512 say: it is the machine's peak):
 * independent chains of 512-bit FMAs where it has AVX-512F (and the OS
 * saves zmm state), else 256-bit ones where it has AVX2+FMA, else scalar
 * ones; the best of eight runs (~0.2 s each loop). Every percentage of
 * `gradflow bench` divides by gflops. Where the widest unit is avx512, the
 * 256-bit loop is measured too (gflops_avx2: on CPUs that split 512-bit
 * operations in two, such as AMD Zen 4, the two are about equal). */
typedef struct peak {
    const char *kind;        /* the loop: "avx512f-fma-zmm-x12", "avx2-fma-ymm-x12", "scalar-x12" */
    const char *unit;        /* the widest vector unit: "avx512", "avx2", "portable" */
    const char *isa;         /* the CPU's instruction set (gf__cpu_isa) */
    const char *gemm_unit;   /* the unit the kernels use now (after GF_NO_SIMD, GF_NO_AVX512) */
    double gflops, seconds;
    double gflops_avx2;      /* the 256-bit loop's, when unit is avx512; else 0 */
} peak;
peak bench_measure_peak(void);

/* Wall seconds of the peak's chains run for `trips` trips on each of
 * `threads` (1 or 2) threads at once: 2 * t(1) / t(2) is how much two
 * threads of pure arithmetic gain on this machine at this moment (a
 * shared VM's two CPUs do not always run at once). -1 when a thread
 * cannot be started. */
double bench_fma_seconds(int threads, long trips);

/* Pins the calling thread to the nth CPU it may run on (0, 1, ...):
 * 1 done, 0 when there is no nth CPU or the system cannot pin (then
 * nothing changed). bench_unpin gives back the CPUs it had before the
 * first pin. Linux only; elsewhere bench_pin_nth always returns 0. */
int bench_pin_nth(int nth);
void bench_unpin(void);

/* The images: MNIST from dir (or Fashion-MNIST from FASHION_DIR), else
 * generated ones with MNIST's share of zero pixels (kind says which, note
 * why). Free with bench_close_source. */
typedef struct source {
    const char *kind;          /* "mnist", "mnist-subset", "fashion-mnist", "generated" */
    const char *dir;           /* "" for generated */
    char note[600];            /* why a fallback was taken, or "" */
    float *train_x, *train_y, *test_x, *test_y;
    int64_t n_train, n_test;
    gf_mnist *m;               /* owns the arrays when loaded */
    float *gen;                /* owns them when generated */
    float *tile;               /* the test set repeated to n_tile rows: x then y */
    int64_t n_tile;
} source;
int bench_open_source(source *src, const char *dir, int force_generated, int quick, uint64_t seed);
void bench_close_source(source *src);
/* The first n test images and labels, the test set repeated when it has
 * fewer (*repeated); owned by src. 0 when out of memory. */
int bench_eval_rows(source *src, int64_t n, float **x, float **y, int *repeated);

/* TensorFlow's next_batch over src's training arrays: shuffled before the
 * first batch and at every new epoch. */
typedef struct batcher {
    const source *src;
    int64_t b, pos, epochs, *perm;
    gf_rng rng;
    float *x, *y; /* the batch, [b,784] and [b,10] */
} batcher;

int batcher_init(batcher *bt, const source *src, int64_t b, uint64_t seed);
void batcher_reset(batcher *bt, uint64_t seed);
/* The next batch into bt->x, bt->y. */
void batcher_next(batcher *bt);
void batcher_free(batcher *bt);

#endif
