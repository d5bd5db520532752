/*
 * gemm_avx2.h — what the AVX2 GEMM files share (gemm_avx2.c, gemm_zeros.c,
 * gemm_sparse.c): target attributes, lane masks, the zero scans.
 */
#ifndef GF_GEMM_AVX2_H
#define GF_GEMM_AVX2_H

#include "gemm_impl.h"
#include "simd.h"

#if GF_HAVE_AVX2_KERNELS

#include <immintrin.h>
#include <math.h>
#include <stdint.h>

#define AVX2 __attribute__((target("avx2,fma")))
#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* k in blocks of at most KC_MAX (the plan picks the size from the whole
 * problem's shape, so every thread and every path uses the same). */
#ifndef KC_MAX
#define KC_MAX 256
#endif

/* Rows of op(A) whose masks gf__nz_masks makes at once (a multiple of 6). */
#define MASK_ROWS 1020

static const int32_t gf__mask_tab[16] = { -1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0 };

/* A mask of the first n (0..8) lanes. */
AVX2 ALWAYS_INLINE __m256i lanes(int n)
{
    return _mm256_loadu_si256((const __m256i *)(gf__mask_tab + 8 - n));
}

/* Stores the first n (1..7) lanes of x at p. */
AVX2 ALWAYS_INLINE void store_part(float *p, __m256 x, int n)
{
    __m128 h = _mm256_castps256_ps128(x);
    if (n & 4) {
        _mm_storeu_ps(p, h);
        h = _mm256_extractf128_ps(x, 1);
        p += 4;
    }
    if (n & 2) {
        _mm_storel_epi64((__m128i *)p, _mm_castps_si128(h));
        h = _mm_movehl_ps(h, h);
        p += 2;
    }
    if (n & 1) _mm_store_ss(p, h);
}

/* Whether a tile with nothing to add may leave C as it is: its terms are
 * alpha * 0 = -0 (alpha finite and negative), and C + -0 is C whatever C.
 * (With beta != 1 the first k block must still write beta * C.) */
static inline int gf__nothing_keeps_c(float alpha)
{
    return alpha * 0.0f == 0.0f && signbit(alpha * 0.0f);
}

/* Transposes the 8x8 block r[0..7] (rows) in place. */
AVX2 ALWAYS_INLINE void transpose8(__m256 r[8])
{
    __m256 t[8], u[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
        u[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
        u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
        u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20);
        r[i + 4] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
    }
}

/* gemm_zeros.c. gf__nz_compact[bits]: the positions of the set bits of
 * bits, ascending, one per byte; gf__nz_popc[bits]: how many. Valid after
 * gf__nz_init() (cheap after the first call). */
extern uint64_t gf__nz_compact[256];
extern unsigned char gf__nz_popc[256];
void gf__nz_init(void);
/* Lists in idx the p in [0,kc) where some A(r,p), r < mr, is not zero (NaN
 * counts as not zero); returns how many. A(r,p) at a[r + p*as] when acol,
 * else a[r*as + p]; wide: 8 floats readable at each a + p*as. idx has
 * room for kc + 8. */
AVX2 int64_t gf__nz_ks(int acol, int wide, int64_t mr, int64_t kc, const float *a, int64_t as, int32_t *idx);
/* The same for one contiguous row x [kc]. */
AVX2 int64_t gf__nz_list(const float *x, int64_t kc, int32_t *idx);
/* nzm[i] bit p set when a[i + p*as] is not zero, i < mm, p < kc <= 32;
 * act (NULL, or room for mm + 8) lists the i with a mask not 0; returns
 * how many. */
AVX2 int64_t gf__nz_masks(int64_t mm, int64_t kc, const float *a, int64_t as, uint32_t *nzm, int32_t *act);
/* Lists in idx the set bits of w below 8*nbytes, ascending; how many. */
AVX2 int64_t gf__nz_list_bits(uint32_t w, int nbytes, int32_t *idx);
/* 1 when B [kc, nr] (row p at b + p*bs) holds only finite numbers. */
AVX2 int gf__nz_all_finite(int64_t kc, int64_t nr, const float *b, int64_t bs);

/* gemm_sparse.c: C [m,n] = alpha * op(A) @ B + beta * C skipping zeros of
 * op(A) row by row; 0 (nothing done) when the shape does not suit. hint
 * (may be NULL): b_finite read; b_checked set when every block of B was
 * found (or known) finite; c_finite set by the op(A) = A^T case when every
 * value written is finite. */
AVX2 int gf__gemm_sparse_rows(int64_t kc_max, int ta, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                              int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc,
                              struct gf_gemm_hint *hint);

#endif
#endif
