/*
 * exp.c — float32 exp over arrays (Cephes' expf): portable C and AVX2, which
 * do the same float operations in the same order and so give the same bits.
 */
#include "kernels.h"
#include "simd.h"

#include <string.h>

/* exp(x) for float x:
 *   x' = x clamped to [LO, HI]        (NaN is returned as it came in)
 *   n  = floor(x' * log2(e) + 1/2)    (n in [-150, 128])
 *   r  = (x' - n*C1) - n*C2           (|r| <= about ln(2)/2; C1 + C2 = ln 2
 *                                      within 1e-11, C1 short enough that
 *                                      n*C1 is exact)
 *   p  = ((poly(r) * r*r) + r) + 1    (e^r; Cephes' minimax polynomial)
 *   e^x = (p * 2^h) * 2^(n-h), h = floor(n/2), the powers made from exponent
 *        bits (both normal: h, n-h in [-75, 64]), so results above FLT_MAX
 *        come out +inf and subnormal ones are rounded once, by the last
 *        multiply; x <= LO gives 0 (e^-104 is under half the least
 *        subnormal), x >= HI gives +inf (e^88.8 > FLT_MAX).
 * No fused multiply-adds: each product is rounded before it is added, in
 * both versions. The AVX2 one uses separate mul and add and is compiled for
 * AVX2 without FMA; the portable one writes one operation per statement
 * (Clang contracts only within one), and GCC contracts nothing in ISO mode
 * (the build's -std=c11; -std=gnu11 with an FMA target would break this,
 * and tests/test_exp.c, which pins the bits, would say so). Max error under
 * 1 ulp for normal results (measured by tests/test_exp.c). */
#define EXP_LO (-104.0f)
#define EXP_HI 88.8f
#define LOG2E 1.44269504088896341f
#define C1 0.693359375f
#define C2 (-2.12194440e-4f)
#define P0 1.9875691500e-4f
#define P1 1.3981999507e-3f
#define P2 8.3334519073e-3f
#define P3 4.1665795894e-2f
#define P4 1.6666665459e-1f
#define P5 5.0000001201e-1f

/* 2^k as a float, for k in [-126, 127]. */
static inline float pow2i(int32_t k)
{
    union { uint32_t u; float f; } v = { (uint32_t)(k + 127) << 23 };
    return v.f;
}

/* k ? a : b without a branch (as bits), so compilers vectorise the loop
 * (GCC makes branches of ?: here and then does not). */
static inline float pick(int k, float a, float b)
{
    union { float f; uint32_t u; } va = { a }, vb = { b }, v;
    uint32_t m = 0u - (uint32_t)k;
    v.u = (va.u & m) | (vb.u & ~m);
    return v.f;
}

static inline float exp1(float x)
{
    float c = pick(x > EXP_LO, x, EXP_LO); /* NaN -> LO: n stays in range */
    c = pick(c < EXP_HI, c, EXP_HI);
    float t = c * LOG2E;
    t = t + 0.5f;
    int32_t n = (int32_t)t; /* floor(t): truncation, one less below zero */
    n -= (float)n > t;
    float fn = (float)n;
    float r = fn * C1;
    r = c - r;
    float q = fn * C2;
    r = r - q;
    float z = r * r;
    float p = P0 * r;
    p = p + P1;
    p = p * r;
    p = p + P2;
    p = p * r;
    p = p + P3;
    p = p * r;
    p = p + P4;
    p = p * r;
    p = p + P5;
    p = p * z;
    p = p + r;
    p = p + 1.0f;
    int32_t h = ((n + 256) >> 1) - 128; /* floor(n/2); n + 256 > 0 */
    p = p * pow2i(h);
    p = p * pow2i(n - h);
    return pick(x != x, x, p);
}

void gf__exp_block_portable(float *o, const float *a, int64_t n)
{
    for (int64_t i = 0; i < n; i++) o[i] = exp1(a[i]);
}

#if GF_HAVE_AVX2_KERNELS
#include <immintrin.h>

/* exp1 on 8 lanes, operation for operation (floor(t) by rounding, not by
 * truncation and a correction: the same integer). */
