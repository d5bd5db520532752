/*
 * winograd.c — stride-1 convolutions with square 3x3 and 5x5 filters by
 * Winograd's minimal filtering (Lavin and Gray, "Fast Algorithms for
 * Convolutional Neural Networks", 2015): F(4x4, 3x3) on 6x6 tiles of the
 * input and F(4x4, 5x5) on 8x8 tiles. The tutorial's second layer (5x5,
 * 32 -> 64 channels) then needs 64 multiplications per 4x4 outputs and
 * channel pair instead of 400: 6 times fewer than the direct sum of
 * conv.c (4.8 on its 14x14 images, which take 16x16 of outputs).
 *
 * In one dimension, the m = 4 outputs y[i] = sum over k < r of d[i+k] g[k]
 * of a tile of a = m + r - 1 inputs d are
 *
 *     y = AT [(G g) .* (BT d)]         AT [m,a], G [a,r], BT [a,a]
 *
 * with the matrices of the Toom-Cook construction (below; the tests check
 * the results against the direct sum). In two dimensions
 * Y = AT [(G g GT) .* (BT d B)] A, and summed over input channels the
 * elementwise product becomes, for each of the a*a positions e of a tile,
 * one matrix product over the channels:
 *
 *     U [a*a, CI, CO]  the filter transformed, G g GT per channel pair
 *     V [a*a, T, CI]   T input tiles transformed, BT d B per channel
 *     M [a*a, T, CO]   M[e] = V[e] @ U[e]   (the GEMM, gf__gemm)
 *     out tile         AT M A per output channel (m x m outputs)
 *
 * Shapes (NHWC): in [N,IH,IW,CI] -> out [N,OH,OW,CO], stride 1, padding
 * before py, px. The output is cut into N * ceil(OH/m) * ceil(OW/m) tiles
 * of m x m; tile (b, ty, tx) reads the a x a input window at (ty*m - py,
 * tx*m - px), zeros outside the image; outputs past OH, OW are dropped.
 *
 *   conv2d:           U from f [R,R,C,O]; in = x, out = y
 *   backprop_input:   the same with in = dy [N,OH,OW,O], out = dx, the
 *                     filter turned 180 degrees with C and O swapped
 *                     (U [a*a,O,C]) and padding R-1-p
 *   backprop_filter:  the gradient of the formula above: over the tiles
 *                     of y, dU[e] = sum V[e]^T @ W[e] with W = A dy AT
 *                     (dy's m x m tile, zeros past OH, OW), then dF = GT dU G
 *
 * Rounding: the transforms add and subtract multiples of the inputs before
 * the products, so results differ from the direct sum in the last bits
 * (about 5e-6 of the largest result on the tutorial's layer; the tests'
 * bound is 2e-5). An infinity or NaN in the input may also make NaN outputs
 * of the output tiles whose windows hold it (the transforms subtract it
 * from itself), where the direct sum keeps it to the outputs that read it.
 *
 * Bits do not depend on the thread count: blocks of tiles are fixed by the
 * shapes, each output tile is computed by one task in one order, and the
 * filter gradient's tiles are cut into a fixed number of parts, each
 * summed by one task, the parts then added in order.
 */
#include "kernels.h"

#include "gemm_impl.h"
#include "simd.h"
#include "threads.h"

#include <string.h>

#define MT 4      /* output tile side m, both transforms */
#define MAXA 8    /* largest input tile side */
#define MAXR 5    /* largest filter */
#define CV 32     /* channels per pass of the transforms */
/* Bytes of a block's V and M (or W) together: about half an L2. */
#define BLOCK_BYTES (512 * 1024)
#define BLOCK_MULTIPLE 6 /* the GEMM's row tile */
/* At most this many blocks (larger ones past it). */
#define MAX_BLOCKS (1 << 20)
/* backprop_filter: at most this many parts, each with its own dU. */
#define MAX_PARTS 4

