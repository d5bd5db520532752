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

#include "simd.h"
#include "threads.h"

#include <math.h>
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

/* Channels whose maxima the gradients find at once. */
#define CHUNK 64

/* m [n] = the larger of m and p, per channel: p's value replaces m's when
 * strictly larger, or when it is NaN and m's is not. Branch-free, so the
 * compiler vectorises it. */
#define INLINE static inline __attribute__((always_inline))

INLINE void max_into(float *restrict m, const float *restrict p, int64_t n)
{
    for (int64_t k = 0; k < n; k++) {
        float a = p[k], b = m[k];
        int32_t take = (a > b) | ((a != a) & (b == b));
        m[k] = take ? a : b;
    }
}

/* m [nc] = the maxima of channels c0 .. c0+nc-1 in window v of image xb,
 * walked in row-major order (max_into's rule), from -infinity: the first
 * element replaces it unless it is -infinity itself, the same value (a
 * loop, not a call to memcpy for a few dozen floats per window). */
INLINE void window_max(const pgeom *g, const float *xb, pwin v, int64_t c0, int64_t nc, float *restrict m)
{
    for (int64_t k = 0; k < nc; k++) m[k] = -INFINITY;
    for (int64_t iy = v.y0; iy < v.y1; iy++)
        for (int64_t ix = v.x0; ix < v.x1; ix++) max_into(m, xb + (iy * g->w + ix) * g->c + c0, nc);
}

/* The gradients route to each channel's first maximum in window order:
 * under max_into's rule, the first element equal to the window's maximum
 * (the first NaN when the maximum is NaN). For channels c0 .. c0+nc-1 of
 * window v, with maxima m: max_pool_grad (dx not NULL) adds d[k] to dx at
 * that element, or with set (windows that share no element) writes the
 * whole window, d[k] there and 0 elsewhere, into a dx not cleared before;
 * max_pool_grad_grad sets gy[k] to gx's value there (dx and gx are one
 * image in xb's layout). */
INLINE void route_first_max(const pgeom *g, const float *xb, pwin v, int64_t c0, int64_t nc, const float *m,
                            float *dx, bool set, const float *d, const float *gx, float *gy)
{
    int32_t done[CHUNK] = { 0 };
    for (int64_t iy = v.y0; iy < v.y1; iy++)
        for (int64_t ix = v.x0; ix < v.x1; ix++) {
            const int64_t at = (iy * g->w + ix) * g->c + c0;
            const float *restrict p = xb + at;
            if (dx && set) {
                float *restrict o = dx + at;
                for (int64_t k = 0; k < nc; k++) {
                    int32_t take = (done[k] ^ 1) & ((p[k] == m[k]) | ((p[k] != p[k]) & (m[k] != m[k])));
                    float sum = 0.0f + d[k]; /* as added to a cleared dx: -0 becomes +0 */
                    o[k] = take ? sum : 0.0f;
                    done[k] |= take;
                }
            } else if (dx) {
                float *restrict o = dx + at;
                for (int64_t k = 0; k < nc; k++) {
                    int32_t take = (done[k] ^ 1) & ((p[k] == m[k]) | ((p[k] != p[k]) & (m[k] != m[k])));
                    float sum = o[k] + d[k]; /* computed either way: no branch */
                    o[k] = take ? sum : o[k];
                    done[k] |= take;
                }
            } else {
                const float *restrict q = gx + at;
                for (int64_t k = 0; k < nc; k++) {
                    int32_t take = (done[k] ^ 1) & ((p[k] == m[k]) | ((p[k] != p[k]) & (m[k] != m[k])));
                    float val = q[k]; /* read either way: no branch */
                    gy[k] = take ? val : gy[k];
                    done[k] |= take;
                }
            }
        }
}

/* out [n] = the maxima of a 2x2 window's first n channels at p (pixels
 * `stride` floats apart, rows `row`), all in one loop, by window_max's
 * rule (p00, p01, p10, p11 in window order; the first element starts the
 * maximum, as it replaces -infinity or equals it). The condition is
 * written with || and &&: GCC vectorises that chain of choices, not the
 * same chain with max_into's int32_t flags. */
