/*
 * gemm_zeros.c — the scans behind the GEMM's zero skipping: where op(A) is
 * not zero (lists and bit masks of k), and whether a block of B is finite.
 */
#include "gemm_avx2.h"

#if GF_HAVE_AVX2_KERNELS

#include <pthread.h>
#include <string.h>

/* gf__nz_compact[bits]: the positions of the set bits of bits, ascending, in
 * bytes; gf__nz_popc[bits]: how many. Filled once, on first use. */
uint64_t gf__nz_compact[256];
unsigned char gf__nz_popc[256];
static pthread_once_t compact_once = PTHREAD_ONCE_INIT;

static void compact_init(void)
{
    for (unsigned bits = 1; bits < 256; bits++) {
        uint64_t v = 0;
        int n = 0;
        for (unsigned i = 0; i < 8; i++)
            if (bits >> i & 1) v |= (uint64_t)i << (8 * n++);
        gf__nz_popc[bits] = (unsigned char)n;
        gf__nz_compact[bits] = v;
    }
}

/* Lists in idx the p in [0,kc) where some A(r,p), r < mr, is not zero (NaN
 * counts as not zero); returns how many. A's element (r,p) is at a[r + p*as]
 * when acol, else a[r*as + p]; wide: 8 floats may be read from each a +
 * p*as (acol). idx has room for kc + 8; compact_init done. */
AVX2 int64_t gf__nz_ks(int acol, int wide, int64_t mr, int64_t kc, const float *a, int64_t as, int32_t *idx)
{
    const __m256 zero = _mm256_setzero_ps();
    int64_t cnt = 0;
    if (acol) {
        if (wide) { /* 8 floats readable at each a + p*as: plain loads */
            const int keep = (1 << mr) - 1;
            for (int64_t p = 0; p < kc; p++) {
                __m256 x = _mm256_loadu_ps(a + p * as);
                idx[cnt] = (int32_t)p;
                cnt += (_mm256_movemask_ps(_mm256_cmp_ps(x, zero, _CMP_NEQ_UQ)) & keep) != 0;
            }
            return cnt;
        }
        const __m256i rows = lanes((int)mr);
        for (int64_t p = 0; p < kc; p++) {
            __m256 x = _mm256_maskload_ps(a + p * as, rows);
            idx[cnt] = (int32_t)p;
            cnt += _mm256_movemask_ps(_mm256_cmp_ps(x, zero, _CMP_NEQ_UQ)) != 0;
        }
        return cnt;
    }
    for (int64_t p = 0; p < kc; p += 8) {
        __m256 any = zero;
        if (p + 8 <= kc) {
            for (int64_t r = 0; r < mr; r++)
                any = _mm256_or_ps(any, _mm256_cmp_ps(_mm256_loadu_ps(a + r * as + p), zero, _CMP_NEQ_UQ));
        } else {
            const __m256i cols = lanes((int)(kc - p));
            for (int64_t r = 0; r < mr; r++)
                any = _mm256_or_ps(any, _mm256_cmp_ps(_mm256_maskload_ps(a + r * as + p, cols), zero, _CMP_NEQ_UQ));
        }
        unsigned bits = (unsigned)_mm256_movemask_ps(any);
        /* Branch-free: write 8 candidates, keep gf__nz_popc[bits] of them. */
        __m256i pos = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)gf__nz_compact[bits]));
        _mm256_storeu_si256((__m256i *)(idx + cnt), _mm256_add_epi32(pos, _mm256_set1_epi32((int)p)));
        cnt += gf__nz_popc[bits];
    }
    return cnt;
}

/* Lists in idx the p in [0,kc) where x[p] is not zero (NaN counts as not
 * zero), ascending; returns how many. idx has room for kc + 8. 16 floats
 * a step: compare, a mask, and 8 candidate positions written of which
 * gf__nz_popc[mask] are kept (branch-free). */
