/*
 * test_conv.c — conv2d, max_pool, avg_pool and their gradients against a
 * naive reference written here (random shapes, both paddings, strides
 * 1..3, windows 1..5, larger than the input with SAME), hand-computed
 * small cases, max pooling's ties, padding and NaN, results that do not
 * depend on the thread count, and gf_dropout_keep.
 */
#include "testutil.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "plan/plan.h"

/* ---- the reference ---- */

typedef struct ref_geom {
    int n, h, w, c, kh, kw, o, sh, sw, oh, ow, ph, pw;
} ref_geom;

/* TensorFlow's output size and padding before, written out again. */
static void ref_window(int in, int k, int s, gf_padding p, int *out, int *before)
{
    if (p == GF_SAME) {
        *out = (in + s - 1) / s;
        int total = (*out - 1) * s + k - in;
        *before = total > 0 ? total / 2 : 0;
    } else {
        *out = (in - k + s) / s;
        *before = 0;
    }
}

static ref_geom make_geom(int n, int h, int w, int c, int kh, int kw, int o, int sh, int sw, gf_padding p)
{
    ref_geom g = { n, h, w, c, kh, kw, o, sh, sw, 0, 0, 0, 0 };
    ref_window(h, kh, sh, p, &g.oh, &g.ph);
    ref_window(w, kw, sw, p, &g.ow, &g.pw);
    return g;
}

#define X4(b, y, x, c, H, W, C) ((((size_t)(b) * (H) + (y)) * (W) + (x)) * (C) + (c))

/* y = conv2d(x, f); dx, df = gradients of sum(y * wt). */
static void ref_conv(const ref_geom *g, const float *x, const float *f, const float *wt, float *y, float *dx,
                     float *df)
{
    memset(dx, 0, sizeof(float) * (size_t)g->n * g->h * g->w * g->c);
    memset(df, 0, sizeof(float) * (size_t)g->kh * g->kw * g->c * g->o);
    for (int b = 0; b < g->n; b++)
        for (int oy = 0; oy < g->oh; oy++)
            for (int ox = 0; ox < g->ow; ox++)
                for (int o = 0; o < g->o; o++) {
                    double s = 0;
                    size_t yi = X4(b, oy, ox, o, g->oh, g->ow, g->o);
                    for (int ky = 0; ky < g->kh; ky++)
                        for (int kx = 0; kx < g->kw; kx++) {
                            int iy = oy * g->sh - g->ph + ky, ix = ox * g->sw - g->pw + kx;
                            if (iy < 0 || iy >= g->h || ix < 0 || ix >= g->w) continue;
                            for (int c = 0; c < g->c; c++) {
                                size_t xi = X4(b, iy, ix, c, g->h, g->w, g->c);
                                size_t fi = X4(ky, kx, c, o, g->kw, g->c, g->o);
                                s += (double)x[xi] * f[fi];
                                dx[xi] += wt[yi] * f[fi];
                                df[fi] += wt[yi] * x[xi];
                            }
                        }
                    y[yi] = (float)s;
                }
}

/* y = pool(x); dx = gradient of sum(y * wt). */
static void ref_pool(const ref_geom *g, bool max, const float *x, const float *wt, float *y, float *dx)
{
    memset(dx, 0, sizeof(float) * (size_t)g->n * g->h * g->w * g->c);
    for (int b = 0; b < g->n; b++)
        for (int oy = 0; oy < g->oh; oy++)
            for (int ox = 0; ox < g->ow; ox++)
                for (int c = 0; c < g->c; c++) {
                    size_t yi = X4(b, oy, ox, c, g->oh, g->ow, g->c), best = 0;
                    double s = 0;
                    int cnt = 0;
                    for (int ky = 0; ky < g->kh; ky++)
                        for (int kx = 0; kx < g->kw; kx++) {
                            int iy = oy * g->sh - g->ph + ky, ix = ox * g->sw - g->pw + kx;
                            if (iy < 0 || iy >= g->h || ix < 0 || ix >= g->w) continue;
                            size_t xi = X4(b, iy, ix, c, g->h, g->w, g->c);
                            if (cnt == 0 || x[xi] > x[best] || (isnan(x[xi]) && !isnan(x[best]))) best = xi;
                            s += x[xi];
                            cnt++;
                        }
                    y[yi] = max ? x[best] : (float)(s / cnt);
                    if (max) dx[best] += wt[yi];
                    else
                        for (int ky = 0; ky < g->kh; ky++)
                            for (int kx = 0; kx < g->kw; kx++) {
                                int iy = oy * g->sh - g->ph + ky, ix = ox * g->sw - g->pw + kx;
                                if (iy < 0 || iy >= g->h || ix < 0 || ix >= g->w) continue;
                                dx[X4(b, iy, ix, c, g->h, g->w, g->c)] += wt[yi] / (float)cnt;
                            }
                }
}

/* ---- helpers ---- */

static float *random_floats(gf_rng *r, size_t n)
{
    float *p = malloc((n ? n : 1) * sizeof *p);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++) p[i] = (float)(2.0 * gf_rng_uniform(r) - 1.0);
    return p;
}

/* Distinct values (a shuffled ramp): max pooling without ties. */
static float *distinct_floats(gf_rng *r, size_t n)
{
    float *p = malloc((n ? n : 1) * sizeof *p);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++) p[i] = (float)i * 0.01f - 1.0f;
    for (size_t i = n; i > 1; i--) {
        size_t j = gf_rng_below(r, (uint32_t)i);
        float t = p[i - 1];
        p[i - 1] = p[j];
        p[j] = t;
    }
    return p;
}

