/*
 * gemm_groups512.c — the AVX-512 GEMM for a C at least 16 wide and a
 * mostly-zero op(A), in groups of up to 4 rows of C that share the loads
 * of B and skip the k where all of the group's op(A) is zero: a training
 * batch's product of images ([10,784] @ [784,30] or [100,784] @
 * [784,100], op(A) = A) and its weight update ([784,10]^T @ [10,30] or
 * [784,100]^T @ [100,100], op(A) = A^T). GF_GEMM_GROUPS512. C's columns
 * go in tiles of 32, the last two of 16 to 48 (100 = 32 + 32 + 36), so
 * that no store is masked (see row_out).
 *
 * Same bits as the other paths (gemm_avx512.c's head says how): a skipped
 * term is 0 times a finite B. Groups lie on a 4-row grid from the block's
 * first row, and blocks on the 12-row split grid, so every thread count
 * groups alike (a group's rows share whether a term is skipped, which
 * can decide the sign of a zero sum).
 */
#include "gemm_impl.h"
#include "simd.h"

#if GF_HAVE_AVX512_KERNELS

#include "gemm_avx2.h"
#include "gemm_avx512.h"
#include "kernels.h"

#define MR GF_GEMM512_MR
#define MAX_KB 64 /* most k blocks of the row groups (past them they decline) */

/* ---- op(A) = A: row groups over the union of their nonzeros ---------------- */

/* For few rows of a mostly-zero A (a training batch of images): each
 * group of up to 4 rows of C visits, in each k block, only the p where
 * one of its rows of A is not zero, loading B's row p once for the group
 * and column tile. Zen 4, [10,784] @ [784,30]: one B row costs as many
 * load cycles as 2 FMAs, so a single row visiting its own nonzeros
 * (SPARSE_ROWS) is load-bound; 3-4 rows per B row keep it FMA-bound, and
 * 4 Fashion-MNIST images are all zero at 22% of the pixels (MNIST's
 * digits: about half), which the group skips. [100,784] @ [784,100]:
 * 150 -> 136 us over Fashion-MNIST, 96 -> 70 over the digits (the AVX2
 * 6-row tiles skipping zeros). */

/* Lists in idx the p in [0,kc) where one of the g rows of A (row r at a
 * + r*as) is not zero (NaN counts), ascending; how many. idx has room
 * for kc + 16. */
AVX512 ALWAYS_INLINE int64_t union_list(const int g, const float *a, int64_t as, int64_t kc, int32_t *idx)
{
    const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    int64_t cnt = 0;
    for (int64_t p = 0; p < kc; p += 16) {
        const __mmask16 in = first(kc - p);
        __mmask16 nz = 0;
        _Pragma("GCC unroll 4") for (int r = 0; r < g; r++) nz |= _mm512_mask_cmp_ps_mask(
            in, _mm512_maskz_loadu_ps(in, a + r * as + p), _mm512_setzero_ps(), _CMP_NEQ_UQ);
        const __m512i ps = _mm512_add_epi32(iota, _mm512_set1_epi32((int)p));
        _mm512_storeu_si512(idx + cnt, _mm512_maskz_compress_epi32(nz, ps));
        cnt += __builtin_popcount(nz);
    }
    return cnt;
}

/* One step of a group's chains: for its rows r < g, nv accumulators
 * acc[3r ..] += op(A)(r, p) * B's row p, op(A)(r, p) at ap[r * rs] and
 * B's row at bp. The columns of a tile (16 <= nr <= 48): nv = 2 vectors
 * at 0 and off = nr - 16 (nr <= 32), or 3 at 0, 16 and off (the last
 * overlapping the one before: loads before stores, see row_out). */
AVX512 ALWAYS_INLINE void group_step(const int g, const int nv, __m512 *acc, const float *ap, int64_t rs,
                                     const float *bp, int64_t off)
{
    const __m512 b0 = _mm512_loadu_ps(bp), b1 = _mm512_loadu_ps(bp + (nv == 3 ? 16 : off));
    const __m512 b2 = nv == 3 ? _mm512_loadu_ps(bp + off) : b1;
    _Pragma("GCC unroll 4") for (int r = 0; r < g; r++) {
        const __m512 av = _mm512_set1_ps(ap[r * rs]);
        acc[3 * r] = _mm512_fmadd_ps(av, b0, acc[3 * r]);
        acc[3 * r + 1] = _mm512_fmadd_ps(av, b1, acc[3 * r + 1]);
        if (nv == 3) acc[3 * r + 2] = _mm512_fmadd_ps(av, b2, acc[3 * r + 2]);
    }
}