/* The matrices. F(4x4, 3x3), a = 6, from the points 0, 1, -1, 2, -2 and
 * infinity (the last column of AT and row of G are infinity's):
 *
 *   BT [6,6]                AT [4,6]
 *    4  0 -5  0  1  0        1  1  1  1  1  0
 *    0 -4 -4  1  1  0        0  1 -1  2 -2  0
 *    0  4 -4 -1  1  0        0  1  1  4  4  0
 *    0 -2 -1  2  1  0        0  1 -1  8 -8  1
 *    0  2 -1 -2  1  0
 *    0  4  0 -5  0  1
 *
 * F(4x4, 5x5), a = 8, from 0, 1, -1, 2, -2, 1/2, -1/2 and infinity:
 *
 *   BT [8,8]                                    AT [4,8]
 *   -1    0  21/4    0  -21/4    0    1  0       1  1  1  1  1    1     1    0
 *    0    1    1  -17/4 -17/4    1    1  0       0  1 -1  2 -2  1/2  -1/2    0
 *    0   -1    1   17/4 -17/4   -1    1  0       0  1  1  4  4  1/4   1/4    0
 *    0  1/2  1/4  -5/2  -5/4     2    1  0       0  1 -1  8 -8  1/8  -1/8    1
 *    0 -1/2  1/4   5/2  -5/4    -2    1  0
 *    0    2    4  -5/2    -5   1/2    1  0
 *    0   -2    4   5/2    -5  -1/2    1  0
 *    0   -1    0  21/4     0  -21/4   0  1
 *
 * BT and AT are written out as code (bt6, at6, a6, bt8, at8, a8 below); G,
 * used once per call on the filter, is a table. */
typedef struct transform {
    int a, r;
    float g[MAXA][MAXR]; /* G [a,r] */
} transform;

static const transform f4x3 = {
    6, 3,
    { { 1.0f / 4, 0, 0 },
      { -1.0f / 6, -1.0f / 6, -1.0f / 6 },
      { -1.0f / 6, 1.0f / 6, -1.0f / 6 },
      { 1.0f / 24, 1.0f / 12, 1.0f / 6 },
      { 1.0f / 24, -1.0f / 12, 1.0f / 6 },
      { 0, 0, 1 } },
};

static const transform f4x5 = {
    8, 5,
    { { -1, 0, 0, 0, 0 },
      { -2.0f / 9, -2.0f / 9, -2.0f / 9, -2.0f / 9, -2.0f / 9 },
      { -2.0f / 9, 2.0f / 9, -2.0f / 9, 2.0f / 9, -2.0f / 9 },
      { 1.0f / 90, 1.0f / 45, 2.0f / 45, 4.0f / 45, 8.0f / 45 },
      { 1.0f / 90, -1.0f / 45, 2.0f / 45, -4.0f / 45, 8.0f / 45 },
      { 32.0f / 45, 16.0f / 45, 8.0f / 45, 4.0f / 45, 2.0f / 45 },
      { 32.0f / 45, -16.0f / 45, 8.0f / 45, -4.0f / 45, 2.0f / 45 },
      { 0, 0, 0, 0, 1 } },
};

static const transform *transform_for(int64_t r) { return r == 3 ? &f4x3 : r == 5 ? &f4x5 : NULL; }

int gf__winograd_fits(const gf_conv_dims *d)
{
    const transform *t = transform_for(d->kh);
    /* Channels below 8 leave the GEMM too little to do for the transforms
     * (the tutorial's first layer, one channel, stays direct). */
    return t && d->kw == d->kh && d->sh == 1 && d->sw == 1 && d->c >= 8 && d->o >= 8 && d->oh >= MT &&
           d->ow >= MT && d->n > 0;
}

typedef struct conv_job {
    const transform *t;
    int64_t n, ih, iw, ci, oh, ow, co, py, px;
    int64_t a2, tyn, txn, tiles, block; /* a2: positions of a tile */
    const float *in, *u; /* u: U [a2, ci, co] */
    const float *dy;     /* backprop_filter: dy [n, oh, ow, co] */
    float *out;          /* conv: out [n, oh, ow, co] */
    const gf_conv_epilogue *epi; /* conv: applied as the outputs are stored */
    float *part[MAX_PARTS];
    int64_t part_blocks;
    int failed;
} conv_job;

/* ---- the transforms, CV channels (or the last nc) at a time ---- */

/* CV floats as one value of the compiler's vector extension: its
 * operations are elementwise IEEE operations, carried out in the widest
 * registers the function is built for (vu: the same at any alignment). */
typedef float vf __attribute__((vector_size(CV * sizeof(float))));
typedef float vu __attribute__((vector_size(CV * sizeof(float)), aligned(sizeof(float))));

/* The one-dimensional transforms, written out from the matrices above
 * (x[l*xs] in, o[i*os] out; the tests check them against the direct sum). */
#define AI static inline __attribute__((always_inline))

/* One vector of CV floats from x, to o (any alignment). */
#define L(x) (*(const vu *)(x))
#define S(o, v) (*(vu *)(o) = (v))

