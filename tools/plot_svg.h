/* plot_svg.h — the training curves of `gradflow train --plot` as a
 * hand-written SVG: accuracy and training loss per evaluation, with axes and
 * legend. */
#ifndef GF_PLOT_SVG_H
#define GF_PLOT_SVG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The evaluations so far. cost[i] (the training loss) is NaN where none
 * was measured. */
typedef struct gf_plot {
    int n, cap;
    int64_t *step;
    double *accuracy; /* percent: 100 * correct / total */
    double *cost;
    int64_t steps; /* the run's length: the step axis spans at least 0..steps */
} gf_plot;

/* Writes s as XML text (also fit for Graphviz's HTML-like labels): & < > "
 * escaped, control characters other than tab dropped. */
void gf_xml_text(FILE *f, const char *s);

/* Appends a point; 0 when out of memory. */
int gf_plot_add(gf_plot *p, int64_t step, double accuracy_percent, double cost);
void gf_plot_free(gf_plot *p);

/* Writes the SVG document: an accuracy panel and, when any cost is finite,
 * a training-loss panel below it sharing the step axis. Each curve is one
 * <polyline> (id "accuracy", id "loss") with one point per evaluation (the
 * loss curve: per finite cost). title and the labels are plain text (escaped here). */
void gf_plot_svg(FILE *f, const gf_plot *p, const char *title, const char *accuracy_label,
                 const char *cost_label);

/* gf_plot_svg into path, atomically (temporary file and rename). Returns
 * 1, or 0 with the reason in err. */
int gf_plot_write(const gf_plot *p, const char *path, const char *title, const char *accuracy_label,
                  const char *cost_label, char *err, size_t err_len);

#endif