/* C's rows [g, nr] = alpha * acc + beta * C (row_out; the tile's columns
 * as group_step's); the sum of the values written. */
AVX512 ALWAYS_INLINE __m512 group_out(const int g, const int nv, const __m512 *acc, float *c, int64_t ldc,
                                      int64_t off, float alpha, float beta)
{
    const __m512 al = _mm512_set1_ps(alpha), be = _mm512_set1_ps(beta);
    __m512 sum = _mm512_setzero_ps();
    _Pragma("GCC unroll 4") for (int r = 0; r < g; r++) {
        float *cr = c + r * ldc;
        if (nv == 2) {
            sum = _mm512_add_ps(sum, row_out(2, cr, 0, off, al, be, beta, acc[3 * r], acc[3 * r + 1]));
        } else { /* the first vector alone, then the overlapping pair at 16 and off */
            __m512 x = _mm512_mul_ps(al, acc[3 * r]);
            if (beta != 0.0f) x = _mm512_fmadd_ps(al, acc[3 * r], beta == 1.0f ? _mm512_loadu_ps(cr)
                                                                              : _mm512_mul_ps(be, _mm512_loadu_ps(cr)));
            _mm512_storeu_ps(cr, x);
            sum = _mm512_add_ps(sum, x);
            sum = _mm512_add_ps(sum, row_out(2, cr + 16, 0, off - 16, al, be, beta, acc[3 * r + 1], acc[3 * r + 2]));
        }
    }
    return sum;
}

/* The width of the next column tile of C, `left` columns (>= 16) to go:
 * 32, and the last two 16 to 48, so that no tile is under 16 (its stores
 * would be masked). */
static inline int64_t tile_cols(int64_t left) { return left > 48 ? 32 : left; }

/* C's rows [g, nr] (16 <= nr <= 48, nv vectors: group_step) for one k
 * block: the FMA chain over the p in idx [cnt], then row_out. A's row r
 * at a + r*as, B's row p at b + p*bs. */
AVX512 ALWAYS_INLINE void group_rows(const int g, const int nv, int64_t cnt, const int32_t *idx, const float *a,
                                     int64_t as, const float *b, int64_t bs, int64_t nr, float *c, int64_t ldc,
                                     float alpha, float beta)
{
    __m512 acc[12];
    _Pragma("GCC unroll 12") for (int r = 0; r < 3 * g; r++) acc[r] = _mm512_setzero_ps();
    for (int64_t t = 0; t < cnt; t++) group_step(g, nv, acc, a + idx[t], as, b + idx[t] * bs, nr - 16);
    (void)group_out(g, nv, acc, c, ldc, nr - 16, alpha, beta);
}

/* One group of g rows for one k block, B's block finite (fin) or not
 * (then every p is visited: 0 * inf is NaN). */
typedef void (*group_fn)(int64_t kc, int fin, int keep, const float *a, int64_t as, const float *b, int64_t bs,
                         int64_t n, float *c, int64_t ldc, float alpha, float beta);
#define GROUP_INST(G)                                                                                            \
    AVX512 static void group_##G(int64_t kc, int fin, int keep, const float *a, int64_t as, const float *b,      \
                                 int64_t bs, int64_t n, float *c, int64_t ldc, float alpha, float beta)          \
    {                                                                                                            \
        int32_t idx[KC_MAX + 16];                                                                                \
        int64_t cnt = kc;                                                                                        \
        if (fin) cnt = union_list(G, a, as, kc, idx);                                                            \
        else                                                                                                     \
            for (int32_t p = 0; p < kc; p++) idx[p] = p;                                                         \
        if (cnt == 0 && keep) return; /* C + alpha*0 is C */                                                     \
        for (int64_t j0 = 0, nr; j0 < n; j0 += nr) {                                                             \
            nr = tile_cols(n - j0);                                                                              \
            if (nr > 32) group_rows(G, 3, cnt, idx, a, as, b + j0, bs, nr, c + j0, ldc, alpha, beta);            \
            else group_rows(G, 2, cnt, idx, a, as, b + j0, bs, nr, c + j0, ldc, alpha, beta);                    \
        }                                                                                                        \
    }
GROUP_INST(1) GROUP_INST(2) GROUP_INST(3) GROUP_INST(4)
static const group_fn groups[4] = { group_1, group_2, group_3, group_4 };

