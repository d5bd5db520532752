/*
 * csv.c — reads a CSV file of numbers ("label, pixel0, pixel1, ..." and the
 * like) into a features tensor [rows, fields-1] and a labels tensor [rows].
 */
/* Streaming: the text goes through one line buffer (a chunk, grown only
 * for a line longer than it), each complete line is parsed in place and
 * appended to the growing float arrays, so that a 2 GB file costs its
 * floats and its longest line, never a copy of the text. Plain or gzip
 * (source.c). Errors are "PATH:LINE:COLUMN: what", LINE and COLUMN from 1,
 * COLUMN counting bytes. Numbers: [+-]digits[.digits][e[+-]digits], nan and
 * inf; up to 19 significant digits they convert exactly (Clinger's fast
 * path) or through strtod of a rebuilt "Me±E" (no '.', so the locale's
 * decimal point never matters). Labels must be class indices (integers
 * from 0, below 2^24), checked here so that the message names the line. */
#include "data/data.h"

#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

typedef struct csv {
    gf__src src;
    const char *path;
    gf_error *err;
    char delim;
    int header;        /* 0 detect, 1 yes, -1 no */
    int label_opt, no_labels;
    float divisor;
    char *buf;         /* the line buffer: text [start, end) not parsed yet */
    size_t cap, start, end;
    int eof;
    int64_t line;      /* of the line being parsed */
    int64_t ncols;     /* fields per row; -1 before the first row */
    int64_t label;     /* the label's field index, or -1 */
    int64_t width_line;/* the line that set ncols */
    int width_header;  /* ... and whether it was the header */
    float *x, *y;      /* features rows*(ncols-1 or ncols), labels rows */
    int64_t xcap, ycap, rows;
} csv;

typedef struct field {
    const char *s;     /* the text, quotes removed (an escaped "" stays doubled) */
    size_t len;
    size_t col;        /* byte column from 1 */
    bool quoted;
} field;