#define TAKE_MAX(a, m) ((a) > (m) || ((a) != (a) && (m) == (m)))
INLINE void max2x2(const float *restrict p, int64_t row, int64_t stride, int64_t n, float *restrict out)
{
    const float *restrict q = p + row;
    for (int64_t k = 0; k < n; k++) {
        float a1 = p[stride + k], a2 = q[k], a3 = q[stride + k], m = p[k];
        m = TAKE_MAX(a1, m) ? a1 : m;
        m = TAKE_MAX(a2, m) ? a2 : m;
        m = TAKE_MAX(a3, m) ? a3 : m;
        out[k] = m;
    }
}

/* route_first_max for a whole 2x2 window with maxima m [n], written (set):
 * 0 + d at each channel's first maximum, 0 at the window's other three. */
#define FIRST_MAX(a, m) (((a) == (m)) | (((a) != (a)) & ((m) != (m))))
INLINE void route2x2(const float *restrict p, int64_t row, int64_t stride, int64_t n, const float *restrict m,
                     const float *restrict d, float *restrict o)
{
    for (int64_t k = 0; k < n; k++) {
        float a0 = p[k], a1 = p[stride + k], a2 = p[row + k], mk = m[k];
        int32_t t0 = FIRST_MAX(a0, mk), t1 = (t0 ^ 1) & FIRST_MAX(a1, mk);
        int32_t t2 = ((t0 | t1) ^ 1) & FIRST_MAX(a2, mk), t3 = (t0 | t1 | t2) ^ 1; /* m is one of the four */
        float g = 0.0f + d[k];
        o[k] = t0 ? g : 0.0f;
        o[stride + k] = t1 ? g : 0.0f;
        o[row + k] = t2 ? g : 0.0f;
        o[row + stride + k] = t3 ? g : 0.0f;
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
    bool relu_grad;  /* max_pool_grad: then out *= (x > 0 ? 1 : 0) */
} pool_job;

INLINE void pool_image_body(const pool_job *j, int64_t b)
{
    const pgeom *g = &j->g;
    const int64_t C = g->c, ximg = g->h * g->w * C, yimg = g->oh * g->ow * C;
    const float *xb = j->x ? j->x + b * ximg : NULL;
    /* Windows that tile the image (kernel == stride, the tutorial's 2x2
     * pools) share no element: max_pool_grad writes each window whole,
     * and only elements past the last window (VALID cuts them off) need
     * clearing first. */
    bool tiled = g->kh == g->sh && g->kw == g->sw;
    bool cut = g->oh * g->sh - g->ph < g->h || g->ow * g->sw - g->pw < g->w;
    bool set = j->kind == MAX_GRAD && tiled;
    if (j->kind == AVG_GRAD || (j->kind == MAX_GRAD && (!tiled || cut)))
        memset(j->out + b * ximg, 0, (size_t)ximg * sizeof(float));
    for (int64_t oy = 0; oy < g->oh; oy++)
        for (int64_t ox = 0; ox < g->ow; ox++) {
            pwin v = pwin_of(g, oy, ox);
            int64_t yo = b * yimg + (oy * g->ow + ox) * C;
            bool whole2x2 = g->kh == 2 && g->kw == 2 && v.y1 - v.y0 == 2 && v.x1 - v.x0 == 2;
            if (whole2x2 && j->kind == MAX_FWD) {
                max2x2(xb + (v.y0 * g->w + v.x0) * C, g->w * C, C, C, j->out + yo);
                continue;
            }
            switch (j->kind) {
            case MAX_FWD:
                window_max(g, xb, v, 0, C, j->out + yo);
                break;
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
                    int64_t nc = C - c0 < CHUNK ? C - c0 : CHUNK;
                    float m[CHUNK];
                    if (whole2x2 && set) {
                        int64_t at = (v.y0 * g->w + v.x0) * C + c0;
                        max2x2(xb + at, g->w * C, C, nc, m);
                        route2x2(xb + at, g->w * C, C, nc, m, j->in + yo + c0, j->out + b * ximg + at);
                        continue;
                    }
                    window_max(g, xb, v, c0, nc, m);
                    if (j->kind == MAX_GRAD)
                        route_first_max(g, xb, v, c0, nc, m, j->out + b * ximg, set, j->in + yo + c0, NULL, NULL);
                    else
                        route_first_max(g, xb, v, c0, nc, m, NULL, false, NULL, j->in + b * ximg, j->out + yo + c0);
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
    /* relu's gradient mask (opt/pool_mask.c), while the image is in cache:
     * the operations of mul(out, greater_mask(x, 0)). */
    if (j->relu_grad) {
        float *restrict o = j->out + b * ximg;
        for (int64_t i = 0; i < ximg; i++) o[i] = o[i] * (xb[i] > 0.0f ? 1.0f : 0.0f);
    }
}

/* One image; the same code built again for AVX2 (8 floats a step) and
 * AVX-512 (16), taken as the SIMD kernels dispatch: the loops only
 * compare, select and add, so all give the same bits. */
static void pool_image(const pool_job *j, int64_t b) { pool_image_body(j, b); }
#if GF_HAVE_AVX2_KERNELS
__attribute__((target("avx2"))) static void pool_image_avx2(const pool_job *j, int64_t b) { pool_image_body(j, b); }
__attribute__((target("avx512f"))) static void pool_image_avx512(const pool_job *j, int64_t b)
{
    pool_image_body(j, b);
}
#endif

static void pool_task(void *arg, int t)
{
    const pool_job *j = arg;
    void (*one)(const pool_job *, int64_t) = pool_image;
#if GF_HAVE_AVX2_KERNELS
    if (gf__avx512_enabled()) one = pool_image_avx512;
    else if (gf__simd_enabled()) one = pool_image_avx2;
#endif
    for (int64_t b = (int64_t)t * j->images, e = b + j->images < j->g.n ? b + j->images : j->g.n; b < e; b++)
        one(j, b);
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
    pool_job j = { MAX_FWD, pgeom_of(in[0]->shape, n), in[0]->data, NULL, out->data, 0, false };
    run_pool(&j, ctx->threads);
}

/* out [N,OH,OW,C] = the window means of x [N,H,W,C]. */
GF_KERNEL(gf__k_avg_pool)
{
    pool_job j = { AVG_FWD, pgeom_of(in[0]->shape, n), in[0]->data, NULL, out->data, 0, false };
    run_pool(&j, ctx->threads);
}

/* out [N,H,W,C] = dy [N,OH,OW,C] added at each window's first maximum of
 * x [N,H,W,C]; with window.relu_grad (plans only), times (x > 0). */
GF_KERNEL(gf__k_max_pool_grad)
{
    pool_job j = { MAX_GRAD, pgeom_of(in[0]->shape, n), in[0]->data, in[1]->data, out->data, 0,
                   n->attrs.window.relu_grad != 0 };
    run_pool(&j, ctx->threads);
}

/* out [N,OH,OW,C] = g [N,H,W,C] at each window's first maximum of x. */
GF_KERNEL(gf__k_max_pool_grad_grad)
{
    pool_job j = { MAX_GRAD_GRAD, pgeom_of(in[0]->shape, n), in[0]->data, in[1]->data, out->data, 0, false };
    run_pool(&j, ctx->threads);
}

/* out [N,H,W,C] (like's shape) = dy [N,OH,OW,C] / (window's element
 * count) added over each window. */
GF_KERNEL(gf__k_avg_pool_grad)
{
    pool_job j = { AVG_GRAD, pgeom_of(out->shape, n), NULL, in[0]->data, out->data, 0, false };
    run_pool(&j, ctx->threads);
}
