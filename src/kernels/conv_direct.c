/*
 * conv_direct.c — conv2d and its filter gradient as direct sums, for
 * filters over one to four input channels: the tutorial's first layer (one
 * channel, a 5x5 filter, K = 25) spent more time building im2col patches
 * and storing GEMM tiles after 25 steps of k than multiplying. Here the
 * output channels are the vector lanes (VL at a time), eight output pixels
 * (conv2d) or a filter row's taps (its gradient) are sums held in
 * registers, and every product is one multiply and one add (no FMA: the
 * portable and vector builds give the same bits).
 *
 * Shapes as conv.c: x [N,H,W,C], f [KH,KW,C,O], y [N,OH,OW,O], dy like y.
 *
 *   conv2d:          y[b,oy,ox,:] = sum over ky, kx, c (in that order) of
 *                    x[b, oy*sh-ph+ky, ox*sw-pw+kx, c] * f[ky,kx,c,:],
 *                    taps in the padding left out
 *   backprop_filter: df[ky,kx,c,:] = sum over b, oy, ox (in that order) of
 *                    x[b, oy*sh-ph+ky, ox*sw-pw+kx, c] * dy[b,oy,ox,:]
 *
 * Threads: conv2d's tasks own output rows; the filter gradient is summed
 * over a fixed number of parts of the images (from the shapes), each by
 * one task, the parts then added in order: the same bits for every thread
 * count. The input's gradient stays with conv.c's col2im.
 */
#include "kernels.h"

#include "simd.h"
#include "threads.h"

#include <string.h>

#define VL 16       /* output channels per vector */
#define MAX_C 4     /* the most input channels taken here */
#define MAX_KW 8    /* the widest filter (its row's sums are registers) */
#define MAX_PARTS 8 /* backprop_filter: parts of the images */

typedef float vl __attribute__((vector_size(VL * sizeof(float))));
typedef float vlu __attribute__((vector_size(VL * sizeof(float)), aligned(sizeof(float))));
#define AI static inline __attribute__((always_inline))

/* The most floats of padded rows a task copies (16 MB): strides far wider
 * than the filter make rows mostly gaps, which im2col skips. */
#define MAX_ROWS_FLOATS ((int64_t)1 << 22)

int gf__conv_direct_fits(const gf_conv_dims *d)
{
    if (!(d->c >= 1 && d->c <= MAX_C && d->kw <= MAX_KW && d->o >= 1 && d->kh >= 1 && !gf__winograd_fits(d)))
        return 0;
    int64_t row_len = ((d->ow + 7) / 8 * 8 - 1) * d->sw + d->kw; /* gf__conv_direct's, the longer */
    return row_len <= MAX_ROWS_FLOATS / (d->kh * d->c);
}

typedef struct direct_job {
    const gf_conv_dims *d;
    const float *x, *f, *dy; /* f: the filter with O padded to op, zeros past O */
    float *y;
    int64_t op;      /* O rounded up to VL */
    int64_t row_len; /* pixels of a padded row: the taps of the pixels computed */
    int64_t rows_floats; /* a task's scratch for padded rows (threads.h, slot 2) */
    int64_t task_rows;   /* conv2d: output rows per task */
    int whole_image;     /* backprop_filter: an image's padded rows fit rows_floats */
    int failed;          /* a task found no scratch (written only as 1) */
    float *part[MAX_PARTS]; /* backprop_filter: df [KH,KW,C,op] of each part */
    const gf_conv_epilogue *epi; /* conv2d: applied as each vector is stored */
    int64_t part_images;
} direct_job;

/* *v = VL floats at p, the first n of them (the rest 0). Vectors pass by
 * pointer: by value their ABI would depend on the build's target. */
AI void load_n(vl *v, const float *p, int64_t n)
{
    if (n >= VL) {
        *v = *(const vlu *)p;
        return;
    }
    *v = (vl){ 0 };
    memcpy(v, p, (size_t)n * sizeof(float));
}

/* The first n floats of *v to p. */
AI void store_n(float *p, const vl *v, int64_t n)
{
    if (n >= VL) *(vlu *)p = *v;
    else memcpy(p, v, (size_t)n * sizeof(float));
}

/* ---- conv2d ---- */

/* out[0..7] += the taps of image row xr (at the first pixel's first tap)
 * for 8 pixels xs floats apart, filter row fr [KW,C,op] at o0; KW and C
 * constants where inlined with them (the tutorial's 5 and 1). */