static gf_tensor *wrap(gf_shape s, float *data) { return gf_tensor_wrap(GF_F32, s, data, NULL); }

/* Runs conv2d (and its gradients) in a session of `threads` threads and
 * copies the results out. */
static void run_conv(const ref_geom *g, gf_padding p, const float *x, const float *f, const float *wt, int threads,
                     float *y, float *dx, float *df)
{
    gf_graph *gr = gf_graph_new();
    gf_shape xs = gf_dims(4, g->n, g->h, g->w, g->c), fs = gf_dims(4, g->kh, g->kw, g->c, g->o);
    gf_shape ys = gf_dims(4, g->n, g->oh, g->ow, g->o);
    gf_node *xn = gf_placeholder(gr, "x", GF_F32, gf_dims(4, GF_ANY, g->h, g->w, g->c));
    gf_node *fn = gf_placeholder(gr, "f", GF_F32, fs);
    gf_node *wn = gf_placeholder(gr, "wt", GF_F32, gf_dims(4, GF_ANY, g->oh, g->ow, g->o));
    gf_node *yn = gf_conv2d(xn, fn, g->sh, g->sw, p);
    gf_node *loss = gf_reduce_sum(gf_mul(yn, wn), NULL, 0, 0), *xs_[2] = { xn, fn }, *d[2];
    assert_int_equal(gf_gradients(gr, &loss, 1, xs_, 2, NULL, d), GF_OK);
    gf_session *s = gf_session_new(gr, &(gf_session_options){ .threads = threads });
    gf_tensor *tx = wrap(xs, (float *)x), *tf = wrap(fs, (float *)f), *tw = wrap(ys, (float *)wt);
    gf_feed feeds[3] = { { xn, tx }, { fn, tf }, { wn, tw } };
    gf_node *fetch[3] = { yn, d[0], d[1] };
    const gf_tensor *out[3];
    gf_status st = gf_session_run(s, feeds, 3, fetch, 3, NULL, 0, out);
    if (st != GF_OK) fail_msg("%s", gf_session_error(s));
    gf_test_assert_shape(gf_tensor_shape(out[0]), ys);
    memcpy(y, gf_tensor_data(out[0]), sizeof(float) * (size_t)gf_tensor_count(out[0]));
    memcpy(dx, gf_tensor_data(out[1]), sizeof(float) * (size_t)gf_tensor_count(out[1]));
    memcpy(df, gf_tensor_data(out[2]), sizeof(float) * (size_t)gf_tensor_count(out[2]));
    gf_tensor_free(tx);
    gf_tensor_free(tf);
    gf_tensor_free(tw);
    gf_session_free(s);
    gf_graph_free(gr);
}

static void run_pool(const ref_geom *g, bool max, gf_padding p, const float *x, const float *wt, float *y, float *dx)
{
    gf_graph *gr = gf_graph_new();
    gf_shape xs = gf_dims(4, g->n, g->h, g->w, g->c), ys = gf_dims(4, g->n, g->oh, g->ow, g->c);
    gf_node *xn = gf_placeholder(gr, "x", GF_F32, gf_dims(4, GF_ANY, g->h, g->w, g->c));
    gf_node *wn = gf_placeholder(gr, "wt", GF_F32, ys);
    gf_node *yn = (max ? gf_max_pool : gf_avg_pool)(xn, g->kh, g->kw, g->sh, g->sw, p);
    gf_node *loss = gf_reduce_sum(gf_mul(yn, wn), NULL, 0, 0), *d;
    assert_int_equal(gf_gradients(gr, &loss, 1, &xn, 1, NULL, &d), GF_OK);
    gf_session *s = gf_session_new(gr, NULL);
    gf_tensor *tx = wrap(xs, (float *)x), *tw = wrap(ys, (float *)wt);
    gf_feed feeds[2] = { { xn, tx }, { wn, tw } };
    gf_node *fetch[2] = { yn, d };
    const gf_tensor *out[2];
    if (gf_session_run(s, feeds, 2, fetch, 2, NULL, 0, out) != GF_OK) fail_msg("%s", gf_session_error(s));
    gf_test_assert_shape(gf_tensor_shape(out[0]), ys);
    memcpy(y, gf_tensor_data(out[0]), sizeof(float) * (size_t)gf_tensor_count(out[0]));
    memcpy(dx, gf_tensor_data(out[1]), sizeof(float) * (size_t)gf_tensor_count(out[1]));
    gf_tensor_free(tx);
    gf_tensor_free(tw);
    gf_session_free(s);
    gf_graph_free(gr);
}

static size_t count(int a, int b, int c, int d) { return (size_t)a * b * c * d; }

/* |got - want| <= tol * (1 + max |want|) everywhere: the bound for sums
 * whose rounding follows their largest terms, not each result (Winograd's
 * transforms add multiples of the inputs before the products). */
static void assert_close_scaled(const float *got, const float *want, size_t n, double tol)
{
    double big = 0;
    for (size_t i = 0; i < n; i++) big = fmax(big, fabs((double)want[i]));
    for (size_t i = 0; i < n; i++)
        if (!(fabs((double)got[i] - want[i]) <= tol * (1 + big)))
            fail_msg("element %zu: got %.9g, want %.9g (tol %g of 1 + %g)", i, (double)got[i], (double)want[i], tol,
                     big);
}

