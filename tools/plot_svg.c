/* plot_svg.c — the training curves of `gradflow train --plot` as a
 * hand-written SVG: accuracy and training loss per evaluation, with axes and
 * legend. */
#include "plot_svg.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "atomic_file.h"

int gf_plot_add(gf_plot *p, int64_t step, double accuracy_percent, double cost)
{
    if (p->n == p->cap) {
        int cap = p->cap ? 2 * p->cap : 64;
        int64_t *s = realloc(p->step, (size_t)cap * sizeof *s);
        if (s) p->step = s;
        double *a = realloc(p->accuracy, (size_t)cap * sizeof *a);
        if (a) p->accuracy = a;
        double *c = realloc(p->cost, (size_t)cap * sizeof *c);
        if (c) p->cost = c;
        if (!s || !a || !c) return 0;
        p->cap = cap;
    }
    p->step[p->n] = step;
    p->accuracy[p->n] = accuracy_percent;
    p->cost[p->n] = cost;
    p->n++;
    return 1;
}

void gf_plot_free(gf_plot *p)
{
    free(p->step);
    free(p->accuracy);
    free(p->cost);
    memset(p, 0, sizeof *p);
}

void gf_xml_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default:
            if ((unsigned char)*s >= 0x20 || *s == '\t') fputc(*s, f);
        }
    }
}

/* A round tick spacing (1, 2 or 5 times a power of ten) giving about
 * `target` intervals over range. */
static double nice_step(double range, int target)
{
    if (!(range > 0)) return 1;
    double raw = range / target, mag = pow(10, floor(log10(raw))), f = raw / mag;
    return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
}

/* A panel: the data area and the value range it maps. */
typedef struct panel {
    double x0, y0, w, h;       /* pixels: left, top, width, height */
    double xlo, xhi, ylo, yhi; /* values */
} panel;

static double px(const panel *q, double x) { return q->x0 + (x - q->xlo) / (q->xhi - q->xlo) * q->w; }
static double py(const panel *q, double y) { return q->y0 + q->h - (y - q->ylo) / (q->yhi - q->ylo) * q->h; }

/* Tick values lo, lo+step, ... <= hi (with a little slack for rounding). */
static int ticks(double lo, double hi, double step, double *out, int cap)
{
    int n = 0;
    for (double v = ceil(lo / step - 1e-9) * step; v <= hi + 1e-9 * step && n < cap; v += step)
        out[n++] = fabs(v) < 1e-12 * step ? 0 : v;
    return n;
}

/* Frame, grid lines, y ticks and labels; x tick labels when xlabels. */
static void axes(FILE *f, const panel *q, double xstep, double ystep, const char *yfmt, const char *ytitle,
                 int xlabels)
{
    double t[64];
    int n = ticks(q->ylo, q->yhi, ystep, t, 64);
    fprintf(f, "  <g class=\"grid\" stroke=\"#e4e4e4\" stroke-width=\"1\">\n");
    for (int i = 0; i < n; i++)
        fprintf(f, "    <line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", q->x0, py(q, t[i]),
                q->x0 + q->w, py(q, t[i]));
    int nx = ticks(q->xlo, q->xhi, xstep, t + 32, 32);
    for (int i = 0; i < nx; i++)
        fprintf(f, "    <line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", px(q, t[32 + i]), q->y0,
                px(q, t[32 + i]), q->y0 + q->h);
    fprintf(f, "  </g>\n");
    fprintf(f, "  <rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#333333\"/>\n",
            q->x0, q->y0, q->w, q->h);
    fprintf(f, "  <g font-size=\"12\" fill=\"#333333\" text-anchor=\"end\">\n");
    for (int i = 0; i < n; i++) {
        fprintf(f, "    <line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333333\"/>\n", q->x0 - 5,
                py(q, t[i]), q->x0, py(q, t[i]));
        fprintf(f, "    <text x=\"%.1f\" y=\"%.1f\">", q->x0 - 8, py(q, t[i]) + 4);
        fprintf(f, yfmt, t[i]);
        fprintf(f, "</text>\n");
    }
    fprintf(f, "  </g>\n");
    fprintf(f, "  <g font-size=\"12\" fill=\"#333333\" text-anchor=\"middle\">\n");
    for (int i = 0; i < nx; i++) {
        double x = px(q, t[32 + i]);
        fprintf(f, "    <line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333333\"/>\n", x,
                q->y0 + q->h, x, q->y0 + q->h + 5);
        if (xlabels) fprintf(f, "    <text x=\"%.1f\" y=\"%.1f\">%.0f</text>\n", x, q->y0 + q->h + 19, t[32 + i]);
    }
    fprintf(f, "  </g>\n");
    fprintf(f, "  <text x=\"%.1f\" y=\"%.1f\" font-size=\"13\" fill=\"#333333\" text-anchor=\"middle\" "
               "transform=\"rotate(-90 %.1f %.1f)\">",
            q->x0 - 58, q->y0 + q->h / 2, q->x0 - 58, q->y0 + q->h / 2);
    gf_xml_text(f, ytitle);
    fprintf(f, "</text>\n");
}