__attribute__((target("avx2"))) static inline __m256 exp8(__m256 x)
{
    __m256 c = _mm256_max_ps(x, _mm256_set1_ps(EXP_LO)); /* x > LO ? x : LO */
    c = _mm256_min_ps(c, _mm256_set1_ps(EXP_HI));        /* c < HI ? c : HI */
    __m256 t = _mm256_add_ps(_mm256_mul_ps(c, _mm256_set1_ps(LOG2E)), _mm256_set1_ps(0.5f));
    __m256 fn = _mm256_floor_ps(t);
    __m256i n = _mm256_cvttps_epi32(fn);
    __m256 r = _mm256_sub_ps(c, _mm256_mul_ps(fn, _mm256_set1_ps(C1)));
    r = _mm256_sub_ps(r, _mm256_mul_ps(fn, _mm256_set1_ps(C2)));
    __m256 z = _mm256_mul_ps(r, r);
    __m256 p = _mm256_mul_ps(_mm256_set1_ps(P0), r);
    p = _mm256_mul_ps(_mm256_add_ps(p, _mm256_set1_ps(P1)), r);
    p = _mm256_mul_ps(_mm256_add_ps(p, _mm256_set1_ps(P2)), r);
    p = _mm256_mul_ps(_mm256_add_ps(p, _mm256_set1_ps(P3)), r);
    p = _mm256_mul_ps(_mm256_add_ps(p, _mm256_set1_ps(P4)), r);
    p = _mm256_add_ps(p, _mm256_set1_ps(P5));
    p = _mm256_add_ps(_mm256_mul_ps(p, z), r);
    p = _mm256_add_ps(p, _mm256_set1_ps(1.0f));
    const __m256i bias = _mm256_set1_epi32(127);
    __m256i h = _mm256_sub_epi32(_mm256_srai_epi32(_mm256_add_epi32(n, _mm256_set1_epi32(256)), 1),
                                 _mm256_set1_epi32(128));
    __m256i e1 = _mm256_slli_epi32(_mm256_add_epi32(h, bias), 23);
    __m256i e2 = _mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(n, h), bias), 23);
    p = _mm256_mul_ps(p, _mm256_castsi256_ps(e1));
    p = _mm256_mul_ps(p, _mm256_castsi256_ps(e2));
    return _mm256_blendv_ps(p, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q)); /* NaN: x */
}

/* exp8 on EXP_U vectors at once, each step done for all of them before
 * the next: exp8 is one long chain of dependent operations, and taken one
 * vector at a time the waiting operations of two or three vectors fill
 * the out-of-order scheduler; interleaved, independent work sits next to
 * it (4 at once: 1.03 -> 0.89 ns an element here; 2 and 8 gained less).
 * The same operations on each lane, so the same bits. */
#define EXP_U 4
#define EACH(stmt) for (int u = 0; u < EXP_U; u++) { stmt; }
__attribute__((target("avx2"))) static inline void exp8xU(float *o, const float *a)
{
    __m256 x[EXP_U], c[EXP_U], t[EXP_U], fn[EXP_U], r[EXP_U], z[EXP_U], p[EXP_U];
    __m256i n[EXP_U], h[EXP_U];
    EACH(x[u] = _mm256_loadu_ps(a + 8 * u))
    EACH(c[u] = _mm256_min_ps(_mm256_max_ps(x[u], _mm256_set1_ps(EXP_LO)), _mm256_set1_ps(EXP_HI)))
    EACH(t[u] = _mm256_add_ps(_mm256_mul_ps(c[u], _mm256_set1_ps(LOG2E)), _mm256_set1_ps(0.5f)))
    EACH(fn[u] = _mm256_floor_ps(t[u]))
    EACH(n[u] = _mm256_cvttps_epi32(fn[u]))
    EACH(r[u] = _mm256_sub_ps(c[u], _mm256_mul_ps(fn[u], _mm256_set1_ps(C1))))
    EACH(r[u] = _mm256_sub_ps(r[u], _mm256_mul_ps(fn[u], _mm256_set1_ps(C2))))
    EACH(z[u] = _mm256_mul_ps(r[u], r[u]))
    EACH(p[u] = _mm256_mul_ps(_mm256_set1_ps(P0), r[u]))
    EACH(p[u] = _mm256_mul_ps(_mm256_add_ps(p[u], _mm256_set1_ps(P1)), r[u]))
    EACH(p[u] = _mm256_mul_ps(_mm256_add_ps(p[u], _mm256_set1_ps(P2)), r[u]))
    EACH(p[u] = _mm256_mul_ps(_mm256_add_ps(p[u], _mm256_set1_ps(P3)), r[u]))
    EACH(p[u] = _mm256_mul_ps(_mm256_add_ps(p[u], _mm256_set1_ps(P4)), r[u]))
    EACH(p[u] = _mm256_add_ps(p[u], _mm256_set1_ps(P5)))
    EACH(p[u] = _mm256_add_ps(_mm256_mul_ps(p[u], z[u]), r[u]))
    EACH(p[u] = _mm256_add_ps(p[u], _mm256_set1_ps(1.0f)))
    EACH(h[u] = _mm256_sub_epi32(_mm256_srai_epi32(_mm256_add_epi32(n[u], _mm256_set1_epi32(256)), 1),
                                 _mm256_set1_epi32(128)))
    EACH(p[u] = _mm256_mul_ps(p[u], _mm256_castsi256_ps(_mm256_slli_epi32(
                                        _mm256_add_epi32(h[u], _mm256_set1_epi32(127)), 23))))
    EACH(p[u] = _mm256_mul_ps(p[u], _mm256_castsi256_ps(_mm256_slli_epi32(
                                        _mm256_add_epi32(_mm256_sub_epi32(n[u], h[u]), _mm256_set1_epi32(127)), 23))))
    EACH(_mm256_storeu_ps(o + 8 * u, _mm256_blendv_ps(p[u], x[u], _mm256_cmp_ps(x[u], x[u], _CMP_UNORD_Q))))
}
#undef EACH

