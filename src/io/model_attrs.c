/*
 * model_attrs.c — the byte level of model files (model.h): little-endian
 * buffers and cursors, and a node's typed attributes, one key per gf_attrs
 * member ("reduce.axes", "window.stride_h", ...) plus the fields of
 * sources ("value", "init", "trainable"). docs/model-format.md lists them.
 */
#include "model.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

const unsigned char gf__model_magic[8] = { 'G', 'F', 'M', 'O', 'D', 'E', 'L', 0x00 };
const unsigned char gf__model_end_magic[8] = { 'G', 'F', 'M', 'E', 'N', 'D', 0x00, 0x00 };
const char *const gf__model_section_tags[GF_MODEL_SECTIONS] = { "META", "NODE", "SIGN", "VARS", "RAND" };

uint32_t gf__crc32(uint32_t crc, const unsigned char *p, uint64_t n)
{
    uLong c = crc;
    while (n > 0) {
        uInt chunk = n > (1u << 30) ? (1u << 30) : (uInt)n;
        c = crc32(c, p, chunk);
        p += chunk;
        n -= chunk;
    }
    return (uint32_t)c;
}

/* ---- buffers ---- */

void gf__buf_bytes(gf_buf *b, const void *p, size_t n)
{
    if (b->failed || n == 0) return;
    if (n > b->cap - b->n) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap - b->n < n) {
            if (cap > SIZE_MAX / 2) {
                b->failed = true;
                return;
            }
            cap *= 2;
        }
        unsigned char *q = gf__realloc(b->p, cap);
        if (!q) {
            b->failed = true;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->n, p, n);
    b->n += n;
}

void gf__buf_u8(gf_buf *b, unsigned v)
{
    unsigned char c = (unsigned char)v;
    gf__buf_bytes(b, &c, 1);
}

void gf__buf_u32(gf_buf *b, uint32_t v)
{
    unsigned char c[4];
    gf__put_u32(c, v);
    gf__buf_bytes(b, c, 4);
}

void gf__buf_u64(gf_buf *b, uint64_t v)
{
    unsigned char c[8];
    gf__put_u64(c, v);
    gf__buf_bytes(b, c, 8);
}

void gf__buf_f32(gf_buf *b, float v)
{
    uint32_t u;
    memcpy(&u, &v, 4);
    gf__buf_u32(b, u);
}

void gf__buf_str(gf_buf *b, const char *s)
{
    size_t n = strlen(s);
    gf__buf_u32(b, (uint32_t)n);
    gf__buf_bytes(b, s, n);
}

void gf__buf_free(gf_buf *b)
{
    gf__free(b->p);
    memset(b, 0, sizeof *b);
}

/* ---- cursors ---- */

bool gf__cur_skip(gf_cursor *c, uint64_t n, const unsigned char **p)
{
    if (n > c->n - c->at) return false;
    if (p) *p = c->p + c->at;
    c->at += (size_t)n;
    return true;
}

bool gf__cur_u8(gf_cursor *c, unsigned *v)
{
    const unsigned char *p;
    if (!gf__cur_skip(c, 1, &p)) return false;
    *v = p[0];
    return true;
}

bool gf__cur_u32(gf_cursor *c, uint32_t *v)
{
    const unsigned char *p;
    if (!gf__cur_skip(c, 4, &p)) return false;
    *v = gf__get_u32(p);
    return true;
}

bool gf__cur_u64(gf_cursor *c, uint64_t *v)
{
    const unsigned char *p;
    if (!gf__cur_skip(c, 8, &p)) return false;
    *v = gf__get_u64(p);
    return true;
}

bool gf__cur_f32(gf_cursor *c, float *v)
{
    uint32_t u;
    if (!gf__cur_u32(c, &u)) return false;
    memcpy(v, &u, 4);
    return true;
}

bool gf__cur_str(gf_cursor *c, size_t max, const unsigned char **s, uint32_t *len)
{
    size_t at = c->at;
    if (!gf__cur_u32(c, len)) return false;
    if (*len > max || !gf__cur_skip(c, *len, s)) {
        c->at = at;
        return false;
    }
    return true;
}

/* ---- the attribute table: one key per gf_attrs member ---- */

typedef struct attr_desc {
    const char *key;
    int type;          /* GF_MA_INT (an int or int64_t field), FLOAT, INTS, U64, STRING */
    size_t off, size;  /* the member in gf_attrs */
    size_t count_off;  /* GF_MA_INTS: the int member holding the count */
} attr_desc;