AI void fwd_eight(const direct_job *j, const float *xr, int64_t xs, const float *fr, vl *out, int64_t kw,
                  int64_t c)
{
    const int64_t op = j->op;
    vl a0 = out[0], a1 = out[1], a2 = out[2], a3 = out[3], a4 = out[4], a5 = out[5], a6 = out[6], a7 = out[7];
    for (int64_t kx = 0; kx < kw; kx++)
        for (int64_t ci = 0; ci < c; ci++) {
            vl fv = *(const vlu *)(fr + (kx * c + ci) * op);
            const float *p = xr + kx * c + ci;
            a0 += p[0] * fv;
            a1 += p[xs] * fv;
            a2 += p[2 * xs] * fv;
            a3 += p[3 * xs] * fv;
            a4 += p[4 * xs] * fv;
            a5 += p[5 * xs] * fv;
            a6 += p[6 * xs] * fv;
            a7 += p[7 * xs] * fv;
        }
    out[0] = a0, out[1] = a1, out[2] = a2, out[3] = a3, out[4] = a4, out[5] = a5, out[6] = a6, out[7] = a7;
}

/* Output rows [oy0, oy0 + j->task_rows) of image b, task = b x blocks +
 * block. The input rows they read are first copied, once each, with their
 * padding as zeros (rows: up to (task_rows-1) x SH + KH of PW x C, PW
 * covering a row's pixels rounded up to 8), so that every pixel is taken
 * 8 at a time with no check (the pixels past OW are computed and
 * dropped). Each output row sums its taps in the padding-free rows ky0 ..
 * ky1-1, as before the copies were shared. */
AI void fwd_rows(void *arg, int task)
{
    direct_job *j = arg;
    const gf_conv_dims *d = j->d;
    const int64_t blocks = (d->oh + j->task_rows - 1) / j->task_rows;
    const int64_t b = task / blocks, oy0 = task % blocks * j->task_rows, c = d->c, op = j->op;
    const int64_t oy1 = oy0 + j->task_rows < d->oh ? oy0 + j->task_rows : d->oh;
    const int64_t len = j->row_len, owr = (d->ow + 7) / 8 * 8, kw = d->kw;
    float *rows = gf__scratch(2, (size_t)j->rows_floats);
    if (!rows) {
        j->failed = 1;
        return;
    }
    const float *img = j->x + b * d->h * d->w * c;
    const int64_t iy_first = oy0 * d->sh - d->ph; /* rows[r] holds image row iy_first + r */
    int64_t r0 = -iy_first > 0 ? -iy_first : 0, r1 = (oy1 - 1) * d->sh - d->ph + d->kh - iy_first;
    if (r1 > d->h - iy_first) r1 = d->h - iy_first;
    for (int64_t r = r0; r < r1; r++) {
        float *dst = rows + r * len * c;
        const float *src = img + (iy_first + r) * d->w * c;
        for (int64_t i = 0; i < len; i++) {
            int64_t ix = i - d->pw;
            for (int64_t ci = 0; ci < c; ci++) dst[i * c + ci] = ix >= 0 && ix < d->w ? src[ix * c + ci] : 0.0f;
        }
    }
    for (int64_t oy = oy0; oy < oy1; oy++) {
        float *yrow = j->y + (b * d->oh + oy) * d->ow * d->o;
        int64_t ky0 = d->ph - oy * d->sh, ky1 = d->h + d->ph - oy * d->sh; /* ky in [ky0, ky1) lie inside */
        if (ky0 < 0) ky0 = 0;
        if (ky1 > d->kh) ky1 = d->kh;
        const float *orow = rows + ((oy - oy0) * d->sh) * len * c; /* its ky = 0 */
        for (int64_t o0 = 0; o0 < d->o; o0 += VL)
            for (int64_t ox = 0; ox < owr; ox += 8) {
                vl acc[8];
                for (int p = 0; p < 8; p++) acc[p] = (vl){ 0 };
                for (int64_t ky = ky0; ky < ky1; ky++) {
                    const float *xr = orow + (ky * len + ox * d->sw) * c, *fr = j->f + ky * kw * c * op + o0;
                    if (kw == 5 && c == 1) fwd_eight(j, xr, d->sw, fr, acc, 5, 1); /* the tutorial's first layer */
                    else fwd_eight(j, xr, d->sw * c, fr, acc, kw, c);
                }
                for (int p = 0; p < 8 && ox + p < d->ow; p++) {
                    if (j->epi && (j->epi->bias || j->epi->relu))
                        gf__conv_epilogue(j->epi, o0, (float *)&acc[p], d->o - o0 < VL ? (int)(d->o - o0) : VL);
                    store_n(yrow + (ox + p) * d->o + o0, &acc[p], d->o - o0);
                }
            }
    }
}

