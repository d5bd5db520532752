/* test_docs_api.c — checks docs/api.md against include/gradflow.h, so the
 * reference cannot drift from the header.
 *
 * The rules (simple string scanning, no C parser):
 * - A header function is any `gf_...(` outside comments and preprocessor
 *   lines, except `gf_...(*` (a function pointer's return type); its declaration runs from the previous ';', '{' or '}' to the
 *   next ';', whitespace collapsed. Its section is the last boxed title
 *   ("/ * ---- * /" then "/ * Title * /") and its subsection the last
 *   "/ * --- Title ---" above it.
 * - A docs entry is a line "- `SIGNATURE;` — text" outside code fences,
 *   under the "## Section" and "### Subsection" headings it follows.
 * - Each header function has exactly one entry, with the same signature,
 *   the same section and subsection, and a description; each entry is a
 *   header function; every `gf_...(` anywhere in api.md names one.
 */
#include "testutil.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIG_MAX 512
#define TITLE_MAX 128

typedef struct api_fn {
    char name[64];
    char sig[SIG_MAX];
    char section[TITLE_MAX], subsection[TITLE_MAX];
    int line;
    int matches;  /* entries naming it (header side) */
} api_fn;

typedef struct fn_list {
    api_fn *v;
    int n, cap;
} fn_list;

typedef struct report {
    char *text;
    size_t len, cap;
    int problems;
} report;

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len - 1 == 0) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) { free(buf); buf = NULL; break; }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf) buf[len] = '\0';
    return buf;
}

static void problem(report *r, const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    size_t add = strlen(line) + 2;
    if (r->len + add + 1 > r->cap) {
        size_t cap = (r->cap ? r->cap * 2 : 4096) + add;
        char *t = realloc(r->text, cap);
        assert_non_null(t);
        r->text = t;
        r->cap = cap;
    }
    r->len += (size_t)snprintf(r->text + r->len, r->cap - r->len, "%s\n", line);
    r->problems++;
}

static api_fn *fn_add(fn_list *l)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->v = realloc(l->v, (size_t)l->cap * sizeof *l->v);
        assert_non_null(l->v);
    }
    api_fn *f = &l->v[l->n++];
    memset(f, 0, sizeof *f);
    return f;
}

static api_fn *fn_find(fn_list *l, const char *name)
{
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->v[i].name, name) == 0) return &l->v[i];
    return NULL;
}

static int is_ident(int c) { return isalnum((unsigned char)c) || c == '_'; }

/* Copies [s, s+n) with whitespace collapsed to one space, no space after
 * '(' or before ')', ',' and ';', trimmed. */
static void normalise(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    int space = 0;
    for (size_t i = 0; i < n && o + 1 < cap; i++) {
        char c = s[i];
        if (isspace((unsigned char)c)) { space = 1; continue; }
        if (space && o > 0 && out[o - 1] != '(' && c != ')' && c != ',' && c != ';')
            out[o++] = ' ';
        space = 0;
        if (o + 1 < cap) out[o++] = c;
    }
    out[o] = '\0';
}

static void copy_title(char *dst, const char *s, size_t n)
{
    while (n > 0 && isspace((unsigned char)*s)) s++, n--;
    while (n > 0 && isspace((unsigned char)s[n - 1])) n--;
    if (n >= TITLE_MAX) n = TITLE_MAX - 1;
    memcpy(dst, s, n);
    dst[n] = '\0';
}

/* The header's text with comments, string literals' insides and
 * preprocessor lines blanked to spaces (newlines kept, so offsets and line
 * numbers agree with the original). */
static char *blank_noncode(const char *src)
{
    size_t n = strlen(src);
    char *c = malloc(n + 1);
    assert_non_null(c);
    memcpy(c, src, n + 1);
    int line_start = 1;
    for (size_t i = 0; i < n;) {
        if (line_start) {
            size_t j = i;
            while (j < n && (c[j] == ' ' || c[j] == '\t')) j++;
            if (j < n && c[j] == '#') {
                while (j < n && !(c[j] == '\n' && c[j - 1] != '\\')) c[j++] = ' ';
                i = j;
                continue;
            }
        }
        line_start = 0;
        if (c[i] == '/' && i + 1 < n && c[i + 1] == '*') {
            size_t j = i + 2;
            while (j + 1 < n && !(c[j] == '*' && c[j + 1] == '/')) j++;
            size_t end = j + 1 < n ? j + 2 : n;
            for (size_t k = i; k < end; k++) if (c[k] != '\n') c[k] = ' ';
            i = end;
        } else if (c[i] == '/' && i + 1 < n && c[i + 1] == '/') {
            while (i < n && c[i] != '\n') c[i++] = ' ';
        } else if (c[i] == '"' || c[i] == '\'') {
            char q = c[i++];
            while (i < n && c[i] != q && c[i] != '\n') {
                if (c[i] == '\\' && i + 1 < n) c[i++] = ' ';
                c[i++] = ' ';
            }
            if (i < n) i++;
        } else {
            if (c[i] == '\n') line_start = 1;
            i++;
        }
    }
    return c;
}

