/*
 * gemm_avx512.c — the packed (cache-blocked) and the direct matrix multiply
 * with AVX-512 register tiles of MR x 32: the AVX2 paths' arithmetic
 * (gemm_avx2.c) on twice as wide vectors and twice as many registers.
 *
 * The direct path reads A and B in place with the same tiles (12 x 32),
 * skipping, where asked, the k at which a row tile of A is all zero.
 *
 * Same bits as the AVX2 paths: each element of C is, for each of k's
 * blocks (plan->kc long, from the whole problem's shape) in order, the FMA
 * chain over the block's p ascending from +0, then alpha*acc (beta 0, first
 * block: C not read) or fma(alpha, acc, beta*C) (beta*C is C when beta is
 * 1; beta is 1 after the first block). Neither the tile shape nor the loop
 * order changes a single element's operations.
 */
#include "gemm_impl.h"
#include "simd.h"

#if GF_HAVE_AVX512_KERNELS

#include "gemm_avx2.h"
#include "gemm_avx512.h"
#include "kernels.h"
#include "threads.h"

#include <math.h>
#include <string.h>

/* Tile: MR rows of C by NR columns (two vectors of 16). */
#define MR GF_GEMM512_MR
#define NR 32
_Static_assert(GF_GEMM512_SPLIT_ROWS % MR == 0 && GF_GEMM512_SPLIT_COLS % NR == 0,
               "splits must keep to the tile grid");
/* Blocking: B in [kc, NC] blocks packed into NR-column panels (kept in
 * L2), A in [MC, kc] blocks packed into MR-row panels; each A panel
 * ([kc, MR], in L1) meets every B panel of the block before the next. */
#ifndef NC512
#define NC512 512
#endif
#ifndef MC512
#define MC512 (MR * 20)
#endif

/* Rows written out (not loops over arrays) so that every compiler keeps
 * the accumulators in registers. */
#define R_DECL(r) __m512 acc##r##0 = _mm512_setzero_ps(), acc##r##1 = _mm512_setzero_ps();
#define R_STEP(r)                                                     \
    if (mr > r) {                                                     \
        const __m512 av = _mm512_set1_ps(ap[r * rs]);                 \
        acc##r##0 = _mm512_fmadd_ps(av, b0, acc##r##0);               \
        if (nv == 2) acc##r##1 = _mm512_fmadd_ps(av, b1, acc##r##1);  \
    }
