/*
 * reduce.c — reductions: sum and mean over a set of axes (keepdims or not),
 * and argmax along one axis (first maximum on ties, as NumPy).
 */
#include "kernels.h"
#include "simd.h"
#include "threads.h"

#include <math.h>
#include <string.h>

/* Adds every element of x [d0,d1,d2,d3] into out at offset i . ostr, where
 * ostr is 0 along the dimensions being summed away. x is walked in memory
 * order, so the order of additions is fixed. */
static void sum_into(float *o, const gf_tensor *x, const int64_t ostr[GF_MAX_RANK], int64_t n_out)
{
    int64_t d[GF_MAX_RANK];
    gf__shape_pad4(x->shape, d);
    memset(o, 0, (size_t)n_out * sizeof *o);
    if (gf_shape_count(x->shape) == 0) return; /* not d0*d1*d2 empty rows of [2^31,14,0] */
    const float *p = x->data;
    for (int64_t i0 = 0; i0 < d[0]; i0++)
        for (int64_t i1 = 0; i1 < d[1]; i1++)
            for (int64_t i2 = 0; i2 < d[2]; i2++) {
                float *orow = o + i0 * ostr[0] + i1 * ostr[1] + i2 * ostr[2];
                if (ostr[3] == 0) {
                    float acc = 0.0f;
                    for (int64_t i3 = 0; i3 < d[3]; i3++) acc += *p++;
                    *orow += acc;
                } else {
                    for (int64_t i3 = 0; i3 < d[3]; i3++) orow[i3] += *p++;
                }
            }
}

/* Marks the axes a reduction node reduces (none listed: all). */
static void reduced_axes(const gf_reduce_attrs *a, int rank, bool reduced[GF_MAX_RANK])
{
    for (int i = 0; i < GF_MAX_RANK; i++) reduced[i] = a->n_axes == 0 && i < rank;
    for (int i = 0; i < a->n_axes; i++) reduced[a->axes[i]] = true;
}

/* x's shape with the reduced axes set to 1 (the keepdims shape). */
static gf_shape keep_shape(gf_shape s, const gf_reduce_attrs *a)
{
    bool reduced[GF_MAX_RANK];
    reduced_axes(a, s.rank, reduced);
    for (int i = 0; i < s.rank; i++)
        if (reduced[i]) s.dim[i] = 1;
    return s;
}

/* out [kept dims] = sum of x over the reduced axes; returns the number of
 * elements summed into each output element. */
static int64_t reduce_sum(gf_tensor *out, const gf_tensor *x, const gf_node *n)
{
    gf_shape k = keep_shape(x->shape, &n->attrs.reduce);
    int64_t ostr[GF_MAX_RANK];
    gf__broadcast_strides(k, x->shape, ostr);
    int64_t n_out = gf_shape_count(out->shape), n_in = gf_shape_count(x->shape);
    sum_into(out->data, x, ostr, n_out);
    return n_out ? n_in / n_out : 0;
}

GF_KERNEL(gf__k_reduce_sum)
{
    (void)ctx;
    reduce_sum(out, in[0], n);
}

GF_KERNEL(gf__k_reduce_mean)
{
    (void)ctx;
    int64_t group = reduce_sum(out, in[0], n);
    int64_t cnt = gf_shape_count(out->shape);
    /* mean of nothing is NaN, as NumPy */
    float inv = group ? 1.0f / (float)group : NAN;
    for (int64_t i = 0; i < cnt; i++) out->data[i] = group ? out->data[i] * inv : inv;
}

/* The index of the first maximum of p [0], p [stride], ... (len >= 1
 * values); a NaN wins, the first one, as NumPy. */
static int64_t argmax_at(const float *p, int64_t len, int64_t stride)
{
    int64_t best = 0;
    float bv = p[0];
    for (int64_t k = 1; k < len && !isnan(bv); k++) {
        float v = p[k * stride];
        if (v > bv || isnan(v)) {
            bv = v;
            best = k;
        }
    }
    return best;
}

#if GF_HAVE_AVX2_KERNELS
#include <immintrin.h>

/* out [rows] = argmax of each row of x [rows,len]: the row's maximum, then
 * the first element equal to it (ties and -0 == +0 as the scalar loop: its
 * first maximum); a row holding a NaN goes through that loop, whose answer
 * is then the first NaN. Rows are read in order, 8 floats at a time, and
 * the only branch (a NaN in the row) is almost never taken; the scalar
 * loop mispredicts once or twice on a row of 10. */