static void check_conv_case(gf_rng *r, const ref_geom *g, gf_padding p)
{
    size_t nx = count(g->n, g->h, g->w, g->c), nf = count(g->kh, g->kw, g->c, g->o);
    size_t ny = count(g->n, g->oh, g->ow, g->o);
    float *x = random_floats(r, nx), *f = random_floats(r, nf), *wt = random_floats(r, ny);
    float *y = malloc(sizeof(float) * (ny + 1)), *dx = malloc(sizeof(float) * (nx + 1)),
          *df = malloc(sizeof(float) * (nf + 1));
    float *ry = malloc(sizeof(float) * (ny + 1)), *rdx = malloc(sizeof(float) * (nx + 1)),
          *rdf = malloc(sizeof(float) * (nf + 1));
    ref_conv(g, x, f, wt, ry, rdx, rdf);
    run_conv(g, p, x, f, wt, 1, y, dx, df);
    assert_close_scaled(y, ry, ny, 2e-5);
    assert_close_scaled(dx, rdx, nx, 2e-5);
    assert_close_scaled(df, rdf, nf, 2e-5);
    free(x), free(f), free(wt), free(y), free(dx), free(df), free(ry), free(rdx), free(rdf);
}

/* ---- the tests ---- */

static void conv_matches_reference(void **state)
{
    (void)state;
    gf_rng r;
    gf_rng_seed(&r, 2024, 1);
    for (int t = 0; t < 60; t++) {
        gf_padding p = gf_rng_below(&r, 2) ? GF_VALID : GF_SAME;
        int h = 1 + (int)gf_rng_below(&r, 9), w = 1 + (int)gf_rng_below(&r, 9);
        int kh = 1 + (int)gf_rng_below(&r, 5), kw = 1 + (int)gf_rng_below(&r, 5);
        if (p == GF_VALID && (kh > h || kw > w)) p = GF_SAME; /* then the window overhangs */
        /* Drawn one declarator at a time (arguments would be drawn in
         * whatever order the compiler picks: gcc and clang would differ). */
        int n = 1 + (int)gf_rng_below(&r, 3), c = 1 + (int)gf_rng_below(&r, 4), o = 1 + (int)gf_rng_below(&r, 4);
        int sh = 1 + (int)gf_rng_below(&r, 3), sw = 1 + (int)gf_rng_below(&r, 3);
        ref_geom g = make_geom(n, h, w, c, kh, kw, o, sh, sw, p);
        check_conv_case(&r, &g, p);
    }
    /* Large enough for several patch chunks, filter-gradient parts and
     * whole-image tasks, and 1x1 (no patches). */
    ref_geom big = make_geom(3, 14, 14, 32, 5, 5, 8, 1, 1, GF_SAME);
    check_conv_case(&r, &big, GF_SAME);
    ref_geom strided = make_geom(2, 15, 13, 9, 3, 4, 5, 2, 3, GF_VALID);
    check_conv_case(&r, &strided, GF_VALID);
    ref_geom one = make_geom(2, 5, 6, 7, 1, 1, 3, 1, 1, GF_VALID);
    check_conv_case(&r, &one, GF_VALID);
    /* The direct sums' widest filter and most channels (conv_direct.c),
     * and one past them (im2col again). */
    ref_geom widest = make_geom(2, 11, 13, 4, 3, 8, 20, 1, 2, GF_SAME);
    check_conv_case(&r, &widest, GF_SAME);
    ref_geom wider = make_geom(2, 12, 12, 2, 2, 9, 17, 2, 1, GF_VALID);
    check_conv_case(&r, &wider, GF_VALID);
    /* A stride far wider than the image (found by fuzz_graph): the direct
     * sums' padded rows would be 15 GB of gaps; im2col takes it. */
    ref_geom gaps = make_geom(1, 3, 3, 1, 2, 5, 16, 1, 1 << 28, GF_SAME);
    check_conv_case(&r, &gaps, GF_SAME);
}

/* Stride-1 3x3 and 5x5 filters with 8 or more channels run by Winograd's
 * transforms (winograd.c): odd sizes that leave partial tiles, channel
 * counts past one pass of the transforms (32), SAME and VALID, one image
 * and several, against the direct sum. */
static void winograd_matches_reference(void **state)
{
    (void)state;
    gf_rng r;
    gf_rng_seed(&r, 77, 3);
    const int chans[4] = { 8, 11, 40, 64 };
    for (int k = 3; k <= 5; k += 2)
        for (int t = 0; t < 6; t++) {
            gf_padding p = t % 2 ? GF_VALID : GF_SAME;
            /* At least one 4x4 tile of outputs with VALID; drawn one by one
             * (the order of a call's arguments is the compiler's). */
            int n = 1 + (int)gf_rng_below(&r, 3);
            int h = k + 3 + (int)gf_rng_below(&r, 9);
            int w = k + 3 + (int)gf_rng_below(&r, 9);
            int c = chans[gf_rng_below(&r, 4)];
            int o = chans[gf_rng_below(&r, 4)];
            ref_geom g = make_geom(n, h, w, c, k, k, o, 1, 1, p);
            gf_conv_dims d = { g.n, g.h, g.w, g.c, g.kh, g.kw, g.o, g.oh, g.ow, 1, 1, g.ph, g.pw };
            assert_true(gf__winograd_fits(&d));
            check_conv_case(&r, &g, p);
        }
    /* What stays direct: one input channel, stride 2, a 4x4 filter. */
    gf_conv_dims one = { 2, 28, 28, 1, 5, 5, 32, 28, 28, 1, 1, 2, 2 }, strided = one, even = one;
    strided.c = 32, strided.sh = strided.sw = 2;
    even.c = 32, even.kh = even.kw = 4;
    assert_false(gf__winograd_fits(&one));
    assert_false(gf__winograd_fits(&strided));
    assert_false(gf__winograd_fits(&even));
}