#define R_OUT(r)                                                                                   \
    if (mr > r) {                                                                                  \
        const __m512 w = row_out(nv, c + r * ldc, m0, off1, al, be, beta, acc##r##0, acc##r##1); \
        if (sums && lay == COLS) sum = _mm512_add_ps(sum, w);                                      \
    }
#define R_ALL(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
_Static_assert(MR == 12, "R_ALL lists MR rows");

/* Where a tile finds op(A)'s element (r,p): packed [kc][MR] (PK: at
 * a[t*MR + r] for the t-th p visited), or in place, in rows of A (ROWS,
 * op(A) = A: a[r*as + p]) or in its columns (COLS, op(A) = A^T: a[r +
 * p*as]). */
enum { PK, ROWS, COLS };

/* One tile: C [mr,nr] = alpha * op(A) [mr,kc] @ B [kc,nr] + beta * C, B's
 * row p at b + p*bs: packed [kc][NR] (zero-padded) or in place with 32
 * floats readable (PK), else in place with nr read. nv: 1 vector of
 * columns (nr <= 16), or 2 (16 < nr <= 32: the second at nr - 16, see
 * row_out). With sparse, p runs over idx[0 .. kc-1] only (the caller has
 * checked that each skipped term is an exact zero). With pf (PK), the 32
 * floats at pf + p*bs are fetched into the cache as well (the next panel
 * of a B read in place). With pfa (ROWS), the rows of A at pfa (row r at
 * pfa + r*as, kc long) are fetched into L2, a line each step: A's row
 * tile after next, from memory, without the stall of asking for them all
 * at once (waiting on them was 6% of an evaluation's time). With sums,
 * *fin += a sum that is finite only when the values were: of the values
 * written to C (COLS), or of the values of B read (ROWS; adds, off the FMA
 * pipes). A constant, so that tiles without it carry no trace of it (a
 * test in the loop cost the 10,000-image evaluation's product 4%). */
AVX512 ALWAYS_INLINE void tile(const int mr, const int nv, const int lay, const int sparse, const int sums, int64_t kc,
                               const int32_t *idx, const float *a, int64_t as, const float *b, int64_t bs,
                               int64_t nr, float *c, int64_t ldc, float alpha, float beta, const float *pf,
                               const float *pfa, __m512 *fin)
{
    const __mmask16 m0 = first(nr);
    const int64_t off1 = nr - 16;
    __m512 sum = _mm512_setzero_ps(); /* for fin, in a register */
    R_ALL(R_DECL)
    for (int64_t t = 0; t < kc; t++) {
        const int64_t p = sparse ? idx[t] : t;
        const float *bp = b + p * bs;
        if (pf) {
            _mm_prefetch((const char *)(pf + p * bs), _MM_HINT_T0);
            _mm_prefetch((const char *)(pf + p * bs + 16), _MM_HINT_T0);
        }
        if (lay == ROWS && pfa && t / MR * 16 < kc + 16)
            _mm_prefetch((const char *)(pfa + t % MR * as + t / MR * 16), _MM_HINT_T1);
        const __m512 b0 = lay == PK || nv == 2 ? _mm512_loadu_ps(bp) : _mm512_maskz_loadu_ps(m0, bp);
        const __m512 b1 = nv == 2 ? _mm512_loadu_ps(bp + off1) : b0;
        const float *ap = lay == PK ? a + t * MR : lay == ROWS ? a + p : a + p * as;
        const int64_t rs = lay == ROWS ? as : 1; /* from row to row of op(A) */
        R_ALL(R_STEP)
        if (sums && lay == ROWS) sum = _mm512_add_ps(sum, _mm512_add_ps(b0, b1));
    }
    const __m512 al = _mm512_set1_ps(alpha), be = _mm512_set1_ps(beta);
    R_ALL(R_OUT)
    if (sums) *fin = _mm512_add_ps(*fin, sum); /* once a tile: *fin is in memory */
}

typedef void (*tile_fn)(int64_t kc, const float *a, const float *b, int64_t bs, int64_t nr, float *c, int64_t ldc,
                        float alpha, float beta);

#define TILE_INST(R, V)                                                                                     \
    AVX512 static void tile_##R##_##V(int64_t kc, const float *a, const float *b, int64_t bs, int64_t nr,   \
                                      float *c, int64_t ldc, float alpha, float beta)                       \
    {                                                                                                       \
        tile(R, V, PK, 0, 0, kc, NULL, a, MR, b, bs, nr, c, ldc, alpha, beta, NULL, NULL, NULL);            \
    }
#define TILE_ROWS(V)                                                                                        \
    TILE_INST(1, V) TILE_INST(2, V) TILE_INST(3, V) TILE_INST(4, V) TILE_INST(5, V) TILE_INST(6, V)         \
    TILE_INST(7, V) TILE_INST(8, V) TILE_INST(9, V) TILE_INST(10, V) TILE_INST(11, V) TILE_INST(12, V)
#define TILE_PTRS(V)                                                                                        \
    {                                                                                                       \
        tile_1_##V, tile_2_##V, tile_3_##V, tile_4_##V, tile_5_##V, tile_6_##V, tile_7_##V, tile_8_##V,     \
            tile_9_##V, tile_10_##V, tile_11_##V, tile_12_##V                                               \
    }
TILE_ROWS(1)
TILE_ROWS(2)

/* tiles[nv-1][mr-1]. */
static const tile_fn tiles[2][MR] = { TILE_PTRS(1), TILE_PTRS(2) };

/* Whole-panel tiles that fetch the next panel (tiles_pf[mr-1]). */
typedef void (*tile_pf_fn)(int64_t kc, const float *a, const float *b, int64_t bs, float *c, int64_t ldc,
                           float alpha, float beta, const float *pf);
#define TILE_PF(R)                                                                                          \
    AVX512 static void tile_pf_##R(int64_t kc, const float *a, const float *b, int64_t bs, float *c,        \
                                   int64_t ldc, float alpha, float beta, const float *pf)                   \
    {                                                                                                       \
        tile(R, 2, PK, 0, 0, kc, NULL, a, MR, b, bs, NR, c, ldc, alpha, beta, pf, NULL, NULL);              \
    }