/* How many of the rows left (1 .. MR) of a 12-row chunk the next group
 * takes: 4, 4, 4 for a whole chunk, and no group of 1 save for a chunk of
 * one row (10 rows: 4, 3, 3). The chunks lie on the split grid, so every
 * thread count groups alike (the rows of a group share the -0 case of a
 * skipped term). */
static int group_size(int64_t left)
{
    return left <= 4 ? (int)left : left == 5 || left == 6 || left == 9 ? 3 : 4;
}

/* C [m,n] = alpha * A @ B + beta * C by row groups; 1 when B was found
 * (or known) finite. */
static int row_groups_run(int64_t kc_max, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                          int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc, int b_finite)
{
    const int keep_later = gf__nothing_keeps_c(alpha);
    const int keep_empty = beta == 1.0f && keep_later;
    /* Whether each block of B is finite: checked once (0 * inf is NaN). */
    signed char fin[MAX_KB];
    int all_fin = 1;
    /* 12-row chunks, then k blocks, then the chunk's groups: A's rows are
     * read once, in order, and B's block stays in L1 over the chunk. */
    for (int64_t c0 = 0; c0 < m; c0 += MR) {
        const int64_t end = c0 + MR < m ? c0 + MR : m;
        for (int64_t p0 = 0, kb = 0; p0 < k; p0 += kc_max, kb++) {
            const int64_t kc = k - p0 < kc_max ? k - p0 : kc_max;
            const float be = p0 == 0 ? beta : 1.0f;
            const float *bp = b + p0 * ldb;
            if (c0 == 0) all_fin &= fin[kb] = (signed char)(b_finite || gf__nz_all_finite(kc, n, bp, ldb));
            for (int64_t i0 = c0; i0 < end;) {
                const int g = group_size(end - i0);
                groups[g - 1](kc, fin[kb], p0 == 0 ? keep_empty : keep_later, a + i0 * lda + p0, lda, bp, ldb,
                              n, c + i0 * ldc, ldc, alpha, be);
                i0 += g;
            }
        }
    }
    return all_fin;
}


/* ---- op(A) = A^T: groups of C's rows over the k where they are not zero -- */

/* The weight update C [m,n] += alpha * A^T @ B, A [k,m] (an image per
 * row), B [k,n]: C's row r is the chain over the images i in which pixel
 * r is not zero. Groups of 4 adjacent pixels (rows of C) take the images
 * where one of the 4 is lit (Fashion-MNIST: 61% of them; MNIST's digits:
 * about a third), loading B's row i once for the group, tile by tile of
 * C's columns; a group with none is left alone when that keeps C. Zen 4:
 * [784,10]^T @ [10,30] 5.6 -> 4.8 us over Fashion-MNIST (direct), 4.1-4.7
 * -> 3.0-3.8 over MNIST's digits (sparse rows); [784,100]^T @ [100,100]
 * (784-100-10 at batch 100): 137 -> 108 us over Fashion-MNIST, 89 -> 56
 * over the digits (the AVX2 6-row tiles skipping zeros). */

/* C's rows [g, nr] (16 <= nr <= 48, nv vectors: group_step) = alpha *
 * (the chain over the images idx [cnt], ascending) + beta * C; A's
 * element (i, r) at a[i*as + r], B's row i at b + i*bs. Returns the sum
 * of the values written (see row_out). */
AVX512 ALWAYS_INLINE __m512 col_group(const int g, const int nv, int64_t nq, const uint32_t *lit, const float *a,
                                      int64_t as, const float *b, int64_t bs, int64_t nr, float *c, int64_t ldc,
                                      float alpha, float beta)
{
    __m512 acc[12];
    _Pragma("GCC unroll 12") for (int r = 0; r < 3 * g; r++) acc[r] = _mm512_setzero_ps();
    for (int64_t q = 0; q < nq; q++)
        for (uint32_t w = lit[q]; w; w &= w - 1) {
            const int64_t i = 32 * q + __builtin_ctz(w);
            group_step(g, nv, acc, a + i * as, 1, b + i * bs, nr - 16);
        }
    return group_out(g, nv, acc, c, ldc, nr - 16, alpha, beta);
}

typedef __m512 (*col_group_fn)(int64_t nq, const uint32_t *lit, const float *a, int64_t as, const float *b,
                               int64_t bs, int64_t nr, float *c, int64_t ldc, float alpha, float beta);