#define M(member) offsetof(gf_attrs, member), sizeof(((gf_attrs *)0)->member)
#define INT(key, member) { key, GF_MA_INT, M(member), 0 }
#define INTS(key, member, count) { key, GF_MA_INTS, M(member), offsetof(gf_attrs, count) }

/* Every member of gf_attrs (internal.h); a new member needs a row here, as
 * it needs a line in gf__attrs_equal (tests/test_model.c builds every op,
 * saves and loads it, and compares the attributes). */
static const attr_desc attr_table[] = {
    INTS("reduce.axes", reduce.axes, reduce.n_axes),
    INT("reduce.keepdims", reduce.keepdims),
    INT("reduce.mean_scale", reduce.mean_scale),
    INT("argmax.axis", argmax.axis),
    INTS("transpose.perm", transpose.perm, transpose.rank),
    INT("matmul.transpose_a", matmul.transpose_a),
    INT("matmul.transpose_b", matmul.transpose_b),
    { "cast.to", GF_MA_INT, M(cast.to), 0 },
    { "init.mean", GF_MA_FLOAT, M(init.mean), 0 },
    { "init.stddev", GF_MA_FLOAT, M(init.stddev), 0 },
    INT("broadcast_like.mode", broadcast_like.mode),
    INTS("broadcast_like.reduce.axes", broadcast_like.reduce.axes, broadcast_like.reduce.n_axes),
    INT("broadcast_like.reduce.keepdims", broadcast_like.reduce.keepdims),
    INT("broadcast_like.reduce.mean_scale", broadcast_like.reduce.mean_scale),
    INTS("reshape.dims", reshape.dims, reshape.rank),
    INT("concat.axis", concat.axis),
    INT("concat.back", concat.back),
    INT("rows.start", rows.start),
    INT("rows.count", rows.count),
    INT("rows.rows", rows.rows),
    INT("one_hot.depth", one_hot.depth),
    { "dropout.keep_prob", GF_MA_FLOAT, M(dropout.keep_prob), 0 },
    { "dropout.seed", GF_MA_U64, M(dropout.seed), 0 },
    { "check_numerics.text", GF_MA_STRING, M(check_numerics.text), 0 },
    INT("window.ksize_h", window.ksize_h),
    INT("window.ksize_w", window.ksize_w),
    INT("window.stride_h", window.stride_h),
    INT("window.stride_w", window.stride_w),
    INT("window.padding", window.padding),
    { "adam.beta1", GF_MA_FLOAT, M(adam.beta1), 0 },
    { "adam.beta2", GF_MA_FLOAT, M(adam.beta2), 0 },
    { "adam.epsilon", GF_MA_FLOAT, M(adam.epsilon), 0 },
};
#undef M
#undef INT
#undef INTS
enum { N_ATTRS = sizeof attr_table / sizeof attr_table[0] };

/* The keys of sources' fields, after the table's. */
enum { KEY_VALUE = N_ATTRS, KEY_INIT, KEY_TRAINABLE, N_KEYS };
_Static_assert(N_KEYS <= 64, "gf_model_fields.seen has a bit per key");
static const char *const source_keys[3] = { "value", "init", "trainable" };

static int64_t get_int(const gf_attrs *a, const attr_desc *d)
{
    const char *p = (const char *)a + d->off;
    if (d->size == sizeof(int64_t)) {
        int64_t v;
        memcpy(&v, p, sizeof v);
        return v;
    }
    int v;
    memcpy(&v, p, sizeof v);
    return v;
}

static int get_count(const gf_attrs *a, const attr_desc *d)
{
    int v;
    memcpy(&v, (const char *)a + d->count_off, sizeof v);
    return v;
}

static bool is_zero(const gf_attrs *a, const attr_desc *d)
{
    const char *p = (const char *)a + d->off;
    switch (d->type) {
    case GF_MA_INTS:
        return get_count(a, d) == 0;
    case GF_MA_STRING: {
        const char *s;
        memcpy(&s, p, sizeof s);
        return s == NULL;
    }
    default:
        for (size_t i = 0; i < d->size; i++)
            if (p[i]) return false;
        return true;
    }
}

static void put_one(gf_buf *b, const gf_attrs *a, const attr_desc *d)
{
    const char *p = (const char *)a + d->off;
    gf__buf_str(b, d->key);
    gf__buf_u8(b, (unsigned)d->type);
    switch (d->type) {
    case GF_MA_INT:
        gf__buf_u64(b, (uint64_t)get_int(a, d));
        break;
    case GF_MA_FLOAT: {
        float v;
        memcpy(&v, p, sizeof v);
        gf__buf_f32(b, v);
        break;
    }
    case GF_MA_U64: {
        uint64_t v;
        memcpy(&v, p, sizeof v);
        gf__buf_u64(b, v);
        break;
    }
    case GF_MA_STRING: {
        const char *s;
        memcpy(&s, p, sizeof s);
        gf__buf_str(b, s);
        break;
    }
    default: { /* GF_MA_INTS */
        int n = get_count(a, d);
        const int *v = (const int *)(const void *)p;
        gf__buf_u32(b, (uint32_t)n);
        for (int i = 0; i < n; i++) gf__buf_u64(b, (uint64_t)(int64_t)v[i]);
        break;
    }
    }
}

