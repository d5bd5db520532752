/*
 * gemm_avx2.c — the AVX2+FMA matrix multiply: 6x16 register tiles, direct
 * (in place), zero-skipping and packed drivers, and the plan picking one.
 */
#include "gemm_impl.h"
#include "simd.h"

#if GF_HAVE_AVX2_KERNELS

#include "gemm_avx2.h"
#include "kernels.h"
#include "threads.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

/* Tile: MR rows of C by NR columns (NV vectors of 8). */
#define MR 6
#define NV 2
#define NR (8 * NV)
_Static_assert(GF_GEMM_SPLIT_ROWS % MR == 0 && GF_GEMM_SPLIT_COLS % NR == 0, "splits must keep to the tile grid");
/* Cache blocking (KC_MAX: gemm_avx2.h): A in blocks of MC rows, B in
 * blocks of NC columns. */
#ifndef MC
#define MC 120
#endif
#ifndef NC
#define NC 1024
#endif

static atomic_int force_path;

void gf__gemm_avx2_force_path(int path)
{
    atomic_store_explicit(&force_path, path, memory_order_relaxed);
}

/* Equal blocks of k no longer than max (<= KC_MAX): their length. */
static int64_t kc_for(int64_t k, int64_t max)
{
    int64_t nb = (k + max - 1) / max;
    return (k + nb - 1) / nb;
}

/* Column layouts of a tile: NV vectors of 8 at 0 (and 8); with OVER the
 * second vector starts at nr-8 (1..7), overlapping the first, so that 9..15
 * columns need no masks; PART is one vector of nr < 8 columns. */
enum { FULL, OVER, PART };

/* C [1,nr] = alpha * acc + beta * C for one row of a tile (see tile). */
AVX2 ALWAYS_INLINE void tile_row_out(int lay, int nv, float *c0, int64_t off1, int64_t nr, __m256i mask, __m256 al,
                                     __m256 be, float beta, __m256 acc0, __m256 acc1)
{
    float *c1 = c0 + off1;
    __m256 x0, x1 = acc1;
    if (beta == 0.0f) {
        x0 = _mm256_mul_ps(al, acc0);
        if (nv == 2) x1 = _mm256_mul_ps(al, acc1);
    } else {
        /* Both loads before both stores: with OVER they overlap. */
        __m256 old0 = lay == PART ? _mm256_maskload_ps(c0, mask) : _mm256_loadu_ps(c0);
        __m256 old1 = nv == 2 ? _mm256_loadu_ps(c1) : old0;
        if (beta != 1.0f) { /* beta*C is C when beta is 1: the same bits */
            old0 = _mm256_mul_ps(be, old0);
            old1 = _mm256_mul_ps(be, old1);
        }
        x0 = _mm256_fmadd_ps(al, acc0, old0);
        if (nv == 2) x1 = _mm256_fmadd_ps(al, acc1, old1);
    }
    if (lay == PART) store_part(c0, x0, (int)nr);
    else _mm256_storeu_ps(c0, x0);
    if (nv == 2) _mm256_storeu_ps(c1, x1);
}

/* The rows are written out explicitly (not as loops over arrays) so that
 * every compiler keeps the 12 accumulators in registers. */
#define ROW_DECL(r) __m256 acc##r##0 = _mm256_setzero_ps(), acc##r##1 = _mm256_setzero_ps();
#define ROW_STEP(r)                                                                          \
    if (mr > r) {                                                                            \
        __m256 av = _mm256_broadcast_ss(acol ? a + r + p * as : a + r * as + p);            \
        acc##r##0 = _mm256_fmadd_ps(av, b0, acc##r##0);                                      \
        if (nv == 2) acc##r##1 = _mm256_fmadd_ps(av, b1, acc##r##1);                         \
    }
#define ROW_PREFETCH(r)                                                                      \
    if (mr > r) {                                                                            \
        _mm_prefetch((const char *)(c + r * ldc), _MM_HINT_T0);                              \
        _mm_prefetch((const char *)(c + r * ldc + nr - 1), _MM_HINT_T0);                     \
    }
