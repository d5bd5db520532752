/*
 * opts.c — the shared option parser and help printer of the gradflow
 * sub-commands (see opts.h).
 */
#include "opts.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum { HELP_COLUMN = 21 }; /* where the help text of an option starts */

int gf_opts_usage_error(const gf_cmd_spec *spec, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "gradflow %s: ", spec->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return GF_EXIT_USAGE;
}

/* A usage error with the pointer to --help. */
static int parse_error(const gf_cmd_spec *spec, const char *what, const char *detail)
{
    fprintf(stderr, "gradflow %s: %s%s (try 'gradflow %s --help')\n", spec->name, what, detail ? detail : "",
            spec->name);
    return GF_EXIT_USAGE;
}

int gf_opts_has_ext(const char *file, const char *ext)
{
    size_t n = strlen(file), m = strlen(ext);
    if (n <= m || file[n - m - 1] == '/') return 0;
    for (size_t i = 0; i < m; i++)
        if (tolower((unsigned char)file[n - m + i]) != tolower((unsigned char)ext[i])) return 0;
    return 1;
}

gf_opt *gf_opts_find(gf_cmd_spec *spec, const char *name)
{
    for (int i = 0; i < spec->n_opts; i++) {
        gf_opt *o = &spec->opts[i];
        if (!strcmp(o->name, name) || (o->alias && !strcmp(o->alias, name))) return o;
    }
    return NULL;
}

int gf_opts_given(gf_cmd_spec *spec, const char *name)
{
    gf_opt *o = gf_opts_find(spec, name);
    return o && o->given;
}

/* Edit distance of a and b (both short option names; a swap of two
 * neighbouring letters counts as one edit), capped at 9. */
static int distance(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    if (na > 40 || nb > 40) return 9;
    int d[41][41];
    for (size_t i = 0; i <= na; i++) d[i][0] = (int)i;
    for (size_t j = 0; j <= nb; j++) d[0][j] = (int)j;
    for (size_t i = 1; i <= na; i++)
        for (size_t j = 1; j <= nb; j++) {
            int best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < best) best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best) best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[na][nb] < 9 ? d[na][nb] : 9;
}

/* "; did you mean '--x'?" for the option closest to name when close enough
 * to be a likely typo, or the options that name begins (two at most);
 * else "". */
static void did_you_mean(const gf_cmd_spec *spec, const char *name, char *out, size_t cap)
{
    const char *best = NULL, *prefix_of[2] = { NULL, NULL };
    int best_d = 3, prefixes = 0;
    size_t len = strlen(name);
    for (int i = 0; i < spec->n_opts + 1; i++) {
        const char *cand = i < spec->n_opts ? spec->opts[i].name : "--help";
        if (len > 2 && !strncmp(cand, name, len)) {
            if (prefixes < 2) prefix_of[prefixes] = cand;
            prefixes++;
        }
        int d = distance(name, cand);
        if (d < best_d && (size_t)d * 3 <= strlen(cand)) {
            best_d = d;
            best = cand;
        }
    }
    *out = '\0';
    if (best)
        snprintf(out, cap, "; did you mean '%s'?", best);
    else if (prefixes == 1)
        snprintf(out, cap, "; did you mean '%s'?", prefix_of[0]);
    else if (prefixes == 2)
        snprintf(out, cap, "; did you mean '%s' or '%s'?", prefix_of[0], prefix_of[1]);
}

/* Stores value v of option o; prints why not and returns 0. */
static int store(const gf_cmd_spec *spec, gf_opt *o, const char *v)
{
    char msg[512];
    char *end;
    switch (o->kind) {
    case GF_OPT_FLAG:
        *(int *)o->ptr = 1;
        return 1;
    case GF_OPT_STRING:
        if (!*v) {
            gf_opts_usage_error(spec, "%s needs a value, got ''", o->name);
            return 0;
        }
        *(const char **)o->ptr = v;
        return 1;
    case GF_OPT_CHOICE: {
        size_t n = strlen(v);
        for (const char *c = o->choices; *c;) {
            size_t len = strcspn(c, "|");
            if (len == n && !strncmp(c, v, n)) {
                *(const char **)o->ptr = v;
                return 1;
            }
            c += len + (c[len] == '|');
        }
        /* "expected 'a', 'b' or 'c'" */
        size_t at = 0;
        for (const char *c = o->choices; *c && at < sizeof msg;) {
            size_t len = strcspn(c, "|");
            const char *sep = at == 0 ? "" : c[len] ? ", " : " or ";
            at += (size_t)snprintf(msg + at, sizeof msg - at, "%s'%.*s'", sep, (int)len, c);
            c += len + (c[len] == '|');
        }
        gf_opts_usage_error(spec, "unknown %s '%s': expected %s", o->name, v, msg);
        return 0;
    }
    case GF_OPT_INT: {
        errno = 0;
        long long x = strtoll(v, &end, 10);
        if (end == v || *end) {
            gf_opts_usage_error(spec, "%s: '%s' is not an integer", o->name, v);
            return 0;
        }
        if (errno || x < o->lo || x > o->hi) {
            gf_opts_usage_error(spec, "%s: %s is out of range: expected an integer from %lld to %lld", o->name, v,
                                (long long)o->lo, (long long)o->hi);
            return 0;
        }
        *(int64_t *)o->ptr = x;
        return 1;
    }
    case GF_OPT_FLOAT: {
        errno = 0;
        double x = strtod(v, &end);
        if (end == v || *end || isnan(x)) {
            gf_opts_usage_error(spec, "%s: '%s' is not a number", o->name, v);
            return 0;
        }
        if (errno || !isfinite(x) || x <= o->min || x > o->max) {
            gf_opts_usage_error(spec, "%s: %s is out of range: expected a number above %g and at most %g", o->name,
                                v, o->min, o->max);
            return 0;
        }
        *(float *)o->ptr = (float)x;
        return 1;
    }
    }
    return 0;
}

