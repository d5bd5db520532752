/*
 * tensor.c — dense float32-stored tensors, shapes and their formatting, and
 * the error report helper for functions without a handle.
 */
#include "internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GF_MAX_ELEMENTS ((int64_t)1 << 40)

const char *gf_status_string(gf_status st)
{
    switch (st) {
    case GF_OK: return "ok";
    case GF_ERR_ARG: return "invalid argument";
    case GF_ERR_SHAPE: return "shape error";
    case GF_ERR_FEED: return "feed error";
    case GF_ERR_NOMEM: return "out of memory";
    case GF_ERR_IO: return "i/o error";
    case GF_ERR_FORMAT: return "format error";
    case GF_ERR_STATE: return "bad state";
    case GF_ERR_NUMERIC: return "numeric error";
    case GF_ERR_GROUP: return "group error";
    }
    return "unknown status";
}

const char *gf_dtype_name(gf_dtype dt)
{
    switch (dt) {
    case GF_F32: return "float32";
    case GF_I32: return "int32";
    case GF_BOOL: return "bool";
    }
    return "unknown dtype";
}

gf_status gf__error_set(gf_error *err, gf_status code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return code;
}

gf_shape gf_dims(int rank, ...)
{
    gf_shape s = { .rank = rank };
    if (rank < 0 || rank > GF_MAX_RANK) {
        s.rank = -1;
        return s;
    }
    va_list ap;
    va_start(ap, rank);
    for (int i = 0; i < rank; i++) s.dim[i] = va_arg(ap, int);
    va_end(ap);
    return s;
}

gf_shape gf_shape_from(int rank, const int64_t *dims)
{
    gf_shape s = { .rank = rank };
    if (rank < 0 || rank > GF_MAX_RANK || (rank > 0 && !dims)) {
        s.rank = -1;
        return s;
    }
    for (int i = 0; i < rank; i++) s.dim[i] = dims[i];
    return s;
}

char *gf_shape_format(gf_shape s, char *buf, size_t len)
{
    if (!buf || len == 0) return buf;
    if (s.rank < 0 || s.rank > GF_MAX_RANK) {
        snprintf(buf, len, "<bad rank %d>", s.rank);
        return buf;
    }
    size_t at = 0;
    int w = snprintf(buf, len, "[");
    at = w > 0 ? (size_t)w : 0;
    for (int i = 0; i < s.rank && at < len; i++) {
        if (s.dim[i] == GF_ANY)
            w = snprintf(buf + at, len - at, "%s?", i ? "," : "");
        else
            w = snprintf(buf + at, len - at, "%s%lld", i ? "," : "", (long long)s.dim[i]);
        at += w > 0 ? (size_t)w : 0;
    }
    if (at < len) snprintf(buf + at, len - at, "]");
    return buf;
}

int64_t gf__shape_count_checked(gf_shape s)
{
    if (s.rank < 0 || s.rank > GF_MAX_RANK) return -1;
    int64_t n = 1;
    for (int i = 0; i < s.rank; i++) {
        int64_t d = s.dim[i];
        if (d < 0) return -1;
        /* n <= 2^40 here, so n * d fits when d < 2^23 (every real shape):
         * no division (kernels count their shapes on every step). */
        if (d >= ((int64_t)1 << 23) ? d > 0 && n > GF_MAX_ELEMENTS / d : n * d > GF_MAX_ELEMENTS) return -2;
        n *= d;
    }
    return n;
}

int64_t gf_shape_count(gf_shape s)
{
    int64_t n = gf__shape_count_checked(s);
    return n < 0 ? -1 : n;
}

bool gf__shape_equal(gf_shape a, gf_shape b)
{
    if (a.rank != b.rank) return false;
    for (int i = 0; i < a.rank; i++)
        if (a.dim[i] != b.dim[i]) return false;
    return true;
}

bool gf__shape_known(gf_shape s)
{
    return gf__shape_count_checked(s) >= 0;
}

