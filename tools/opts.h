/*
 * opts.h — the one option parser of every gradflow sub-command. A command
 * describes its options in a table (name, kind, help, where the value goes);
 * the parser reads `--opt value` and `--opt=value` alike, checks numbers and
 * choices, says what is wrong in one line, and prints the command's --help
 * from the same table, so the help cannot drift from what is parsed.
 */
#ifndef GF_OPTS_H
#define GF_OPTS_H

#include <stdint.h>
#include <stdio.h>

typedef enum gf_opt_kind {
    GF_OPT_FLAG,   /* no value; *(int *)ptr = 1 */
    GF_OPT_INT,    /* an integer in [lo, hi]; *(int64_t *)ptr */
    GF_OPT_FLOAT,  /* a finite number above min, at most max; *(float *)ptr */
    GF_OPT_STRING, /* any text; *(const char **)ptr */
    GF_OPT_CHOICE  /* one of choices ("a|b|c"); *(const char **)ptr */
} gf_opt_kind;

typedef struct gf_opt {
    const char *name;    /* "--steps", or a short one such as "-o" */
    gf_opt_kind kind;
    const char *arg;     /* what the value is called in the help ("N", "FILE") */
    const char *help;    /* lines separated by '\n' */
    void *ptr;
    int64_t lo, hi;      /* GF_OPT_INT */
    double min, max;     /* GF_OPT_FLOAT */
    const char *choices; /* GF_OPT_CHOICE: "article|softmax" */
    const char *alias;   /* another name for it ("-v"), or NULL */
    int given;           /* set by gf_opts_parse when the option was given */
} gf_opt;

typedef struct gf_cmd_spec {
    const char *name;     /* "train": messages say "gradflow train: ..." */
    const char *synopsis; /* after "usage: ", lines separated by '\n' */
    const char *intro;    /* the text between the usage and "Options:" */
    const char *epilog;   /* the text after the options (exit status, ...) */
    gf_opt *opts;
    int n_opts;
} gf_cmd_spec;

/* Table rows: GF_OPT_F("--json", "help", &json), GF_OPT_I("--steps", "N",
 * 0, 1000, "help", &steps), ... */
#define GF_OPT_F(n, h, p) { .name = (n), .kind = GF_OPT_FLAG, .help = (h), .ptr = (p) }
#define GF_OPT_I(n, a, l, u, h, p) \
    { .name = (n), .kind = GF_OPT_INT, .arg = (a), .lo = (l), .hi = (u), .help = (h), .ptr = (p) }
#define GF_OPT_X(n, a, l, u, h, p) \
    { .name = (n), .kind = GF_OPT_FLOAT, .arg = (a), .min = (l), .max = (u), .help = (h), .ptr = (p) }
#define GF_OPT_S(n, a, h, p) { .name = (n), .kind = GF_OPT_STRING, .arg = (a), .help = (h), .ptr = (p) }
#define GF_OPT_C(n, c, h, p) { .name = (n), .kind = GF_OPT_CHOICE, .arg = (c), .choices = (c), .help = (h), .ptr = (p) }
#define GF_OPTS_N(table) ((int)(sizeof(table) / sizeof(table)[0]))

#define GF_OPTS_CONTINUE (-1)

/* Parses argv[1..argc-1] against spec. Arguments that are not options (and
 * all after "--") are stored in pos (room for argc entries), their number in
 * *n_pos. Returns GF_OPTS_CONTINUE, or the exit status when the command must
 * stop: 0 after printing the help for -h/--help, 2 after printing a usage
 * error on stderr ("unknown option '--bogus'", "--steps needs a value",
 * "--steps: 'abc' is not an integer", ...). */
int gf_opts_parse(gf_cmd_spec *spec, int argc, char **argv, const char **pos, int *n_pos);

/* gf_opts_parse for a command of at most one argument, FILE: *file gets
 * it (an argv string), or NULL when none is given; a second argument is a
 * usage error ("one FILE expected, got 'a' and 'b'"). */
int gf_opts_parse_file(gf_cmd_spec *spec, int argc, char **argv, const char **file);

/* gf_opts_parse for a command that takes only options: an argument that is
 * not one is a usage error ("unexpected argument 'x' (train takes only
 * options)"). Returns GF_OPTS_CONTINUE or the exit status. */
int gf_opts_parse_only(gf_cmd_spec *spec, int argc, char **argv);

/* Prints the command's help: usage, intro, the options table, epilog. */
void gf_opts_help(FILE *f, const gf_cmd_spec *spec);

/* The option named name in spec (NULL if none); was it given? */
gf_opt *gf_opts_find(gf_cmd_spec *spec, const char *name);
int gf_opts_given(gf_cmd_spec *spec, const char *name);

/* Does file end in ext (".svg"), ignoring case, with a name before it? */
int gf_opts_has_ext(const char *file, const char *ext);

/* Prints "gradflow CMD: MESSAGE" on stderr, one line, and returns the
 * usage exit status, 2. */
int gf_opts_usage_error(const gf_cmd_spec *spec, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#endif
