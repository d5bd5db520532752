/*
 * bench_baseline.c — the article's network as straight C loops (i-k-j
 * matmuls, one thread, no intrinsics): what `gradflow bench` compares against.
 */
#include "bench_baseline.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { NI = GF_BL_INPUTS, NO = GF_BL_OUTPUTS };

/* The loops are written once, inlined into two entry points: one compiled
 * for the build's baseline ISA, one for AVX2+FMA (what -march=native would
 * give on this machine), picked at run time. Same source, no intrinsics. */
#define BL_INLINE static inline __attribute__((always_inline))
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define BL_HAVE_AVX2 1
#define BL_AVX2 __attribute__((target("avx2,fma")))
#else
#define BL_HAVE_AVX2 0
#endif
/* Clang unrolls the row loops to 32 lanes (4 vectors x 8), more than the 30
 * or 10 columns here, so its vector body would never run; one vector per
 * trip is what a programmer checking the assembly would ask for. */
#if defined(__clang__)
#define BL_ROW_LOOP _Pragma("clang loop interleave_count(1)")
#else
#define BL_ROW_LOOP
#endif

void gf_bl_free(gf_bl_net *net)
{
    float **bufs[] = { &net->w1, &net->b1, &net->w2, &net->b2, &net->z1, &net->a1,
                       &net->z2, &net->a2, &net->dz2, &net->da1, &net->dz1 };
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) {
        free(*bufs[i]);
        *bufs[i] = NULL;
    }
}

int gf_bl_init(gf_bl_net *net, int h, int64_t cap)
{
    memset(net, 0, sizeof *net);
    net->h = h;
    net->cap = cap;
    net->avx2 = gf_bl_uses_avx2();
    size_t hh = (size_t)h, c = (size_t)cap;
    struct { float **p; size_t n; } want[] = {
        { &net->w1, NI * hh }, { &net->b1, hh }, { &net->w2, hh * NO }, { &net->b2, NO },
        { &net->z1, c * hh }, { &net->a1, c * hh }, { &net->z2, c * NO }, { &net->a2, c * NO },
        { &net->dz2, c * NO }, { &net->da1, c * hh }, { &net->dz1, c * hh },
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        *want[i].p = calloc(want[i].n, sizeof(float));
        if (!*want[i].p) {
            gf_bl_free(net);
            return -1;
        }
    }
    return 0;
}

/* c [m,n] = bias (broadcast over rows) + a [m,k] b [k,n], i-k-j order. */
BL_INLINE void matmul_bias(float *restrict c, const float *restrict a, const float *restrict b,
                        const float *restrict bias, int64_t m, int64_t k, int64_t n)
{
    for (int64_t i = 0; i < m; i++) {
        float *restrict ci = c + i * n;
        for (int64_t j = 0; j < n; j++) ci[j] = bias[j];
        for (int64_t p = 0; p < k; p++) {
            const float aip = a[i * k + p];
            const float *restrict bp = b + p * n;
            BL_ROW_LOOP
            for (int64_t j = 0; j < n; j++) ci[j] += aip * bp[j];
        }
    }
}

BL_INLINE void sigmoid(float *restrict out, const float *restrict z, int64_t n)
{
    for (int64_t i = 0; i < n; i++) out[i] = 1.0f / (1.0f + expf(-z[i]));
}

/* Forward pass of rows x [m,784] into the scratch. */
BL_INLINE void forward(gf_bl_net *net, const float *x, int64_t m)
{
    const int64_t h = net->h;
    matmul_bias(net->z1, x, net->w1, net->b1, m, NI, h);
    sigmoid(net->a1, net->z1, m * h);
    matmul_bias(net->z2, net->a1, net->w2, net->b2, m, h, NO);
    sigmoid(net->a2, net->z2, m * NO);
}

/* w [k,n] -= rate * a^T d, a [m,k], d [m,n]: the batch row outermost so that
 * every access is contiguous (i-k-j order of a^T d). */
BL_INLINE void update_at_d(float *restrict w, const float *restrict a, const float *restrict d,
                        float rate, int64_t m, int64_t k, int64_t n)
{
    for (int64_t r = 0; r < m; r++) {
        const float *restrict dr = d + r * n;
        for (int64_t p = 0; p < k; p++) {
            const float s = rate * a[r * k + p];
            float *restrict wp = w + p * n;
            BL_ROW_LOOP
            for (int64_t j = 0; j < n; j++) wp[j] -= s * dr[j];
        }
    }
}