/* ---- backprop_filter ---- */

/* s[k] += r[ox*sw + k] * dy row gr's pixel ox, for k < KW and the row's
 * OW pixels in order; KW a constant where inlined (the sums then stay in
 * registers). */
AI void filter_row(const float *r, int64_t sw, const float *gr, int64_t ow, int64_t o, int64_t no, int KW, vl *s)
{
    vl s0 = s[0], s1 = s[1], s2 = s[2], s3 = s[3], s4 = s[4], s5 = s[5], s6 = s[6], s7 = s[7];
    for (int64_t ox = 0; ox < ow; ox++) {
        vl g;
        load_n(&g, gr + ox * o, no);
        const float *xp = r + ox * sw;
        s0 += xp[0] * g;
        if (KW > 1) s1 += xp[1] * g;
        if (KW > 2) s2 += xp[2] * g;
        if (KW > 3) s3 += xp[3] * g;
        if (KW > 4) s4 += xp[4] * g;
        if (KW > 5) s5 += xp[5] * g;
        if (KW > 6) s6 += xp[6] * g;
        if (KW > 7) s7 += xp[7] * g;
    }
    s[0] = s0, s[1] = s1, s[2] = s2, s[3] = s3, s[4] = s4, s[5] = s5, s[6] = s6, s[7] = s7;
}

/* r [row_len + MAX_KW] = row iy of channel ci of image b, with its
 * padding (and the default case's extra taps) as zeros. */
AI void padded_row(const direct_job *j, int64_t b, int64_t iy, int64_t ci, float *r)
{
    const gf_conv_dims *d = j->d;
    const float *src = j->x + (b * d->h + iy) * d->w * d->c + ci;
    for (int64_t i = 0; i < j->row_len + MAX_KW; i++) {
        int64_t ix = i - d->pw;
        r[i] = ix >= 0 && ix < d->w ? src[ix * d->c] : 0.0f;
    }
}

/* Part t's df [KH,KW,C,op]: for each tap row (ky, c) and output-channel
 * vector, the KW taps' sums over the part's pixels in order (images, then
 * rows, then pixels; a row in the padding adds nothing). The sums live in
 * df between rows; with whole_image, each image's rows are copied with
 * their padding once (rows_floats: C x H rows), else each row when used. */
AI void filter_part(void *arg, int t)
{
    direct_job *j = arg;
    const gf_conv_dims *d = j->d;
    const int64_t c = d->c, b0 = (int64_t)t * j->part_images, kw = d->kw, rl = j->row_len + MAX_KW;
    const int64_t b1 = b0 + j->part_images < d->n ? b0 + j->part_images : d->n;
    float *df = j->part[t], *r = gf__scratch(2, (size_t)j->rows_floats);
    if (!r) {
        j->failed = 1;
        return;
    }
    memset(df, 0, (size_t)(d->kh * kw * c * j->op) * sizeof(float));
    for (int64_t b = b0; b < b1; b++) {
        for (int64_t ci = 0; j->whole_image && ci < c; ci++)
            for (int64_t iy = 0; iy < d->h; iy++) padded_row(j, b, iy, ci, r + (ci * d->h + iy) * rl);
        for (int64_t oy = 0; oy < d->oh; oy++)
            for (int64_t ky = 0; ky < d->kh; ky++) {
                int64_t iy = oy * d->sh - d->ph + ky;
                if (iy < 0 || iy >= d->h) continue;
                for (int64_t ci = 0; ci < c; ci++) {
                    const float *row = r + (ci * d->h + iy) * rl;
                    if (!j->whole_image) padded_row(j, b, iy, ci, r), row = r;
                    for (int64_t o0 = 0; o0 < d->o; o0 += VL) {
                        float *sums = df + (ky * kw * c + ci) * j->op + o0; /* tap kx at sums + kx*c*op */
                        vl s[MAX_KW];
                        for (int64_t kx = 0; kx < MAX_KW; kx++) s[kx] = kx < kw ? *(vlu *)(sums + kx * c * j->op) : (vl){ 0 };
                        const float *gr = j->dy + (b * d->oh + oy) * d->ow * d->o + o0;
                        int64_t no = d->o - o0;
                        switch (kw) { /* the common widths with their taps as constants */
                        case 3: filter_row(row, d->sw, gr, d->ow, d->o, no, 3, s); break;
                        case 5: filter_row(row, d->sw, gr, d->ow, d->o, no, 5, s); break;
                        default: filter_row(row, d->sw, gr, d->ow, d->o, no, MAX_KW, s); break;
                        }
                        for (int64_t kx = 0; kx < kw; kx++) *(vlu *)(sums + kx * c * j->op) = s[kx];
                    }
                }
            }
    }
}

