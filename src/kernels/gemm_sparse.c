/*
 * gemm_sparse.c — the GEMM for a skinny C (n <= 32) and a mostly-zero
 * op(A): each row of C visits only the k where its row of op(A) is not 0.
 */
#include "gemm_avx2.h"
#include "kernels.h"

#if GF_HAVE_AVX2_KERNELS

#include <math.h>

/* For C at most 32 wide (the article's [10,784] @ [784,30] and its weight
 * update [784,10]^T @ [10,30]), each row of C is one register row (up to 4
 * vectors) and only the k where that row of op(A) is not zero are visited
 * (MNIST: ~150 of 784 pixels per image; ~4 of 10 images per pixel). */
#define NR2 32

/* Column layout of a row nr (1..32) wide: nv vectors at 0, 8, 16 and the
 * last at nr - 8 (overlapping the one before when nr % 8 != 0); a row
 * under 8 columns is one masked vector. */
enum { N_PART, N_V1, N_V2, N_V3, N_V4 };
#define NAR_V(kind) ((kind) == N_PART ? 1 : (kind))

static int narrow_kind(int64_t nr)
{
    return nr < 8 ? N_PART : (int)((nr + 7) / 8);
}

/* The offset of vector v (v < nv) of a row of this kind. */
static inline int64_t nar_off(int kind, int v, int64_t nr)
{
    return kind == N_PART ? 0 : v == NAR_V(kind) - 1 ? nr - 8 : 8 * v;
}

/* A register row: accumulators r0 .. r3 (nv of them used); r += av * B's
 * row at bp. A macro on named variables, so that they stay in registers. */
#define ACC_FMA(kind, nr, mask, r, av, bp)                                                                   \
    do {                                                                                                     \
        const float *bp_ = (bp);                                                                             \
        const __m256 av_ = (av);                                                                             \
        r##0 = _mm256_fmadd_ps(av_, (kind) == N_PART ? _mm256_maskload_ps(bp_, mask) : _mm256_loadu_ps(bp_),  \
                               r##0);                                                                        \
        if (NAR_V(kind) > 1) r##1 = _mm256_fmadd_ps(av_, _mm256_loadu_ps(bp_ + nar_off(kind, 1, nr)), r##1); \
        if (NAR_V(kind) > 2) r##2 = _mm256_fmadd_ps(av_, _mm256_loadu_ps(bp_ + nar_off(kind, 2, nr)), r##2); \
        if (NAR_V(kind) > 3) r##3 = _mm256_fmadd_ps(av_, _mm256_loadu_ps(bp_ + nar_off(kind, 3, nr)), r##3); \
    } while (0)

/* C's row c [1,nr] = alpha * acc + beta * C, as tile_row_out: C not read
 * when beta == 0; all loads before any store (the last vector may
 * overlap). bm: 0 when beta == 0, 1 when beta == 1, else 2 (decided once
 * per call by the caller, see BETA_CASES). */
AVX2 ALWAYS_INLINE void acc_out(int kind, int bm, int64_t nr, __m256i mask, __m256 x0, __m256 x1, __m256 x2,
                                __m256 x3, float *c, __m256 al, __m256 be, __m256 *fin)
{
    const int nv = NAR_V(kind);
    __m256 x[4] = { x0, x1, x2, x3 };
    if (bm == 0) {
        for (int v = 0; v < nv; v++) x[v] = _mm256_mul_ps(al, x[v]);
    } else {
        __m256 old[4];
        for (int v = 0; v < nv; v++)
            old[v] = kind == N_PART ? _mm256_maskload_ps(c, mask) : _mm256_loadu_ps(c + nar_off(kind, v, nr));
        for (int v = 0; v < nv; v++) {
            if (bm == 2) old[v] = _mm256_mul_ps(be, old[v]);
            x[v] = _mm256_fmadd_ps(al, x[v], old[v]);
        }
    }
    if (kind == N_PART) store_part(c, x[0], (int)nr);
    else
        for (int v = 0; v < nv; v++) _mm256_storeu_ps(c + nar_off(kind, v, nr), x[v]);
    /* fin = fma(x, 0, fin): NaN from the first infinite or NaN x on (lanes
     * past nr of a masked row are 0 * finite alpha * 0 = 0). */
    if (fin)
        for (int v = 0; v < nv; v++) *fin = _mm256_fmadd_ps(x[v], _mm256_setzero_ps(), *fin);
}

/* Calls F(bm, args) with bm a constant for beta's case (see acc_out). */
#define BETA_CASES(beta, F, ...)                    \
    do {                                            \
        if ((beta) == 0.0f) F(0, __VA_ARGS__);      \
        else if ((beta) == 1.0f) F(1, __VA_ARGS__); \
        else F(2, __VA_ARGS__);                     \
    } while (0)

/* op(A) = A [m,k] (rows contiguous), one k block: for rows i0 and i0+1
 * (mr 1..2) of C [.., nr], acc = the FMA chain over the p listed for
 * that row (l0 [n0], l1 [n1], ascending), then acc_out. The two rows'
 * chains are interleaved so that 8 accumulators are in flight. A's row r
 * at a + r*lda (block start), B's row p at b + p*bs. */
