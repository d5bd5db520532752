/*
 * cmd_gradcheck.c — `gradflow gradcheck`: every differentiable op and the
 * article's network against finite differences, with each op's max error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "gradcheck_cases.h"
#include "opts.h"

#define MAX_OPS 64

typedef struct summary {
    int verbose, n;
    const char *op[MAX_OPS];
    double worst[MAX_OPS];
    int checks[MAX_OPS], errors[MAX_OPS];
} summary;

static void on_check(void *ctx, const char *op, const char *what, const gf_gradcheck_result *r,
                     const char *error)
{
    summary *s = ctx;
    int i = 0;
    while (i < s->n && strcmp(s->op[i], op)) i++;
    if (i == s->n && s->n < MAX_OPS) {
        s->op[s->n] = op;
        s->worst[s->n] = 0;
        s->checks[s->n] = s->errors[s->n] = 0;
        s->n++;
    }
    if (i == MAX_OPS) return;
    s->checks[i]++;
    if (error) {
        s->errors[i]++;
        fprintf(stderr, "gradflow gradcheck: %s %s: %s\n", op, what, error);
        return;
    }
    if (!(r->max_error <= s->worst[i])) s->worst[i] = r->max_error;
    if (s->verbose)
        printf("  %-12s %-40s max error %.2e (%lld compared)\n", op, what, r->max_error,
               (long long)r->checked);
}

int gf_cli_gradcheck(int argc, char **argv)
{
    summary s = { 0 };
    double tol = 1e-3;
    int64_t seed = 1;
    gf_opt opts[] = {
        GF_OPT_I("--seed", "N", 0, INT64_MAX, "seed of the random inputs (default 1)", &seed),
        { .name = "--verbose", .alias = "-v", .kind = GF_OPT_FLAG, .help = "list every check", .ptr = &s.verbose },
    };
    gf_cmd_spec spec = {
        "gradcheck", "gradflow gradcheck [--seed N] [-v]",
        "Checks the gradient of every differentiable op (on plain and broadcasting\n"
        "shapes) and of the article's 784-30-10 network against central finite\n"
        "differences: float32 evaluation, double-precision differencing. Prints each\n"
        "op's max error |analytic - numeric| / max(1, |analytic|, |numeric|); fails\n"
        "(exit 1) when one exceeds 1e-03.\n",
        "Exit status: 0 every check passed, 1 a check failed, 2 usage error.\n", opts, GF_OPTS_N(opts)
    };
    int parsed = gf_opts_parse_only(&spec, argc, argv);
    if (parsed != GF_OPTS_CONTINUE) return parsed;
    int failed = gf_gradcheck_all((uint64_t)seed, tol, on_check, &s);
    int w = 14; /* the op column: as wide as its longest name, plus a space */
    for (int i = 0; i < s.n; i++)
        if ((int)strlen(s.op[i]) + 1 > w) w = (int)strlen(s.op[i]) + 1;
    printf("%-*s %7s %12s  %s\n", w, "op", "checks", "max error", "result");
    for (int i = 0; i < s.n; i++)
        printf("%-*s %7d %12.2e  %s\n", w, s.op[i], s.checks[i], s.worst[i],
               s.errors[i] ? "ERROR" : s.worst[i] <= tol ? "ok" : "FAIL");
    printf("%s: %d check%s failed (tolerance %.0e)\n", failed ? "FAIL" : "ok", failed,
           failed == 1 ? "" : "s", tol);
    return failed ? GF_EXIT_FAIL : GF_EXIT_OK;
}
