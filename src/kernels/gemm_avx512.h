/*
 * gemm_avx512.h — what the AVX-512 GEMM files (gemm_avx512.c: packed and
 * direct tiles; gemm_groups512.c: the zero-skipping groups) share: the
 * target attribute, lane masks, and how a row of C is written.
 */
#ifndef GF_GEMM_AVX512_H
#define GF_GEMM_AVX512_H

#include "simd.h"

#if GF_HAVE_AVX512_KERNELS

#include "gemm_avx2.h" /* ALWAYS_INLINE */

#include <immintrin.h>
#include <stdint.h>

#define AVX512 __attribute__((target("avx512f,avx2,fma,bmi2")))

/* The mask of the first n lanes (none when n <= 0, all 16 from 16). */
static inline __mmask16 first(int64_t n)
{
    return n <= 0 ? (__mmask16)0 : n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1);
}

/* C [1,nr] = alpha * acc + beta * C for one row of a tile, as tile_row_out
 * of gemm_avx2.c does it lane by lane. One vector (nr <= 16): lanes from
 * m0 (masked); two (16 < nr <= 32): at 0 and at off1 = nr - 16, which
 * overlaps the first when nr < 32 (both loads before both stores; the
 * overlap's lanes hold the same values in both). Not masked stores: on
 * AMD's Zen 4 one that leaves lanes out costs about 25 cycles (the weight
 * update [784,30]: 6.7 us of masked stores against 1.25 unmasked).
 * Returns the sum of the values written, for a caller that asks whether
 * all are finite. */
AVX512 ALWAYS_INLINE __m512 row_out(const int nv, float *c, __mmask16 m0, int64_t off1, __m512 al, __m512 be,
                                    float beta, __m512 acc0, __m512 acc1)
{
    __m512 x0, x1 = acc1;
    if (beta == 0.0f) {
        x0 = _mm512_mul_ps(al, acc0);
        if (nv == 2) x1 = _mm512_mul_ps(al, acc1);
    } else {
        __m512 old0 = nv == 2 ? _mm512_loadu_ps(c) : _mm512_maskz_loadu_ps(m0, c);
        __m512 old1 = nv == 2 ? _mm512_loadu_ps(c + off1) : old0;
        if (beta != 1.0f) {
            old0 = _mm512_mul_ps(be, old0);
            old1 = _mm512_mul_ps(be, old1);
        }
        x0 = _mm512_fmadd_ps(al, acc0, old0);
        if (nv == 2) x1 = _mm512_fmadd_ps(al, acc1, old1);
    }
    if (nv == 2) {
        _mm512_storeu_ps(c, x0);
        _mm512_storeu_ps(c + off1, x1);
    } else {
        _mm512_mask_storeu_ps(c, m0, x0);
    }
    return nv == 2 ? _mm512_add_ps(x0, x1) : x0;
}

/* 1 when every lane of the sum fin is finite. */
AVX512 static inline int all_finite(__m512 fin)
{
    return _mm512_cmp_ps_mask(_mm512_sub_ps(fin, fin), _mm512_setzero_ps(), _CMP_EQ_OQ) == 0xFFFF;
}

#endif
#endif
