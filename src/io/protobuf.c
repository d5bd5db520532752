/*
 * protobuf.c — the protocol-buffers wire format (protobuf.h): varints,
 * fixed32 floats and length-delimited fields, little-endian whatever the
 * host.
 */
#include "protobuf.h"

#include <string.h>

enum { WIRE_VARINT = 0, WIRE_LEN = 2, WIRE_FIXED32 = 5 };

void gf__pb_free(gf_pb *b)
{
    gf__free(b->p);
    memset(b, 0, sizeof *b);
}

/* Room for n more bytes; false (and nomem) when it cannot be had. */
static bool reserve(gf_pb *b, size_t n)
{
    if (b->nomem) return false;
    if (n <= b->cap - b->len) return true;
    if (n > SIZE_MAX / 2 - b->len) {
        b->nomem = true;
        return false;
    }
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < n) cap *= 2;
    unsigned char *p = gf__realloc(b->p, cap);
    if (!p) {
        b->nomem = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

static size_t varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* Writes v as a varint at p (varint_size(v) bytes). */
static void varint_at(unsigned char *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    *p = (unsigned char)v;
}

static void varint(gf_pb *b, uint64_t v)
{
    size_t n = varint_size(v);
    if (!reserve(b, n)) return;
    varint_at(b->p + b->len, v);
    b->len += n;
}

static void tag(gf_pb *b, int field, int wire)
{
    varint(b, (uint64_t)field << 3 | (uint64_t)wire);
}

static void raw(gf_pb *b, const void *data, size_t n)
{
    if (!n || !reserve(b, n)) return;
    memcpy(b->p + b->len, data, n);
    b->len += n;
}

static void put_u32_le(unsigned char *p, uint32_t u)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(u >> (8 * i));
}

void gf__pb_int(gf_pb *b, int field, int64_t v)
{
    tag(b, field, WIRE_VARINT);
    varint(b, (uint64_t)v);
}

void gf__pb_float(gf_pb *b, int field, float v)
{
    uint32_t u;
    memcpy(&u, &v, 4);
    unsigned char q[4];
    put_u32_le(q, u);
    tag(b, field, WIRE_FIXED32);
    raw(b, q, 4);
}

void gf__pb_bytes(gf_pb *b, int field, const void *data, size_t n)
{
    tag(b, field, WIRE_LEN);
    varint(b, n);
    raw(b, data, n);
}

void gf__pb_string(gf_pb *b, int field, const char *s)
{
    gf__pb_bytes(b, field, s, strlen(s));
}

void gf__pb_floats_le(gf_pb *b, int field, const float *v, int64_t count)
{
    size_t n = (size_t)count * 4;
    tag(b, field, WIRE_LEN);
    varint(b, n);
    if (!reserve(b, n)) return;
    for (int64_t i = 0; i < count; i++) {
        uint32_t u;
        memcpy(&u, &v[i], 4);
        put_u32_le(b->p + b->len + 4 * (size_t)i, u);
    }
    b->len += n;
}

void gf__pb_int64s_le(gf_pb *b, int field, const int64_t *v, int64_t count)
{
    size_t n = (size_t)count * 8;
    tag(b, field, WIRE_LEN);
    varint(b, n);
    if (!reserve(b, n)) return;
    for (int64_t i = 0; i < count; i++) {
        uint64_t u = (uint64_t)v[i];
        put_u32_le(b->p + b->len + 8 * (size_t)i, (uint32_t)u);
        put_u32_le(b->p + b->len + 8 * (size_t)i + 4, (uint32_t)(u >> 32));
    }
    b->len += n;
}

size_t gf__pb_begin(gf_pb *b, int field)
{
    tag(b, field, WIRE_LEN);
    return b->len;
}

void gf__pb_end(gf_pb *b, size_t mark)
{
    if (b->nomem) return;
    size_t body = b->len - mark, n = varint_size(body);
    if (!reserve(b, n)) return;
    memmove(b->p + mark + n, b->p + mark, body);
    varint_at(b->p + mark, body);
    b->len += n;
}

void gf__pb_header(gf_pb *b, int field, size_t n)
{
    tag(b, field, WIRE_LEN);
    varint(b, n);
}
