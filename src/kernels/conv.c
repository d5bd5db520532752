/*
 * conv.c — conv2d and its two gradient ops on NHWC images, lowered to the
 * GEMM (gf__gemm).
 *
 * Shapes: input x [N,H,W,C]; filter f [KH,KW,C,O], which row-major is the
 * matrix F [K,O] with K = KH*KW*C; output y [N,OH,OW,O], the matrix Y
 * [M,O] with M = N*OH*OW. Row r = (b, oy, ox) of the patch matrix P [M,K]
 * holds, at column (ky*KW + kx)*C + c, x[b, oy*sh - ph + ky, ox*sw - pw + kx,
 * c], or 0 where that lies in the padding (ph, pw: the padding before,
 * TensorFlow's rule, gf__window_out). Then
 *
 *   conv2d:                 Y  = P @ F
 *   conv2d_backprop_input:  dP = dY @ F^T, then dx = col2im(dP): each dP
 *                           element added back where its P element came from
 *   conv2d_backprop_filter: dF = P^T @ dY
 *
 * P is never built whole (at batch 50 the tutorial's second layer's would
 * be 31 MB): it is built a chunk of rows at a time into the thread's
 * scratch (threads.h, slot 2; the GEMM uses slots 0 and 1), sized so that
 * the chunk stays in cache while the GEMM reads it. A 1x1 convolution with
 * stride 1 is already P = x and skips it.
 *
 * Stride-1 3x3 and 5x5 filters with 8 channels or more in and out go to
 * winograd.c instead (4.8 times fewer multiplications on the tutorial's
 * second layer); conv2d and the filter's gradient over 1 to 4 input
 * channels (its first layer) to conv_direct.c; the rest come here.
 *
 * Bits do not depend on the thread count: chunks are fixed by the shapes
 * alone, each runs as one task on one thread (a one-thread GEMM), and
 *   - conv2d: each output row belongs to one chunk;
 *   - backprop_input: each task owns whole images of dx and adds into them
 *     in a fixed order;
 *   - backprop_filter: the M rows are cut into a fixed number of parts
 *     (from the shapes), each part's dF summed by one task, then the parts
 *     added in order.
 */
#include "kernels.h"

#include "threads.h"

#include <stdio.h>
#include <string.h>

/* Floats of P per chunk (rows = CHUNK_FLOATS / K, a multiple of the
 * GEMM's 6-row tiles): 256 KB, about an L2's share. */
#define CHUNK_FLOATS (64 * 1024)
#define CHUNK_ROW_MULTIPLE 6
/* At most this many chunks (larger ones past it), tasks being ints. */
#define MAX_CHUNKS (1 << 20)
/* backprop_filter: at most this many parts of M, each with its own dF
 * ([K,O]) until they are added, and no more parts than keep that extra
 * memory under PART_FLOATS (beyond the output itself). */
#define MAX_PARTS 8
#define PART_FLOATS (16 * 1024 * 1024)

typedef struct geom {
    int64_t n, h, w, c;    /* input */
    int64_t kh, kw, o;     /* filter */
    int64_t oh, ow;        /* output */
    int64_t sh, sw, ph, pw;
    int64_t k, m;          /* P is [m, k] */
    int64_t rows;          /* rows of P per chunk */
} geom;

static geom geom_of(gf_shape x, gf_shape f, const gf_node *node)
{
    geom g = { .n = x.dim[0], .h = x.dim[1], .w = x.dim[2], .c = x.dim[3],
               .kh = f.dim[0], .kw = f.dim[1], .o = f.dim[3],
               .sh = node->attrs.window.stride_h, .sw = node->attrs.window.stride_w };
    gf__window_out(g.h, g.kh, g.sh, node->attrs.window.padding, &g.oh, &g.ph);
    gf__window_out(g.w, g.kw, g.sw, node->attrs.window.padding, &g.ow, &g.pw);
    g.k = g.kh * g.kw * g.c;
    g.m = g.n * g.oh * g.ow;
    int64_t r = g.k > 0 ? CHUNK_FLOATS / g.k : CHUNK_FLOATS;
    if (r < g.m / MAX_CHUNKS) r = g.m / MAX_CHUNKS + 1; /* task numbers are ints */
    r -= r % CHUNK_ROW_MULTIPLE;
    g.rows = r < CHUNK_ROW_MULTIPLE ? CHUNK_ROW_MULTIPLE : r;
    return g;
}