/* o = BT x, 6 -> 6. */
AI void bt6(const float *x, int64_t xs, float *o, int64_t os)
{
    vf d0 = L(x), d1 = L(x + xs), d2 = L(x + 2 * xs), d3 = L(x + 3 * xs), d4 = L(x + 4 * xs), d5 = L(x + 5 * xs);
    vf s12 = d1 + d2, s34 = d3 + d4, t12 = d1 - d2, t43 = d4 - d3, t42 = d4 - d2, t31 = d3 - d1;
    S(o, (4.0f * d0 - 5.0f * d2) + d4);
    S(o + os, s34 - 4.0f * s12);
    S(o + 2 * os, t43 + 4.0f * t12);
    S(o + 3 * os, t42 + 2.0f * t31);
    S(o + 4 * os, t42 - 2.0f * t31);
    S(o + 5 * os, (4.0f * d1 - 5.0f * d3) + d5);
}

/* o = AT x, 6 -> 4. */
AI void at6(const float *x, int64_t xs, float *o, int64_t os)
{
    vf d0 = L(x), d1 = L(x + xs), d2 = L(x + 2 * xs), d3 = L(x + 3 * xs), d4 = L(x + 4 * xs), d5 = L(x + 5 * xs);
    vf s12 = d1 + d2, s34 = d3 + d4, t12 = d1 - d2, t34 = d3 - d4;
    S(o, (d0 + s12) + s34);
    S(o + os, t12 + 2.0f * t34);
    S(o + 2 * os, s12 + 4.0f * s34);
    S(o + 3 * os, (t12 + 8.0f * t34) + d5);
}

/* o = A x = AT transposed, 4 -> 6. */
AI void a6(const float *x, int64_t xs, float *o, int64_t os)
{
    vf g0 = L(x), g1 = L(x + xs), g2 = L(x + 2 * xs), g3 = L(x + 3 * xs);
    vf e = g0 + g2, od = g1 + g3, e4 = g0 + 4.0f * g2, o28 = 2.0f * g1 + 8.0f * g3;
    S(o, g0);
    S(o + os, e + od);
    S(o + 2 * os, e - od);
    S(o + 3 * os, e4 + o28);
    S(o + 4 * os, e4 - o28);
    S(o + 5 * os, g3);
}

/* o = BT x, 8 -> 8: rows in pairs, an even part plus and minus an odd. */
AI void bt8(const float *x, int64_t xs, float *o, int64_t os)
{
    vf d0 = L(x), d1 = L(x + xs), d2 = L(x + 2 * xs), d3 = L(x + 3 * xs);
    vf d4 = L(x + 4 * xs), d5 = L(x + 5 * xs), d6 = L(x + 6 * xs), d7 = L(x + 7 * xs);
    vf e1 = (d2 + d6) - 4.25f * d4, o1 = (d1 + d5) - 4.25f * d3;
    vf e3 = (0.25f * d2 - 1.25f * d4) + d6, o3 = (0.5f * d1 - 2.5f * d3) + 2.0f * d5;
    vf e5 = (4.0f * d2 - 5.0f * d4) + d6, o5 = (2.0f * d1 - 2.5f * d3) + 0.5f * d5;
    S(o, (d6 - d0) + 5.25f * (d2 - d4));
    S(o + os, e1 + o1);
    S(o + 2 * os, e1 - o1);
    S(o + 3 * os, e3 + o3);
    S(o + 4 * os, e3 - o3);
    S(o + 5 * os, e5 + o5);
    S(o + 6 * os, e5 - o5);
    S(o + 7 * os, (d7 - d1) + 5.25f * (d3 - d5));
}

/* o = AT x, 8 -> 4. */
AI void at8(const float *x, int64_t xs, float *o, int64_t os)
{
    vf d0 = L(x), d1 = L(x + xs), d2 = L(x + 2 * xs), d3 = L(x + 3 * xs);
    vf d4 = L(x + 4 * xs), d5 = L(x + 5 * xs), d6 = L(x + 6 * xs), d7 = L(x + 7 * xs);
    vf s12 = d1 + d2, s34 = d3 + d4, s56 = d5 + d6, t12 = d1 - d2, t34 = d3 - d4, t56 = d5 - d6;
    S(o, ((d0 + s12) + s34) + s56);
    S(o + os, (t12 + 2.0f * t34) + 0.5f * t56);
    S(o + 2 * os, (s12 + 4.0f * s34) + 0.25f * s56);
    S(o + 3 * os, ((t12 + 8.0f * t34) + 0.125f * t56) + d7);
}

/* o = A x = AT transposed, 4 -> 8. */
AI void a8(const float *x, int64_t xs, float *o, int64_t os)
{
    vf g0 = L(x), g1 = L(x + xs), g2 = L(x + 2 * xs), g3 = L(x + 3 * xs);
    vf e1 = g0 + g2, o1 = g1 + g3, e3 = g0 + 4.0f * g2, o3 = 2.0f * g1 + 8.0f * g3;
    vf e5 = g0 + 0.25f * g2, o5 = 0.5f * g1 + 0.125f * g3;
    S(o, g0);
    S(o + os, e1 + o1);
    S(o + 2 * os, e1 - o1);
    S(o + 3 * os, e3 + o3);
    S(o + 4 * os, e3 - o3);
    S(o + 5 * os, e5 + o5);
    S(o + 6 * os, e5 - o5);
    S(o + 7 * os, g3);
}