static void pools_match_reference(void **state)
{
    (void)state;
    gf_rng r;
    gf_rng_seed(&r, 77, 2);
    for (int t = 0; t < 80; t++) {
        gf_padding p = gf_rng_below(&r, 2) ? GF_VALID : GF_SAME;
        bool max = t & 1;
        int h = 1 + (int)gf_rng_below(&r, 9), w = 1 + (int)gf_rng_below(&r, 9);
        int kh = 1 + (int)gf_rng_below(&r, 5), kw = 1 + (int)gf_rng_below(&r, 5);
        if (p == GF_VALID && (kh > h || kw > w)) p = GF_SAME;
        int n = 1 + (int)gf_rng_below(&r, 3), c = 1 + (int)gf_rng_below(&r, 4);
        int sh = 1 + (int)gf_rng_below(&r, 3), sw = 1 + (int)gf_rng_below(&r, 3);
        ref_geom g = make_geom(n, h, w, c, kh, kw, c, sh, sw, p);
        size_t nx = count(n, h, w, c), ny = count(n, g.oh, g.ow, c);
        float *x = max ? distinct_floats(&r, nx) : random_floats(&r, nx), *wt = random_floats(&r, ny);
        float *y = malloc(sizeof(float) * ny), *dx = malloc(sizeof(float) * nx);
        float *ry = malloc(sizeof(float) * ny), *rdx = malloc(sizeof(float) * nx);
        ref_pool(&g, max, x, wt, ry, rdx);
        run_pool(&g, max, p, x, wt, y, dx);
        gf_test_assert_close(y, ry, (int64_t)ny, 1e-5);
        gf_test_assert_close(dx, rdx, (int64_t)nx, 1e-5);
        free(x), free(wt), free(y), free(dx), free(ry), free(rdx);
    }
}

/* Max pooling with more channels than the kernel takes at once (64) and
 * an odd count, values with many ties and some NaN: exactly the
 * reference's first maximum, value and gradient. ctest runs this file
 * with the SIMD kernels and again with GF_NO_SIMD=1, so both paths meet
 * the same reference. */
static void max_pool_many_channels_exact(void **state)
{
    (void)state;
    gf_rng r;
    gf_rng_seed(&r, 91, 4);
    for (int t = 0; t < 8; t++) {
        gf_padding p = t & 1 ? GF_VALID : GF_SAME;
        int k = 2 + t % 3 / 2, s = 1 + t / 4;
        ref_geom g = make_geom(2, 7, 6, 70, k, k, 70, s, s, p);
        size_t nx = count(2, 7, 6, 70), ny = count(2, g.oh, g.ow, 70);
        float *x = malloc(sizeof(float) * nx), *wt = random_floats(&r, ny);
        for (size_t i = 0; i < nx; i++) x[i] = gf_rng_below(&r, 50) == 0 ? NAN : (float)gf_rng_below(&r, 4);
        for (size_t i = 0; i < ny; i += 7) wt[i] = -0.0f; /* its gradient is +0, as 0 + -0 */
        float *y = malloc(sizeof(float) * ny), *dx = malloc(sizeof(float) * nx);
        float *ry = malloc(sizeof(float) * ny), *rdx = malloc(sizeof(float) * nx);
        ref_pool(&g, true, x, wt, ry, rdx);
        run_pool(&g, true, p, x, wt, y, dx);
        for (size_t i = 0; i < ny; i++)
            if (!(y[i] == ry[i] || (isnan(y[i]) && isnan(ry[i])))) fail_msg("case %d: y[%zu] %g, want %g", t, i, (double)y[i], (double)ry[i]);
        assert_memory_equal(dx, rdx, sizeof(float) * nx);
        free(x), free(wt), free(y), free(dx), free(ry), free(rdx);
    }
}

/* Worked by hand: x = 1..9 as a 3x3 image. */
static void small_cases_by_hand(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    const float nine[9] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 }, ones[4] = { 1, 1, 1, 1 };
    gf_node *x = gf_test_const(g, gf_dims(4, 1, 3, 3, 1), nine);
    gf_node *f = gf_test_const(g, gf_dims(4, 2, 2, 1, 1), ones);
    /* SAME, stride 1: padding 1 in all, 0 before and 1 after. */
    const float same[9] = { 12, 16, 9, 24, 28, 15, 15, 17, 9 };
    gf_test_check_node(g, gf_conv2d(x, f, 1, 1, GF_SAME), GF_F32, gf_dims(4, 1, 3, 3, 1), same, 0);
    const float valid[4] = { 12, 16, 24, 28 };
    gf_test_check_node(g, gf_conv2d(x, f, 1, 1, GF_VALID), GF_F32, gf_dims(4, 1, 2, 2, 1), valid, 0);
    /* Stride 2, SAME: out 2x2, padding 1 after. */
    const float s2[4] = { 12, 9, 15, 9 };
    gf_test_check_node(g, gf_conv2d(x, f, 2, 2, GF_SAME), GF_F32, gf_dims(4, 1, 2, 2, 1), s2, 0);
    const float mx[4] = { 5, 6, 8, 9 };
    gf_test_check_node(g, gf_max_pool(x, 2, 2, 2, 2, GF_SAME), GF_F32, gf_dims(4, 1, 2, 2, 1), mx, 0);
    /* avg with SAME: divided by the elements inside the image. */
    const float av[4] = { 3, 4.5f, 7.5f, 9 };
    gf_test_check_node(g, gf_avg_pool(x, 2, 2, 2, 2, GF_SAME), GF_F32, gf_dims(4, 1, 2, 2, 1), av, 0);
    /* A 3x3 window, stride 1, SAME: padding 1 before and 1 after. */
    const float av3[9] = { 3, 3.5f, 4, 4.5f, 5, 5.5f, 6, 6.5f, 7 };
    gf_test_check_node(g, gf_avg_pool(x, 3, 3, 1, 1, GF_SAME), GF_F32, gf_dims(4, 1, 3, 3, 1), av3, 1e-6);
    /* A 5x5 filter on the 3x3 image (SAME, larger than the input): the
     * padding is 2 before, 2 after; the centre output sums everything. */
    float f25[25];
    for (int i = 0; i < 25; i++) f25[i] = 1;
    const float big[9] = { 45, 45, 45, 45, 45, 45, 45, 45, 45 };
    gf_test_check_node(g, gf_conv2d(x, gf_test_const(g, gf_dims(4, 5, 5, 1, 1), f25), 1, 1, GF_SAME), GF_F32,
                       gf_dims(4, 1, 3, 3, 1), big, 0);
    gf_graph_free(g);
}