__attribute__((target("avx2"))) static void argmax_rows_avx2(float *out, const float *x, int64_t rows, int64_t len)
{
    const __m256 ninf = _mm256_set1_ps(-INFINITY);
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const int64_t body = len / 8 * 8;
    const __m256i tail = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(len - body)), lane);
    for (int64_t r = 0; r < rows; r++) {
        const float *p = x + r * len;
        __m256 m = ninf, nan = _mm256_setzero_ps();
        for (int64_t j = 0; j < body; j += 8) {
            __m256 v = _mm256_loadu_ps(p + j);
            m = _mm256_max_ps(m, v);
            nan = _mm256_or_ps(nan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
        }
        if (body < len) { /* the last len % 8, the other lanes -inf */
            __m256 v = _mm256_blendv_ps(ninf, _mm256_maskload_ps(p + body, tail), _mm256_castsi256_ps(tail));
            m = _mm256_max_ps(m, v);
            nan = _mm256_or_ps(nan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
        }
        if (_mm256_movemask_ps(nan)) {
            out[r] = (float)argmax_at(p, len, 1);
            continue;
        }
        m = _mm256_max_ps(m, _mm256_permute2f128_ps(m, m, 1));
        m = _mm256_max_ps(m, _mm256_shuffle_ps(m, m, 0x4e));
        m = _mm256_max_ps(m, _mm256_shuffle_ps(m, m, 0xb1)); /* every lane: the row's max */
        int64_t j = 0;
        unsigned hit = 0;
        for (; j < body; j += 8)
            if ((hit = (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(p + j), m, _CMP_EQ_OQ))))
                break;
        if (!hit) /* the max is in the tail (padding lanes come after it) */
            hit = (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_maskload_ps(p + body, tail), m, _CMP_EQ_OQ));
        out[r] = (float)(j + __builtin_ctz(hit));
    }
}
#endif

#if GF_HAVE_AVX512_KERNELS
/* argmax_rows_avx2 with 16 lanes and masks: a row of 10 is one masked
 * load. Same answers (they are indices: no rounding to differ). */
__attribute__((target("avx512f"))) static void argmax_rows_avx512(float *out, const float *x, int64_t rows,
                                                                   int64_t len)
{
    const __m512 ninf = _mm512_set1_ps(-INFINITY);
    const int64_t body = len / 16 * 16;
    const __mmask16 tail = (__mmask16)((1u << (len - body)) - 1);
    for (int64_t r = 0; r < rows; r++) {
        const float *p = x + r * len;
        __m512 m = ninf;
        __mmask16 nan = 0;
        for (int64_t j = 0; j < body; j += 16) {
            __m512 v = _mm512_loadu_ps(p + j);
            m = _mm512_max_ps(m, v);
            nan |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
        }
        if (tail) { /* the last len % 16, the other lanes -inf */
            __m512 v = _mm512_mask_loadu_ps(ninf, tail, p + body);
            m = _mm512_max_ps(m, v);
            nan |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
        }
        if (nan) {
            out[r] = (float)argmax_at(p, len, 1);
            continue;
        }
        const __m512 mv = _mm512_set1_ps(_mm512_reduce_max_ps(m)); /* every lane: the row's max */
        int64_t j = 0;
        unsigned hit = 0;
        for (; j < body; j += 16)
            if ((hit = _mm512_cmp_ps_mask(_mm512_loadu_ps(p + j), mv, _CMP_EQ_OQ))) break;
        if (!hit) /* the max is in the tail */
            hit = _mm512_mask_cmp_ps_mask(tail, _mm512_maskz_loadu_ps(tail, p + body), mv, _CMP_EQ_OQ);
        out[r] = (float)(j + __builtin_ctz(hit));
    }
}
#endif

/* argmax over len of x [outer,len,inner] for outer rows lo .. hi-1. */
typedef struct argmax_job {
    float *out;
    const float *x;
    int64_t outer, len, inner, per; /* per: rows a task */
} argmax_job;