/* The same as gf__exp_block_portable, 32 then 8 lanes at a time (the last
 * n % 8 through a buffer of 8). Built for AVX2 without FMA, so that no compiler
 * can fuse a multiply and an add. */
__attribute__((target("avx2"))) void gf__exp_block_avx2(float *o, const float *a, int64_t n)
{
    int64_t i = 0;
    for (; i + 8 * EXP_U <= n; i += 8 * EXP_U) exp8xU(o + i, a + i);
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(o + i, exp8(_mm256_loadu_ps(a + i)));
    if (i < n) {
        float buf[8] = { 0 };
        memcpy(buf, a + i, (size_t)(n - i) * sizeof *buf);
        _mm256_storeu_ps(buf, exp8(_mm256_loadu_ps(buf)));
        memcpy(o + i, buf, (size_t)(n - i) * sizeof *buf);
    }
}
#endif

#if GF_HAVE_AVX512_KERNELS
#define AVX512 __attribute__((target("avx512f")))

/* exp8 on 16 lanes, operation for operation (and so the same bits). */
AVX512 static inline __m512 exp16(__m512 x)
{
    __m512 c = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(EXP_LO)), _mm512_set1_ps(EXP_HI));
    __m512 t = _mm512_add_ps(_mm512_mul_ps(c, _mm512_set1_ps(LOG2E)), _mm512_set1_ps(0.5f));
    __m512 fn = _mm512_roundscale_ps(t, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    __m512i n = _mm512_cvttps_epi32(fn);
    __m512 r = _mm512_sub_ps(c, _mm512_mul_ps(fn, _mm512_set1_ps(C1)));
    r = _mm512_sub_ps(r, _mm512_mul_ps(fn, _mm512_set1_ps(C2)));
    __m512 z = _mm512_mul_ps(r, r);
    __m512 p = _mm512_mul_ps(_mm512_set1_ps(P0), r);
    p = _mm512_mul_ps(_mm512_add_ps(p, _mm512_set1_ps(P1)), r);
    p = _mm512_mul_ps(_mm512_add_ps(p, _mm512_set1_ps(P2)), r);
    p = _mm512_mul_ps(_mm512_add_ps(p, _mm512_set1_ps(P3)), r);
    p = _mm512_mul_ps(_mm512_add_ps(p, _mm512_set1_ps(P4)), r);
    p = _mm512_add_ps(p, _mm512_set1_ps(P5));
    p = _mm512_add_ps(_mm512_mul_ps(p, z), r);
    p = _mm512_add_ps(p, _mm512_set1_ps(1.0f));
    const __m512i bias = _mm512_set1_epi32(127);
    __m512i h = _mm512_sub_epi32(_mm512_srai_epi32(_mm512_add_epi32(n, _mm512_set1_epi32(256)), 1),
                                 _mm512_set1_epi32(128));
    __m512i e1 = _mm512_slli_epi32(_mm512_add_epi32(h, bias), 23);
    __m512i e2 = _mm512_slli_epi32(_mm512_add_epi32(_mm512_sub_epi32(n, h), bias), 23);
    p = _mm512_mul_ps(p, _mm512_castsi512_ps(e1));
    p = _mm512_mul_ps(p, _mm512_castsi512_ps(e2));
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), p, x); /* NaN: x */
}

/* The same as gf__exp_block_portable, 32 then 16 lanes at a time (two
 * independent vectors in flight, as exp8xU does for AVX2), the last n % 16
 * through masked loads and stores. Built without FMA. */
AVX512 void gf__exp_block_avx512(float *o, const float *a, int64_t n)
{
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m512 x0 = _mm512_loadu_ps(a + i), x1 = _mm512_loadu_ps(a + i + 16);
        _mm512_storeu_ps(o + i, exp16(x0));
        _mm512_storeu_ps(o + i + 16, exp16(x1));
    }
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(o + i, exp16(_mm512_loadu_ps(a + i)));
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(o + i, m, exp16(_mm512_maskz_loadu_ps(m, a + i)));
    }
}
#endif

void gf__exp_block(float *o, const float *a, int64_t n)
{
#if GF_HAVE_AVX512_KERNELS
    if (gf__avx512_enabled()) {
        gf__exp_block_avx512(o, a, n);
        return;
    }
#endif
#if GF_HAVE_AVX2_KERNELS
    if (gf__simd_enabled()) {
        gf__exp_block_avx2(o, a, n);
        return;
    }
#endif
    gf__exp_block_portable(o, a, n);
}