/* Ties go to the first maximum in row-major window order, exactly; the
 * padding never wins (an image of -inf stays -inf); NaN propagates. */
static void max_pool_ties_padding_nan(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    const float flat[6] = { 1, 1, 1, 1, 1, 1 };
    gf_node *x = gf_test_const(g, gf_dims(4, 1, 2, 3, 1), flat);
    gf_node *y = gf_max_pool(x, 2, 2, 1, 1, GF_VALID), *d; /* windows at columns 0-1 and 1-2 */
    gf_node *loss = gf_reduce_sum(y, NULL, 0, 0);
    assert_int_equal(gf_gradients(g, &loss, 1, &x, 1, NULL, &d), GF_OK);
    const float want[6] = { 1, 1, 0, 0, 0, 0 };
    gf_test_check_node(g, d, GF_F32, gf_dims(4, 1, 2, 3, 1), want, 0);
    /* A later, equal value in the same window does not take it. */
    const float two[4] = { 3, 3, 3, 3 };
    gf_node *x2 = gf_test_const(g, gf_dims(4, 1, 2, 2, 1), two);
    gf_node *l2 = gf_reduce_sum(gf_max_pool(x2, 2, 2, 2, 2, GF_SAME), NULL, 0, 0), *d2;
    assert_int_equal(gf_gradients(g, &l2, 1, &x2, 1, NULL, &d2), GF_OK);
    const float want2[4] = { 1, 0, 0, 0 };
    gf_test_check_node(g, d2, GF_F32, gf_dims(4, 1, 2, 2, 1), want2, 0);
    /* -inf everywhere: padding (which would be 0) never wins. */
    const float ninf[4] = { -INFINITY, -INFINITY, -INFINITY, -INFINITY };
    gf_node *x3 = gf_test_const(g, gf_dims(4, 1, 2, 2, 1), ninf);
    gf_session *s = gf_session_new(g, NULL);
    const gf_tensor *t = gf_test_run1(s, NULL, 0, gf_max_pool(x3, 3, 3, 1, 1, GF_SAME));
    for (int i = 0; i < 4; i++) assert_true(isinf(gf_tensor_data(t)[i]) && gf_tensor_data(t)[i] < 0);
    gf_session_free(s);
    const float withnan[4] = { 1, NAN, 5, 2 };
    gf_node *x4 = gf_test_const(g, gf_dims(4, 1, 2, 2, 1), withnan);
    s = gf_session_new(g, NULL);
    t = gf_test_run1(s, NULL, 0, gf_max_pool(x4, 2, 2, 2, 2, GF_VALID));
    assert_true(isnan(gf_tensor_data(t)[0]));
    gf_session_free(s);
    gf_graph_free(g);
}

/* The three runs that test a rewrite, each of fetch[0] (n floats): got[0]
 * rewritten, got[1] the ops run apart (GF_NO_FUSE), got[2] rewritten with
 * fetch[1] (n floats, at got[2] + n) fetched too. got[i]: malloc'ed. */
static void three_runs(gf_graph *g, const gf_feed *feed, gf_node *const fetch[2], size_t n, float *got[3])
{
    for (int run = 0; run < 3; run++) {
        gf_session *ss = gf_session_new(g, &(gf_session_options){ .disable = run == 1 ? GF_NO_FUSE : 0 });
        const gf_tensor *out[2];
        assert_int_equal(gf_session_run(ss, feed, 1, fetch, run == 2 ? 2 : 1, NULL, 0, out), GF_OK);
        got[run] = malloc(sizeof(float) * n * 2);
        assert_non_null(got[run]);
        memcpy(got[run], gf_tensor_data(out[0]), sizeof(float) * n);
        if (run == 2) memcpy(got[run] + n, gf_tensor_data(out[1]), sizeof(float) * n);
        gf_session_free(ss);
    }
}

/* The optimised plan that fetches y: free with gf__plan_free. */
static gf_plan *plan_of(gf_graph *g, const gf_feed *feed, gf_node *y)
{
    char err[512];
    gf_run_ctx ctx = { .graph = g, .err = err, .err_len = sizeof err };
    gf_plan *plan = NULL;
    if (gf__plan_compile(&ctx, 0, feed, 1, &y, 1, NULL, 0, &plan) != GF_OK) fail_msg("%s", err);
    return plan;
}

/* relu's gradient through a max pool, mul(max_pool_grad(h, d),
 * greater_mask(h, 0)), is one masked max_pool_grad step in the plan
 * (opt/pool_mask.c) with the bits of the two ops run apart (GF_NO_FUSE):
 * for tiled and overlapping windows, with ties, zeros of both signs, NaN,
 * and gradients whose masked products are -0. Where the pool's gradient
 * is fetched as well, it is not rewritten and stays unmasked. */