AVX2 int64_t gf__nz_list(const float *x, int64_t kc, int32_t *idx)
{
    const __m256 zero = _mm256_setzero_ps();
    __m256i base = _mm256_setzero_si256();
    const __m256i eight = _mm256_set1_epi32(8);
    int64_t cnt = 0, p = 0;
    for (; p + 16 <= kc; p += 16) {
        unsigned m0 = (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(x + p), zero, _CMP_NEQ_UQ));
        unsigned m1 = (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(x + p + 8), zero, _CMP_NEQ_UQ));
        __m256i pos0 = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)&gf__nz_compact[m0]));
        __m256i pos1 = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)&gf__nz_compact[m1]));
        _mm256_storeu_si256((__m256i *)(idx + cnt), _mm256_add_epi32(pos0, base));
        cnt += gf__nz_popc[m0];
        base = _mm256_add_epi32(base, eight);
        _mm256_storeu_si256((__m256i *)(idx + cnt), _mm256_add_epi32(pos1, base));
        cnt += gf__nz_popc[m1];
        base = _mm256_add_epi32(base, eight);
    }
    for (; p < kc; p += 8) {
        __m256 v = p + 8 <= kc ? _mm256_loadu_ps(x + p) : _mm256_maskload_ps(x + p, lanes((int)(kc - p)));
        unsigned m = (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(v, zero, _CMP_NEQ_UQ));
        if (p + 8 > kc) m &= (1u << (kc - p)) - 1;
        __m256i pos = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)&gf__nz_compact[m]));
        _mm256_storeu_si256((__m256i *)(idx + cnt), _mm256_add_epi32(pos, base));
        cnt += gf__nz_popc[m];
        base = _mm256_add_epi32(base, eight);
    }
    return cnt;
}

/* Appends to act the i0 + j (j < 8) whose lane j of acc is not 0, lanes
 * below n only; returns the new count. Branch-free, as gf__nz_list. */
AVX2 ALWAYS_INLINE int64_t list_nonzero(__m256i acc, int64_t i0, int n, int32_t *act, int64_t cnt)
{
    unsigned m = ~(unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(acc, _mm256_setzero_si256())));
    m &= (1u << n) - 1;
    __m256i pos = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)gf__nz_compact[m]));
    _mm256_storeu_si256((__m256i *)(act + cnt), _mm256_add_epi32(pos, _mm256_set1_epi32((int)i0)));
    return cnt + gf__nz_popc[m];
}

/* nzm[i] gets bit p set when A(i,p) = a[i + p*as] is not zero (NaN counts
 * as not zero), for i < mm and p < kc <= 32: one pass along A's stored
 * rows, where the transposed operand (ta) is contiguous. The rows are
 * taken from the last: acc = 2*acc - nz shifts the bits so far up one
 * and adds 1 where this row is not zero (nz is -1 there). act (NULL:
 * none; else room for mm + 8) gets the i whose mask is not 0, ascending;
 * returns how many (0 without act). Needs gf__nz_init(). */
AVX2 int64_t gf__nz_masks(int64_t mm, int64_t kc, const float *a, int64_t as, uint32_t *nzm, int32_t *act)
{
    const __m256 zero = _mm256_setzero_ps();
    int64_t i = 0, cnt = 0;
    for (; i + 16 <= mm; i += 16) { /* two vectors a row: half the loop overhead */
        __m256i acc0 = _mm256_setzero_si256(), acc1 = acc0;
        for (int64_t p = kc - 1; p >= 0; p--) {
            const float *x = a + p * as + i;
            __m256i nz0 = _mm256_castps_si256(_mm256_cmp_ps(_mm256_loadu_ps(x), zero, _CMP_NEQ_UQ));
            __m256i nz1 = _mm256_castps_si256(_mm256_cmp_ps(_mm256_loadu_ps(x + 8), zero, _CMP_NEQ_UQ));
            acc0 = _mm256_sub_epi32(_mm256_add_epi32(acc0, acc0), nz0);
            acc1 = _mm256_sub_epi32(_mm256_add_epi32(acc1, acc1), nz1);
        }
        _mm256_storeu_si256((__m256i *)(nzm + i), acc0);
        _mm256_storeu_si256((__m256i *)(nzm + i + 8), acc1);
        if (act) {
            cnt = list_nonzero(acc0, i, 8, act, cnt);
            cnt = list_nonzero(acc1, i + 8, 8, act, cnt);
        }
    }
    for (; i < mm; i += 8) {
        const int full = mm - i >= 8;
        const __m256i cols = lanes(full ? 8 : (int)(mm - i));
        __m256i acc = _mm256_setzero_si256();
        for (int64_t p = kc - 1; p >= 0; p--) {
            __m256 x = full ? _mm256_loadu_ps(a + p * as + i) : _mm256_maskload_ps(a + p * as + i, cols);
            __m256i nz = _mm256_castps_si256(_mm256_cmp_ps(x, zero, _CMP_NEQ_UQ));
            acc = _mm256_sub_epi32(_mm256_add_epi32(acc, acc), nz);
        }
        if (full) {
            _mm256_storeu_si256((__m256i *)(nzm + i), acc);
        } else {
            uint32_t t[8];
            _mm256_storeu_si256((__m256i *)t, acc);
            memcpy(nzm + i, t, (size_t)(mm - i) * sizeof *t);
        }
        if (act) cnt = list_nonzero(acc, i, full ? 8 : (int)(mm - i), act, cnt);
    }
    return cnt;
}