/* The three by the tile side a (a constant where inlined). */
AI void bt_1d(int a, const float *x, int64_t xs, float *o, int64_t os)
{
    if (a == 6) bt6(x, xs, o, os);
    else bt8(x, xs, o, os);
}
AI void at_1d(int a, const float *x, int64_t xs, float *o, int64_t os)
{
    if (a == 6) at6(x, xs, o, os);
    else at8(x, xs, o, os);
}
AI void a_1d(int a, const float *x, int64_t xs, float *o, int64_t os)
{
    if (a == 6) a6(x, xs, o, os);
    else a8(x, xs, o, os);
}

/* d [side][side][CV] = the side x side window at (y0, x0) of an image [ih,
 * iw, ch], channels c0 .. c0+nc-1, zeros outside it and past nc. */
AI void gather(const float *img, int64_t ih, int64_t iw, int64_t ch, int64_t y0, int64_t x0, int64_t c0, int nc,
               int side, float *d)
{
    for (int i = 0; i < side; i++)
        for (int k = 0; k < side; k++) {
            float *o = d + (i * side + k) * CV;
            int64_t y = y0 + i, x = x0 + k;
            if (y < 0 || y >= ih || x < 0 || x >= iw) {
                S(o, (vf){ 0 });
                continue;
            }
            const float *src = img + (y * iw + x) * ch + c0;
            if (nc == CV) S(o, L(src));
            else {
                S(o, (vf){ 0 });
                memcpy(o, src, (size_t)nc * sizeof(float));
            }
        }
}

/* CV floats of *o to dst, the first nc of them. */
AI void put(float *dst, const vf *o, int nc)
{
    if (nc == CV) S(dst, *o);
    else memcpy(dst, o, (size_t)nc * sizeof(float));
}

/* out [a*a, os] (position (i, k) at out + (i*a + k)*os) = T x T^T for CV
 * channels (the first nc written), x an n x n window (row stride xs,
 * column stride xk), T = BT (n = a) or A (n = 4): the transform of an
 * input tile or of a tile of dy. */
AI void window_2d(int a, int by_a, const float *x, int64_t xs, int64_t xk, float *out, int64_t os, int nc)
{
    const int n = by_a ? MT : a;
    _Alignas(64) float tmp[MAXA * MAXA * CV];
    for (int k = 0; k < n; k++) { /* column k of tmp = T x */
        if (by_a) a_1d(a, x + k * xk, xs, tmp + k * CV, (int64_t)n * CV);
        else bt_1d(a, x + k * xk, xs, tmp + k * CV, (int64_t)n * CV);
    }
    for (int i = 0; i < a; i++) { /* row i of out = tmp T^T */
        const float *row = tmp + i * n * CV;
        _Alignas(64) float o[MAXA * CV];
        float *dst = nc == CV ? out + i * a * os : o;
        int64_t ds = nc == CV ? os : CV;
        if (by_a) a_1d(a, row, CV, dst, ds);
        else bt_1d(a, row, CV, dst, ds);
        if (nc < CV)
            for (int k = 0; k < a; k++) memcpy(out + (i * a + k) * os, o + k * CV, (size_t)nc * sizeof(float));
    }
}

/* out [a*a, os] = window_2d of the side x side window at (y0, x0) of an
 * image img [ih, iw, ch] (side = 4 with A, else a), every channel, CV at a
 * time: read in place when the window lies inside the image and a full
 * vector of channels is left, else gathered with its zeros first. */
AI void image_window(int a, int by_a, const float *img, int64_t ih, int64_t iw, int64_t ch, int64_t y0, int64_t x0,
                     float *out, int64_t os)
{
    const int side = by_a ? MT : a;
    int inside = y0 >= 0 && x0 >= 0 && y0 + side <= ih && x0 + side <= iw;
    for (int64_t c0 = 0; c0 < ch; c0 += CV) {
        int nc = ch - c0 < CV ? (int)(ch - c0) : CV;
        _Alignas(64) float d[MAXA * MAXA * CV];
        if (inside && nc == CV) {
            window_2d(a, by_a, img + (y0 * iw + x0) * ch + c0, iw * ch, ch, out + c0, os, nc);
            continue;
        }
        gather(img, ih, iw, ch, y0, x0, c0, nc, side, d);
        window_2d(a, by_a, d, (int64_t)side * CV, CV, out + c0, os, nc);
    }
}