float gf__no_elements[1];

static gf_tensor *tensor_make(gf_dtype dt, gf_shape shape, gf_error *err)
{
    char buf[GF_SHAPE_STR];
    if ((unsigned)dt > GF_BOOL) {
        gf__error_set(err, GF_ERR_ARG, "tensor: unknown dtype %d", (int)dt);
        return NULL;
    }
    int64_t n = gf__shape_count_checked(shape);
    if (n < 0) {
        gf__error_set(err, GF_ERR_SHAPE, "tensor: shape %s is not a fully known shape of rank 0..4%s",
                      gf_shape_format(shape, buf, sizeof buf), n == -2 ? " (too many elements)" : "");
        return NULL;
    }
    gf_tensor *t = gf__calloc(1, sizeof *t);
    if (!t) {
        gf__error_set(err, GF_ERR_NOMEM, "tensor: out of memory");
        return NULL;
    }
    t->dtype = dt;
    t->shape = shape;
    return t;
}

gf_tensor *gf_tensor_new(gf_dtype dt, gf_shape shape, gf_error *err)
{
    gf_tensor *t = tensor_make(dt, shape, err);
    if (!t) return NULL;
    int64_t n = gf_shape_count(shape);
    size_t bytes = (size_t)(n ? n : 1) * sizeof(float);
    t->data = (uint64_t)n <= SIZE_MAX / sizeof(float) ? gf__malloc_aligned(bytes) : NULL;
    if (!t->data) {
        gf__free(t);
        char buf[GF_SHAPE_STR];
        gf__error_set(err, GF_ERR_NOMEM, "tensor: out of memory allocating %s",
                      gf_shape_format(shape, buf, sizeof buf));
        return NULL;
    }
    memset(t->data, 0, bytes);
    t->capacity = n ? n : 1;
    t->aligned = true;
    return t;
}

gf_tensor *gf_tensor_wrap(gf_dtype dt, gf_shape shape, float *data, gf_error *err)
{
    if (!data && gf_shape_count(shape) > 0) {
        gf__error_set(err, GF_ERR_ARG, "tensor: wrap of NULL data");
        return NULL;
    }
    gf_tensor *t = tensor_make(dt, shape, err);
    if (t) t->data = data ? data : gf__no_elements; /* storage is never NULL */
    return t;
}

void gf_tensor_free(gf_tensor *t)
{
    if (!t) return;
    gf__tensor_release(t);
    gf__free(t);
}

void gf__tensor_release(gf_tensor *t)
{
    if (t->capacity && t->aligned) gf__free_aligned(t->data);
    else if (t->capacity) gf__free(t->data);
    t->data = NULL;
    t->capacity = 0;
    t->aligned = false;
}

gf_status gf__tensor_reshape(gf_tensor *t, gf_dtype dt, gf_shape shape)
{
    int64_t n = gf_shape_count(shape);
    if (n < 0) return GF_ERR_SHAPE;
    if (n > t->capacity || (t->capacity == 0 && !t->data)) {
        int64_t cap = n ? n : 1;
        float *p = (uint64_t)cap <= SIZE_MAX / sizeof(float) ? gf__malloc_aligned((size_t)cap * sizeof(float)) : NULL;
        if (!p) return GF_ERR_NOMEM;
        gf__tensor_release(t);
        t->data = p;
        t->capacity = cap;
        t->aligned = true;
    }
    t->dtype = dt;
    t->shape = shape;
    return GF_OK;
}

gf_shape gf_tensor_shape(const gf_tensor *t)
{
    if (!t) return (gf_shape){ .rank = -1 };
    return t->shape;
}

gf_dtype gf_tensor_dtype(const gf_tensor *t) { return t ? t->dtype : GF_F32; }

int64_t gf_tensor_count(const gf_tensor *t) { return t ? gf_shape_count(t->shape) : 0; }

float *gf_tensor_data(const gf_tensor *t) { return t ? t->data : NULL; }