int gf_opts_parse(gf_cmd_spec *spec, int argc, char **argv, const char **pos, int *n_pos)
{
    *n_pos = 0;
    int only_positional = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (only_positional || a[0] != '-' || !a[1]) {
            pos[(*n_pos)++] = a;
            continue;
        }
        if (!strcmp(a, "--")) {
            only_positional = 1;
            continue;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            gf_opts_help(stdout, spec);
            return GF_EXIT_OK;
        }
        /* --name=value: the name is what comes before the first '='. */
        char name[128];
        const char *eq = a[1] == '-' ? strchr(a, '=') : NULL, *value = NULL;
        size_t len = eq ? (size_t)(eq - a) : strlen(a);
        snprintf(name, sizeof name, "%.*s", (int)(len < sizeof name ? len : sizeof name - 1), a);
        gf_opt *o = gf_opts_find(spec, name);
        if (!o) {
            char what[256];
            snprintf(what, sizeof what, "unknown option '%s'", name);
            char detail[300];
            did_you_mean(spec, name, detail, sizeof detail);
            return parse_error(spec, what, detail);
        }
        if (o->kind == GF_OPT_FLAG) {
            if (eq) {
                gf_opts_usage_error(spec, "%s takes no value, got '%s'", o->name, a);
                return GF_EXIT_USAGE;
            }
        } else if (eq) {
            value = eq + 1;
        } else {
            /* The next argument is the value, unless there is none or it is
             * itself an option (give --data=--odd-name for such a value). */
            const char *next = i + 1 < argc ? argv[i + 1] : NULL;
            if (!next || (next[0] == '-' && next[1] == '-' && next[2])) {
                char what[160];
                snprintf(what, sizeof what, "%s needs a value", o->name);
                return parse_error(spec, what, NULL);
            }
            value = next;
            i++;
        }
        if (!store(spec, o, value)) return GF_EXIT_USAGE;
        o->given = 1;
    }
    return GF_OPTS_CONTINUE;
}

/* Writes text, each line indented by indent spaces (the first by first). */
static void indented(FILE *f, const char *text, int first, int indent)
{
    int pad = first;
    while (*text) {
        size_t len = strcspn(text, "\n");
        fprintf(f, "%*s%.*s\n", pad, "", (int)len, text);
        text += len + (text[len] == '\n');
        pad = indent;
    }
}

void gf_opts_help(FILE *f, const gf_cmd_spec *spec)
{
    const char *s = spec->synopsis;
    for (int first = 1; *s; first = 0) {
        size_t len = strcspn(s, "\n");
        fprintf(f, "%s%.*s\n", first ? "usage: " : "       ", (int)len, s);
        s += len + (s[len] == '\n');
    }
    if (spec->intro && *spec->intro) fprintf(f, "\n%s", spec->intro);
    fprintf(f, "\nOptions:\n");
    for (int i = 0; i <= spec->n_opts; i++) {
        const gf_opt *o = i < spec->n_opts ? &spec->opts[i] : NULL;
        char label[128];
        if (o)
            snprintf(label, sizeof label, "%s%s%s%s%s", o->alias ? o->alias : "", o->alias ? ", " : "", o->name,
                     o->arg ? " " : "", o->arg ? o->arg : "");
        else
            snprintf(label, sizeof label, "-h, --help");
        const char *help = o ? o->help : "this help";
        int used = 2 + (int)strlen(label);
        fprintf(f, "  %s", label);
        if (used + 1 <= HELP_COLUMN) {
            indented(f, help, HELP_COLUMN - used, HELP_COLUMN);
        } else {
            fputc('\n', f);
            indented(f, help, HELP_COLUMN, HELP_COLUMN);
        }
    }
    if (spec->epilog && *spec->epilog) fprintf(f, "\n%s", spec->epilog);
}

int gf_opts_parse_file(gf_cmd_spec *spec, int argc, char **argv, const char **file)
{
    const char **pos = calloc((size_t)argc + 1, sizeof *pos);
    int n_pos = 0;
    *file = NULL;
    if (!pos) return GF_EXIT_FAIL;
    int parsed = gf_opts_parse(spec, argc, argv, pos, &n_pos);
    const char *first = n_pos > 0 ? pos[0] : NULL, *second = n_pos > 1 ? pos[1] : NULL;
    free(pos);
    if (parsed != GF_OPTS_CONTINUE) return parsed;
    if (second) return gf_opts_usage_error(spec, "one FILE expected, got '%s' and '%s'", first, second);
    *file = first;
    return GF_OPTS_CONTINUE;
}

int gf_opts_parse_only(gf_cmd_spec *spec, int argc, char **argv)
{
    const char **pos = calloc((size_t)argc + 1, sizeof *pos);
    int n_pos = 0;
    if (!pos) return GF_EXIT_FAIL;
    int parsed = gf_opts_parse(spec, argc, argv, pos, &n_pos);
    const char *extra = n_pos ? pos[0] : NULL;
    free(pos);
    if (parsed != GF_OPTS_CONTINUE) return parsed;
    if (extra)
        return gf_opts_usage_error(spec, "unexpected argument '%s' (%s takes only options)", extra, spec->name);
    return GF_OPTS_CONTINUE;
}