/* v [a*a, vs] (position e at v + e*vs) = BT d B of tile t's input window. */
AI void input_tile(const conv_job *j, const transform *tf, int64_t t, float *v, int64_t vs)
{
    int64_t per = j->tyn * j->txn, b = t / per, r = t % per;
    image_window(tf->a, 0, j->in + b * j->ih * j->iw * j->ci, j->ih, j->iw, j->ci, (r / j->txn) * MT - j->py,
                 (r % j->txn) * MT - j->px, v, vs);
}

/* Tile t's outputs (those inside OH, OW) = AT M A, M [a*a, ms] at mm,
 * read and written in place where CV channels are left. */
AI void output_tile(const conv_job *j, const transform *tf, int64_t t, const float *mm, int64_t ms)
{
    const int a = tf->a;
    int64_t per = j->tyn * j->txn, b = t / per, r = t % per;
    int64_t y0 = (r / j->txn) * MT, x0 = (r % j->txn) * MT;
    int whole = y0 + MT <= j->oh && x0 + MT <= j->ow;
    for (int64_t c0 = 0; c0 < j->co; c0 += CV) {
        int nc = j->co - c0 < CV ? (int)(j->co - c0) : CV;
        _Alignas(64) float d[MAXA * MAXA * CV], tmp[MT * MAXA * CV], o[MT * CV];
        const float *x = mm + c0;
        int64_t xs = (int64_t)a * ms, xk = ms; /* M's position (p, q) at p*xs + q*xk */
        if (nc < CV) {
            for (int e = 0; e < a * a; e++) {
                S(d + e * CV, (vf){ 0 });
                memcpy(d + e * CV, mm + e * ms + c0, (size_t)nc * sizeof(float));
            }
            x = d, xs = (int64_t)a * CV, xk = CV;
        }
        for (int q = 0; q < a; q++) at_1d(a, x + q * xk, xs, tmp + q * CV, (int64_t)a * CV); /* tmp = AT M */
        for (int i = 0; i < MT && y0 + i < j->oh; i++) { /* row i of out = tmp A */
            float *dst = j->out + ((b * j->oh + y0 + i) * j->ow + x0) * j->co + c0;
            bool epi = j->epi && (j->epi->bias || j->epi->relu);
            if (whole && nc == CV && !epi) {
                at_1d(a, tmp + i * a * CV, CV, dst, j->co);
                continue;
            }
            at_1d(a, tmp + i * a * CV, CV, o, CV);
            for (int k = 0; epi && k < MT; k++) gf__conv_epilogue(j->epi, c0, o + k * CV, nc);
            for (int k = 0; k < MT && x0 + k < j->ow; k++)
                memcpy(dst + k * j->co, o + k * CV, (size_t)nc * sizeof(float));
        }
    }
}

/* w [a*a, ws] = A dy AT of tile t's 4x4 outputs of dy (zeros past OH, OW). */
AI void grad_tile(const conv_job *j, const transform *tf, int64_t t, float *w, int64_t ws)
{
    int64_t per = j->tyn * j->txn, b = t / per, r = t % per;
    image_window(tf->a, 1, j->dy + b * j->oh * j->ow * j->co, j->oh, j->ow, j->co, (r / j->txn) * MT,
                 (r % j->txn) * MT, w, ws);
}

/* The three for each transform (its tile side a constant), built as
 * portable C and again for AVX2 and AVX-512: the compiler's vectors of the
 * same operations (-ffp-contract=off), so the same bits. */
#define TILE_FN(name, suffix, attr, ptr)                                                                          \
    attr static void name##_##suffix(const conv_job *j, int64_t t, ptr x, int64_t xs)                             \
    {                                                                                                             \
        if (j->t == &f4x5) name(j, &f4x5, t, x, xs);                                                              \
        else name(j, &f4x3, t, x, xs);                                                                            \
    }
#define TILE_FNS(suffix, attr)                                                                                    \
    TILE_FN(input_tile, suffix, attr, float *)                                                                    \
    TILE_FN(output_tile, suffix, attr, const float *)                                                             \
    TILE_FN(grad_tile, suffix, attr, float *)
TILE_FNS(c, )
#if GF_HAVE_AVX2_KERNELS
TILE_FNS(avx2, __attribute__((target("avx2"))))
TILE_FNS(avx512, __attribute__((target("avx512f"))))
#endif

typedef struct tile_fns {
    void (*input)(const conv_job *, int64_t, float *, int64_t);
    void (*output)(const conv_job *, int64_t, const float *, int64_t);
    void (*grad)(const conv_job *, int64_t, float *, int64_t);
} tile_fns;