/* Section titles per line of the header: sec[l], sub[l] for line l (1-based). */
static void header_sections(const char *h, int lines, char (*sec)[TITLE_MAX], char (*sub)[TITLE_MAX])
{
    const char *p = h;
    int prev_rule = 0;
    char cur_sec[TITLE_MAX] = "", cur_sub[TITLE_MAX] = "";
    for (int l = 1; l <= lines && *p; l++) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        const char *s = p;
        while (len > 0 && isspace((unsigned char)*s)) s++, len--;
        while (len > 0 && isspace((unsigned char)s[len - 1])) len--;
        int rule = len > 8 && strncmp(s, "/* ---", 6) == 0 && strncmp(s + len - 2, "*/", 2) == 0;
        for (size_t k = 3; rule && k < len - 3; k++) if (s[k] != '-') rule = 0;
        if (!rule && prev_rule && len > 5 && strncmp(s, "/* ", 3) == 0 &&
            strncmp(s + len - 2, "*/", 2) == 0) {
            copy_title(cur_sec, s + 3, len - 5);
            cur_sub[0] = '\0';
        } else if (!rule && len > 7 && strncmp(s, "/* --- ", 7) == 0) {
            const char *t = s + 7, *end = s + len;
            const char *d = strstr(t, " --");
            if (d && d < end) end = d;
            copy_title(cur_sub, t, (size_t)(end - t));
        }
        prev_rule = rule;
        strcpy(sec[l], cur_sec);
        strcpy(sub[l], cur_sub);
        p = e ? e + 1 : p + strlen(p);
    }
}

static int count_lines(const char *s)
{
    int n = 1;
    for (; *s; s++) if (*s == '\n') n++;
    return n;
}

static void parse_header(const char *h, fn_list *out)
{
    int lines = count_lines(h);
    char (*sec)[TITLE_MAX] = calloc((size_t)lines + 2, TITLE_MAX);
    char (*sub)[TITLE_MAX] = calloc((size_t)lines + 2, TITLE_MAX);
    assert_true(sec && sub);
    header_sections(h, lines, sec, sub);
    char *c = blank_noncode(h);
    int line = 1;
    for (size_t i = 0; c[i]; i++) {
        if (c[i] == '\n') { line++; continue; }
        if (strncmp(c + i, "gf_", 3) != 0 || (i > 0 && is_ident(c[i - 1]))) continue;
        size_t j = i;
        while (is_ident(c[j])) j++;
        size_t k = j;
        while (isspace((unsigned char)c[k])) k++;
        size_t after = k + 1; /* "gf_status (*fn)(...)": a function pointer's return type */
        while (c[k] == '(' && isspace((unsigned char)c[after])) after++;
        if (c[k] != '(' || c[after] == '*') { i = j - 1; continue; }
        size_t start = i;
        while (start > 0 && c[start - 1] != ';' && c[start - 1] != '{' && c[start - 1] != '}') start--;
        const char *semi = strchr(c + k, ';');
        size_t end = semi ? (size_t)(semi - c) + 1 : strlen(c);
        api_fn *f = fn_add(out);
        size_t nl = j - i < sizeof f->name ? j - i : sizeof f->name - 1;
        memcpy(f->name, c + i, nl);
        normalise(c + start, end - start, f->sig, sizeof f->sig);
        f->line = line;
        strcpy(f->section, sec[line]);
        strcpy(f->subsection, sub[line]);
        for (size_t m = j; m < end; m++) if (c[m] == '\n') line++;
        i = end - 1;
    }
    free(c);
    free(sec);
    free(sub);
}