AVX2 ALWAYS_INLINE void sparse_nn_pair(int kind, int mr, int bm, const int32_t *l0, int64_t n0, const int32_t *l1,
                                       int64_t n1, const float *a, int64_t lda, const float *b, int64_t bs,
                                       int64_t nr, float *c, int64_t ldc, float alpha, float beta)
{
    const __m256 al = _mm256_set1_ps(alpha), be = _mm256_set1_ps(beta);
    const __m256i mask = lanes(kind == N_PART ? (int)nr : 8);
    __m256 r0 = _mm256_setzero_ps(), r1 = r0, r2 = r0, r3 = r0, q0 = r0, q1 = r0, q2 = r0, q3 = r0;
    const float *a1 = a + lda;
    int64_t both = mr > 1 && n1 < n0 ? n1 : n0, t = 0;
    if (mr > 1)
        for (; t < both; t++) {
            ACC_FMA(kind, nr, mask, r, _mm256_broadcast_ss(a + l0[t]), b + l0[t] * bs);
            ACC_FMA(kind, nr, mask, q, _mm256_broadcast_ss(a1 + l1[t]), b + l1[t] * bs);
        }
    for (int64_t u = t; u < n0; u++) ACC_FMA(kind, nr, mask, r, _mm256_broadcast_ss(a + l0[u]), b + l0[u] * bs);
    if (mr > 1)
        for (int64_t u = t; u < n1; u++) ACC_FMA(kind, nr, mask, q, _mm256_broadcast_ss(a1 + l1[u]), b + l1[u] * bs);
    acc_out(kind, bm, nr, mask, r0, r1, r2, r3, c, al, be, NULL);
    if (mr > 1) acc_out(kind, bm, nr, mask, q0, q1, q2, q3, c + ldc, al, be, NULL);
}

/* op(A) = A^T, A [k,m] stored with rows of m, k <= 32: the rows of C
 * listed in rows [nrows], ascending; bit p of bits[i] says A(i,p) =
 * arow[p][i] is to be visited (ascending; B's row p at brow[p]): C's row
 * i = alpha * chain + beta * C. Returns 1 when every value written is
 * finite. The caller lists only the rows with bits when empty ones may be
 * left alone (C + -0 is C): a branch per row on which pixels are lit
 * mispredicted often (listing them: the article's step 14.2 -> 13.4 us).
 * Visiting C's rows in memory order (not grouped by bit count, which would
 * make the inner loop's length predictable) measured ~20% faster. */
AVX2 ALWAYS_INLINE int sparse_tn_rows(int kind, int bm, const int32_t *rows, int64_t nrows, const uint32_t *bits,
                                      const float *const *arow, const float *const *brow, int64_t nr, float *c,
                                      int64_t ldc, float alpha, float beta)
{
    const __m256i mask = lanes(kind == N_PART ? (int)nr : 8);
    const __m256 al = _mm256_set1_ps(alpha), be = _mm256_set1_ps(beta);
    __m256 fin = _mm256_setzero_ps();
    for (int64_t t = 0; t < nrows; t++) {
        const int64_t i = rows[t];
        uint32_t w = bits[i];
        __m256 r0 = _mm256_setzero_ps(), r1 = r0, r2 = r0, r3 = r0;
        while (w) {
            int p = __builtin_ctz(w);
            w &= w - 1;
            ACC_FMA(kind, nr, mask, r, _mm256_broadcast_ss(arow[p] + i), brow[p]);
        }
        acc_out(kind, bm, nr, mask, r0, r1, r2, r3, c + i * ldc, al, be, &fin);
    }
    return _mm256_movemask_ps(_mm256_cmp_ps(fin, fin, _CMP_UNORD_Q)) == 0;
}

typedef void (*nn_pair_fn)(int mr, const int32_t *l0, int64_t n0, const int32_t *l1, int64_t n1, const float *a,
                           int64_t lda, const float *b, int64_t bs, int64_t nr, float *c, int64_t ldc, float alpha,
                           float beta);
typedef int (*tn_rows_fn)(const int32_t *rows, int64_t nrows, const uint32_t *bits, const float *const *arow,
                          const float *const *brow, int64_t nr, float *c, int64_t ldc, float alpha, float beta);

#define NN_PAIR(bm, K, mr, ...) sparse_nn_pair(K, mr, bm, __VA_ARGS__)
#define TN_ROWS(bm, K, ...) return sparse_tn_rows(K, bm, __VA_ARGS__)
#define SPARSE_INST(K)                                                                                            \
    AVX2 static void nn_pair_##K(int mr, const int32_t *l0, int64_t n0, const int32_t *l1, int64_t n1,            \
                                 const float *a, int64_t lda, const float *b, int64_t bs, int64_t nr, float *c,  \
                                 int64_t ldc, float alpha, float beta)                                           \
    {                                                                                                             \
        if (mr > 1) BETA_CASES(beta, NN_PAIR, K, 2, l0, n0, l1, n1, a, lda, b, bs, nr, c, ldc, alpha, beta);      \
        else BETA_CASES(beta, NN_PAIR, K, 1, l0, n0, l1, n1, a, lda, b, bs, nr, c, ldc, alpha, beta);             \
    }                                                                                                             \
    AVX2 static int tn_rows_##K(const int32_t *rows, int64_t nrows, const uint32_t *bits,                         \
                                 const float *const *arow, const float *const *brow, int64_t nr, float *c,       \
                                 int64_t ldc, float alpha, float beta)                                           \
    {                                                                                                             \
        BETA_CASES(beta, TN_ROWS, K, rows, nrows, bits, arow, brow, nr, c, ldc, alpha, beta);                     \
    }