/* Lists in idx the set bits of w (bits below 8*nbytes), ascending;
 * returns how many. idx has room for 8*nbytes. */
AVX2 int64_t gf__nz_list_bits(uint32_t w, int nbytes, int32_t *idx)
{
    int64_t cnt = 0;
    for (int i = 0; i < nbytes; i++, w >>= 8) {
        unsigned byte = w & 255;
        __m256i pos = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)gf__nz_compact[byte]));
        _mm256_storeu_si256((__m256i *)(idx + cnt), _mm256_add_epi32(pos, _mm256_set1_epi32(8 * i)));
        cnt += gf__nz_popc[byte];
    }
    return cnt;
}

/* 1 when the n floats at x are all finite: x*0 is NaN exactly when x is
 * infinite or NaN, so acc = fma(x, 0, acc) from 0 stays 0 or turns NaN
 * (one instruction per 8 floats; four chains cover the FMA latency). */
AVX2 static int all_finite_run(const float *x, int64_t n)
{
    const __m256 zero = _mm256_setzero_ps();
    __m256 m0 = zero, m1 = zero, m2 = zero, m3 = zero;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        m0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), zero, m0);
        m1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), zero, m1);
        m2 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 16), zero, m2);
        m3 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 24), zero, m3);
    }
    for (; i + 8 <= n; i += 8) m0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), zero, m0);
    if (i < n) m1 = _mm256_fmadd_ps(_mm256_maskload_ps(x + i, lanes((int)(n - i))), zero, m1);
    __m256 m = _mm256_add_ps(_mm256_add_ps(m0, m1), _mm256_add_ps(m2, m3));
    return _mm256_movemask_ps(_mm256_cmp_ps(m, m, _CMP_UNORD_Q)) == 0;
}

/* 1 when B [kc, nr] (row p at b + p*bs) holds only finite numbers: one
 * run when the rows are contiguous, else row by row with one accumulator
 * (nr is a tile's width: at most a few vectors). */
AVX2 int gf__nz_all_finite(int64_t kc, int64_t nr, const float *b, int64_t bs)
{
    if (bs == nr) return all_finite_run(b, kc * nr);
    const __m256 zero = _mm256_setzero_ps();
    const __m256i tail = lanes((int)(nr % 8));
    __m256 m = zero;
    for (int64_t p = 0; p < kc; p++, b += bs) {
        int64_t j = 0;
        for (; j + 8 <= nr; j += 8) m = _mm256_fmadd_ps(_mm256_loadu_ps(b + j), zero, m);
        if (j < nr) m = _mm256_fmadd_ps(_mm256_maskload_ps(b + j, tail), zero, m);
    }
    return _mm256_movemask_ps(_mm256_cmp_ps(m, m, _CMP_UNORD_Q)) == 0;
}

void gf__nz_init(void)
{
    pthread_once(&compact_once, compact_init);
}

#endif