static gf_status fail_at(csv *c, size_t col, gf_status code, const char *fmt, ...) GF_PRINTF(4, 5);
static gf_status fail_at(csv *c, size_t col, gf_status code, const char *fmt, ...)
{
    char what[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return gf__error_set(c->err, code, "%s:%lld:%zu: %s", c->path, (long long)c->line, col, what);
}

/* A field's text for a message: up to 24 bytes, unprintables as '?'. */
static const char *shown(const field *f, char *out, size_t cap)
{
    size_t n = f->len < 24 ? f->len : 24, k = 0;
    for (size_t i = 0; i < n && k + 4 < cap; i++) {
        unsigned char ch = (unsigned char)f->s[i];
        out[k++] = ch >= 32 && ch < 127 ? (char)ch : '?';
    }
    if (f->len > n && k + 4 < cap) {
        memcpy(out + k, "...", 3);
        k += 3;
    }
    out[k] = '\0';
    return out;
}

static bool is_blank(char ch) { return ch == ' ' || ch == '\t'; }

/* Splits the next field off [p, end) (a line without its newline). Returns
 * the position after the field's delimiter, end when it was the last one,
 * or NULL with an error (a quote left open; text after a closing quote). */
static const char *next_field(csv *c, const char *line, const char *p, const char *end, field *f,
                              bool *last)
{
    const char d = c->delim;
    while (p < end && is_blank(*p) && *p != d) p++;
    f->col = (size_t)(p - line) + 1;
    f->quoted = p < end && *p == '"';
    if (f->quoted) {
        const char *q = ++p;
        for (;;) {
            const char *close = memchr(q, '"', (size_t)(end - q));
            if (!close) {
                fail_at(c, f->col, GF_ERR_FORMAT,
                        "a quoted field is not closed before the end of the line (a field "
                        "cannot span lines)");
                return NULL;
            }
            if (close + 1 < end && close[1] == '"') {
                q = close + 2; /* "" inside quotes */
                continue;
            }
            f->s = p;
            f->len = (size_t)(close - p);
            p = close + 1;
            break;
        }
        while (p < end && is_blank(*p) && *p != d) p++;
        if (p < end && *p != d) {
            fail_at(c, (size_t)(p - line) + 1, GF_ERR_FORMAT,
                    "unexpected '%c' after a quoted field (expected the delimiter)",
                    isprint((unsigned char)*p) ? *p : '?');
            return NULL;
        }
    } else {
        /* p <= end here; said to the compiler too (a TSan build's -O1
         * otherwise warns of a negative bound). */
        size_t left = p < end ? (size_t)(end - p) : 0;
        const char *stop = left ? memchr(p, d, left) : NULL;
        if (!stop) stop = end;
        const char *e = stop;
        while (e > p && is_blank(e[-1]) && e[-1] != d) e--;
        f->s = p;
        f->len = (size_t)(e - p);
        p = stop;
    }
    *last = p >= end;
    return *last ? end : p + 1;
}

static const double pow10_exact[23] = { 1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                        1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                        1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22 };

static bool word_is(const char *s, size_t len, const char *w)
{
    size_t n = strlen(w);
    if (len != n) return false;
    for (size_t i = 0; i < n; i++)
        if (tolower((unsigned char)s[i]) != w[i]) return false;
    return true;
}

/* The number a field holds, as numpy's loadtxt reads it (a double, then
 * rounded to float). false when it is not one. */
static bool parse_number(const char *s, size_t len, float *out)
{
    size_t i = 0;
    bool neg = false;
    if (i < len && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
    if (word_is(s + i, len - i, "nan")) {
        *out = neg ? -NAN : NAN;
        return true;
    }
    if (word_is(s + i, len - i, "inf") || word_is(s + i, len - i, "infinity")) {
        *out = neg ? -INFINITY : INFINITY;
        return true;
    }
    uint64_t m = 0;
    int digits = 0;
    long exp10 = 0;
    bool any = false, dropped = false;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        any = true;
        if (digits < 19) {
            m = m * 10 + (uint64_t)(s[i] - '0');
            if (m) digits++;
        } else {
            exp10++;
            dropped |= s[i] != '0';
        }
    }
    if (i < len && s[i] == '.') {
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
            any = true;
            if (digits < 19) {
                m = m * 10 + (uint64_t)(s[i] - '0');
                if (m) digits++;
                exp10--;
            } else {
                dropped |= s[i] != '0';
            }
        }
    }
    if (!any) return false;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        bool eneg = false;
        if (i < len && (s[i] == '+' || s[i] == '-')) eneg = s[i++] == '-';
        if (i >= len || s[i] < '0' || s[i] > '9') return false;
        long e = 0;
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
            if (e < 1000000) e = e * 10 + (s[i] - '0');
        exp10 += eneg ? -e : e;
    }
    if (i != len) return false;
    double v;
    if (m == 0) {
        v = 0.0;
    } else if (!dropped && m < ((uint64_t)1 << 53) && exp10 >= -22 && exp10 <= 22) {
        v = exp10 < 0 ? (double)m / pow10_exact[-exp10] : (double)m * pow10_exact[exp10];
    } else {
        /* The 19 significant digits kept, exactly rounded by the C library. */
        char tmp[48];
        if (exp10 > 100000) exp10 = 100000;
        if (exp10 < -100000) exp10 = -100000;
        snprintf(tmp, sizeof tmp, "%llue%ld", (unsigned long long)m, exp10);
        v = strtod(tmp, NULL);
    }
    *out = (float)(neg ? -v : v);
    return true;
}

/* Makes room for need floats in *p (capacity *cap, doubling). */
static bool grow(float **p, int64_t *cap, int64_t need)
{
    if (need <= *cap) return true;
    int64_t ncap = *cap ? *cap : 4096;
    while (ncap < need) ncap = ncap > INT64_MAX / 2 ? need : ncap * 2;
    if ((uint64_t)ncap > SIZE_MAX / sizeof(float)) return false;
    float *np = gf__realloc(*p, (size_t)ncap * sizeof(float));
    if (!np) return false;
    *p = np;
    *cap = ncap;
    return true;
}