#define COL_GROUP_INST(G, V)                                                                                     \
    AVX512 static __m512 col_group_##G##_##V(int64_t nq, const uint32_t *lit, const float *a, int64_t as,       \
                                             const float *b, int64_t bs, int64_t nr, float *c, int64_t ldc,     \
                                             float alpha, float beta)                                           \
    {                                                                                                            \
        return col_group(G, V, nq, lit, a, as, b, bs, nr, c, ldc, alpha, beta);                                \
    }
COL_GROUP_INST(1, 2) COL_GROUP_INST(2, 2) COL_GROUP_INST(3, 2) COL_GROUP_INST(4, 2)
COL_GROUP_INST(1, 3) COL_GROUP_INST(2, 3) COL_GROUP_INST(3, 3) COL_GROUP_INST(4, 3)
/* One word of images, two vectors: a training batch's update
 * (col_groups_run16). */
typedef __m512 (*col_group1_fn)(uint32_t w, const float *a, int64_t as, const float *b, int64_t bs, int64_t nr,
                                float *c, int64_t ldc, float alpha, float beta);
#define COL_GROUP1_INST(G)                                                                                       \
    AVX512 static __m512 col_group1_##G(uint32_t w, const float *a, int64_t as, const float *b, int64_t bs,      \
                                        int64_t nr, float *c, int64_t ldc, float alpha, float beta)              \
    {                                                                                                            \
        return col_group(G, 2, 1, &w, a, as, b, bs, nr, c, ldc, alpha, beta);                                   \
    }
COL_GROUP1_INST(1) COL_GROUP1_INST(2) COL_GROUP1_INST(3) COL_GROUP1_INST(4)
static const col_group1_fn col_groups1[4] = { col_group1_1, col_group1_2, col_group1_3, col_group1_4 };
static const col_group_fn col_groups[2][4] = { { col_group_1_2, col_group_2_2, col_group_3_2, col_group_4_2 },
                                               { col_group_1_3, col_group_2_3, col_group_3_3, col_group_4_3 } };

/* The images of each group of 16 rows of C (the first `rows` of them
 * exist) in a k block of kc <= KC_MAX images (A's row i at a + i*as):
 * bit t of lit[j][q] is set when image 32q + t is not zero (NaN counts)
 * at one of the rows 4j .. 4j+3. In vector registers, 32 images to a
 * word (lit_groups16's general-register word holds 16). */
AVX512 static void lit_groups(int64_t kc, int64_t rows, const float *a, int64_t as, uint32_t lit[4][KC_MAX / 32])
{
    const __mmask16 in = first(rows);
    for (int64_t q = 0; 32 * q < kc; q++) {
        __m512i w = _mm512_setzero_si512(), bit = _mm512_set1_epi32(1);
        for (int64_t i = 32 * q; i < kc && i < 32 * q + 32; i++, bit = _mm512_add_epi32(bit, bit)) {
            const __mmask16 nz = _mm512_mask_cmp_ps_mask(in, _mm512_maskz_loadu_ps(in, a + i * as),
                                                         _mm512_setzero_ps(), _CMP_NEQ_UQ);
            w = _mm512_mask_or_epi32(w, nz, w, bit);
        }
        w = _mm512_or_si512(w, _mm512_shuffle_epi32(w, _MM_PERM_CDAB)); /* lanes 2u | 2u+1 */
        w = _mm512_or_si512(w, _mm512_shuffle_epi32(w, _MM_PERM_BADC)); /* | the other pair of the 4 */
        uint32_t l[16];
        _mm512_storeu_si512(l, w);
        for (int j = 0; j < 4; j++) lit[j][q] = l[4 * j];
    }
}

/* For 16 rows of C (the first `rows` of them exist) and k <= 16 images:
 * bit 4i + j of the result is set when image i (A's row i at a + i*as)
 * is not zero at one of the rows 4j .. 4j+3. */
AVX512 static uint64_t lit_groups16(int64_t k, int64_t rows, const float *a, int64_t as)
{
    const __mmask16 in = first(rows);
    uint64_t t = 0;
    for (int64_t i = 0; i < k; i++) {
        uint32_t nz = _mm512_mask_cmp_ps_mask(in, _mm512_maskz_loadu_ps(in, a + i * as), _mm512_setzero_ps(),
                                              _CMP_NEQ_UQ);
        nz |= nz >> 1;
        nz |= nz >> 2; /* bit 4j: one of rows 4j .. 4j+3 */
        t |= (uint64_t)_pext_u32(nz, 0x1111) << (4 * i);
    }
    return t;
}