/* Entries of api.md, and every gf_...( mentioned anywhere in it. */
static void parse_docs(const char *md, fn_list *entries, fn_list *mentions, report *r)
{
    char cur_sec[TITLE_MAX] = "", cur_sub[TITLE_MAX] = "";
    int fence = 0, line = 0;
    for (const char *p = md; *p;) {
        line++;
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        for (size_t i = 0; i + 3 < len; i++) {
            if (strncmp(p + i, "gf_", 3) != 0 || (i > 0 && is_ident(p[i - 1]))) continue;
            size_t j = i;
            while (j < len && is_ident(p[j])) j++;
            if (j < len && p[j] == '(') {
                api_fn *m = fn_add(mentions);
                size_t nl = j - i < sizeof m->name ? j - i : sizeof m->name - 1;
                memcpy(m->name, p + i, nl);
                m->line = line;
            }
            i = j;
        }
        if (len >= 3 && strncmp(p, "```", 3) == 0) {
            fence = !fence;
        } else if (!fence && strncmp(p, "## ", 3) == 0) {
            copy_title(cur_sec, p + 3, len - 3);
            cur_sub[0] = '\0';
        } else if (!fence && strncmp(p, "### ", 4) == 0) {
            copy_title(cur_sub, p + 4, len - 4);
        } else if (!fence && strncmp(p, "- `", 3) == 0) {
            const char *span = p + 3;
            const char *close = memchr(span, '`', len - 3);
            const char *paren = close ? memchr(span, '(', (size_t)(close - span)) : NULL;
            if (paren) {
                const char *n1 = paren;
                while (n1 > span && isspace((unsigned char)n1[-1])) n1--;
                const char *n0 = n1;
                while (n0 > span && is_ident(n0[-1])) n0--;
                if (n1 - n0 > 3 && strncmp(n0, "gf_", 3) == 0) {
                    api_fn *f = fn_add(entries);
                    size_t nl = (size_t)(n1 - n0) < sizeof f->name ? (size_t)(n1 - n0) : sizeof f->name - 1;
                    memcpy(f->name, n0, nl);
                    normalise(span, (size_t)(close - span), f->sig, sizeof f->sig);
                    strcpy(f->section, cur_sec);
                    strcpy(f->subsection, cur_sub);
                    f->line = line;
                    const char *d = close + 1, *dend = p + len;
                    while (d < dend && (isspace((unsigned char)*d) || *d == '-' ||
                                        (unsigned char)*d >= 0x80)) d++; /* " — " */
                    if (dend - d < 10)
                        problem(r, "docs/api.md:%d: %s has no description after its signature",
                                line, f->name);
                }
            }
        }
        p = e ? e + 1 : p + len;
    }
}

/* Compares; returns the number of problems added to r. */
static int check_docs(const char *header, const char *md, report *r, int *n_functions)
{
    fn_list decls = { 0 }, entries = { 0 }, mentions = { 0 };
    int before = r->problems;
    parse_header(header, &decls);
    parse_docs(md, &entries, &mentions, r);
    *n_functions = decls.n;

    for (int i = 0; i < decls.n; i++) {
        api_fn *d = &decls.v[i];
        if (fn_find(&decls, d->name) != d)
            problem(r, "include/gradflow.h:%d: %s is declared twice", d->line, d->name);
    }
    for (int i = 0; i < entries.n; i++) {
        api_fn *e = &entries.v[i];
        api_fn *d = fn_find(&decls, e->name);
        if (!d) {
            problem(r, "docs/api.md:%d: documents %s, which include/gradflow.h does not declare",
                    e->line, e->name);
            continue;
        }
        if (++d->matches > 1)
            problem(r, "docs/api.md:%d: %s is documented a second time", e->line, e->name);
        if (strcmp(e->sig, d->sig) != 0)
            problem(r, "docs/api.md:%d: %s's signature is\n    `%s`\n  but include/gradflow.h:%d declares\n    `%s`",
                    e->line, e->name, e->sig, d->line, d->sig);
        if (strcmp(e->section, d->section) != 0 || strcmp(e->subsection, d->subsection) != 0) {
            char where[2 * TITLE_MAX + 32];
            if (d->subsection[0])
                snprintf(where, sizeof where, "\"## %s\" then \"### %s\"", d->section, d->subsection);
            else
                snprintf(where, sizeof where, "\"## %s\"", d->section);
            problem(r, "docs/api.md:%d: %s is under \"%s%s%s\", but the header has it under \"%s%s%s\""
                       " (move it below %s)",
                    e->line, e->name, e->section, e->subsection[0] ? " / " : "", e->subsection,
                    d->section, d->subsection[0] ? " / " : "", d->subsection, where);
        }
    }
    for (int i = 0; i < decls.n; i++) {
        api_fn *d = &decls.v[i];
        if (!d->matches && fn_find(&decls, d->name) == d)
            problem(r, "include/gradflow.h:%d: %s (section \"%s%s%s\") has no entry in docs/api.md;"
                       " add a line\n    - `%s` — what it does, who owns what.",
                    d->line, d->name, d->section, d->subsection[0] ? " / " : "", d->subsection, d->sig);
    }
    for (int i = 0; i < mentions.n; i++)
        if (!fn_find(&decls, mentions.v[i].name))
            problem(r, "docs/api.md:%d: mentions %s(), which include/gradflow.h does not declare",
                    mentions.v[i].line, mentions.v[i].name);
    free(decls.v);
    free(entries.v);
    free(mentions.v);
    return r->problems - before;
}