/* Counts the fields of a line; with numbers, also whether each is one. */
static gf_status count_fields(csv *c, const char *line, const char *end, int64_t *n,
                              bool *all_numbers)
{
    const char *p = line;
    field f;
    bool last = false;
    *n = 0;
    *all_numbers = true;
    while (!last) {
        p = next_field(c, line, p, end, &f, &last);
        if (!p) return c->err ? c->err->code : GF_ERR_FORMAT;
        float v;
        if (!parse_number(f.s, f.len, &v)) *all_numbers = false;
        (*n)++;
    }
    return GF_OK;
}

static gf_status out_of_memory(csv *c)
{
    return gf__error_set(c->err, GF_ERR_NOMEM, "%s: out of memory at line %lld (%lld rows read)",
                         c->path, (long long)c->line, (long long)c->rows);
}

/* The first non-blank line: a header, or the first row. Sets the width. */
static gf_status first_line(csv *c, const char *line, const char *end, bool *is_header)
{
    int64_t n;
    bool numbers;
    gf_status st = count_fields(c, line, end, &n, &numbers);
    if (st != GF_OK) return st;
    *is_header = c->header == 1 || (c->header == 0 && !numbers);
    c->ncols = n;
    c->width_line = c->line;
    c->width_header = *is_header;
    if (c->no_labels) {
        c->label = -1;
        return GF_OK;
    }
    int64_t lc = c->label_opt >= 0 ? c->label_opt : n + c->label_opt;
    if (lc < 0 || lc >= n)
        return fail_at(c, 1, GF_ERR_ARG,
                       "label column %d is outside this line's %lld field%s (columns 0..%lld, or "
                       "-1..-%lld from the end)", c->label_opt, (long long)n, n == 1 ? "" : "s",
                       (long long)n - 1, (long long)n);
    if (n < 2)
        return fail_at(c, 1, GF_ERR_FORMAT,
                       "one field per line with the delimiter '%s': the label, and no features (another "
                       "delimiter? set no_labels for a file without labels)",
                       c->delim == '\t' ? "\\t" : (char[2]){ c->delim, 0 });
    c->label = lc;
    return GF_OK;
}

/* Parses one data row onto the arrays. */
static gf_status data_row(csv *c, const char *line, const char *end)
{
    int64_t nfeat = c->ncols - (c->label >= 0);
    if ((c->rows + 1) > INT64_MAX / (nfeat ? nfeat : 1) ||
        !grow(&c->x, &c->xcap, (c->rows + 1) * nfeat) ||
        (c->label >= 0 && !grow(&c->y, &c->ycap, c->rows + 1)))
        return out_of_memory(c);
    float *row = c->x + c->rows * nfeat;
    const char *p = line;
    field f;
    bool last = false;
    int64_t k = 0, at = 0;
    char s[40];
    while (!last) {
        p = next_field(c, line, p, end, &f, &last);
        if (!p) return c->err ? c->err->code : GF_ERR_FORMAT;
        if (k >= c->ncols)
            return fail_at(c, f.col, GF_ERR_FORMAT,
                           "more than %lld fields, the width of %s (line %lld)",
                           (long long)c->ncols, c->width_header ? "the header" : "the first row",
                           (long long)c->width_line);
        float v;
        if (f.len == 0)
            return fail_at(c, f.col, GF_ERR_FORMAT, "field %lld is empty (a missing value)",
                           (long long)k + 1);
        if (!parse_number(f.s, f.len, &v))
            return fail_at(c, f.col, GF_ERR_FORMAT, "field %lld, \"%s\", is not a number",
                           (long long)k + 1, shown(&f, s, sizeof s));
        if (k == c->label) {
            /* A class index, as gf_dataset_from_arrays takes it: an
             * integer from 0, exact in a float. */
            if (!(v >= 0.0f) || v != floorf(v))
                return fail_at(c, f.col, GF_ERR_FORMAT,
                               "label \"%s\" is not a class index (an integer from 0)",
                               shown(&f, s, sizeof s));
            if (v >= 16777216.0f)
                return fail_at(c, f.col, GF_ERR_FORMAT,
                               "label \"%s\" is not a class index (an integer from 0 to 16777215)",
                               shown(&f, s, sizeof s));
            c->y[c->rows] = v;
        } else {
            row[at++] = c->divisor != 1.0f ? v / c->divisor : v;
        }
        k++;
    }
    if (k < c->ncols)
        return fail_at(c, (size_t)(end - line) + 1, GF_ERR_FORMAT,
                       "%lld field%s, but %s (line %lld) has %lld", (long long)k,
                       k == 1 ? "" : "s", c->width_header ? "the header" : "the first row",
                       (long long)c->width_line, (long long)c->ncols);
    c->rows++;
    return GF_OK;
}