static gf_conv_dims dims_of(const geom *g)
{
    return (gf_conv_dims){ g->n, g->h, g->w, g->c, g->kh, g->kw, g->o, g->oh, g->ow, g->sh, g->sw, g->ph, g->pw };
}

/* P needs no building: 1x1 filter, stride 1 (then there is no padding). */
static bool p_is_x(const geom *g) { return g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1; }

/* The window of output row r: image b, top-left input position (iy0, ix0),
 * and the kx range [kx_lo, kx_hi) that lies inside the image's width. */
typedef struct win {
    int64_t b, iy0, ix0, kx_lo, kx_hi;
} win;

static win window_of_row(const geom *g, int64_t r)
{
    int64_t per = g->oh * g->ow, rem = r % per;
    win v = { .b = r / per, .iy0 = (rem / g->ow) * g->sh - g->ph, .ix0 = (rem % g->ow) * g->sw - g->pw };
    v.kx_lo = v.ix0 < 0 ? -v.ix0 : 0;
    v.kx_hi = g->w - v.ix0 < g->kw ? g->w - v.ix0 : g->kw;
    if (v.kx_hi < v.kx_lo) v.kx_hi = v.kx_lo;
    return v;
}

/* p [nr, K] = rows r0 .. r0+nr-1 of P: for each ky, the window's row of
 * the image is one contiguous run of kx (zeros either side of it). */
static void im2col(const geom *g, const float *x, int64_t r0, int64_t nr, float *p)
{
    const int64_t c = g->c, run = g->kw * c;
    for (int64_t r = r0; r < r0 + nr; r++) {
        win v = window_of_row(g, r);
        for (int64_t ky = 0; ky < g->kh; ky++, p += run) {
            int64_t iy = v.iy0 + ky;
            if (iy < 0 || iy >= g->h || v.kx_lo == v.kx_hi) {
                memset(p, 0, (size_t)run * sizeof *p);
                continue;
            }
            const float *src = x + ((v.b * g->h + iy) * g->w + v.ix0 + v.kx_lo) * c;
            if (v.kx_lo > 0) memset(p, 0, (size_t)(v.kx_lo * c) * sizeof *p);
            memcpy(p + v.kx_lo * c, src, (size_t)((v.kx_hi - v.kx_lo) * c) * sizeof *p);
            if (v.kx_hi < g->kw) memset(p + v.kx_hi * c, 0, (size_t)((g->kw - v.kx_hi) * c) * sizeof *p);
        }
    }
}

/* dx += rows r0 .. r0+nr-1 of dP [nr, K], each element added where its P
 * element came from, rows in order (all rows lie in images the caller
 * owns). */
static void col2im(const geom *g, float *dx, int64_t r0, int64_t nr, const float *dp)
{
    const int64_t c = g->c, run = g->kw * c;
    for (int64_t r = r0; r < r0 + nr; r++) {
        win v = window_of_row(g, r);
        for (int64_t ky = 0; ky < g->kh; ky++, dp += run) {
            int64_t iy = v.iy0 + ky;
            if (iy < 0 || iy >= g->h) continue;
            float *dst = dx + ((v.b * g->h + iy) * g->w + v.ix0 + v.kx_lo) * c;
            const float *src = dp + v.kx_lo * c;
            for (int64_t i = 0, e = (v.kx_hi - v.kx_lo) * c; i < e; i++) dst[i] += src[i];
        }
    }
}