TILE_PF(1) TILE_PF(2) TILE_PF(3) TILE_PF(4) TILE_PF(5) TILE_PF(6)
TILE_PF(7) TILE_PF(8) TILE_PF(9) TILE_PF(10) TILE_PF(11) TILE_PF(12)
static const tile_pf_fn tiles_pf[MR] = { tile_pf_1, tile_pf_2, tile_pf_3, tile_pf_4,  tile_pf_5,  tile_pf_6,
                                         tile_pf_7, tile_pf_8, tile_pf_9, tile_pf_10, tile_pf_11, tile_pf_12 };

/* Tiles of the direct path, A and B in place: row_tiles[sparse][nv-1][mr-1]
 * (op(A) = A, skipping or not), sum_tiles[nv-1][mr-1] (op(A) = A, summing
 * B's values), col_tiles[nv-1][mr-1] (op(A) = A^T, summing C's). */
typedef void (*dtile_fn)(int64_t kc, const int32_t *idx, const float *a, int64_t as, const float *b, int64_t bs,
                         int64_t nr, float *c, int64_t ldc, float alpha, float beta, const float *pfa,
                         __m512 *fin);
#define DTILE_INST(R, V, L, S, F)                                                                                \
    AVX512 static void dtile_##R##_##V##_##L##_##S##_##F(int64_t kc, const int32_t *idx, const float *a,         \
                                                         int64_t as, const float *b, int64_t bs, int64_t nr,     \
                                                         float *c, int64_t ldc, float alpha, float beta,         \
                                                         const float *pfa, __m512 *fin)                          \
    {                                                                                                            \
        tile(R, V, L, S, F, kc, idx, a, as, b, bs, nr, c, ldc, alpha, beta, NULL, pfa, fin);                     \
    }
#define DTILE_ROWS(V, L, S, F)                                                                                   \
    DTILE_INST(1, V, L, S, F) DTILE_INST(2, V, L, S, F) DTILE_INST(3, V, L, S, F) DTILE_INST(4, V, L, S, F)      \
    DTILE_INST(5, V, L, S, F) DTILE_INST(6, V, L, S, F) DTILE_INST(7, V, L, S, F) DTILE_INST(8, V, L, S, F)      \
    DTILE_INST(9, V, L, S, F) DTILE_INST(10, V, L, S, F) DTILE_INST(11, V, L, S, F) DTILE_INST(12, V, L, S, F)
#define DTILE_NAME(R, V, L, S, F) dtile_##R##_##V##_##L##_##S##_##F
#define DTILE_PTRS(V, L, S, F)                                                                                   \
    {                                                                                                            \
        DTILE_NAME(1, V, L, S, F), DTILE_NAME(2, V, L, S, F), DTILE_NAME(3, V, L, S, F),                         \
            DTILE_NAME(4, V, L, S, F), DTILE_NAME(5, V, L, S, F), DTILE_NAME(6, V, L, S, F),                     \
            DTILE_NAME(7, V, L, S, F), DTILE_NAME(8, V, L, S, F), DTILE_NAME(9, V, L, S, F),                     \
            DTILE_NAME(10, V, L, S, F), DTILE_NAME(11, V, L, S, F), DTILE_NAME(12, V, L, S, F)                   \
    }
/* Layout, sparse, sums; then both vector counts. */
#define DTILE_KIND(L, S, F) DTILE_ROWS(1, L, S, F) DTILE_ROWS(2, L, S, F)
#define DTILE_KIND_PTRS(L, S, F) { DTILE_PTRS(1, L, S, F), DTILE_PTRS(2, L, S, F) }
DTILE_KIND(ROWS, 0, 0)
DTILE_KIND(ROWS, 1, 0)
DTILE_KIND(ROWS, 0, 1)
DTILE_KIND(COLS, 0, 1)
static const dtile_fn row_tiles[2][2][MR] = { DTILE_KIND_PTRS(ROWS, 0, 0), DTILE_KIND_PTRS(ROWS, 1, 0) };
static const dtile_fn sum_tiles[2][MR] = DTILE_KIND_PTRS(ROWS, 0, 1);
static const dtile_fn col_tiles[2][MR] = DTILE_KIND_PTRS(COLS, 0, 1);

/* ---- packing ------------------------------------------------------------ */