/* One line (without its newline, a final '\r' removed). */
static gf_status one_line(csv *c, const char *line, const char *end)
{
    if (end > line && end[-1] == '\r') end--;
    const char *p = line;
    while (p < end && (is_blank(*p) || *p == '\r')) p++;
    if (p == end) return GF_OK; /* blank */
    if (c->ncols < 0) {
        bool header;
        gf_status st = first_line(c, line, end, &header);
        if (st != GF_OK || header) return st;
    }
    return data_row(c, line, end);
}

/* Reads the whole source, line by line. */
static gf_status read_lines(csv *c)
{
    c->cap = GF_SRC_CHUNK;
    c->buf = gf__malloc(c->cap);
    if (!c->buf) return out_of_memory(c);
    c->line = 1;
    bool first_chunk = true;
    for (;;) {
        /* Parse every complete line held. */
        while (c->start < c->end) {
            char *s = c->buf + c->start;
            char *nl = memchr(s, '\n', c->end - c->start);
            if (!nl) break;
            gf_status st = one_line(c, s, nl);
            if (st != GF_OK) return st;
            c->line++;
            c->start = (size_t)(nl - c->buf) + 1;
        }
        if (c->eof) break;
        /* Keep the partial line, at the front; grow for a long one. */
        if (c->start > 0) {
            memmove(c->buf, c->buf + c->start, c->end - c->start);
            c->end -= c->start;
            c->start = 0;
        }
        if (c->end == c->cap) {
            if (c->cap > SIZE_MAX / 2) return out_of_memory(c);
            char *nb = gf__realloc(c->buf, c->cap * 2);
            if (!nb) return out_of_memory(c);
            c->buf = nb;
            c->cap *= 2;
        }
        int64_t r = gf__src_read(&c->src, c->buf + c->end, (int64_t)(c->cap - c->end));
        if (r < 0) return c->src.st;
        if (first_chunk && r >= 3 && memcmp(c->buf, "\xEF\xBB\xBF", 3) == 0) {
            c->start = 3; /* a UTF-8 byte order mark */
        }
        first_chunk = false;
        c->end += (size_t)r;
        if (r == 0) {
            c->eof = 1;
            if (c->start < c->end) { /* a last line without a newline */
                gf_status st = one_line(c, c->buf + c->start, c->buf + c->end);
                if (st != GF_OK) return st;
            }
            break;
        }
    }
    return GF_OK;
}

/* A new tensor over data (taken over), of n floats (capacity cap). */
static gf_tensor *tensor_over(float *data, int64_t cap, gf_shape shape)
{
    gf_tensor *t = gf__calloc(1, sizeof *t);
    if (!t) return NULL;
    t->dtype = GF_F32;
    t->shape = shape;
    t->data = data;
    t->capacity = cap;
    return t;
}

/* Gives back the unused end of an array (a failure keeps it whole). */
static void shrink(float **p, int64_t *cap, int64_t n)
{
    if (n <= 0 || n >= *cap) return;
    float *np = gf__realloc(*p, (size_t)n * sizeof(float));
    if (np) {
        *p = np;
        *cap = n;
    }
}