/* col_groups_run for one k block of k <= 16 images and C 16 to 32 wide
 * (a training batch's update, [784,10]^T @ [10,30]): the general run's
 * lists of words and tiles of columns cost it 7% (5.5 -> 5.9 us). */
AVX512 static int col_groups_run16(int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
                                   const float *b, int64_t ldb, float beta, float *c, int64_t ldc, int b_fin)
{
    const int keep = beta == 1.0f && gf__nothing_keeps_c(alpha);
    __m512 sum = _mm512_setzero_ps();
    for (int64_t r0 = 0; r0 < m; r0 += 16) {
        const int64_t rows = m - r0 < 16 ? m - r0 : 16;
        const uint64_t t = b_fin ? lit_groups16(k, rows, a + r0, lda) : ~(uint64_t)0;
        for (int64_t j = 0; 4 * j < rows; j++) {
            /* group j's images: bits j, j+4, j+8, ... of t */
            const uint32_t w = (uint32_t)_pext_u64(t, 0x1111111111111111ULL << j) & ((1u << k) - 1);
            if (w == 0 && keep) continue; /* C + alpha*0 is C */
            const int g = rows - 4 * j < 4 ? (int)(rows - 4 * j) : 4;
            sum = _mm512_add_ps(sum, col_groups1[g - 1](w, a + r0 + 4 * j, lda, b, ldb, n, c + (r0 + 4 * j) * ldc,
                                                        ldc, alpha, beta));
        }
    }
    return all_finite(sum);
}

/* C [m,n] = alpha * A^T @ B + beta * C by column groups, in k blocks of
 * kc_max; b_fin: B is finite (else every image is visited). 1 when every
 * value written is finite. */
AVX512 static int col_groups_run(int64_t kc_max, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                                 int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc,
                                 int b_fin)
{
    const int keep_later = gf__nothing_keeps_c(alpha);
    __m512 sum = _mm512_setzero_ps();
    uint32_t lit[4][KC_MAX / 32];
    for (int64_t p0 = 0; p0 < k; p0 += kc_max) {
        const int64_t kc = k - p0 < kc_max ? k - p0 : kc_max, nq = (kc + 31) / 32;
        const float be = p0 == 0 ? beta : 1.0f;
        const int keep = be == 1.0f && keep_later;
        const float *ap = a + p0 * lda, *bp = b + p0 * ldb;
        if (!b_fin) /* every image, for every group (0 * inf is NaN) */
            for (int64_t q = 0; q < nq; q++)
                for (int j = 0; j < 4; j++) lit[j][q] = kc - 32 * q >= 32 ? ~0u : (1u << (kc - 32 * q)) - 1;
        for (int64_t r0 = 0; r0 < m; r0 += 16) {
            const int64_t rows = m - r0 < 16 ? m - r0 : 16;
            if (b_fin) lit_groups(kc, rows, ap + r0, lda, lit);
            for (int64_t j = 0; 4 * j < rows; j++) {
                const int64_t r = r0 + 4 * j;
                uint32_t any = 0;
                for (int64_t q = 0; q < nq; q++) any |= lit[j][q];
                if (any == 0 && keep) continue; /* C + alpha*0 is C */
                const int g = rows - 4 * j < 4 ? (int)(rows - 4 * j) : 4;
                for (int64_t j0 = 0, nr; j0 < n; j0 += nr) {
                    nr = tile_cols(n - j0);
                    sum = _mm512_add_ps(sum, col_groups[nr > 32][g - 1](nq, lit[j], ap + r, lda, bp + j0, ldb, nr,
                                                                        c + r * ldc + j0, ldc, alpha, be));
                }
            }
        }
    }
    return all_finite(sum);
}

int gf__gemm_avx512_groups(int64_t kc_max, int ta, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                           int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc, int b_finite,
                           int *b_checked, int *c_finite)
{
    if (n < 16) return 0;
    gf__nz_init();
    if (ta) {
        if (kc_max > KC_MAX) return 0;
        const int b_fin = b_finite || gf__nz_all_finite(k, n, b, ldb);
        const int fin = k <= 16 && kc_max >= k && n <= 32
                            ? col_groups_run16(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, b_fin)
                            : col_groups_run(kc_max, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, b_fin);
        if (c_finite) *c_finite = fin;
        return 1;
    }
    if (kc_max > KC_MAX || (k + kc_max - 1) / kc_max > MAX_KB) return 0;
    const int fin = row_groups_run(kc_max, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, b_finite);
    if (b_checked) *b_checked = fin;
    return 1;
}

#endif