void gf__model_put_attrs(gf_buf *b, const gf_node *n)
{
    bool constant = n->op->flags & GF_OPF_CONSTANT, variable = n->op->flags & GF_OPF_VARIABLE;
    uint32_t count = 0;
    for (int i = 0; i < N_ATTRS; i++) count += !is_zero(&n->attrs, &attr_table[i]);
    count += constant ? 1u : 0u;
    count += variable ? 2u : 0u;
    gf__buf_u32(b, count);
    for (int i = 0; i < N_ATTRS; i++)
        if (!is_zero(&n->attrs, &attr_table[i])) put_one(b, &n->attrs, &attr_table[i]);
    if (constant) {
        int64_t k = gf_shape_count(n->shape);
        gf__buf_str(b, source_keys[0]);
        gf__buf_u8(b, GF_MA_FLOATS);
        gf__buf_u64(b, (uint64_t)k);
        for (int64_t i = 0; i < k; i++) gf__buf_f32(b, n->value[i]);
    }
    if (variable) {
        gf__buf_str(b, source_keys[1]);
        gf__buf_u8(b, GF_MA_NODE);
        gf__buf_u32(b, (uint32_t)n->init->id);
        gf__buf_str(b, source_keys[2]);
        gf__buf_u8(b, GF_MA_INT);
        gf__buf_u64(b, n->trainable ? 1u : 0u);
    }
}

static const char *type_name(unsigned t)
{
    static const char *names[] = { "?", "int", "float", "ints", "string", "u64", "floats", "node" };
    return t < sizeof names / sizeof names[0] ? names[t] : "?";
}

/* The key's index (table rows, then source keys), or -1. */
static int key_index(const unsigned char *k, uint32_t len)
{
    for (int i = 0; i < N_KEYS; i++) {
        const char *name = i < N_ATTRS ? attr_table[i].key : source_keys[i - N_ATTRS];
        if (strlen(name) == len && !memcmp(name, k, len)) return i;
    }
    return -1;
}

static int key_type(int i)
{
    static const int source_types[3] = { GF_MA_FLOATS, GF_MA_NODE, GF_MA_INT };
    return i < N_ATTRS ? attr_table[i].type : source_types[i - N_ATTRS];
}

/* "key" for messages: printable bytes, others as \xNN, cut at 64. */
static void key_text(char *out, size_t cap, const unsigned char *k, uint32_t len)
{
    size_t o = 0;
    for (uint32_t i = 0; i < len && i < 64 && o + 5 < cap; i++)
        if (k[i] >= 0x20 && k[i] < 0x7f && k[i] != '"' && k[i] != '\\') out[o++] = (char)k[i];
        else o += (size_t)snprintf(out + o, cap - o, "\\x%02x", k[i]);
    out[o] = '\0';
}

static bool fits_int(int64_t v) { return v >= INT32_MIN && v <= INT32_MAX; }