SPARSE_INST(N_PART)
SPARSE_INST(N_V1)
SPARSE_INST(N_V2)
SPARSE_INST(N_V3)
SPARSE_INST(N_V4)
static const nn_pair_fn nn_pairs[5] = { nn_pair_N_PART, nn_pair_N_V1, nn_pair_N_V2, nn_pair_N_V3, nn_pair_N_V4 };
static const tn_rows_fn tn_rows[5] = { tn_rows_N_PART, tn_rows_N_V1, tn_rows_N_V2, tn_rows_N_V3, tn_rows_N_V4 };

/* C [m,n] = alpha * op(A) @ B + beta * C for n <= 32, B in place (!tb),
 * visiting per row of C only the k where that row of op(A) is not zero
 * (see sparse_nn_pair, sparse_tn_rows). A B block that is not all finite
 * is visited whole (0*inf is NaN). With beta 1 and alpha*0 == -0, rows
 * with nothing to add are left as they are (C + -0 is C). Returns 0
 * (nothing done) when the shape does not suit: n > 32, or op(A) = A^T
 * with k blocks over 32. */
AVX2 int gf__gemm_sparse_rows(int64_t kc_max, int ta, int64_t m, int64_t n, int64_t k, float alpha,
                              const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
                              int64_t ldc, gf_gemm_hint *hint)
{
    const int b_known = hint && hint->b_finite;
    int b_finite = 1, c_finite = ta; /* so far */
    if (n > NR2 || (ta && kc_max > 32)) return 0;
    const int kind = narrow_kind(n);
    int32_t l0[KC_MAX + 8], l1[KC_MAX + 8];
    uint32_t bits[MASK_ROWS];
    int32_t rows[MASK_ROWS + 8];
    gf__nz_init();
    const int keep_empty = beta == 1.0f && gf__nothing_keeps_c(alpha);
    for (int64_t p0 = 0; p0 < k; p0 += kc_max) {
        const int64_t kc = k - p0 < kc_max ? k - p0 : kc_max;
        const float be = p0 == 0 ? beta : 1.0f;
        const int keep = p0 == 0 ? keep_empty : gf__nothing_keeps_c(alpha);
        const float *bp = b + p0 * ldb;
        const int dense = !b_known && !gf__nz_all_finite(kc, n, bp, ldb);
        b_finite &= !dense;
        if (!ta) {
            if (dense) /* every k, for every row of the block */
                for (int32_t p = 0; p < kc; p++) l0[p] = l1[p] = p;
            for (int64_t i0 = 0; i0 < m; i0 += 2) {
                const int mr = m - i0 < 2 ? 1 : 2;
                const float *ap = a + i0 * lda + p0;
                int64_t n0 = kc, n1 = kc;
                if (!dense) {
                    n0 = gf__nz_list(ap, kc, l0);
                    n1 = mr > 1 ? gf__nz_list(ap + lda, kc, l1) : 0;
                }
                nn_pairs[kind](mr, l0, n0, l1, n1, ap, lda, bp, ldb, n, c + i0 * ldc, ldc, alpha, be);
            }
            continue;
        }
        /* op(A) = A^T: a mask of the k per row of C, and the rows to visit:
         * those with a bit set when empty ones are left alone (listed
         * without a branch per row: which pixels are lit is data), else
         * all. */
        for (int64_t r0 = 0; r0 < m; r0 += MASK_ROWS) {
            const int64_t mm = m - r0 < MASK_ROWS ? m - r0 : MASK_ROWS;
            const float *ap = a + p0 * lda + r0;
            int64_t nrows = mm;
            if (dense) {
                for (int64_t i = 0; i < mm; i++) bits[i] = kc == 32 ? 0xffffffffu : (1u << kc) - 1;
            } else {
                int64_t lit = gf__nz_masks(mm, kc, ap, lda, bits, rows);
                if (keep) nrows = lit;
            }
            if (nrows == mm)
                for (int64_t i = 0; i < mm; i++) rows[i] = (int32_t)i;
            const float *arow[32], *brow[32];
            for (int64_t p = 0; p < kc; p++) {
                arow[p] = ap + p * lda;
                brow[p] = bp + p * ldb;
            }
            c_finite &= tn_rows[kind](rows, nrows, bits, arow, brow, n, c + r0 * ldc, ldc, alpha, be);
        }
    }
    if (hint) {
        hint->b_checked = b_finite;
        hint->c_finite = c_finite;
    }
    return 1;
}

#endif