static tile_fns tile_fns_now(void)
{
#if GF_HAVE_AVX2_KERNELS
    if (gf__avx512_enabled()) return (tile_fns){ input_tile_avx512, output_tile_avx512, grad_tile_avx512 };
    if (gf__simd_enabled()) return (tile_fns){ input_tile_avx2, output_tile_avx2, grad_tile_avx2 };
#endif
    return (tile_fns){ input_tile_c, output_tile_c, grad_tile_c };
}

/* ---- the filter's transforms (once per call, a task per input channel) ---- */

typedef struct filter_job {
    const transform *t;
    int64_t c, o;
    const float *f; /* forward: f [R,R,C,O] */
    float *u;       /* forward: u [a*a, C, O] */
    int flip;       /* forward: of the filter turned 180 degrees */
    float *part[MAX_PARTS]; /* backward: du [a*a, C, O] of each part */
    int64_t parts;
    float *df; /* backward: df [R,R,C,O] */
} filter_job;

/* o[i*os] = sum over l < n of mat[i*ld + l] * x[l*xs] for i < rows (G's
 * entries are fractions: a table, multiplied as they are). */
AI void gemv_vf(int rows, int n, const float *mat, int ld, const vf *x, int xs, vf *o, int os)
{
    for (int i = 0; i < rows; i++) {
        vf acc = mat[i * ld] * x[0];
        for (int l = 1; l < n; l++) acc += mat[i * ld + l] * x[l * xs];
        o[i * os] = acc;
    }
}
/* The same with mat transposed: mat[l*ld + i]. */
AI void gemv_vf_t(int rows, int n, const float *mat, int ld, const vf *x, int xs, vf *o, int os)
{
    for (int i = 0; i < rows; i++) {
        vf acc = mat[i] * x[0];
        for (int l = 1; l < n; l++) acc += mat[l * ld + i] * x[l * xs];
        o[i * os] = acc;
    }
}

/* Channel ci of u = G g GT of each pair (ci, o) of f (flip: of the filter
 * turned 180 degrees), CV output channels at a time. */
AI void filter_forward(void *arg, int task)
{
    const filter_job *j = arg;
    const transform *t = j->t;
    const int r = t->r, a = t->a;
    const int64_t c = j->c, o = j->o, ci = task;
    for (int64_t c0 = 0; c0 < o; c0 += CV) {
        int nc = o - c0 < CV ? (int)(o - c0) : CV;
        vf g[MAXR * MAXR], tmp[MAXA * MAXR], u[MAXA * MAXA];
        for (int k = 0; k < r; k++)
            for (int l = 0; l < r; l++) {
                int ky = j->flip ? r - 1 - k : k, kx = j->flip ? r - 1 - l : l;
                g[k * r + l] = (vf){ 0 };
                memcpy(&g[k * r + l], j->f + ((ky * r + kx) * c + ci) * o + c0, (size_t)nc * sizeof(float));
            }
        for (int l = 0; l < r; l++) gemv_vf(a, r, &t->g[0][0], MAXR, g + l, r, tmp + l, r); /* tmp = G g */
        for (int p = 0; p < a; p++) gemv_vf(a, r, &t->g[0][0], MAXR, tmp + p * r, 1, u + p * a, 1); /* tmp GT */
        for (int e = 0; e < a * a; e++) put(j->u + (e * c + ci) * o + c0, &u[e], nc);
    }
}

/* Channel ci of df = GT du G, du the parts' sum (added in part order). */
AI void filter_backward(void *arg, int task)
{
    const filter_job *j = arg;
    const transform *t = j->t;
    const int r = t->r, a = t->a;
    const int64_t c = j->c, o = j->o, ci = task;
    float *du = j->part[0];
    for (int e = 0; e < a * a; e++) {
        float *row = du + (e * c + ci) * o;
        for (int64_t p = 1; p < j->parts; p++)
            for (int64_t k = 0; k < o; k++) row[k] += j->part[p][(e * c + ci) * o + k];
    }
    for (int64_t c0 = 0; c0 < o; c0 += CV) {
        int nc = o - c0 < CV ? (int)(o - c0) : CV;
        vf d[MAXA * MAXA], tmp[MAXR * MAXA], g[MAXR * MAXR];
        for (int e = 0; e < a * a; e++) {
            d[e] = (vf){ 0 };
            memcpy(&d[e], du + (e * c + ci) * o + c0, (size_t)nc * sizeof(float));
        }
        for (int q = 0; q < a; q++) gemv_vf_t(r, a, &t->g[0][0], MAXR, d + q, a, tmp + q, a); /* tmp = GT du */
        for (int k = 0; k < r; k++) gemv_vf_t(r, a, &t->g[0][0], MAXR, tmp + k * a, 1, g + k * r, 1); /* tmp G */
        for (int e = 0; e < r * r; e++) put(j->df + (e * c + ci) * o + c0, &g[e], nc);
    }
}