/* Fails the run: scratch could not be had. */
static void no_memory(gf_kctx *ctx, const gf_node *n, int64_t floats)
{
    ctx->status = GF_ERR_NOMEM;
    snprintf(ctx->msg, ctx->msg_len, "%s \"%s\": out of memory for %lld bytes of scratch", n->op->name, n->name,
             (long long)floats * (long long)sizeof(float));
}

/* ---- conv2d ---- */

typedef struct fwd_job {
    const geom *g;
    const float *x, *f;
    float *y;
    int failed; /* a task found no scratch (written only as 1) */
} fwd_job;

/* Y rows of chunk t = P rows @ F. */
static void fwd_task(void *arg, int t)
{
    fwd_job *j = arg;
    const geom *g = j->g;
    int64_t r0 = (int64_t)t * g->rows, nr = g->m - r0 < g->rows ? g->m - r0 : g->rows;
    float *p = gf__scratch(2, (size_t)(nr * g->k));
    if (!p) {
        j->failed = 1;
        return;
    }
    im2col(g, j->x, r0, nr, p);
    gf__gemm(0, 0, nr, g->o, g->k, 1.0f, p, g->k, j->f, g->o, 0.0f, j->y + r0 * g->o, g->o, 1);
}

/* The ways conv2d runs: no input channels (zeros), a 1x1 filter at stride
 * 1 (one GEMM of x itself), Winograd's transforms, the direct sum, or
 * im2col chunks and a GEMM; the first two and the last apply the planner's
 * epilogue in a pass of their own, the others as they store. */
typedef enum { CONV_ZERO, CONV_GEMM_X, CONV_WINOGRAD, CONV_DIRECT, CONV_IM2COL } conv_path;

static conv_path path_of(const geom *g)
{
    if (g->k == 0) return CONV_ZERO;
    if (p_is_x(g)) return CONV_GEMM_X;
    gf_conv_dims d = dims_of(g);
    return gf__winograd_fits(&d) ? CONV_WINOGRAD : gf__conv_direct_fits(&d) ? CONV_DIRECT : CONV_IM2COL;
}

bool gf__conv2d_stores_epilogue(gf_shape x, gf_shape f, const gf_node *n)
{
    geom g = geom_of(x, f, n);
    conv_path p = path_of(&g);
    return p == CONV_WINOGRAD || p == CONV_DIRECT;
}

/* y [m,o] = the epilogue of each row, for the paths that do not apply it
 * as they store. */
static void epilogue_pass(float *y, int64_t m, int64_t o, const gf_conv_epilogue *e)
{
    for (int64_t i = 0; i < m; i++, y += o)
        for (int64_t c = 0; c < o; c += 256) gf__conv_epilogue(e, c, y + c, o - c < 256 ? (int)(o - c) : 256);
}

/* out [N,OH,OW,O] = conv2d(x [N,H,W,C], f [KH,KW,C,O]), then the
 * planner's epilogue (ctx->epi) when it set one. */