static void relu_mask_folds_into_pool_grad(void **state)
{
    (void)state;
    gf_rng r;
    gf_rng_seed(&r, 17, 2);
    for (int t = 0; t < 4; t++) {
        int k = t < 2 ? 2 : 3, s = 2, h = 7 + t % 2, w = 6, c = 19;
        gf_padding p = t % 2 ? GF_VALID : GF_SAME;
        gf_graph *g = gf_graph_new();
        gf_node *x = gf_placeholder(g, "x", GF_F32, gf_dims(4, 2, h, w, c));
        gf_node *hr = gf_relu(x), *y = gf_max_pool(hr, k, k, s, s, p);
        size_t nx = count(2, h, w, c), ny = (size_t)gf_shape_count(gf_node_shape(y));
        float *wt = random_floats(&r, ny);
        for (size_t i = 0; i < ny; i += 5) wt[i] = -wt[i] - 1.0f; /* negative: masked to -0 */
        gf_node *loss = gf_reduce_sum(gf_mul(y, gf_test_const(g, gf_node_shape(y), wt)), NULL, 0, 0);
        gf_node *xs[2] = { x, hr }, *d[2];
        assert_int_equal(gf_gradients(g, &loss, 1, xs, 2, NULL, d), GF_OK);
        gf_tensor *xv = gf_tensor_new(GF_F32, gf_dims(4, 2, h, w, c), NULL);
        float *px = gf_tensor_data(xv);
        for (size_t i = 0; i < nx; i++) {
            unsigned u = gf_rng_below(&r, 40);
            px[i] = u == 0 ? NAN : u == 1 ? -0.0f : u < 12 ? 0.0f : (float)gf_rng_below(&r, 5) - 2.0f;
        }
        gf_feed feed = { x, xv };
        float *got[3]; /* dx fused; dx apart; dx fused with dh fetched */
        three_runs(g, &feed, d, nx, got);
        assert_memory_equal(got[0], got[1], sizeof(float) * nx);
        assert_memory_equal(got[2], got[1], sizeof(float) * nx);
        /* dh unmasked: not zero everywhere x <= 0 */
        size_t unmasked = 0;
        for (size_t i = 0; i < nx; i++) unmasked += !(px[i] > 0) && got[2][nx + i] != 0;
        assert_true(unmasked > 0);
        /* The plan: the masked pool gradient, and no mask left. */
        gf_plan *plan = plan_of(g, &feed, d[0]);
        int masked = 0, others = 0;
        for (int i = 0; i < plan->n_steps; i++) {
            const gf_pnode *q = plan->steps[i];
            masked += q->n.op == GF_OP(MAX_POOL_GRAD) && q->n.attrs.window.relu_grad;
            others += q->n.op == GF_OP(GREATER_MASK);
            for (int in = 0; q->kind == GF_STEP_FUSED && in < q->fused->prog.n_insn; in++)
                others += q->fused->prog.insn[in].fn == GF_OP(GREATER_MASK)->ew;
        }
        assert_int_equal(masked, 1);
        assert_int_equal(others, 0);
        gf__plan_free(plan);
        for (int run = 0; run < 3; run++) free(got[run]);
        free(wt);
        gf_tensor_free(xv);
        gf_graph_free(g);
    }
}

/* got and want hold the same bits, or NaN both (a NaN's sign and payload
 * follow the operand order the compiler picks for a commutative add). */
static void assert_same_bits_or_nan(const float *got, const float *want, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!(isnan(got[i]) && isnan(want[i])) && memcmp(&got[i], &want[i], sizeof got[i]))
            fail_msg("element %zu: %a, want %a", i, (double)got[i], (double)want[i]);
}

/* A convolution's bias and relu, relu(conv2d(x, f) + b) (or b + conv),
 * run as the epilogue of the direct-sum or Winograd kernel that stores
 * the output (opt/conv_epilogue.c), with the bits of the add and relu run
 * apart (GF_NO_FUSE): direct sums over 1 and 3 channels with strides 1
 * and 2, Winograd over 8 and 11 channels, 3x3 and 5x5, SAME and VALID, 20
 * and 32 filters (a partial vector), inputs with NaN, infinities and
 * signed zeros. The plan has no fused step left; fetching the
 * convolution too leaves it as it was (no epilogue) and gives its own
 * values. NaN's sign and payload
 * aside (which the compiler's operand order decides), the same bits. */