/* bias [n] -= rate * sum over rows of d [m,n]. */
BL_INLINE void update_bias(float *restrict bias, const float *restrict d, float rate, int64_t m,
                        int64_t n)
{
    for (int64_t j = 0; j < n; j++) {
        float s = 0;
        for (int64_t r = 0; r < m; r++) s += d[r * n + j];
        bias[j] -= rate * s;
    }
}

BL_INLINE void step_body(gf_bl_net *net, const float *x, const float *y, int64_t b,
                         float dz_scale, float w_rate, float b_rate)
{
    const int64_t h = net->h;
    forward(net, x, b);

    /* d_z_2 = scale * (a_2 - y) * a_2 * (1 - a_2)   (s'(z) = s(z)(1 - s(z))) */
    float *restrict dz2 = net->dz2;
    const float *restrict a2 = net->a2;
    for (int64_t i = 0; i < b * NO; i++) dz2[i] = dz_scale * (a2[i] - y[i]) * a2[i] * (1.0f - a2[i]);

    /* d_a_1 = d_z_2 w_2^T: rows of both are contiguous, so a dot product of
     * ten terms per element; then d_z_1 = d_a_1 * a_1 * (1 - a_1). */
    float *restrict da1 = net->da1, *restrict dz1 = net->dz1;
    const float *restrict a1 = net->a1, *restrict w2 = net->w2;
    for (int64_t r = 0; r < b; r++)
        for (int64_t i = 0; i < h; i++) {
            float s = 0;
            for (int64_t j = 0; j < NO; j++) s += dz2[r * NO + j] * w2[i * NO + j];
            da1[r * h + i] = s;
        }
    for (int64_t i = 0; i < b * h; i++) dz1[i] = da1[i] * a1[i] * (1.0f - a1[i]);

    /* Updates, after every read of the old weights. */
    update_at_d(net->w2, a1, dz2, w_rate, b, h, NO);
    update_bias(net->b2, dz2, b_rate, b, NO);
    update_at_d(net->w1, x, dz1, w_rate, b, NI, h);
    update_bias(net->b1, dz1, b_rate, b, h);
}

BL_INLINE int64_t argmax10(const float *v)
{
    int64_t best = 0;
    for (int64_t j = 1; j < NO; j++)
        if (v[j] > v[best]) best = j;
    return best;
}

BL_INLINE int64_t eval_body(gf_bl_net *net, const float *x, const float *y, int64_t n)
{
    int64_t correct = 0;
    for (int64_t start = 0; start < n; start += net->cap) {
        int64_t m = n - start < net->cap ? n - start : net->cap;
        forward(net, x + start * NI, m);
        for (int64_t r = 0; r < m; r++)
            correct += argmax10(net->a2 + r * NO) == argmax10(y + (start + r) * NO);
    }
    return correct;
}

static void step_portable(gf_bl_net *net, const float *x, const float *y, int64_t b,
                          float dz_scale, float w_rate, float b_rate)
{
    step_body(net, x, y, b, dz_scale, w_rate, b_rate);
}

static int64_t eval_portable(gf_bl_net *net, const float *x, const float *y, int64_t n)
{
    return eval_body(net, x, y, n);
}

#if BL_HAVE_AVX2
BL_AVX2 static void step_avx2(gf_bl_net *net, const float *x, const float *y, int64_t b,
                              float dz_scale, float w_rate, float b_rate)
{
    step_body(net, x, y, b, dz_scale, w_rate, b_rate);
}

BL_AVX2 static int64_t eval_avx2(gf_bl_net *net, const float *x, const float *y, int64_t n)
{
    return eval_body(net, x, y, n);
}
#endif

int gf_bl_uses_avx2(void)
{
#if BL_HAVE_AVX2
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

void gf_bl_step(gf_bl_net *net, const float *x, const float *y, int64_t b, float dz_scale,
                float w_rate, float b_rate)
{
#if BL_HAVE_AVX2
    if (net->avx2) {
        step_avx2(net, x, y, b, dz_scale, w_rate, b_rate);
        return;
    }
#endif
    step_portable(net, x, y, b, dz_scale, w_rate, b_rate);
}

int64_t gf_bl_eval(gf_bl_net *net, const float *x, const float *y, int64_t n)
{
#if BL_HAVE_AVX2
    if (net->avx2) return eval_avx2(net, x, y, n);
#endif
    return eval_portable(net, x, y, n);
}