gf_status gf_csv_read(const char *path, const gf_csv_options *opt, gf_tensor **features,
                      gf_tensor **labels, gf_error *err)
{
    if (features) *features = NULL;
    if (labels) *labels = NULL;
    if (!path) return gf__error_set(err, GF_ERR_ARG, "gf_csv_read: path is NULL");
    if (!features) return gf__error_set(err, GF_ERR_ARG, "gf_csv_read: features is NULL");
    gf_csv_options o = opt ? *opt : (gf_csv_options){ 0 };
    if (!labels && !o.no_labels)
        return gf__error_set(err, GF_ERR_ARG,
                             "gf_csv_read: labels is NULL (set no_labels to read none)");
    char delim = o.delimiter ? o.delimiter : ',';
    if (delim == '"' || delim == '\n' || delim == '\r')
        return gf__error_set(err, GF_ERR_ARG, "gf_csv_read: the delimiter cannot be %s",
                             delim == '"' ? "'\"'" : "a line break");
    if (o.header < -1 || o.header > 1)
        return gf__error_set(err, GF_ERR_ARG,
                             "gf_csv_read: header %d: 0 (detect), 1 (a header) or -1 (none)",
                             o.header);
    if (!(o.divisor == 0.0f || isfinite(o.divisor)) || (o.divisor != 0.0f && o.divisor <= 0.0f))
        return gf__error_set(err, GF_ERR_ARG, "gf_csv_read: divisor %g is not a positive number",
                             (double)o.divisor);

    csv *c = gf__calloc(1, sizeof *c);
    if (!c) return gf__error_set(err, GF_ERR_NOMEM, "%s: out of memory", path);
    c->path = path;
    c->err = err;
    c->delim = delim;
    c->header = o.header;
    c->label_opt = o.label_column;
    c->no_labels = o.no_labels != 0;
    c->divisor = o.divisor != 0.0f ? o.divisor : 1.0f;
    c->ncols = -1;
    c->label = -1;
    gf_status st = gf__src_open(&c->src, path, "CSV file", err);
    if (st != GF_OK) {
        gf__free(c);
        return st;
    }
    st = read_lines(c);
    gf__src_close(&c->src);
    gf__free(c->buf);
    if (st == GF_OK && c->rows == 0)
        st = gf__error_set(err, GF_ERR_FORMAT, "%s: no data rows%s", path,
                           c->ncols < 0 ? " (only blank lines)" : " (only a header line)");
    int64_t nfeat = c->ncols - (c->label >= 0);
    gf_tensor *xt = NULL, *yt = NULL;
    if (st == GF_OK) {
        int64_t xd[2] = { c->rows, nfeat };
        shrink(&c->x, &c->xcap, c->rows * nfeat);
        shrink(&c->y, &c->ycap, c->rows);
        if (gf__shape_count_checked(gf_shape_from(2, xd)) < 0) {
            st = gf__error_set(err, GF_ERR_FORMAT, "%s: %lld rows of %lld features are too many "
                               "elements for a tensor", path, (long long)c->rows, (long long)nfeat);
        } else {
            xt = tensor_over(c->x, c->xcap, gf_shape_from(2, xd));
            if (xt) c->x = NULL;
            if (xt && c->label >= 0) {
                yt = tensor_over(c->y, c->ycap, gf_shape_from(1, xd));
                if (yt) c->y = NULL;
            }
            if (!xt || (c->label >= 0 && !yt)) {
                gf_tensor_free(xt);
                xt = NULL;
                st = gf__error_set(err, GF_ERR_NOMEM, "%s: out of memory", path);
            }
        }
    }
    gf__free(c->x);
    gf__free(c->y);
    gf__free(c);
    if (st != GF_OK) return st;
    *features = xt;
    if (labels) *labels = yt;
    return GF_OK;
}