static void conv_bias_relu_epilogue(void **state)
{
    (void)state;
    gf_rng r;
    gf_rng_seed(&r, 23, 1);
    for (int t = 0; t < 12; t++) {
        int c = t % 2 ? 3 : 1, k = t % 4 < 2 ? 5 : 3, s = t < 4 ? 1 : 2, o = t % 3 ? 32 : 20, h = 9, w = 7;
        if (t >= 8) c = t % 2 ? 11 : 8, s = 1; /* Winograd's */
        gf_padding p = t % 3 == 1 ? GF_VALID : GF_SAME;
        gf_graph *g = gf_graph_new();
        gf_node *x = gf_placeholder(g, "x", GF_F32, gf_dims(4, 2, h, w, c));
        float *fv = random_floats(&r, count(k, k, c, o)), *bv = random_floats(&r, (size_t)o);
        bv[0] = -0.0f;
        bv[1] = NAN;
        gf_node *conv = gf_conv2d(x, gf_test_const(g, gf_dims(4, k, k, c, o), fv), s, s, p);
        ref_geom rg = make_geom(2, h, w, c, k, k, o, s, s, p);
        gf_conv_dims cd = { rg.n, rg.h, rg.w, rg.c, rg.kh, rg.kw, rg.o, rg.oh, rg.ow, s, s, rg.ph, rg.pw };
        assert_int_equal(gf__winograd_fits(&cd), t >= 8);
        gf_node *b = gf_test_const(g, gf_dims(1, o), bv);
        gf_node *hn = gf_relu(t % 2 ? gf_add(b, conv) : gf_add(conv, b));
        size_t nx = count(2, h, w, c), ny = (size_t)gf_shape_count(gf_node_shape(conv));
        gf_tensor *xv = gf_tensor_new(GF_F32, gf_dims(4, 2, h, w, c), NULL);
        float *px = gf_tensor_data(xv);
        for (size_t i = 0; i < nx; i++) {
            unsigned u = gf_rng_below(&r, 60); /* the specials in the first image only */
            px[i] = i < nx / 2 && u == 0 ? NAN : i < nx / 2 && u == 1 ? INFINITY : u == 2 ? -0.0f
                                                                                  : (float)gf_rng_uniform(&r) * 2.0f - 1.0f;
        }
        gf_feed feed = { x, xv };
        gf_node *both[2] = { hn, conv };
        float *got[3]; /* epilogue; apart; h with the convolution fetched */
        three_runs(g, &feed, both, ny, got);
        assert_same_bits_or_nan(got[0], got[1], ny);
        assert_same_bits_or_nan(got[2], got[1], ny);
        size_t negative = 0; /* the fetched convolution has its own values */
        for (size_t i = 0; i < ny; i++) negative += got[2][ny + i] < 0;
        if (!(negative > 0)) fail_msg("case %d: no negative output among %zu", t, ny);
        gf_plan *plan = plan_of(g, &feed, hn);
        int fused = 0, epi = 0;
        for (int i = 0; i < plan->n_steps; i++) {
            fused += plan->steps[i]->kind == GF_STEP_FUSED;
            epi += plan->steps[i]->epi_relu && plan->steps[i]->epi_bias;
        }
        assert_int_equal(fused, 0);
        assert_int_equal(epi, 1);
        gf__plan_free(plan);
        for (int run = 0; run < 3; run++) free(got[run]);
        free(fv), free(bv);
        gf_tensor_free(xv);
        gf_graph_free(g);
    }
}

/* The conv2d kernel applies an epilogue on every path: the 1x1 product
 * and the im2col GEMM (stride 2 over 40 channels) apply it in a pass of
 * their own, the direct sum and Winograd's as they store; all give the
 * kernel's output without one, plus the bias, then relu. */
static void conv_kernel_epilogue_every_path(void **state)
{
    (void)state;
    gf_rng r;
    gf_rng_seed(&r, 29, 5);
    const int shapes[4][4] = { { 1, 1, 6, 1 }, { 3, 3, 40, 2 }, { 5, 5, 1, 1 }, { 3, 3, 8, 1 } }; /* kh kw c s */
    for (int t = 0; t < 4; t++) {
        int k = shapes[t][0], c = shapes[t][2], s = shapes[t][3], o = 20;
        gf_graph *g = gf_graph_new();
        gf_node *x = gf_placeholder(g, "x", GF_F32, gf_dims(4, 2, 9, 8, c));
        gf_node *f = gf_placeholder(g, "f", GF_F32, gf_dims(4, k, k, c, o));
        gf_node *conv = gf_conv2d(x, f, s, s, GF_SAME);
        gf_tensor *xv = gf_tensor_new(GF_F32, gf_node_shape(x), NULL), *fv = gf_tensor_new(GF_F32, gf_node_shape(f), NULL);
        gf_tensor *y = gf_tensor_new(GF_F32, gf_node_shape(conv), NULL), *ye = gf_tensor_new(GF_F32, gf_node_shape(conv), NULL);
        for (int64_t i = 0; i < gf_tensor_count(xv); i++) gf_tensor_data(xv)[i] = (float)(2 * gf_rng_uniform(&r) - 1);
        for (int64_t i = 0; i < gf_tensor_count(fv); i++) gf_tensor_data(fv)[i] = (float)(2 * gf_rng_uniform(&r) - 1);
        float *bias = random_floats(&r, (size_t)o);
        const gf_tensor *in[2] = { xv, fv };
        char msg[256];
        gf_kctx plain = { .threads = 1, .msg = msg, .msg_len = sizeof msg };
        gf_kctx epi = { .threads = 1, .msg = msg, .msg_len = sizeof msg, .epi = { .bias = bias, .relu = true } };
        GF_OP(CONV2D)->kernel(y, in, conv, &plain);
        GF_OP(CONV2D)->kernel(ye, in, conv, &epi);
        assert_int_equal(plain.status, GF_OK);
        assert_int_equal(epi.status, GF_OK);
        int64_t n = gf_tensor_count(y), cleared = 0;
        for (int64_t i = 0; i < n; i++) {
            float v = gf_tensor_data(y)[i] + bias[i % o], want = v < 0.0f ? 0.0f : v;
            cleared += v < 0.0f;
            if (memcmp(&want, &gf_tensor_data(ye)[i], sizeof want))
                fail_msg("case %d, element %lld: %g, want %g", t, (long long)i, (double)gf_tensor_data(ye)[i], (double)want);
        }
        assert_true(cleared > 0);
        assert_int_equal(gf__conv2d_stores_epilogue(gf_node_shape(x), gf_node_shape(f), conv), t >= 2);
        free(bias);
        gf_tensor_free(xv), gf_tensor_free(fv), gf_tensor_free(y), gf_tensor_free(ye);
        gf_graph_free(g);
    }
}

static void one_layer_bits(gf_rng *rp, const ref_geom *gp);

/* The tutorial's two layers (smaller batch): the same bits at 1, 2 and 3
 * threads, forward and both gradients. */