GF_KERNEL(gf__k_conv2d)
{
    geom g = geom_of(in[0]->shape, in[1]->shape, n);
    gf_conv_dims d = dims_of(&g);
    const gf_conv_epilogue *epi = &ctx->epi;
    int64_t lack = 0;
    conv_path path = path_of(&g);
    switch (path) {
    case CONV_ZERO: /* sums of nothing */
        memset(out->data, 0, (size_t)gf_shape_count(out->shape) * sizeof(float));
        break;
    case CONV_GEMM_X:
        gf__gemm(0, 0, g.m, g.o, g.k, 1.0f, in[0]->data, g.k, in[1]->data, g.o, 0.0f, out->data, g.o, ctx->threads);
        break;
    case CONV_WINOGRAD:
        lack = gf__winograd_conv2d(&d, in[0]->data, in[1]->data, out->data, ctx->threads, epi);
        break;
    case CONV_DIRECT:
        lack = gf__conv_direct(&d, in[0]->data, in[1]->data, out->data, ctx->threads, epi);
        break;
    case CONV_IM2COL: {
        fwd_job j = { &g, in[0]->data, in[1]->data, out->data, 0 };
        int64_t chunks = (g.m + g.rows - 1) / g.rows;
        gf__parallel_for(ctx->threads, (int)chunks, fwd_task, &j);
        lack = j.failed ? g.rows * g.k : 0;
        break;
    }
    }
    if (lack) {
        no_memory(ctx, n, lack);
        return;
    }
    if ((epi->bias || epi->relu) && path != CONV_WINOGRAD && path != CONV_DIRECT)
        epilogue_pass(out->data, g.m, g.o, epi);
}

/* ---- conv2d_backprop_input ---- */

typedef struct bwd_in_job {
    const geom *g;
    const float *dy, *f;
    float *dx;
    int64_t images; /* per task */
    int failed;
} bwd_in_job;

/* dx's images of task t: zeroed, then dP = dY @ F^T chunk by chunk (rows
 * of these images only), each scattered back in row order. */
static void bwd_in_task(void *arg, int t)
{
    bwd_in_job *j = arg;
    const geom *g = j->g;
    int64_t b0 = (int64_t)t * j->images, b1 = b0 + j->images < g->n ? b0 + j->images : g->n;
    int64_t img = g->h * g->w * g->c, per = g->oh * g->ow;
    memset(j->dx + b0 * img, 0, (size_t)((b1 - b0) * img) * sizeof(float));
    int64_t rows = g->rows < per * (b1 - b0) ? g->rows : per * (b1 - b0);
    float *dp = gf__scratch(2, (size_t)(rows * g->k));
    if (!dp) {
        j->failed = 1;
        return;
    }
    for (int64_t r0 = b0 * per, end = b1 * per; r0 < end; r0 += rows) {
        int64_t nr = end - r0 < rows ? end - r0 : rows;
        gf__gemm(0, 1, nr, g->k, g->o, 1.0f, j->dy + r0 * g->o, g->o, j->f, g->o, 0.0f, dp, g->k, 1);
        col2im(g, j->dx, r0, nr, dp);
    }
}

/* out [N,H,W,C] (like's shape) = d conv2d(x, f) / dx given dy [N,OH,OW,O]
 * and f [KH,KW,C,O]. */
GF_KERNEL(gf__k_conv2d_backprop_input)
{
    geom g = geom_of(out->shape, in[1]->shape, n);
    if (g.k == 0 || g.m == 0 || g.o == 0) {
        memset(out->data, 0, (size_t)gf_shape_count(out->shape) * sizeof(float));
        return;
    }
    if (p_is_x(&g)) { /* dx = dY @ F^T directly */
        gf__gemm(0, 1, g.m, g.k, g.o, 1.0f, in[0]->data, g.o, in[1]->data, g.o, 0.0f, out->data, g.k, ctx->threads);
        return;
    }
    gf_conv_dims d = dims_of(&g);
    if (gf__winograd_fits(&d)) {
        int64_t lack = gf__winograd_backprop_input(&d, in[0]->data, in[1]->data, out->data, ctx->threads);
        if (lack) no_memory(ctx, n, lack);
        return;
    }
    /* Whole images per task: about a chunk's rows each, at least one image. */
    int64_t per = g.oh * g.ow, images = per > 0 ? g.rows / per : g.n;
    if (images < 1) images = 1;
    if (images < g.n / MAX_CHUNKS) images = g.n / MAX_CHUNKS + 1;
    bwd_in_job j = { &g, in[0]->data, in[1]->data, out->data, images, 0 };
    int64_t tasks = (g.n + images - 1) / images;
    gf__parallel_for(ctx->threads, (int)tasks, bwd_in_task, &j);
    if (j.failed) no_memory(ctx, n, g.rows * g.k);
}