/* Both built as portable C and again for AVX2 and AVX-512 (simd.h). */
GF_SIMD_TASKS(filter_forward_task, filter_forward)
GF_SIMD_TASKS(filter_backward_task, filter_backward)

/* u [a*a, O, C] = u [a*a, C, O] transposed, from tmp; a task per e. */
typedef struct transpose_job {
    const float *from;
    float *to;
    int64_t c, o;
} transpose_job;

static void transpose_task(void *arg, int e)
{
    const transpose_job *j = arg;
    const float *src = j->from + e * j->c * j->o;
    float *dst = j->to + e * j->c * j->o;
    for (int64_t i = 0; i < j->c; i++)
        for (int64_t k = 0; k < j->o; k++) dst[k * j->c + i] = src[i * j->o + k];
}

/* ---- the three convolutions ---- */

/* Tiles per block: V and M (or W) within BLOCK_BYTES, a multiple of the
 * GEMM's rows, at least one multiple. */
static int64_t block_tiles(int64_t a2, int64_t ci, int64_t co)
{
    int64_t t = BLOCK_BYTES / (int64_t)(a2 * (ci + co) * (int64_t)sizeof(float));
    t -= t % BLOCK_MULTIPLE;
    return t < BLOCK_MULTIPLE ? BLOCK_MULTIPLE : t;
}

static void set_tiles(conv_job *j)
{
    j->a2 = j->t->a * j->t->a;
    j->tyn = (j->oh + MT - 1) / MT;
    j->txn = (j->ow + MT - 1) / MT;
    j->tiles = j->n * j->tyn * j->txn;
    j->block = block_tiles(j->a2, j->ci, j->co);
    if (j->tiles / j->block >= MAX_BLOCKS) j->block = j->tiles / MAX_BLOCKS + 1; /* task numbers are ints */
}

/* c_e = op(a_e) [m,k] @ b_e [k,n] (+ beta c_e) for the count positions e
 * of a block, x_e = x + e * sx, one thread. Their shapes are the same:
 * one dense GEMM plan serves them all (gf__gemm would make one per call,
 * and a zero-skipping path chosen from one position's zeros slowed the
 * others down; every path gives the same bits). */
static void block_gemms(int ta, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda, int64_t sa,
                        const float *b, int64_t sb, float beta, float *c, int64_t sc, int count)
{
    if (!gf__simd_enabled() || m <= 0 || n <= 0 || k <= 0) {
        for (int e = 0; e < count; e++)
            gf__gemm(ta, 0, m, n, k, 1.0f, a + e * sa, lda, b + e * sb, n, beta, c + e * sc, n, 1);
        return;
    }
    gf_gemm_plan plan = gf__gemm_avx2_plan(ta, 0, m, n, k, NULL, lda, 0); /* dense: no sample of one e for all */
    for (int e = 0; e < count; e++)
        gf__gemm_avx2(&plan, ta, 0, m, n, k, 1.0f, a + e * sa, lda, b + e * sb, n, beta, c + e * sc, n, NULL);
}

/* Block t of tiles: V, M = V @ U position by position, the outputs. */
static void conv_task(void *arg, int task)
{
    conv_job *j = arg;
    int64_t t0 = (int64_t)task * j->block, nt = j->tiles - t0 < j->block ? j->tiles - t0 : j->block;
    float *v = gf__scratch(2, (size_t)(j->a2 * nt * (j->ci + j->co)));
    if (!v) {
        j->failed = 1;
        return;
    }
    float *mm = v + j->a2 * nt * j->ci;
    tile_fns fn = tile_fns_now();
    for (int64_t i = 0; i < nt; i++) fn.input(j, t0 + i, v + i * j->ci, nt * j->ci);
    block_gemms(0, nt, j->co, j->ci, v, j->ci, nt * j->ci, j->u, j->ci * j->co, 0.0f, mm, nt * j->co, (int)j->a2);
    for (int64_t i = 0; i < nt; i++) fn.output(j, t0 + i, mm + i * j->co, nt * j->co);
}

/* out [N,OH,OW,CO] = stride-1 conv of in [N,IH,IW,CI] by u [36,CI,CO]. */
static int64_t run_conv(conv_job *j, int threads)
{
    set_tiles(j);
    int64_t blocks = (j->tiles + j->block - 1) / j->block;
    gf__parallel_for(threads, (int)blocks, conv_task, j);
    return j->failed ? j->a2 * j->block * (j->ci + j->co) : 0;
}