static void conv_bits_do_not_depend_on_threads(void **state)
{
    (void)state;
    gf_rng r;
    gf_rng_seed(&r, 5, 5);
    for (int layer = 0; layer < 2; layer++) {
        ref_geom g = layer ? make_geom(4, 14, 14, 32, 5, 5, 64, 1, 1, GF_SAME)
                           : make_geom(9, 28, 28, 1, 5, 5, 32, 1, 1, GF_SAME);
        one_layer_bits(&r, &g);
    }
}

/* conv2d of g's shapes and both gradients at 1, 2 and 3 threads: the same
 * bits. */
static void one_layer_bits(gf_rng *rp, const ref_geom *gp)
{
    gf_rng r = *rp;
    ref_geom g = *gp;
    size_t nx = count(g.n, g.h, g.w, g.c), nf = count(g.kh, g.kw, g.c, g.o), ny = count(g.n, g.oh, g.ow, g.o);
    float *x = random_floats(&r, nx), *f = random_floats(&r, nf), *wt = random_floats(&r, ny);
    float *res[3][3];
    for (int t = 0; t < 3; t++) {
        res[t][0] = malloc(ny * sizeof(float));
        res[t][1] = malloc(nx * sizeof(float));
        res[t][2] = malloc(nf * sizeof(float));
        run_conv(&g, GF_SAME, x, f, wt, t + 1, res[t][0], res[t][1], res[t][2]);
    }
    for (int t = 1; t < 3; t++) {
        assert_memory_equal(res[t][0], res[0][0], ny * sizeof(float));
        assert_memory_equal(res[t][1], res[0][1], nx * sizeof(float));
        assert_memory_equal(res[t][2], res[0][2], nf * sizeof(float));
    }
    for (int t = 0; t < 3; t++) free(res[t][0]), free(res[t][1]), free(res[t][2]);
    free(x), free(f), free(wt);
}

/* An open batch: one graph runs at batch 1 and at batch 5. */
static void open_batch(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    gf_node *x = gf_placeholder(g, "x", GF_F32, gf_dims(4, GF_ANY, 28, 28, 1));
    gf_node *f = gf_zeros(g, gf_dims(4, 5, 5, 1, 32));
    gf_node *y = gf_max_pool(gf_conv2d(x, f, 1, 1, GF_SAME), 2, 2, 2, 2, GF_SAME);
    gf_test_assert_shape(gf_node_shape(y), gf_dims(4, GF_ANY, 14, 14, 32));
    gf_session *s = gf_session_new(g, NULL);
    for (int b = 1; b <= 5; b += 4) {
        gf_tensor *t = gf_tensor_new(GF_F32, gf_dims(4, b, 28, 28, 1), NULL);
        gf_feed feed = { x, t };
        const gf_tensor *out = gf_test_run1(s, &feed, 1, y);
        gf_test_assert_shape(gf_tensor_shape(out), gf_dims(4, b, 14, 14, 32));
        gf_tensor_free(t);
    }
    gf_session_free(s);
    gf_graph_free(g);
}

/* gf_dropout_keep: keep_prob fed; kept elements are x / keep_prob, the
 * others 0, and the gradient uses the run's mask. */
static void dropout_keep_values(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    gf_node *x = gf_placeholder(g, "x", GF_F32, gf_dims(1, 1000));
    gf_node *kp = gf_placeholder(g, "keep_prob", GF_F32, gf_dims(0));
    gf_node *y = gf_dropout_keep(x, kp, 11), *d;
    gf_node *loss = gf_reduce_sum(y, NULL, 0, 0);
    assert_int_equal(gf_gradients(g, &loss, 1, &x, 1, NULL, &d), GF_OK);
    gf_session *s = gf_session_new(g, &(gf_session_options){ .seed = 9 });
    gf_tensor *tx = gf_tensor_new(GF_F32, gf_dims(1, 1000), NULL), *tk = gf_tensor_new(GF_F32, gf_dims(0), NULL);
    for (int i = 0; i < 1000; i++) gf_tensor_data(tx)[i] = 1.0f + (float)i;
    gf_tensor_data(tk)[0] = 0.5f;
    gf_feed feeds[2] = { { x, tx }, { kp, tk } };
    gf_node *fetch[2] = { y, d };
    const gf_tensor *out[2];
    assert_int_equal(gf_session_run(s, feeds, 2, fetch, 2, NULL, 0, out), GF_OK);
    int kept = 0;
    for (int i = 0; i < 1000; i++) {
        float v = gf_tensor_data(out[0])[i], gd = gf_tensor_data(out[1])[i];
        assert_true(v == 0.0f || v == 2.0f * gf_tensor_data(tx)[i]);
        assert_true(gd == (v == 0.0f ? 0.0f : 2.0f));
        kept += v != 0.0f;
    }
    assert_in_range(kept, 400, 600);
    gf_tensor_free(tx);
    gf_tensor_free(tk);
    gf_session_free(s);
    gf_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(conv_matches_reference),
        cmocka_unit_test(winograd_matches_reference),
        cmocka_unit_test(pools_match_reference),
        cmocka_unit_test(small_cases_by_hand),
        cmocka_unit_test(max_pool_ties_padding_nan),
        cmocka_unit_test(max_pool_many_channels_exact),
        cmocka_unit_test(relu_mask_folds_into_pool_grad),
        cmocka_unit_test(conv_bias_relu_epilogue),
        cmocka_unit_test(conv_kernel_epilogue_every_path),
        cmocka_unit_test(conv_bits_do_not_depend_on_threads),
        cmocka_unit_test(open_batch),
        cmocka_unit_test(dropout_keep_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
