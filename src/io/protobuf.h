/*
 * protobuf.h — the protocol-buffers wire format, written by hand: varints,
 * fixed32 floats and length-delimited fields into a growable byte buffer.
 * Just what the ONNX writer (io/onnx.c) needs; nothing is ever parsed.
 */
#ifndef GF_PROTOBUF_H
#define GF_PROTOBUF_H

#include "internal.h"

#include <stdbool.h>

/* A message being written. Every allocation goes through gf__malloc; the
 * first failure sets nomem, and every later call does nothing, so a
 * writer checks once at the end. Zero-initialise it; free with gf__pb_free. */
typedef struct gf_pb {
    unsigned char *p;
    size_t len, cap;
    bool nomem;
} gf_pb;

void gf__pb_free(gf_pb *b);

/* Field `field` as a varint (wire type 0): int32, int64, enums. A negative
 * int64 is written as its two's complement (ten bytes), as protobuf does. */
void gf__pb_int(gf_pb *b, int field, int64_t v);
/* Field `field` as a 32-bit little-endian float (wire type 5). */
void gf__pb_float(gf_pb *b, int field, float v);
/* Field `field` as length-delimited bytes (wire type 2). */
void gf__pb_bytes(gf_pb *b, int field, const void *data, size_t n);
/* A NUL-terminated string as gf__pb_bytes. */
void gf__pb_string(gf_pb *b, int field, const char *s);
/* count floats as little-endian bytes in one length-delimited field (an
 * ONNX tensor's raw_data). */
void gf__pb_floats_le(gf_pb *b, int field, const float *v, int64_t count);
/* count int64s as little-endian bytes in one length-delimited field. */
void gf__pb_int64s_le(gf_pb *b, int field, const int64_t *v, int64_t count);

/* A nested message: gf__pb_begin writes the field's tag and returns a mark;
 * the message's fields follow; gf__pb_end(mark) puts their length (a varint,
 * the shortest form) between the tag and them. Calls nest. */
size_t gf__pb_begin(gf_pb *b, int field);
void gf__pb_end(gf_pb *b, size_t mark);

/* The tag and length of a length-delimited field whose n bytes the caller
 * writes elsewhere (a message assembled from pieces written in turn). */
void gf__pb_header(gf_pb *b, int field, size_t n);

#endif
