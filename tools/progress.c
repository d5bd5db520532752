/* progress.c — the live progress line of `gradflow train` on a terminal:
 * step/total, examples per second, last accuracy and ETA, on stderr. */
#include "progress.h"

#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The terminal's width in columns (80 when unknown). */
static int columns(void)
{
#ifdef TIOCGWINSZ
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
#endif
    return 80;
}

void gf_progress_start(gf_progress *p, int enabled, int64_t total, int64_t batch)
{
    memset(p, 0, sizeof *p);
    p->on = enabled && isatty(STDERR_FILENO);
    p->total = total;
    p->batch = batch;
    p->t0 = now_s();
    p->drawn = -1;
}

/* "1h02m", "3m05s" or "12s". */
static void duration(double s, char *buf, size_t cap)
{
    long long t = (long long)(s + 0.5);
    if (t >= 3600) snprintf(buf, cap, "%lldh%02lldm", t / 3600, t / 60 % 60);
    else if (t >= 60) snprintf(buf, cap, "%lldm%02llds", t / 60, t % 60);
    else snprintf(buf, cap, "%llds", t);
}

void gf_progress_format(const gf_progress *p, double now, char *buf, int cap)
{
    double elapsed = now - p->t0;
    int n = snprintf(buf, (size_t)cap, "step %lld/%lld", (long long)p->done, (long long)p->total);
    if (p->total > 0 && n < cap)
        n += snprintf(buf + n, (size_t)(cap - n), " (%d%%)", (int)(100 * p->done / p->total));
    if (elapsed > 0 && p->done > 0 && n < cap)
        n += snprintf(buf + n, (size_t)(cap - n), "  %.0f ex/s", (double)(p->done * p->batch) / elapsed);
    if (p->evaluated > 0 && n < cap)
        n += snprintf(buf + n, (size_t)(cap - n), "  acc %.1f%% (%lld/%lld)",
                      100.0 * (double)p->correct / (double)p->evaluated, (long long)p->correct,
                      (long long)p->evaluated);
    if (n < cap) {
        char eta[32] = "--";
        if (p->done > 0 && elapsed > 0.05)
            duration(elapsed / (double)p->done * (double)(p->total - p->done), eta, sizeof eta);
        snprintf(buf + n, (size_t)(cap - n), "  ETA %s", eta);
    }
}

static void draw(gf_progress *p, double now)
{
    char line[256];
    gf_progress_format(p, now, line, sizeof line);
    int len = (int)strlen(line), width = columns() - 1;
    if (width < 1) width = 1;
    if (len > width) len = width; /* a wrapped line could not be redrawn with \r */
    /* Pad over what the previous line left, then come back: one write. */
    int pad = p->shown > len ? p->shown - len : 0;
    char out[800];
    if (pad) snprintf(out, sizeof out, "\r%.*s%*s\r%.*s", len, line, pad, "", len, line);
    else snprintf(out, sizeof out, "\r%.*s", len, line);
    fputs(out, stderr);
    fflush(stderr);
    p->shown = len;
    p->drawn = now;
}

void gf_progress_step(gf_progress *p, int64_t done)
{
    p->done = done;
    if (!p->on) return;
    double now = now_s();
    if (p->drawn < 0 || now - p->drawn >= 0.1) draw(p, now);
}

void gf_progress_accuracy(gf_progress *p, int64_t correct, int64_t total)
{
    p->correct = correct;
    p->evaluated = total;
}

void gf_progress_clear(gf_progress *p)
{
    if (!p->on || !p->shown) return;
    fprintf(stderr, "\r%*s\r", p->shown, "");
    fflush(stderr);
    p->shown = 0; /* redrawn at the next step due */
}
