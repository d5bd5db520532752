/*
 * pool.c — max and average pooling on NHWC images and their gradients.
 *
 * Shapes: x [N,H,W,C], y [N,OH,OW,C]; output (b, oy, ox, c)'s window is
 * rows oy*sh - ph .. + kh-1 and columns ox*sw - pw .. + kw-1 of image b,
 * channel c, cut to the image (the padding never takes part: ph, pw the
 * padding before, TensorFlow's rule, gf__window_out). Every window holds
 * at least one element of x (SAME pads less than a window before).
 *
 * Max: the first maximum in row-major window order wins (a strictly
 * larger value replaces it), and the first NaN wins over everything; the
 * gradient goes to that element. Average: the sum in window order over the
 * number of elements inside x.
 *
 * Images are split over threads in fixed groups; each output element is
 * computed by one thread, and each gradient image is written by one
 * thread in a fixed order, so bits do not depend on the thread count.
 */
#include "kernels.h"

#include "threads.h"

#include <string.h>

/* Images per task: fixed by the shape. */
#define MAX_TASKS 256

typedef struct pgeom {
    int64_t n, h, w, c, oh, ow, kh, kw, sh, sw, ph, pw;
} pgeom;

static pgeom pgeom_of(gf_shape x, const gf_node *node)
{
    pgeom g = { .n = x.dim[0], .h = x.dim[1], .w = x.dim[2], .c = x.dim[3], .kh = node->attrs.window.ksize_h,
                .kw = node->attrs.window.ksize_w, .sh = node->attrs.window.stride_h,
                .sw = node->attrs.window.stride_w };
    gf__window_out(g.h, g.kh, g.sh, node->attrs.window.padding, &g.oh, &g.ph);
    gf__window_out(g.w, g.kw, g.sw, node->attrs.window.padding, &g.ow, &g.pw);
    return g;
}

/* The window of output (oy, ox), cut to the image: [y0,y1) x [x0,x1). */
typedef struct pwin {
    int64_t y0, y1, x0, x1;
} pwin;

static pwin pwin_of(const pgeom *g, int64_t oy, int64_t ox)
{
    int64_t iy = oy * g->sh - g->ph, ix = ox * g->sw - g->pw;
    pwin v = { iy < 0 ? 0 : iy, iy + g->kh < g->h ? iy + g->kh : g->h, ix < 0 ? 0 : ix,
               ix + g->kw < g->w ? ix + g->kw : g->w };
    return v;
}

/* Channels whose maxima argmax_chunk finds at once. */
#define CHUNK 64

/* Offsets in image b's x (xb) of the first maxima of channels c0 ..
 * c0+nc-1 (nc <= CHUNK) in window v: best[k] for channel c0+k. The window
 * is walked once in row-major order with the channels contiguous; per
 * channel, a value replaces the best when strictly larger, or when it is
 * NaN and the best is not. */
static void argmax_chunk(const pgeom *g, const float *xb, pwin v, int64_t c0, int64_t nc, int64_t *best)
{
    float bv[CHUNK];
    const int64_t first = (v.y0 * g->w + v.x0) * g->c + c0;
    for (int64_t k = 0; k < nc; k++) {
        best[k] = first + k;
        bv[k] = xb[first + k];
    }
    for (int64_t iy = v.y0; iy < v.y1; iy++)
        for (int64_t ix = v.x0; ix < v.x1; ix++) {
            const int64_t at = (iy * g->w + ix) * g->c + c0;
            const float *p = xb + at;
            for (int64_t k = 0; k < nc; k++) {
                float a = p[k], b = bv[k];
                int take = a > b || (a != a && b == b);
                bv[k] = take ? a : b;
                best[k] = take ? at + k : best[k];
            }
        }
}

typedef enum { MAX_FWD, AVG_FWD, MAX_GRAD, MAX_GRAD_GRAD, AVG_GRAD } pool_kind;

typedef struct pool_job {
    pool_kind kind;
    pgeom g;
    const float *x;  /* x (max ops) */
    const float *in; /* dy (grads), g (grad_grad) */
    float *out;
    int64_t images;  /* per task */
} pool_job;