static void argmax_rows(const argmax_job *j, int64_t lo, int64_t hi)
{
#if GF_HAVE_AVX512_KERNELS
    if (j->inner == 1 && j->len >= 1 && gf__avx512_enabled()) {
        argmax_rows_avx512(j->out + lo, j->x + lo * j->len, hi - lo, j->len);
        return;
    }
#endif
#if GF_HAVE_AVX2_KERNELS
    if (j->inner == 1 && j->len >= 1 && gf__simd_enabled()) {
        argmax_rows_avx2(j->out + lo, j->x + lo * j->len, hi - lo, j->len);
        return;
    }
#endif
    for (int64_t o = lo; o < hi; o++)
        for (int64_t i = 0; i < j->inner; i++)
            j->out[o * j->inner + i] = (float)argmax_at(j->x + o * j->len * j->inner + i, j->len, j->inner);
}

static void argmax_task(void *arg, int t)
{
    const argmax_job *j = arg;
    int64_t lo = (int64_t)t * j->per, hi = lo + j->per < j->outer ? lo + j->per : j->outer;
    argmax_rows(j, lo, hi);
}

/* Elements per task when an argmax is split over threads (an evaluation's
 * [10000,10]: 7 tasks), and so the least worth splitting. */
#define ARGMAX_PAR_ELEMS (16 * 1024)

/* out [outer,inner] = argmax over len of in [outer,len,inner]. A NaN wins
 * (the first one), as NumPy. Large ones are split over threads by rows
 * (each row alone: the same answer for any split). */
GF_KERNEL(gf__k_argmax)
{
    const gf_shape s = in[0]->shape;
    int axis = n->attrs.argmax.axis;
    int64_t outer = 1, len = s.dim[axis], inner = 1;
    for (int i = 0; i < axis; i++) outer *= s.dim[i];
    for (int i = axis + 1; i < s.rank; i++) inner *= s.dim[i];
    if (outer * inner == 0) return; /* nothing to write */
    argmax_job j = { out->data, in[0]->data, outer, len, inner, outer };
    int64_t row = len * inner > 0 ? len * inner : 1;
    if (ctx->threads > 1 && outer * row >= 2 * ARGMAX_PAR_ELEMS) {
        j.per = (ARGMAX_PAR_ELEMS + row - 1) / row;
        int64_t ntasks = (outer + j.per - 1) / j.per;
        if (ntasks <= 0xffff) {
            gf__parallel_for(ctx->threads, (int)ntasks, argmax_task, &j);
            return;
        }
        j.per = outer;
    }
    argmax_rows(&j, 0, outer);
}

/* out [shape of like] = g [broadcastable] summed... the inverse: out = g
 * summed over the dimensions along which like broadcasts to g. */
GF_KERNEL(gf__k_sum_to)
{
    (void)n; (void)ctx;
    int64_t ostr[GF_MAX_RANK];
    gf__broadcast_strides(out->shape, in[0]->shape, ostr);
    sum_into(out->data, in[0], ostr, gf_shape_count(out->shape));
}

/* out [shape of like] = g broadcast (NumPy rule, or back over the axes a
 * reduction removed), divided by the group size for a mean's gradient. */
GF_KERNEL(gf__k_broadcast_like)
{
    (void)ctx;
    gf_shape gs = n->attrs.broadcast_like.mode == GF_BCAST_NUMPY ? in[0]->shape
                                                               : keep_shape(out->shape, &n->attrs.broadcast_like.reduce);
    int64_t d[GF_MAX_RANK], st[GF_MAX_RANK];
    gf__shape_pad4(out->shape, d);
    gf__broadcast_strides(gs, out->shape, st);
    int64_t n_out = gf_shape_count(out->shape), n_in = gf_shape_count(in[0]->shape);
    float scale = n->attrs.broadcast_like.reduce.mean_scale && n_out ? (float)n_in / (float)n_out : 1.0f;
    const float *g = in[0]->data;
    float *o = out->data;
    for (int64_t i0 = 0; i0 < d[0]; i0++)
        for (int64_t i1 = 0; i1 < d[1]; i1++)
            for (int64_t i2 = 0; i2 < d[2]; i2++) {
                const float *p = g + i0 * st[0] + i1 * st[1] + i2 * st[2];
                for (int64_t i3 = 0; i3 < d[3]; i3++) *o++ = p[i3 * st[3]] * scale;
            }
}