/* Both built as portable C and again for AVX2 and AVX-512 (simd.h). */
GF_SIMD_TASKS(fwd_task, fwd_rows)
GF_SIMD_TASKS(filter_task, filter_part)

int64_t gf__conv_direct(const gf_conv_dims *d, const float *x, const float *f, float *y, int threads,
                        const gf_conv_epilogue *epi)
{
    const int64_t k = d->kh * d->kw * d->c, op = (d->o + VL - 1) / VL * VL;
    float *fp = gf__scratch(3, (size_t)(k * op)); /* f with O padded to op */
    if (!fp) return k * op;
    for (int64_t i = 0; i < k; i++) {
        memcpy(fp + i * op, f + i * d->o, (size_t)d->o * sizeof(float));
        memset(fp + i * op + d->o, 0, (size_t)(op - d->o) * sizeof(float));
    }
    direct_job j = { .d = d, .x = x, .f = fp, .y = y, .op = op, .epi = epi };
    j.row_len = ((d->ow + 7) / 8 * 8 - 1) * d->sw + d->kw;
    /* Four output rows a task share their input rows' copies, when their
     * windows overlap (SH <= KH) and the copies fit the bound
     * (gf__conv_direct_fits admits one row's KH rows). */
    j.task_rows = d->sh <= d->kh && (3 * d->sh + d->kh) * d->c <= MAX_ROWS_FLOATS / j.row_len ? 4 : 1;
    j.rows_floats = ((j.task_rows - 1) * d->sh + d->kh) * j.row_len * d->c;
    int64_t tasks = d->n * ((d->oh + j.task_rows - 1) / j.task_rows);
    if (tasks > 0) gf__parallel_for(threads, (int)tasks, GF_SIMD_PICK(fwd_task), &j);
    return j.failed ? j.rows_floats : 0;
}

int64_t gf__conv_direct_backprop_filter(const gf_conv_dims *d, const float *x, const float *dy, float *df,
                                        int threads)
{
    const int64_t k = d->kh * d->kw * d->c, op = (d->o + VL - 1) / VL * VL;
    int64_t parts = d->n < MAX_PARTS ? d->n : MAX_PARTS;
    if (parts < 1) parts = 1;
    direct_job j = { .d = d, .x = x, .dy = dy, .op = op, .part_images = (d->n + parts - 1) / parts };
    if (j.part_images < 1) j.part_images = 1;
    parts = (d->n + j.part_images - 1) / j.part_images;
    if (parts < 1) parts = 1;
    j.row_len = (d->ow - 1) * d->sw + d->kw;
    j.rows_floats = j.row_len + MAX_KW;
    if (d->c * d->h <= MAX_ROWS_FLOATS / j.rows_floats) { /* an image's rows copied once, not KH x O/VL times */
        j.whole_image = 1;
        j.rows_floats *= d->c * d->h;
    }
    float *buf = gf__scratch(3, (size_t)(parts * k * op));
    if (!buf) return parts * k * op;
    for (int64_t p = 0; p < parts; p++) j.part[p] = buf + p * k * op;
    gf__parallel_for(threads, (int)parts, GF_SIMD_PICK(filter_task), &j);
    if (j.failed) return j.rows_floats;
    for (int64_t i = 0; i < k; i++) /* the parts in order, O unpadded */
        for (int64_t o = 0; o < d->o; o++) {
            float s = j.part[0][i * op + o];
            for (int64_t p = 1; p < parts; p++) s += j.part[p][i * op + o];
            df[i * d->o + o] = s;
        }
    return 0;
}
