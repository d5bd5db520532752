/*
 * model.h — what the model file's writer (model_save.c), reader
 * (model_load.c), attribute table (model_attrs.c) and node rebuilder
 * (model_rebuild.c) share: the format's constants, little-endian byte
 * buffers and cursors, and the typed attributes of a node record.
 * docs/model-format.md is the specification.
 */
#ifndef GF_IO_MODEL_H
#define GF_IO_MODEL_H

#include "../ops/op.h"

#define GF_MODEL_VERSION 1u
#define GF_MODEL_HEADER_BYTES 24u   /* magic, version, flags, section count, header CRC */
#define GF_MODEL_TRAILER_BYTES 20u  /* end magic, file length, file CRC */
#define GF_MODEL_SECTIONS 5u        /* META, NODE, SIGN, VARS, RAND, in this order */
#define GF_MODEL_MAX_ELEMENTS (INT64_C(1) << 40)
#define GF_MODEL_MAX_TEXT 65536u    /* a string attribute's bytes */
#define GF_MODEL_MAX_ENTRIES 1024   /* a signature's inputs, and its outputs */

extern const unsigned char gf__model_magic[8];
extern const unsigned char gf__model_end_magic[8];
extern const char *const gf__model_section_tags[GF_MODEL_SECTIONS];

/* Attribute value types (the type byte of an attribute). */
enum {
    GF_MA_INT = 1,    /* i64 */
    GF_MA_FLOAT = 2,  /* f32 */
    GF_MA_INTS = 3,   /* u32 count (0..4), then i64 each */
    GF_MA_STRING = 4, /* u32 length, then the bytes */
    GF_MA_U64 = 5,    /* u64 */
    GF_MA_FLOATS = 6, /* u64 count, then f32 each */
    GF_MA_NODE = 7    /* u32 node index */
};

/* ---- little-endian bytes ---- */

static inline void gf__put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static inline void gf__put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static inline uint32_t gf__get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t gf__get_u64(const unsigned char *p)
{
    return (uint64_t)gf__get_u32(p) | (uint64_t)gf__get_u32(p + 4) << 32;
}

/* zlib's CRC-32 over any length. */
uint32_t gf__crc32(uint32_t crc, const unsigned char *p, uint64_t n);

/* A growable buffer in library memory; after a failed allocation every
 * put does nothing and failed is set. */
typedef struct gf_buf {
    unsigned char *p;
    size_t n, cap;
    bool failed;
} gf_buf;

void gf__buf_bytes(gf_buf *b, const void *p, size_t n);
void gf__buf_u8(gf_buf *b, unsigned v);
void gf__buf_u32(gf_buf *b, uint32_t v);
void gf__buf_u64(gf_buf *b, uint64_t v);
void gf__buf_f32(gf_buf *b, float v);
void gf__buf_str(gf_buf *b, const char *s); /* u32 length, bytes */
void gf__buf_free(gf_buf *b);

/* A cursor over a section's payload whose CRC matched; each read checks
 * the bytes left and returns false when they run out. */
typedef struct gf_cursor {
    const unsigned char *p;
    size_t n, at;
} gf_cursor;

bool gf__cur_u8(gf_cursor *c, unsigned *v);
bool gf__cur_u32(gf_cursor *c, uint32_t *v);
bool gf__cur_u64(gf_cursor *c, uint64_t *v);
bool gf__cur_f32(gf_cursor *c, float *v);
/* A string of 0..max bytes: *s points into the payload (not terminated),
 * *len its length. */
bool gf__cur_str(gf_cursor *c, size_t max, const unsigned char **s, uint32_t *len);
/* n raw bytes: *p points into the payload. */
bool gf__cur_skip(gf_cursor *c, uint64_t n, const unsigned char **p);

/* ---- a node record's attributes ---- */

/* What a node record says beside its name, op, dtype, shape and inputs:
 * the op's attributes (gf_attrs) and the fields of sources. */
typedef struct gf_model_fields {
    gf_attrs attrs;
    char *text;                 /* check_numerics.text's storage (library memory), or NULL */
    const unsigned char *value; /* constant: n_value little-endian float32s in the payload */
    uint64_t n_value;
    bool has_value;
    int64_t init;               /* variable: the initializer's node index; -1 when absent */
    int trainable;              /* variable: 0 or 1; -1 when absent */
    uint64_t seen;              /* the keys read so far (a key twice is refused) */
} gf_model_fields;

/* Appends node n's attribute list (count, then key, type, value each) as
 * docs/model-format.md gives them: every gf_attrs member that is not zero,
 * and a constant's values, a variable's initializer and trainable flag. */
void gf__model_put_attrs(gf_buf *b, const gf_node *n);

/* Reads one attribute into f (zero-initialised, init and trainable -1, by
 * the caller). false with the reason in why (naming the key). */
bool gf__model_get_attr(gf_cursor *c, gf_model_fields *f, char *why, size_t len);

/* The first attribute of a and b that differs, by its key ("reduce.axes");
 * NULL when they are equal (as gf__attrs_equal). */
const char *gf__model_attr_diff(const gf_attrs *a, const gf_attrs *b);

/* ---- signatures ---- */

/* Whether every placeholder an output of sig (nodes of g) depends on is
 * one of its inputs, in one walk over g: GF_OK; GF_ERR_FORMAT with the
 * index of the output and the placeholder of the first that is not;
 * GF_ERR_NOMEM. */
gf_status gf__model_needs_listed(const gf_graph *g, const gf_signature *sig, int *output, gf_node **placeholder);

/* ---- rebuilding nodes ---- */

/* Whether the loader can rebuild op's nodes. The writer refuses a graph
 * with an op it cannot (tests/test_model.c walks the op table). */
bool gf__model_op_loadable(const gf_op *op);

/* Builds in g the node a record describes, through op's constructor (the
 * public one, else the internal one after checking the attributes it
 * trusts), so that its shape rule runs. name names sources (placeholders,
 * variables); dt and shape are those of sources. Returns the node: the
 * graph's poison node with the error on g when a constructor refused,
 * or NULL with the reason in why when an attribute is out of range. */
gf_node *gf__model_rebuild(gf_graph *g, const gf_op *op, const char *name, gf_dtype dt, gf_shape shape,
                           gf_node *const *in, const gf_model_fields *f, char *why, size_t len);

#endif