/* ---- conv2d_backprop_filter ---- */

typedef struct bwd_f_job {
    const geom *g;
    const float *x, *dy;
    float *part[MAX_PARTS]; /* dF of each part: part[0] is the output */
    int64_t part_rows;      /* rows of P per part */
    int failed;
} bwd_f_job;

/* part[t] = P^T @ dY over the rows of part t, chunk by chunk in order. */
static void bwd_f_task(void *arg, int t)
{
    bwd_f_job *j = arg;
    const geom *g = j->g;
    int64_t lo = (int64_t)t * j->part_rows, hi = lo + j->part_rows < g->m ? lo + j->part_rows : g->m;
    float *p = NULL;
    if (!p_is_x(g) && !(p = gf__scratch(2, (size_t)(g->rows * g->k)))) {
        j->failed = 1;
        return;
    }
    for (int64_t r0 = lo; r0 < hi; r0 += g->rows) {
        int64_t nr = hi - r0 < g->rows ? hi - r0 : g->rows;
        const float *a = p;
        if (p) im2col(g, j->x, r0, nr, p);
        else a = j->x + r0 * g->k;
        gf__gemm(1, 0, g->k, g->o, nr, 1.0f, a, g->k, j->dy + r0 * g->o, g->o, r0 == lo ? 0.0f : 1.0f, j->part[t],
                 g->o, 1);
    }
}

/* out [KH,KW,C,O] (like's shape) = d conv2d(x, f) / df given x [N,H,W,C]
 * and dy [N,OH,OW,O]. */
GF_KERNEL(gf__k_conv2d_backprop_filter)
{
    geom g = geom_of(in[0]->shape, out->shape, n);
    int64_t ko = g.k * g.o;
    if (g.m == 0) { /* no rows: sums of nothing */
        memset(out->data, 0, (size_t)ko * sizeof(float));
        return;
    }
    gf_conv_dims d = dims_of(&g);
    if (gf__winograd_fits(&d)) {
        int64_t lack = gf__winograd_backprop_filter(&d, in[0]->data, in[1]->data, out->data, ctx->threads);
        if (lack) no_memory(ctx, n, lack);
        return;
    }
    if (gf__conv_direct_fits(&d)) {
        int64_t lack = gf__conv_direct_backprop_filter(&d, in[0]->data, in[1]->data, out->data, ctx->threads);
        if (lack) no_memory(ctx, n, lack);
        return;
    }
    /* The parts: whole chunks, as many as MAX_PARTS and memory allow. */
    int64_t chunks = (g.m + g.rows - 1) / g.rows, parts = chunks < MAX_PARTS ? chunks : MAX_PARTS;
    if (parts > 1 && (parts - 1) * ko > PART_FLOATS) parts = 1 + PART_FLOATS / ko;
    if (parts < 1) parts = 1;
    int64_t per = (chunks + parts - 1) / parts;
    parts = (chunks + per - 1) / per;
    bwd_f_job j = { .g = &g, .x = in[0]->data, .dy = in[1]->data, .part_rows = per * g.rows };
    j.part[0] = out->data;
    float *extra = NULL;
    if (parts > 1 && !(extra = gf__scratch(3, (size_t)((parts - 1) * ko)))) {
        no_memory(ctx, n, (parts - 1) * ko);
        return;
    }
    for (int64_t i = 1; i < parts; i++) j.part[i] = extra + (i - 1) * ko;
    gf__parallel_for(ctx->threads, (int)parts, bwd_f_task, &j);
    if (j.failed) {
        no_memory(ctx, n, g.rows * g.k);
        return;
    }
    for (int64_t i = 1; i < parts; i++) /* in part order */
        for (int64_t e = 0; e < ko; e++) out->data[e] += j.part[i][e];
}