#define ROW_OUT(r) \
    if (mr > r) tile_row_out(lay, nv, c + r * ldc, off1, nr, mask, al, be, beta, acc##r##0, acc##r##1);

/* One tile, C [mr,nr] = alpha * A [mr,kc] @ B [kc,nr] + beta * C:
 * acc = the FMA chain over p = 0 .. kc-1 ascending, from 0; then C =
 * alpha*acc when beta == 0 (C not read), else fma(alpha, acc, beta*C).
 * A's element (r,p) is at a[r + p*as] when acol, else at a[r*as + p]; B's
 * row p starts at b + p*bs. With sparse, p runs over idx[0 .. kc-1] only:
 * the caller has checked that every skipped p has A(r,p) == 0 for all r
 * and a finite B row, so each skipped term is a zero (an exact no-op). */
AVX2 ALWAYS_INLINE void tile(const int mr, const int nv, const int lay, const int acol, const int sparse,
                             int64_t kc, const int32_t *idx, const float *a, int64_t as, const float *b, int64_t bs,
                             int64_t nr, float *c, int64_t ldc, float alpha, float beta)
{
    const int64_t off1 = lay == OVER ? nr - 8 : 8; /* where vector 1 starts */
    const __m256i mask = lanes(lay == PART ? (int)nr : 8);
    /* C's rows are written at the end: fetch them while computing. */
    ROW_PREFETCH(0) ROW_PREFETCH(1) ROW_PREFETCH(2) ROW_PREFETCH(3) ROW_PREFETCH(4) ROW_PREFETCH(5)
    ROW_DECL(0) ROW_DECL(1) ROW_DECL(2) ROW_DECL(3) ROW_DECL(4) ROW_DECL(5)
    for (int64_t t = 0; t < kc; t++) {
        const int64_t p = sparse ? idx[t] : t;
        const float *bp = b + p * bs;
        const __m256 b0 = lay == PART ? _mm256_maskload_ps(bp, mask) : _mm256_loadu_ps(bp);
        const __m256 b1 = nv == 2 ? _mm256_loadu_ps(bp + off1) : b0;
        ROW_STEP(0) ROW_STEP(1) ROW_STEP(2) ROW_STEP(3) ROW_STEP(4) ROW_STEP(5)
    }
    const __m256 al = _mm256_set1_ps(alpha), be = _mm256_set1_ps(beta);
    ROW_OUT(0) ROW_OUT(1) ROW_OUT(2) ROW_OUT(3) ROW_OUT(4) ROW_OUT(5)
}

typedef void (*tile_fn)(int64_t kc, const int32_t *idx, const float *a, int64_t as, const float *b, int64_t bs,
                        int64_t nr, float *c, int64_t ldc, float alpha, float beta);

#define TILE_INST(R, V, L, A, S)                                                                                  \
    AVX2 static void tile_##R##_##V##_##L##_##A##_##S(int64_t kc, const int32_t *idx, const float *a, int64_t as, \
                                                      const float *b, int64_t bs, int64_t nr, float *c,          \
                                                      int64_t ldc, float alpha, float beta)                      \
    {                                                                                                             \
        tile(R, V, L, A, S, kc, idx, a, as, b, bs, nr, c, ldc, alpha, beta);                                      \
    }
#define TILE_ROWS(V, L, A, S)                                                                             \
    TILE_INST(1, V, L, A, S) TILE_INST(2, V, L, A, S) TILE_INST(3, V, L, A, S) TILE_INST(4, V, L, A, S) \
    TILE_INST(5, V, L, A, S) TILE_INST(6, V, L, A, S)
#define TILE_PTRS(V, L, A, S)                                                                            \
    {                                                                                                    \
        tile_1_##V##_##L##_##A##_##S, tile_2_##V##_##L##_##A##_##S, tile_3_##V##_##L##_##A##_##S,      \
            tile_4_##V##_##L##_##A##_##S, tile_5_##V##_##L##_##A##_##S, tile_6_##V##_##L##_##A##_##S \
    }