/* dst [kc][NR] = op(B) [p0 .. p0+kc, j0 .. j0+nr], zero-padded to NR columns. */
AVX512 static void pack_b_panel(int tb, const float *b, int64_t ldb, int64_t p0, int64_t j0, int64_t kc,
                                int64_t nr, float *dst)
{
    if (!tb) {
        const float *src = b + p0 * ldb + j0;
        const __mmask16 m0 = first(nr), m1 = first(nr - 16);
        for (int64_t p = 0; p < kc; p++, src += ldb, dst += NR) {
            _mm512_storeu_ps(dst, _mm512_maskz_loadu_ps(m0, src));
            _mm512_storeu_ps(dst + 16, _mm512_maskz_loadu_ps(m1, src + 16));
        }
        return;
    }
    /* op(B)(p, j) = b[j*ldb + p]: column j of the panel is row j of B;
     * 8x8 blocks are transposed in registers. */
    const float *src = b + j0 * ldb + p0;
    int64_t j = 0;
    for (; j + 8 <= nr; j += 8) {
        int64_t p = 0;
        for (; p + 8 <= kc; p += 8) {
            __m256 r[8];
            for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(src + (j + i) * ldb + p);
            transpose8(r);
            for (int i = 0; i < 8; i++) _mm256_storeu_ps(dst + (p + i) * NR + j, r[i]);
        }
        for (; p < kc; p++)
            for (int64_t i = 0; i < 8; i++) dst[p * NR + j + i] = src[(j + i) * ldb + p];
    }
    for (; j < nr; j++)
        for (int64_t p = 0; p < kc; p++) dst[p * NR + j] = src[j * ldb + p];
    for (; j < NR; j++)
        for (int64_t p = 0; p < kc; p++) dst[p * NR + j] = 0.0f;
}

/* dst [kc][MR] = op(A) [i0 .. i0+mr, p0 .. p0+kc], zero-padded to MR rows. */
AVX512 static void pack_a_panel(int ta, const float *a, int64_t lda, int64_t i0, int64_t p0, int64_t mr,
                                int64_t kc, float *dst)
{
    if (ta) {
        const float *src = a + p0 * lda + i0;
        const __mmask16 m = first(mr);
        for (int64_t p = 0; p < kc; p++, src += lda, dst += MR)
            _mm512_mask_storeu_ps(dst, (__mmask16)((1u << MR) - 1), _mm512_maskz_loadu_ps(m, src));
        return;
    }
    const float *src = a + i0 * lda + p0;
    int64_t p = 0;
    if (mr >= 8) {
        /* 8 k at a time: rows 0..7, then 8..mr-1 and zero rows up to
         * 15, transposed in registers. */
        for (; p + 8 <= kc; p += 8) {
            __m256 r[8], s[8];
            for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(src + i * lda + p);
            for (int i = 0; i < 8; i++)
                s[i] = 8 + i < mr ? _mm256_loadu_ps(src + (8 + i) * lda + p) : _mm256_setzero_ps();
            transpose8(r);
            transpose8(s);
            for (int i = 0; i < 8; i++) {
                _mm256_storeu_ps(dst + (p + i) * MR, r[i]);
                _mm_storeu_ps(dst + (p + i) * MR + 8, _mm256_castps256_ps128(s[i]));
            }
        }
    }
    for (; p < kc; p++) {
        int64_t r = 0;
        for (; r < mr; r++) dst[p * MR + r] = src[r * lda + p];
        for (; r < MR; r++) dst[p * MR + r] = 0.0f;
    }
}

/* ---- driver ------------------------------------------------------------- */