static void pool_image(const pool_job *j, int64_t b)
{
    const pgeom *g = &j->g;
    const int64_t C = g->c, ximg = g->h * g->w * C, yimg = g->oh * g->ow * C;
    const float *xb = j->x ? j->x + b * ximg : NULL;
    switch (j->kind) {
    case MAX_GRAD:
    case AVG_GRAD:
        memset(j->out + b * ximg, 0, (size_t)ximg * sizeof(float));
        break;
    default:
        break;
    }
    for (int64_t oy = 0; oy < g->oh; oy++)
        for (int64_t ox = 0; ox < g->ow; ox++) {
            pwin v = pwin_of(g, oy, ox);
            int64_t yo = b * yimg + (oy * g->ow + ox) * C;
            switch (j->kind) {
            case MAX_FWD: {
                float *o = j->out + yo;
                memcpy(o, xb + (v.y0 * g->w + v.x0) * C, (size_t)C * sizeof(float));
                for (int64_t iy = v.y0; iy < v.y1; iy++)
                    for (int64_t ix = v.x0; ix < v.x1; ix++) {
                        const float *p = xb + (iy * g->w + ix) * C;
                        for (int64_t c = 0; c < C; c++)
                            if (p[c] > o[c] || (p[c] != p[c] && o[c] == o[c])) o[c] = p[c];
                    }
                break;
            }
            case AVG_FWD: {
                float *o = j->out + yo;
                memset(o, 0, (size_t)C * sizeof(float));
                for (int64_t iy = v.y0; iy < v.y1; iy++)
                    for (int64_t ix = v.x0; ix < v.x1; ix++) {
                        const float *p = xb + (iy * g->w + ix) * C;
                        for (int64_t c = 0; c < C; c++) o[c] += p[c];
                    }
                float cnt = (float)((v.y1 - v.y0) * (v.x1 - v.x0));
                for (int64_t c = 0; c < C; c++) o[c] /= cnt;
                break;
            }
            case MAX_GRAD:
            case MAX_GRAD_GRAD:
                for (int64_t c0 = 0; c0 < C; c0 += CHUNK) {
                    int64_t nc = C - c0 < CHUNK ? C - c0 : CHUNK, best[CHUNK];
                    argmax_chunk(g, xb, v, c0, nc, best);
                    if (j->kind == MAX_GRAD)
                        for (int64_t k = 0; k < nc; k++) j->out[b * ximg + best[k]] += j->in[yo + c0 + k];
                    else
                        for (int64_t k = 0; k < nc; k++) j->out[yo + c0 + k] = j->in[b * ximg + best[k]];
                }
                break;
            case AVG_GRAD: {
                float cnt = (float)((v.y1 - v.y0) * (v.x1 - v.x0));
                const float *d = j->in + yo;
                for (int64_t iy = v.y0; iy < v.y1; iy++)
                    for (int64_t ix = v.x0; ix < v.x1; ix++) {
                        float *p = j->out + b * ximg + (iy * g->w + ix) * C;
                        for (int64_t c = 0; c < C; c++) p[c] += d[c] / cnt;
                    }
                break;
            }
            }
        }
}

static void pool_task(void *arg, int t)
{
    const pool_job *j = arg;
    for (int64_t b = (int64_t)t * j->images, e = b + j->images < j->g.n ? b + j->images : j->g.n; b < e; b++)
        pool_image(j, b);
}

static void run_pool(pool_job *j, int threads)
{
    if (j->g.n == 0) return;
    j->images = (j->g.n + MAX_TASKS - 1) / MAX_TASKS;
    int64_t tasks = (j->g.n + j->images - 1) / j->images;
    gf__parallel_for(threads, (int)tasks, pool_task, j);
}

/* out [N,OH,OW,C] = the window maxima of x [N,H,W,C]. */
GF_KERNEL(gf__k_max_pool)
{
    pool_job j = { MAX_FWD, pgeom_of(in[0]->shape, n), in[0]->data, NULL, out->data, 0 };
    run_pool(&j, ctx->threads);
}

/* out [N,OH,OW,C] = the window means of x [N,H,W,C]. */
GF_KERNEL(gf__k_avg_pool)
{
    pool_job j = { AVG_FWD, pgeom_of(in[0]->shape, n), in[0]->data, NULL, out->data, 0 };
    run_pool(&j, ctx->threads);
}

/* out [N,H,W,C] = dy [N,OH,OW,C] added at each window's first maximum of
 * x [N,H,W,C]. */
GF_KERNEL(gf__k_max_pool_grad)
{
    pool_job j = { MAX_GRAD, pgeom_of(in[0]->shape, n), in[0]->data, in[1]->data, out->data, 0 };
    run_pool(&j, ctx->threads);
}

/* out [N,OH,OW,C] = g [N,H,W,C] at each window's first maximum of x. */
GF_KERNEL(gf__k_max_pool_grad_grad)
{
    pool_job j = { MAX_GRAD_GRAD, pgeom_of(in[0]->shape, n), in[0]->data, in[1]->data, out->data, 0 };
    run_pool(&j, ctx->threads);
}

/* out [N,H,W,C] (like's shape) = dy [N,OH,OW,C] / (window's element
 * count) added over each window. */
GF_KERNEL(gf__k_avg_pool_grad)
{
    pool_job j = { AVG_GRAD, pgeom_of(out->shape, n), NULL, in[0]->data, out->data, 0 };
    run_pool(&j, ctx->threads);
}
