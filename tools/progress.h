/* progress.h — the live progress line of `gradflow train` on a terminal:
 * step/total, examples per second, last accuracy and ETA, on stderr. */
#ifndef GF_PROGRESS_H
#define GF_PROGRESS_H

#include <stdint.h>

typedef struct gf_progress {
    int on;             /* 1: drawing (stderr is a terminal, not --quiet) */
    int64_t total;      /* steps of the whole run */
    int64_t batch;      /* examples per step */
    int64_t done;       /* steps done so far */
    int64_t correct, evaluated; /* the last evaluation (evaluated 0: none yet) */
    double t0, drawn;   /* start, last draw (monotonic seconds) */
    int shown;          /* characters on the line now (0: clear) */
} gf_progress;

/* Starts the clock; draws only when enabled and stderr is a terminal. */
void gf_progress_start(gf_progress *p, int enabled, int64_t total, int64_t batch);

/* Records that done steps are done; redraws the line at the first step and
 * then at most ten times a second. */
void gf_progress_step(gf_progress *p, int64_t done);

/* Records the last evaluation's result (shown at the next redraw). */
void gf_progress_accuracy(gf_progress *p, int64_t correct, int64_t total);

/* Erases the line (call before printing anything else); a later step
 * redraws it. */
void gf_progress_clear(gf_progress *p);

/* Formats the line (without \r) into buf: for tests and the drawing. */
void gf_progress_format(const gf_progress *p, double now, char *buf, int cap);

#endif