int64_t gf__winograd_conv2d(const gf_conv_dims *d, const float *x, const float *f, float *y, int threads,
                            const gf_conv_epilogue *epi)
{
    const transform *t = transform_for(d->kh);
    int64_t cu = (int64_t)t->a * t->a * d->c * d->o;
    float *u = gf__scratch(3, (size_t)cu);
    if (!u) return cu;
    filter_job fj = { .t = t, .c = d->c, .o = d->o, .f = f, .u = u, .flip = 0 };
    gf__parallel_for(threads, (int)d->c, GF_SIMD_PICK(filter_forward_task), &fj);
    conv_job j = { .t = t, .n = d->n, .ih = d->h, .iw = d->w, .ci = d->c, .oh = d->oh, .ow = d->ow,
                   .co = d->o, .py = d->ph, .px = d->pw, .in = x, .u = u, .out = y, .epi = epi };
    return run_conv(&j, threads);
}

int64_t gf__winograd_backprop_input(const gf_conv_dims *d, const float *dy, const float *f, float *dx, int threads)
{
    const transform *t = transform_for(d->kh);
    int64_t cu = (int64_t)t->a * t->a * d->c * d->o;
    float *u = gf__scratch(3, (size_t)(2 * cu)); /* U, then U before its transpose */
    if (!u) return 2 * cu;
    filter_job fj = { .t = t, .c = d->c, .o = d->o, .f = f, .u = u + cu, .flip = 1 };
    gf__parallel_for(threads, (int)d->c, GF_SIMD_PICK(filter_forward_task), &fj);
    transpose_job tj = { u + cu, u, d->c, d->o };
    gf__parallel_for(threads, t->a * t->a, transpose_task, &tj);
    conv_job j = { .t = t, .n = d->n, .ih = d->oh, .iw = d->ow, .ci = d->o, .oh = d->h, .ow = d->w,
                   .co = d->c, .py = d->kh - 1 - d->ph, .px = d->kw - 1 - d->pw, .in = dy, .u = u, .out = dx };
    return run_conv(&j, threads);
}

/* Part p of the filter gradient: dU over its blocks, in order. */
static void filter_task(void *arg, int p)
{
    conv_job *j = arg;
    int64_t b0 = (int64_t)p * j->part_blocks, blocks = (j->tiles + j->block - 1) / j->block;
    int64_t b1 = b0 + j->part_blocks < blocks ? b0 + j->part_blocks : blocks;
    float *v = gf__scratch(2, (size_t)(j->a2 * j->block * (j->ci + j->co)));
    if (!v) {
        j->failed = 1;
        return;
    }
    tile_fns fn = tile_fns_now();
    for (int64_t b = b0; b < b1; b++) {
        int64_t t0 = b * j->block, nt = j->tiles - t0 < j->block ? j->tiles - t0 : j->block;
        float *w = v + j->a2 * nt * j->ci;
        for (int64_t i = 0; i < nt; i++) {
            fn.input(j, t0 + i, v + i * j->ci, nt * j->ci);
            fn.grad(j, t0 + i, w + i * j->co, nt * j->co);
        }
        block_gemms(1, j->ci, j->co, nt, v, j->ci, nt * j->ci, w, nt * j->co, b == b0 ? 0.0f : 1.0f, j->part[p],
                    j->ci * j->co, (int)j->a2);
    }
}

int64_t gf__winograd_backprop_filter(const gf_conv_dims *d, const float *x, const float *dy, float *df,
                                     int threads)
{
    const transform *t = transform_for(d->kh);
    conv_job j = { .t = t, .n = d->n, .ih = d->h, .iw = d->w, .ci = d->c, .oh = d->oh, .ow = d->ow,
                   .co = d->o, .py = d->ph, .px = d->pw, .in = x, .dy = dy };
    set_tiles(&j);
    int64_t blocks = (j.tiles + j.block - 1) / j.block, cu = j.a2 * d->c * d->o;
    int64_t parts = blocks < MAX_PARTS ? blocks : MAX_PARTS;
    j.part_blocks = (blocks + parts - 1) / parts;
    parts = (blocks + j.part_blocks - 1) / j.part_blocks;
    float *du = gf__scratch(3, (size_t)(parts * cu));
    if (!du) return parts * cu;
    for (int64_t p = 0; p < parts; p++) j.part[p] = du + p * cu;
    gf__parallel_for(threads, (int)parts, filter_task, &j);
    if (j.failed) return j.a2 * j.block * (j.ci + j.co);
    filter_job fj = { .t = t, .c = d->c, .o = d->o, .parts = parts, .df = df };
    memcpy(fj.part, j.part, sizeof fj.part);
    gf__parallel_for(threads, (int)d->c, GF_SIMD_PICK(filter_backward_task), &fj);
    return 0;
}