#define TILE_KINDS(A, S) \
    TILE_ROWS(1, FULL, A, S) TILE_ROWS(1, PART, A, S) TILE_ROWS(2, FULL, A, S) TILE_ROWS(2, OVER, A, S)
#define TILE_KIND_PTRS(A, S) \
    { TILE_PTRS(1, FULL, A, S), TILE_PTRS(1, PART, A, S), TILE_PTRS(2, FULL, A, S), TILE_PTRS(2, OVER, A, S) }
TILE_KINDS(0, 0)
TILE_KINDS(1, 0)
TILE_KINDS(0, 1)
TILE_KINDS(1, 1)

/* tiles[sparse][acol][kind][mr-1], kind: 8 columns, 1..7, 16, 9..15. */
static const tile_fn tiles[2][2][4][MR] = {
    { TILE_KIND_PTRS(0, 0), TILE_KIND_PTRS(1, 0) },
    { TILE_KIND_PTRS(0, 1), TILE_KIND_PTRS(1, 1) },
};

/* The tile function for mr (1..MR) rows and nr (1..NR) columns. */
static tile_fn pick(int sparse, int acol, int64_t mr, int64_t nr)
{
    int kind = nr == 8 ? 0 : nr < 8 ? 1 : nr == 16 ? 2 : 3;
    return tiles[sparse][acol][kind][mr - 1];
}

/* ---- packing ------------------------------------------------------------ */