/* One curve: a polyline through the points with finite values, and dots
 * with a tooltip when there are few. */
static void curve(FILE *f, const panel *q, const gf_plot *p, const double *v, const char *id, const char *color,
                  const char *fmt)
{
    fprintf(f, "  <polyline id=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\" stroke-linejoin=\"round\" "
               "points=\"",
            id, color);
    int first = 1, shown = 0;
    for (int i = 0; i < p->n; i++) {
        if (!isfinite(v[i])) continue;
        fprintf(f, "%s%.1f,%.1f", first ? "" : " ", px(q, (double)p->step[i]), py(q, v[i]));
        first = 0;
        shown++;
    }
    fprintf(f, "\"/>\n");
    if (shown > 60) return;
    fprintf(f, "  <g fill=\"%s\">\n", color);
    for (int i = 0; i < p->n; i++) {
        if (!isfinite(v[i])) continue;
        fprintf(f, "    <circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\"><title>step %lld: ", px(q, (double)p->step[i]),
                py(q, v[i]), (long long)p->step[i]);
        fprintf(f, fmt, v[i]);
        fprintf(f, "</title></circle>\n");
    }
    fprintf(f, "  </g>\n");
}

void gf_plot_svg(FILE *f, const gf_plot *p, const char *title, const char *accuracy_label, const char *cost_label)
{
    int has_cost = 0;
    double amin = 100, cmax = 0;
    int64_t smin = 0, smax = 0;
    for (int i = 0; i < p->n; i++) {
        if (isfinite(p->cost[i])) {
            has_cost = 1;
            if (p->cost[i] > cmax) cmax = p->cost[i];
        }
        if (p->accuracy[i] < amin) amin = p->accuracy[i];
        if (i == 0 || p->step[i] < smin) smin = p->step[i];
        if (i == 0 || p->step[i] > smax) smax = p->step[i];
    }
    const double W = 820, left = 90, right = 30, top = 84;
    const double acc_h = 240, gap = 36, cost_h = 200;
    double H = top + acc_h + (has_cost ? gap + cost_h : 0) + 60;

    /* Steps from 0 (or the first evaluation, if below) to the end of the run
     * (or the last evaluation, if after), rounded up; whole-step ticks. */
    double xlo = smin < 0 ? (double)smin : 0, xhi = (double)(smax > p->steps ? smax : p->steps);
    if (xhi <= xlo) xhi = xlo + 1;
    double xstep = nice_step(xhi - xlo, 8);
    if (xstep < 1) xstep = 1;
    xhi = ceil(xhi / xstep - 1e-9) * xstep;
    /* Accuracy from a round value at or below the lowest to 100%. */
    double alo = floor(amin / 10) * 10;
    if (alo > 90) alo = 90;
    if (alo < 0) alo = 0;
    double astep = nice_step(100 - alo, 5);
    alo = floor(alo / astep) * astep;
    panel acc = { left, top, W - left - right, acc_h, xlo, xhi, alo, 100 };
    double chi = cmax > 0 ? cmax : 1, cstep = nice_step(chi, 5);
    chi = ceil(chi / cstep - 1e-9) * cstep;
    panel cost = { left, top + acc_h + gap, W - left - right, cost_h, xlo, xhi, 0, chi };

    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
               "font-family=\"Helvetica, Arial, sans-serif\">\n",
            W, H, W, H);
    fprintf(f, "  <title>");
    gf_xml_text(f, title);
    fprintf(f, "</title>\n");
    fprintf(f, "  <desc>gradflow train --plot: %d evaluations; accuracy in percent%s</desc>\n", p->n,
            has_cost ? ", and the training loss" : "");
    fprintf(f, "  <rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n");
    fprintf(f, "  <text x=\"%.0f\" y=\"28\" font-size=\"16\" font-weight=\"bold\" fill=\"#222222\" "
               "text-anchor=\"middle\">",
            W / 2);
    gf_xml_text(f, title);
    fprintf(f, "</text>\n");

    /* Legend, above the plots. */
    fprintf(f, "  <g id=\"legend\" font-size=\"12\" fill=\"#333333\">\n");
    fprintf(f, "    <line x1=\"%.0f\" y1=\"52\" x2=\"%.0f\" y2=\"52\" stroke=\"#1f77b4\" stroke-width=\"2\"/>\n",
            left, left + 26);
    fprintf(f, "    <text x=\"%.0f\" y=\"56\">", left + 32);
    gf_xml_text(f, accuracy_label);
    fprintf(f, "</text>\n");
    if (has_cost) {
        fprintf(f, "    <line x1=\"%.0f\" y1=\"70\" x2=\"%.0f\" y2=\"70\" stroke=\"#d62728\" stroke-width=\"2\"/>\n",
                left, left + 26);
        fprintf(f, "    <text x=\"%.0f\" y=\"74\">", left + 32);
        gf_xml_text(f, cost_label);
        fprintf(f, "</text>\n");
    }
    fprintf(f, "  </g>\n");

    axes(f, &acc, xstep, astep, "%.0f%%", "accuracy (%)", !has_cost);
    if (p->n) curve(f, &acc, p, p->accuracy, "accuracy", "#1f77b4", "%.2f%%");
    if (has_cost) {
        axes(f, &cost, xstep, cstep, "%g", "training loss", 1);
        curve(f, &cost, p, p->cost, "loss", "#d62728", "%.6g");
    }
    const panel *last = has_cost ? &cost : &acc;
    fprintf(f, "  <text x=\"%.1f\" y=\"%.1f\" font-size=\"13\" fill=\"#333333\" text-anchor=\"middle\">training "
               "step</text>\n",
            last->x0 + last->w / 2, last->y0 + last->h + 42);
    if (!p->n)
        fprintf(f, "  <text x=\"%.1f\" y=\"%.1f\" font-size=\"14\" fill=\"#888888\" text-anchor=\"middle\">no "
                   "evaluations (see --eval-every)</text>\n",
                acc.x0 + acc.w / 2, acc.y0 + acc.h / 2);
    fprintf(f, "</svg>\n");
}

int gf_plot_write(const gf_plot *p, const char *path, const char *title, const char *accuracy_label,
                  const char *cost_label, char *err, size_t err_len)
{
    gf_atomic_file af;
    if (!gf_atomic_open(&af, path, err, err_len)) return 0;
    gf_plot_svg(af.f, p, title, accuracy_label, cost_label);
    return gf_atomic_commit(&af, err, err_len);
}