int gf__gemm_avx512_packed(int64_t kc_max, int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha,
                           const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
                           int64_t ldc)
{
    int64_t nc_max = n < NC512 ? (n + NR - 1) / NR * NR : NC512;
    int64_t mc_max = m < MC512 ? (m + MR - 1) / MR * MR : MC512;
    float *bbuf = gf__scratch(0, (size_t)(kc_max * nc_max));
    float *abuf = gf__scratch(1, (size_t)(kc_max * mc_max));
    if (!bbuf || !abuf) return 0;
    if (!tb && m <= mc_max) {
        /* Few rows (the dense layer's batch): packing B would cost as
         * much as using it; its rows are read in place, one 32-column
         * panel at a time for all of A's panels. Whole panels only: the
         * last columns (n % 32) take the packed loop below. A row of B
         * may be a page of its own (the CNN's [3136,1024] weight: one
         * 128-byte piece a page, which the hardware does not prefetch),
         * so the first A panel's tile fetches the next B panel, which
         * the next tiles find in the cache (fc1's product: 4.6 -> 3.7 ms
         * with B not cached). */
        const int64_t mh = (m + (m + MR - 1) / MR - 1) / ((m + MR - 1) / MR), n32 = n / NR * NR;
        for (int64_t pc = 0; pc < k && n32 > 0; pc += kc_max) {
            int64_t kc = k - pc < kc_max ? k - pc : kc_max;
            float be = pc == 0 ? beta : 1.0f;
            /* Panel q (rows q*mh ..) at abuf + q * MR * kc. */
            for (int64_t ir = 0, q = 0; ir < m; ir += mh, q++)
                pack_a_panel(ta, a, lda, ir, pc, m - ir < mh ? m - ir : mh, kc, abuf + q * MR * kc);
            for (int64_t jr = 0; jr < n32; jr += NR)
                for (int64_t ir = 0, q = 0; ir < m; ir += mh, q++) {
                    int64_t mr = m - ir < mh ? m - ir : mh;
                    const float *next = jr + NR < n32 ? b + pc * ldb + jr + NR /* the next panel */
                                        : pc + 2 * kc <= k ? b + (pc + kc) * ldb /* the next block's first */
                                                           : NULL;
                    if (q == 0 && next)
                        tiles_pf[mr - 1](kc, abuf, b + pc * ldb + jr, ldb, c + ir * ldc + jr, ldc, alpha, be, next);
                    else
                        tiles[1][mr - 1](kc, abuf + q * MR * kc, b + pc * ldb + jr, ldb, NR, c + ir * ldc + jr, ldc,
                                         alpha, be);
                }
        }
        if (n32 == n) return 1;
        b += n32, c += n32, n -= n32, nc_max = NR;
    }
    for (int64_t jc = 0; jc < n; jc += nc_max) {
        int64_t nc = n - jc < nc_max ? n - jc : nc_max;
        for (int64_t pc = 0; pc < k; pc += kc_max) {
            int64_t kc = k - pc < kc_max ? k - pc : kc_max;
            for (int64_t jr = 0; jr < nc; jr += NR)
                pack_b_panel(tb, b, ldb, pc, jc + jr, kc, nc - jr < NR ? nc - jr : NR, bbuf + jr * kc);
            float be = pc == 0 ? beta : 1.0f;
            for (int64_t ic = 0; ic < m; ic += mc_max) {
                int64_t mc = m - ic < mc_max ? m - ic : mc_max;
                /* Panels of equal height (50 rows: 5 of 10, not 4 of
                 * 12 and one of 2, whose tiles would wait on loads). */
                const int64_t mh = (mc + (mc + MR - 1) / MR - 1) / ((mc + MR - 1) / MR);
                for (int64_t ir = 0; ir < mc; ir += mh) {
                    int64_t mr = mc - ir < mh ? mc - ir : mh;
                    float *ap = abuf; /* one panel at a time */
                    pack_a_panel(ta, a, lda, ic + ir, pc, mr, kc, ap);
                    for (int64_t jr = 0; jr < nc; jr += NR) {
                        int64_t nr = nc - jr < NR ? nc - jr : NR;
                        tiles[nr > 16][mr - 1](kc, ap, bbuf + jr * kc, NR, nr, c + (ic + ir) * ldc + jc + jr,
                                               ldc, alpha, be);
                    }
                }
            }
        }
    }
    return 1;
}

/* ---- the direct path ----------------------------------------------------- */

/* Most column tiles and k blocks whose B block finiteness the skipping
 * direct path remembers (past them it declines). */
#define MAX_CT 64
#define MAX_KB 16

/* The direct path with op(A) = A^T: k blocks, then column tiles, then
 * row tiles, so that B's block [kc,32] stays in L1 over the row tiles
 * (the weight update: [10,30]). 1 when every value written is finite. */