/* dst [kc][NR] = op(B) [p0 .. p0+kc, j0 .. j0+nr], zero-padded to NR columns. */
AVX2 static void pack_b_panel(int tb, const float *b, int64_t ldb, int64_t p0, int64_t j0, int64_t kc, int64_t nr,
                              float *dst)
{
    if (!tb) {
        const float *src = b + p0 * ldb + j0;
        if (nr == NR) {
            for (int64_t p = 0; p < kc; p++, src += ldb, dst += NR) {
                _mm256_storeu_ps(dst, _mm256_loadu_ps(src));
                _mm256_storeu_ps(dst + 8, _mm256_loadu_ps(src + 8));
            }
        } else {
            for (int64_t p = 0; p < kc; p++, src += ldb, dst += NR) {
                int64_t j = 0;
                for (; j < nr; j++) dst[j] = src[j];
                for (; j < NR; j++) dst[j] = 0.0f;
            }
        }
    } else {
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
}

/* dst [kc][MR] = op(A) [i0 .. i0+mr, p0 .. p0+kc], zero-padded to MR rows. */
AVX2 static void pack_a_panel(int ta, const float *a, int64_t lda, int64_t i0, int64_t p0, int64_t mr, int64_t kc,
                         float *dst)
{
    if (ta) {
        const float *src = a + p0 * lda + i0;
        for (int64_t p = 0; p < kc; p++, src += lda, dst += MR) {
            int64_t r = 0;
            for (; r < mr; r++) dst[r] = src[r];
            for (; r < MR; r++) dst[r] = 0.0f;
        }
    } else {
        const float *src = a + i0 * lda + p0;
        int64_t p = 0;
        if (mr == MR) {
            /* 8 k at a time: rows 0..5 (and two zero rows) transposed in
             * registers; each column stored whole, the next overwriting the
             * two extra lanes, the last of a block stored in part. */
            for (; p + 8 <= kc; p += 8) {
                __m256 r[8];
                for (int i = 0; i < MR; i++) r[i] = _mm256_loadu_ps(src + i * lda + p);
                r[6] = r[7] = _mm256_setzero_ps();
                transpose8(r);
                for (int i = 0; i < 7; i++) _mm256_storeu_ps(dst + (p + i) * MR, r[i]);
                store_part(dst + (p + 7) * MR, r[7], MR);
            }
        }
        for (; p < kc; p++) {
            int64_t r = 0;
            for (; r < mr; r++) dst[p * MR + r] = src[r * lda + p];
            for (; r < MR; r++) dst[p * MR + r] = 0.0f;
        }
    }
}

/* ---- drivers ------------------------------------------------------------ */

/* Column tiles are NR wide on a grid from column 0, row tiles MR tall on a
 * grid from row 0; a split over threads keeps to the grid (gemm_impl.h). */

/* C [m,n] = alpha * op(A) [m,k] @ op(B) [k,n] + beta * C with A read in
 * place; B read in place when !tb, else one NR-column panel at a time
 * packed on the stack. Loops: k blocks, column tiles, row tiles. */
AVX2 static void gemm_direct(int64_t kc_max, int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha,
                             const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
                             int64_t ldc)
{
    float panel[KC_MAX * NR] __attribute__((aligned(32)));
    for (int64_t p0 = 0; p0 < k; p0 += kc_max) {
        int64_t kc = k - p0 < kc_max ? k - p0 : kc_max;
        float be = p0 == 0 ? beta : 1.0f;
        for (int64_t j0 = 0; j0 < n; j0 += NR) {
            int64_t nr = n - j0 < NR ? n - j0 : NR;
            const float *bp = b + p0 * ldb + j0;
            int64_t bs = ldb;
            if (tb) {
                pack_b_panel(tb, b, ldb, p0, j0, kc, nr, panel);
                bp = panel;
                bs = NR;
            }
            for (int64_t i0 = 0; i0 < m; i0 += MR) {
                int64_t mr = m - i0 < MR ? m - i0 : MR;
                const float *ap = ta ? a + p0 * lda + i0 : a + i0 * lda + p0;
                pick(0, ta, mr, nr)(kc, NULL, ap, lda, bp, bs, nr, c + i0 * ldc + j0, ldc, alpha, be);
            }
        }
    }
}

/* Most column tiles whose B block finiteness is remembered, and most k
 * blocks for which gemm_direct_skip walks A row tile by row tile. */
#define MAX_CT 64
#define MAX_KB 16

/* The column tiles of one row tile (mr rows at i0) and one k block (kc at
 * p0) for gemm_direct_skip, given the k listed in idx [cnt] where the row
 * tile of op(A) is not all zero; fin: the block's B finiteness per column
 * tile (-1 unknown, 0 not finite, 1 finite), filled as needed. */
AVX2 ALWAYS_INLINE void skip_tiles(int ta, int64_t i0, int64_t mr, int64_t p0, int64_t kc, int64_t cnt,
                                   const int32_t *idx, int64_t n, float alpha, float be, int keep, const float *ap,
                                   int64_t lda, const float *b, int64_t ldb, float *c, int64_t ldc, signed char *fin)
{
    /* Indirection costs: skip only when it saves an eighth. */
    int sparse = cnt <= kc - kc / 8;
    for (int64_t j0 = 0, ct = 0; j0 < n; j0 += NR, ct++) {
        int64_t nr = n - j0 < NR ? n - j0 : NR;
        const float *bp = b + p0 * ldb + j0;
        int sp = sparse && nr > 8;
        if (sp) {
            if (fin[ct] < 0) fin[ct] = (signed char)gf__nz_all_finite(kc, nr, bp, ldb);
            sp = fin[ct];
        }
        if (sp && cnt == 0 && keep) continue;
        pick(sp, ta, mr, nr)(sp ? cnt : kc, idx, ap, lda, bp, ldb, nr, c + i0 * ldc + j0, ldc, alpha, be);
    }
}

/* Asks for rows [rows, kc] (row r at a + r*lda) in the level-2 cache:
 * the rows of A a direct path reads next, from memory ([10000,784] @
 * [784,30] over Fashion-MNIST's test images: 6.0 -> 5.5 ms a product). */
AVX2 ALWAYS_INLINE void prefetch_rows(const float *a, int64_t rows, int64_t kc, int64_t lda)
{
    for (int64_t r = 0; r < rows; r++) {
        const float *row = a + r * lda;
        for (int64_t q = 0; q < kc; q += 16) _mm_prefetch((const char *)(row + q), _MM_HINT_T1);
        _mm_prefetch((const char *)(row + kc - 1), _MM_HINT_T1); /* the last line, when rows are not aligned */
    }
}

/* The same with B in place (!tb), skipping the k where a row tile of op(A)
 * is all zero (MNIST images are ~81% zero pixels). Exact: a skipped term
 * is 0 * a finite B, and tiles where B is not all finite are not skipped.
 * With op(A) = A and few k blocks, A is walked row tile by row tile (each
 * tile's rows read once, in order: an evaluation's images stream from
 * memory), else k block by k block. Either way each element of C sees its
 * k blocks in order, so the bits are the same. Returns 0 (nothing done)
 * when the shape does not suit. */
AVX2 static int gemm_direct_skip(int64_t kc_max, int ta, int64_t m, int64_t n, int64_t k, float alpha,
                                 const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
                                 int64_t ldc, int b_finite)
{
    const signed char known = b_finite ? 1 : -1; /* B's finiteness before any check */
    const int64_t nct = (n + NR - 1) / NR, nkb = (k + kc_max - 1) / kc_max;
    if (nct > MAX_CT) return 0;
    int32_t idx[KC_MAX + 8];
    gf__nz_init();
    const int keep_empty = beta == 1.0f && gf__nothing_keeps_c(alpha);
    const int keep_later = gf__nothing_keeps_c(alpha);
    if (!ta && nkb <= MAX_KB) {
        signed char fin[MAX_KB][MAX_CT];
        memset(fin, known, sizeof fin);
        for (int64_t i0 = 0; i0 < m; i0 += MR) {
            int64_t mr = m - i0 < MR ? m - i0 : MR;
            for (int64_t p0 = 0, kb = 0; p0 < k; p0 += kc_max, kb++) {
                int64_t kc = k - p0 < kc_max ? k - p0 : kc_max;
                const float *ap = a + i0 * lda + p0;
                /* The row tile two ahead, this k block: an evaluation's
                 * images stream from memory, which the hardware's
                 * prefetcher alone left the FMAs waiting for. */
                if (i0 + 3 * MR <= m) prefetch_rows(ap + 2 * MR * lda, MR, kc, lda);
                int64_t cnt = gf__nz_ks(0, 0, mr, kc, ap, lda, idx);
                skip_tiles(0, i0, mr, p0, kc, cnt, idx, n, alpha, p0 == 0 ? beta : 1.0f,
                           p0 == 0 ? keep_empty : keep_later, ap, lda, b, ldb, c, ldc, fin[kb]);
            }
        }
        return 1;
    }
    uint32_t nzm[MASK_ROWS];
    for (int64_t p0 = 0; p0 < k; p0 += kc_max) {
        int64_t kc = k - p0 < kc_max ? k - p0 : kc_max;
        signed char fin[MAX_CT];
        memset(fin, known, sizeof fin);
        /* op(A) = A^T with a short k: bit masks from a pass along A's rows
         * (its tiles' columns are far apart in memory). */
        const int masks = ta && kc <= 32;
        for (int64_t i0 = 0; i0 < m; i0 += MR) {
            int64_t mr = m - i0 < MR ? m - i0 : MR;
            const float *ap = ta ? a + p0 * lda + i0 : a + i0 * lda + p0;
            int64_t cnt;
            if (masks) {
                if (i0 % MASK_ROWS == 0)
                    gf__nz_masks(m - i0 < MASK_ROWS ? m - i0 : MASK_ROWS, kc, ap, lda, nzm, NULL);
                uint32_t w = 0;
                for (int64_t r = 0; r < mr; r++) w |= nzm[i0 % MASK_ROWS + r];
                cnt = gf__nz_list_bits(w, (int)(kc + 7) / 8, idx);
            } else {
                cnt = gf__nz_ks(ta, ta && i0 + 8 <= m, mr, kc, ap, lda, idx);
            }
            skip_tiles(ta, i0, mr, p0, kc, cnt, idx, n, alpha, p0 == 0 ? beta : 1.0f,
                       p0 == 0 ? keep_empty : keep_later, ap, lda, b, ldb, c, ldc, fin);
        }
    }
    return 1;
}

/* The same, cache-blocked: B in [kc, NC] blocks packed into NR-column
 * panels, A in [MC, kc] blocks packed into MR-row panels. 0 when the
 * scratch buffers cannot be had (nothing written then). */
AVX2 static int gemm_packed(int64_t kc_max, int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha,
                            const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
                            int64_t ldc)
{
    int64_t nc_max = n < NC ? (n + NR - 1) / NR * NR : NC;
    int64_t mc_max = m < MC ? (m + MR - 1) / MR * MR : MC;
    float *bbuf = gf__scratch(0, (size_t)(kc_max * nc_max));
    float *abuf = gf__scratch(1, (size_t)(kc_max * mc_max));
    if (!bbuf || !abuf) return 0;
    for (int64_t jc = 0; jc < n; jc += nc_max) {
        int64_t nc = n - jc < nc_max ? n - jc : nc_max;
        for (int64_t pc = 0; pc < k; pc += kc_max) {
            int64_t kc = k - pc < kc_max ? k - pc : kc_max;
            for (int64_t jr = 0; jr < nc; jr += NR)
                pack_b_panel(tb, b, ldb, pc, jc + jr, kc, nc - jr < NR ? nc - jr : NR, bbuf + jr * kc);
            float be = pc == 0 ? beta : 1.0f;
            for (int64_t ic = 0; ic < m; ic += mc_max) {
                int64_t mc = m - ic < mc_max ? m - ic : mc_max;
                for (int64_t ir = 0; ir < mc; ir += MR)
                    pack_a_panel(ta, a, lda, ic + ir, pc, mc - ir < MR ? mc - ir : MR, kc, abuf + ir * kc);
                for (int64_t jr = 0; jr < nc; jr += NR) {
                    int64_t nr = nc - jr < NR ? nc - jr : NR;
                    for (int64_t ir = 0; ir < mc; ir += MR) {
                        int64_t mr = mc - ir < MR ? mc - ir : MR;
                        pick(0, 1, mr, nr)(kc, NULL, abuf + ir * kc, MR, bbuf + jr * kc, NR, nr,
                                           c + (ic + ir) * ldc + jc + jr, ldc, alpha, be);
                    }
                }
            }
        }
    }
    return 1;
}

/* The share of zeros in a sample of A (8 elements across each of 8 rows
 * spread over it), in percent. Images differ more than the pixels of one
 * image: 17 elements of each of four rows sampled Fashion-MNIST's test
 * images (50% zero) as 60% zero and more. */
static int zero_percent(int ta, int64_t m, int64_t k, const float *a, int64_t lda)
{
    int64_t rows = ta ? k : m, cols = ta ? m : k, zeros = 0, seen = 0;
    int64_t step = cols / 8 + 1;
    for (int s = 0; s < 8; s++) {
        const float *row = a + (rows - 1) * s / 7 * lda;
        for (int64_t j = 0; j < cols; j += step, seen++) zeros += row[j] == 0.0f;
    }
    return (int)(100 * zeros / seen);
}

gf_gemm_plan gf__gemm_avx2_plan(int ta, int tb, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                                int b_finite)
{
    gf_gemm_plan p = { 0, 0, 0 };
    /* Packing pays when B outgrows L2 (and is reused over enough rows), or
     * when A's rows are reused over enough columns to amortise packing. */
    int big = m * n * k >= ((int64_t)1 << 21) && m >= 32 && (k * n > 64 * 1024 || (m > 2 * MC && n >= 64));
    /* k's blocks come from the shape alone (not the path, even forced, so
     * that all paths give the same bits). Direct: B's k block (kc rows of
     * n) stays in L1 across the row tiles. */
    int64_t max = KC_MAX;
    if (!big) {
        int64_t width = (n < NR ? n : (n + NR - 1) / NR * NR) * (int64_t)sizeof(float);
        max = 16384 / width;
        max = max < 64 ? 64 : max > KC_MAX ? KC_MAX : max;
    }
    p.kc = kc_for(k, max);
    int forced = atomic_load_explicit(&force_path, memory_order_relaxed);
    int skips = forced == GF_GEMM_DIRECT_SKIP || forced == GF_GEMM_SPARSE_ROWS;
    int zeros = !forced && a && !tb && m * n * k >= 16384 ? zero_percent(ta, m, k, a, lda) : 0;
    int sparse = zeros >= 25;
    if (forced) p.path = skips && tb ? GF_GEMM_DIRECT : forced;
    /* Skipping zeros beats packing while B fits in L2 (784-100-10 at batch
     * 100: 705 -> 460-480 us a step). */
    else if (big && !(sparse && k * n <= 128 * 1024))
        p.path = gf__avx512_enabled() ? GF_GEMM_PACKED512 : GF_GEMM_PACKED;
    else if (!sparse) p.path = GF_GEMM_DIRECT;
    /* Sparse rows (C at most 32 wide): the weight update (op(A) = A^T with
     * k <= 32), and products of few rows; over many rows the 6-row tiles
     * share B's loads and the zero scan and measured ~10% faster. They pay
     * from about 60% zeros: the article's products with MNIST's digits (81%
     * zero) ran at 104-137 GFLOP/s-equivalent against 79-103 direct, with
     * Fashion-MNIST's images (50% zero) at 56-77 against 79-103. */
    else if (n <= 32 && (ta ? p.kc <= 32 : m < 64))
        p.path = zeros >= 60 ? GF_GEMM_SPARSE_ROWS : GF_GEMM_DIRECT;
    else p.path = GF_GEMM_DIRECT_SKIP;
    /* With B in place, AVX-512's 12 x 32 tiles where the CPU has them
     * (Zen 4, GFLOP/s: the weight update [784,10]^T @ [10,30] 79 -> 87,
     * [10,784] @ [784,30] 103 -> 105, an evaluation's [1000,784] @
     * [784,30] skipping MNIST's zeros 156 -> 161). A 12-row tile skips a
     * k only where all 12 images are 0 there: with Fashion-MNIST's 50%
     * zeros too few for the list to pay (its 10,000 test images @
     * [784,30]: 5.0 ms skipping with 6-row AVX2 tiles, 5.15 with 12-row
     * ones, 4.8 not skipping). Not where a column tile would be under
     * 16 wide: its stores would be masked (see gemm_avx512.c's row_out). */
    if (!forced && !tb && gf__avx512_enabled() && (n % 32 == 0 || n % 32 >= 16)) {
        if (p.path == GF_GEMM_DIRECT) p.path = GF_GEMM_DIRECT512;
        else if (p.path == GF_GEMM_DIRECT_SKIP && !ta) p.path = zeros >= 60 ? GF_GEMM_SKIP512 : GF_GEMM_DIRECT512;
        /* Few rows of a mostly-zero A (a training batch of images), C 16
         * to 32 wide: row groups over the union of their nonzeros, once B
         * is known finite; until then the direct path finds out as it
         * reads B (checking B first costs what the groups save at 50%
         * zeros: [10,784] @ [784,30] over Fashion-MNIST, us: direct 4.48,
         * groups 4.17, groups checking B 5.0). From 60% zeros, where the
         * sparse rows would go, they pay even checking (MNIST's digits:
         * 3.5-3.9 against the 12-row skipping tiles' 3.7-4.2 and the
         * sparse rows' 3.9-4.1; with B known finite 2.7). */
        if (!ta && n >= 16 && n <= 32 && m < 64 && zeros >= 40) {
            if (b_finite || zeros >= 60) p.path = GF_GEMM_GROUPS512;
            else p.learn_b = p.path == GF_GEMM_DIRECT512;
        }
    }
    /* Wider, for a batch of up to 256 images (in cache, unlike an
     * evaluation's stream): [100,784] @ [784,100], us, Fashion-MNIST
     * 150 -> 136, MNIST's digits 96 -> 70 (against the AVX2 skipping
     * tiles: C 100 wide has no AVX-512 direct tiles). B not known finite
     * is checked first (about 10% of that product, once in a session:
     * the check is what tells it B is finite). */
    if (!forced && !tb && gf__avx512_enabled() && !ta && n > 32 && n <= 128 && m <= 256 && zeros >= 40)
        p.path = GF_GEMM_GROUPS512;
    /* Weight updates of mostly-zero images by column groups, C 16 to 128
     * wide (B, the error term, is small enough to check every time), us:
     * [784,10]^T @ [10,30] over Fashion-MNIST 5.6 -> 4.8 (direct), over
     * MNIST's digits 4.1-4.7 -> 3.0-3.8 (sparse rows); [784,100]^T @
     * [100,100] 137 -> 108 and 89 -> 56 (AVX2 skipping tiles). */
    if (!forced && !tb && gf__avx512_enabled() && ta && n >= 16 && n <= 128 && k <= 256 && zeros >= 40)
        p.path = GF_GEMM_GROUPS512;
    return p;
}

void gf__gemm_avx2(const gf_gemm_plan *plan, int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha,
                   const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc,
                   gf_gemm_hint *hint)
{
    const int b_finite = hint && hint->b_finite;
    if (hint) hint->b_checked = hint->c_finite = 0;
    if (plan->path == GF_GEMM_PACKED512 && gf__cpu_has_avx512() &&
        gf__gemm_avx512_packed(plan->kc, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc))
        return;
    if ((plan->path == GF_GEMM_PACKED || plan->path == GF_GEMM_PACKED512) &&
        gemm_packed(plan->kc, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc))
        return;
    if (plan->path == GF_GEMM_GROUPS512 && !tb && gf__cpu_has_avx512() &&
        gf__gemm_avx512_groups(plan->kc, ta, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, b_finite,
                               hint ? &hint->b_checked : NULL, hint ? &hint->c_finite : NULL))
        return;
    if ((plan->path == GF_GEMM_DIRECT512 || plan->path == GF_GEMM_SKIP512 || plan->path == GF_GEMM_GROUPS512) &&
        !tb && gf__cpu_has_avx512() &&
        gf__gemm_avx512_direct(plan->kc, ta, plan->path != GF_GEMM_DIRECT512 && !ta, m, n, k, alpha, a, lda, b,
                               ldb, beta, c, ldc, b_finite, hint ? &hint->c_finite : NULL,
                               hint && plan->learn_b ? &hint->b_checked : NULL))
        return;
    if (plan->path == GF_GEMM_SPARSE_ROWS && !tb &&
        gf__gemm_sparse_rows(plan->kc, ta, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, hint))
        return;
    if ((plan->path == GF_GEMM_DIRECT_SKIP || plan->path == GF_GEMM_SPARSE_ROWS || plan->path == GF_GEMM_SKIP512 ||
         plan->path == GF_GEMM_GROUPS512) &&
        !tb &&
        gemm_direct_skip(plan->kc, ta, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, b_finite))
        return;
    gemm_direct(plan->kc, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

#else /* no AVX2 kernels on this target */

#include <stdlib.h>

void gf__gemm_avx2_force_path(int path)
{
    (void)path;
}

gf_gemm_plan gf__gemm_avx2_plan(int ta, int tb, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                                int b_finite)
{
    (void)ta, (void)tb, (void)m, (void)n, (void)a, (void)lda, (void)b_finite;
    gf_gemm_plan p = { GF_GEMM_DIRECT, k, 0 };
    return p;
}

void gf__gemm_avx2(const gf_gemm_plan *plan, int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha,
                   const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc,
                   struct gf_gemm_hint *hint)
{
    (void)plan, (void)ta, (void)tb, (void)m, (void)n, (void)k, (void)alpha, (void)a, (void)lda;
    (void)b, (void)ldb, (void)beta, (void)c, (void)ldc, (void)hint;
    abort(); /* never called: gf__cpu_has_avx2_fma() is 0 here */
}

#endif