/* print_message line by line (cmocka truncates long messages). */
static void print_lines(const char *text)
{
    for (const char *p = text; p && *p;) {
        const char *e = strchr(p, '\n');
        int n = e ? (int)(e - p) : (int)strlen(p);
        print_message("%.*s\n", n, p);
        p = e ? e + 1 : p + n;
    }
}

static void test_api_md_matches_header(void **state)
{
    (void)state;
    char *header = read_all(GF_SOURCE_DIR "/include/gradflow.h");
    char *md = read_all(GF_SOURCE_DIR "/docs/api.md");
    assert_non_null(header);
    assert_non_null(md);
    report r = { 0 };
    int n_functions = 0;
    int problems = check_docs(header, md, &r, &n_functions);
    print_message("include/gradflow.h declares %d gf_ functions\n", n_functions);
    if (problems) {
        print_message("%d problem(s) between include/gradflow.h and docs/api.md:\n", problems);
        print_lines(r.text);
    }
    assert_true(n_functions >= 50); /* the scanner found the API */
    assert_int_equal(problems, 0);
    free(r.text);
    free(header);
    free(md);
}

/* The checker itself: each kind of drift is reported. */
static void test_checker_reports_drift(void **state)
{
    (void)state;
    static const char header[] =
        "/* intro: gf_not_a_function(x) in a comment */\n"
        "#define GF_X(a) gf_macro(a)\n"
        "/* ------------------------------------------------------------------ */\n"
        "/* Things                                                             */\n"
        "/* ------------------------------------------------------------------ */\n"
        "typedef struct gf_thing gf_thing;\n"
        "int gf_one(int a,\n"
        "           int b);\n"
        "/* --- Parts ----------------------------------------------------- */\n"
        "void gf_two(gf_thing *t);\n"
        "void gf_three(void);\n"
        "void gf_four(void);\n";
    static const char md[] =
        "# x\n"
        "Mentions gf_one() and gf_ghost().\n"
        "## Things\n"
        "- `int gf_one(int a, int b);` — Adds, and is documented.\n"
        "```c\n"
        "- `void gf_in_code(void);` — not an entry: inside a fence.\n"
        "```\n"
        "### Parts\n"
        "- `void gf_two(gf_thing *thing);` — The parameter's name differs.\n"
        "- `void gf_extra(void);` — Not in the header at all.\n"
        "## Elsewhere\n"
        "- `void gf_three(void);` — Under the wrong section.\n"
        "- `void gf_one(int a, int b);` — \n";
    report r = { 0 };
    int n = 0;
    int problems = check_docs(header, md, &r, &n);
    print_lines(r.text);
    assert_int_equal(n, 4);
    const char *want[] = {
        "gf_ghost(), which include/gradflow.h does not declare",
        "gf_in_code(), which include/gradflow.h does not declare",
        "gf_two's signature is",
        "documents gf_extra, which include/gradflow.h does not declare",
        "gf_three is under \"Elsewhere\", but the header has it under \"Things / Parts\"",
        "gf_one is documented a second time",
        "gf_one has no description",
        "gf_four (section \"Things / Parts\") has no entry",
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        if (!strstr(r.text, want[i])) fail_msg("the checker did not report: %s", want[i]);
    /* 3 mentions, gf_two, gf_extra, gf_three, gf_four, and the second gf_one
     * four times (second, signature, section, description). */
    assert_int_equal(problems, 11);
    free(r.text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checker_reports_drift),
        cmocka_unit_test(test_api_md_matches_header),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