AVX512 static int direct_cols(int64_t kc_max, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                              int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc)
{
    __m512 fin = _mm512_setzero_ps(); /* see row_out */
    for (int64_t p0 = 0; p0 < k; p0 += kc_max) {
        const int64_t kc = k - p0 < kc_max ? k - p0 : kc_max;
        const float be = p0 == 0 ? beta : 1.0f;
        for (int64_t j0 = 0; j0 < n; j0 += NR) {
            const int64_t nr = n - j0 < NR ? n - j0 : NR;
            for (int64_t i0 = 0; i0 < m; i0 += MR) {
                const int64_t mr = m - i0 < MR ? m - i0 : MR;
                col_tiles[nr > 16][mr - 1](kc, NULL, a + p0 * lda + i0, lda, b + p0 * ldb + j0, ldb, nr,
                                           c + i0 * ldc + j0, ldc, alpha, be, NULL, &fin);
            }
        }
    }
    return all_finite(fin); /* every value written, C's among them */
}

/* The direct path with op(A) = A: row tiles, then k blocks, then column
 * tiles, so that each row tile of A is read once, in order (an
 * evaluation's images stream from memory). skip: as GF_GEMM_DIRECT_SKIP.
 * With learn (not skipping), the first row tile sums the values of B it
 * reads (all of them); 1 when that sum is finite. */
AVX512 static int direct_rows(int64_t kc_max, int skip, int learn, int64_t m, int64_t n, int64_t k, float alpha,
                              const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
                              int64_t ldc, int b_finite)
{
    signed char fin[MAX_KB][MAX_CT];
    if (skip) memset(fin, b_finite ? 1 : -1, sizeof fin);
    __m512 finb = _mm512_setzero_ps(); /* the sum of B's values, by the first row tile */
    int32_t idx[KC_MAX + 8];
    gf__nz_init();
    const int keep_later = gf__nothing_keeps_c(alpha);
    const int keep_empty = beta == 1.0f && keep_later;
    for (int64_t i0 = 0; i0 < m; i0 += MR) {
        const int64_t mr = m - i0 < MR ? m - i0 : MR;
        for (int64_t p0 = 0, kb = 0; p0 < k; p0 += kc_max, kb++) {
            const int64_t kc = k - p0 < kc_max ? k - p0 : kc_max;
            const float be = p0 == 0 ? beta : 1.0f;
            const float *ap = a + i0 * lda + p0;
            const float *ahead = i0 + 3 * MR <= m ? ap + 2 * MR * lda : NULL; /* the row tile after next */
            /* Skip only when it saves an eighth: the list costs. */
            int64_t cnt = skip ? gf__nz_ks(0, 0, mr, kc, ap, lda, idx) : kc;
            const int sparse = skip && cnt <= kc - kc / 8;
            for (int64_t j0 = 0, ct = 0; j0 < n; j0 += NR, ct++) {
                const int64_t nr = n - j0 < NR ? n - j0 : NR;
                const float *bp = b + p0 * ldb + j0;
                int sp = sparse; /* and this block of B finite: 0 * inf is NaN */
                if (sp && fin[kb][ct] < 0) fin[kb][ct] = (signed char)gf__nz_all_finite(kc, nr, bp, ldb);
                sp = sp && fin[kb][ct];
                if (sp && cnt == 0 && (p0 == 0 ? keep_empty : keep_later)) continue;
                const dtile_fn t = i0 == 0 && learn ? sum_tiles[nr > 16][mr - 1] : row_tiles[sp][nr > 16][mr - 1];
                t(sp ? cnt : kc, idx, ap, lda, bp, ldb, nr, c + i0 * ldc + j0, ldc, alpha, be, j0 == 0 ? ahead : NULL,
                  &finb);
            }
        }
    }
    return learn && all_finite(finb);
}

int gf__gemm_avx512_direct(int64_t kc_max, int ta, int skip, int64_t m, int64_t n, int64_t k, float alpha,
                           const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
                           int64_t ldc, int b_finite, int *c_finite, int *b_checked)
{
    const int64_t nct = (n + NR - 1) / NR, nkb = (k + kc_max - 1) / kc_max;
    if (ta) {
        const int fin = direct_cols(kc_max, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        if (c_finite) *c_finite = fin;
        return 1;
    }
    if (skip && (nct > MAX_CT || nkb > MAX_KB)) return 0;
    const int learn = b_checked && !skip && !b_finite;
    const int fin = direct_rows(kc_max, skip, learn, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, b_finite);
    if (learn) *b_checked = fin;
    return 1;
}

#endif