bool gf__model_get_attr(gf_cursor *c, gf_model_fields *f, char *why, size_t len)
{
    const unsigned char *k;
    uint32_t klen;
    unsigned type;
    if (!gf__cur_str(c, 64, &k, &klen) || klen == 0) {
        snprintf(why, len, "an attribute key that is empty, longer than 64 bytes or past the end of the section");
        return false;
    }
    char key[300];
    key_text(key, sizeof key, k, klen);
    if (!gf__cur_u8(c, &type)) {
        snprintf(why, len, "attribute \"%s\": its type runs past the end of the section", key);
        return false;
    }
    int i = key_index(k, klen);
    if (i < 0) {
        snprintf(why, len, "unknown attribute \"%s\"", key);
        return false;
    }
    if (f->seen & (UINT64_C(1) << i)) {
        snprintf(why, len, "attribute \"%s\" appears twice", key);
        return false;
    }
    f->seen |= UINT64_C(1) << i;
    if ((int)type != key_type(i)) {
        snprintf(why, len, "attribute \"%s\": type %u (%s), expected %d (%s)", key, type, type_name(type),
                 key_type(i), type_name((unsigned)key_type(i)));
        return false;
    }
    char *dst = i < N_ATTRS ? (char *)&f->attrs + attr_table[i].off : NULL;
    uint64_t u;
    uint32_t n;
    switch (i < N_ATTRS ? key_type(i) : -i) {
    case GF_MA_INT: {
        if (!gf__cur_u64(c, &u)) break;
        int64_t v = (int64_t)u;
        if (attr_table[i].size == sizeof(int)) {
            if (!fits_int(v)) {
                snprintf(why, len, "attribute \"%s\": %lld does not fit a 32-bit int", key, (long long)v);
                return false;
            }
            int x = (int)v;
            memcpy(dst, &x, sizeof x);
        } else {
            memcpy(dst, &v, sizeof v);
        }
        return true;
    }
    case GF_MA_FLOAT:
        if (!gf__cur_u32(c, &n)) break;
        memcpy(dst, &n, 4);
        return true;
    case GF_MA_U64:
        if (!gf__cur_u64(c, &u)) break;
        memcpy(dst, &u, 8);
        return true;
    case GF_MA_STRING: {
        const unsigned char *s;
        if (!gf__cur_str(c, GF_MODEL_MAX_TEXT, &s, &n)) {
            snprintf(why, len, "attribute \"%s\": a string longer than %u bytes or past the end of the section",
                     key, GF_MODEL_MAX_TEXT);
            return false;
        }
        if (memchr(s, 0, n)) {
            snprintf(why, len, "attribute \"%s\": the string contains a NUL byte", key);
            return false;
        }
        gf__free(f->text);
        f->text = gf__malloc((size_t)n + 1);
        if (!f->text) {
            snprintf(why, len, "out of memory");
            return false;
        }
        if (n) memcpy(f->text, s, n);
        f->text[n] = '\0';
        const char *t = f->text;
        memcpy(dst, &t, sizeof t);
        return true;
    }
    case GF_MA_INTS: {
        if (!gf__cur_u32(c, &n)) break;
        uint32_t max = (uint32_t)(attr_table[i].size / sizeof(int));
        if (n > max) {
            snprintf(why, len, "attribute \"%s\": %u values, at most %u", key, n, max);
            return false;
        }
        int vals[GF_MAX_RANK] = { 0 };
        for (uint32_t j = 0; j < n; j++) {
            if (!gf__cur_u64(c, &u)) goto short_value;
            if (!fits_int((int64_t)u)) {
                snprintf(why, len, "attribute \"%s\": value %u (%lld) does not fit a 32-bit int", key, j,
                         (long long)(int64_t)u);
                return false;
            }
            vals[j] = (int)(int64_t)u;
        }
        memcpy(dst, vals, attr_table[i].size);
        int cnt = (int)n;
        memcpy((char *)&f->attrs + attr_table[i].count_off, &cnt, sizeof cnt);
        return true;
    }
    case -KEY_VALUE: {
        if (!gf__cur_u64(c, &u)) break;
        if (u > (uint64_t)GF_MODEL_MAX_ELEMENTS || !gf__cur_skip(c, 4 * u, &f->value)) {
            snprintf(why, len, "attribute \"value\": %llu floats, more than the section holds",
                     (unsigned long long)u);
            return false;
        }
        f->n_value = u;
        f->has_value = true;
        return true;
    }
    case -KEY_INIT:
        if (!gf__cur_u32(c, &n)) break;
        f->init = n;
        return true;
    case -KEY_TRAINABLE:
        if (!gf__cur_u64(c, &u)) break;
        if (u > 1) {
            snprintf(why, len, "attribute \"trainable\": %llu, expected 0 or 1", (unsigned long long)u);
            return false;
        }
        f->trainable = (int)u;
        return true;
    }
short_value:
    snprintf(why, len, "attribute \"%s\": its value runs past the end of the section", key);
    return false;
}

const char *gf__model_attr_diff(const gf_attrs *a, const gf_attrs *b)
{
    for (int i = 0; i < N_ATTRS; i++) {
        const attr_desc *d = &attr_table[i];
        const char *pa = (const char *)a + d->off, *pb = (const char *)b + d->off;
        if (d->type == GF_MA_STRING) {
            const char *sa, *sb;
            memcpy(&sa, pa, sizeof sa);
            memcpy(&sb, pb, sizeof sb);
            if (sa != sb && (!sa || !sb || strcmp(sa, sb))) return d->key;
            continue;
        }
        if (memcmp(pa, pb, d->size)) return d->key;
        if (d->type == GF_MA_INTS && get_count(a, d) != get_count(b, d)) return d->key;
    }
    return NULL;
}
