/*
 * checkpoint.c — gf_session_save/restore: a session's variables in a versioned,
 * little-endian, CRC-checked file, saved atomically (docs/checkpoint-format.md).
 */
#include "ops/op.h"
#include "session.h"
#include "io/atomic.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* ---- the format (docs/checkpoint-format.md) ---- */

static const unsigned char MAGIC[8] = { 'G', 'F', 'C', 'K', 'P', 'T', 0x00, 0x01 };
static const unsigned char END_MAGIC[8] = { 'G', 'F', 'C', 'K', 'E', 'N', 'D', 0x00 };
#define CK_VERSION 1u
#define HEADER_BYTES 24u          /* magic, version, flags, count, header CRC */
#define TRAILER_BYTES 20u         /* end magic, file length, file CRC */
#define NAME_MAX_BYTES 4096u
#define MAX_ELEMENTS (INT64_C(1) << 40)

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const unsigned char *p)
{
    return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

/* zlib's crc32 over any length (its length argument is a uInt). */
static uLong crc_update(uLong crc, const unsigned char *p, uint64_t n)
{
    while (n > 0) {
        uInt chunk = n > (1u << 30) ? (1u << 30) : (uInt)n;
        crc = crc32(crc, p, chunk);
        p += chunk;
        n -= chunk;
    }
    return crc;
}

/* A tensor name as it goes into a message: control bytes, '"' and '\\'
 * escaped as \xNN, cut at 80 bytes. */
static const char *quoted(char *out, size_t cap, const char *name, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 8 < cap; i++) {
        unsigned char c = (unsigned char)name[i];
        if (i == 80) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        if (c < 0x20 || c == 0x7f || c == '"' || c == '\\')
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
        else
            out[o++] = (char)c;
    }
    out[o] = '\0';
    return out;
}

/* "[784,30]" from rank dims. */
static const char *dims_str(char *out, size_t cap, int rank, const int64_t *dim)
{
    size_t o = (size_t)snprintf(out, cap, "[");
    for (int i = 0; i < rank && o < cap; i++)
        o += (size_t)snprintf(out + o, cap - o, "%s%lld", i ? "," : "", (long long)dim[i]);
    if (o < cap) snprintf(out + o, cap - o, "]");
    return out;
}

/* ---- saving ---- */

typedef struct writer {
    gf_atomic a;
    uLong file_crc, rec_crc;
    uint64_t bytes;
} writer;

static void w_bytes(writer *w, const unsigned char *p, size_t n)
{
    if (w->a.err || n == 0) return;
    gf__atomic_write(&w->a, p, n);
    if (w->a.err) return;
    w->file_crc = crc_update(w->file_crc, p, n);
    w->rec_crc = crc_update(w->rec_crc, p, n);
    w->bytes += n;
}

static void w_u32(writer *w, uint32_t v)
{
    unsigned char b[4];
    put_u32(b, v);
    w_bytes(w, b, 4);
}

/* One record: name, dtype, rank, dims, data, CRC of all of these. */
static void w_tensor(writer *w, const gf_node *var, const gf_tensor *t)
{
    unsigned char buf[4 * 2048];
    size_t name_len = strlen(var->name);
    w->rec_crc = crc32(0L, Z_NULL, 0);
    w_u32(w, (uint32_t)name_len);
    w_bytes(w, (const unsigned char *)var->name, name_len);
    w_u32(w, (uint32_t)var->dtype);
    w_u32(w, (uint32_t)t->shape.rank);
    for (int i = 0; i < t->shape.rank; i++) {
        put_u64(buf, (uint64_t)t->shape.dim[i]);
        w_bytes(w, buf, 8);
    }
    int64_t count = gf_shape_count(t->shape);
    for (int64_t i = 0; i < count;) {
        int64_t m = count - i < 2048 ? count - i : 2048;
        for (int64_t j = 0; j < m; j++) {
            uint32_t u;
            memcpy(&u, &t->data[i + j], 4);
            put_u32(buf + 4 * j, u);
        }
        w_bytes(w, buf, (size_t)(4 * m));
        i += m;
    }
    uint32_t crc = (uint32_t)w->rec_crc;
    w_u32(w, crc);
}

/* The session's variables, initialised (those added to the graph after the
 * session started get their first value here); GF_OK or the failure's own
 * code (GF_ERR_NOMEM for memory) on s. */
static gf_status variables_ready(gf_session *s, const char *path)
{
    gf_status st = gf__session_init_variables(s);
    if (st != GF_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", gf_session_error(s));
        return gf__session_fail(s, st, "checkpoint %s: initialising variables: %s", path, msg);
    }
    return GF_OK;
}

/* Common checks of save and restore. */
static gf_status check_args(gf_session *s, const char *path)
{
    if (!s) return GF_ERR_ARG;
    if (gf_session_status(s) != GF_OK) return gf_session_status(s); /* the message stays */
    if (!path || !*path) return gf__session_fail(s, GF_ERR_ARG, "checkpoint: the path is NULL or empty");
    gf_graph *g = gf__session_graph(s);
    if (g->status != GF_OK)
        return gf__session_fail(s, GF_ERR_STATE, "checkpoint %s: the graph is in error: %s", path, g->error);
    return variables_ready(s, path);
}

gf_status gf_session_save(gf_session *s, const char *path)
{
    gf_status st = check_args(s, path);
    if (st != GF_OK) return st;
    gf_graph *g = gf__session_graph(s);
    char msg[768];
    writer w = { .file_crc = crc32(0L, Z_NULL, 0) };
    if ((st = gf__atomic_open(&w.a, path, msg, sizeof msg)) != GF_OK)
        return gf__session_fail(s, st, "checkpoint %s: %s", path, msg);
    unsigned char h[HEADER_BYTES];
    memcpy(h, MAGIC, 8);
    put_u32(h + 8, CK_VERSION);
    put_u32(h + 12, 0);
    put_u32(h + 16, (uint32_t)g->n_variables);
    put_u32(h + 20, (uint32_t)crc32(crc32(0L, Z_NULL, 0), h, 20));
    w_bytes(&w, h, HEADER_BYTES);
    for (int i = 0; i < g->n_nodes && !w.a.err; i++) {
        gf_node *n = g->nodes[i];
        if (n->var_index >= 0) w_tensor(&w, n, gf__session_var(s, n->var_index));
    }
    unsigned char t[TRAILER_BYTES];
    memcpy(t, END_MAGIC, 8);
    put_u64(t + 8, w.bytes + TRAILER_BYTES);
    w_bytes(&w, t, 16);
    put_u32(t, (uint32_t)w.file_crc);
    w_bytes(&w, t, 4);
    if ((st = gf__atomic_close(&w.a, path, msg, sizeof msg)) != GF_OK)
        return gf__session_fail(s, st, "checkpoint %s: %s", path, msg);
    gf__session_fail(s, GF_OK, "%s", "");
    return GF_OK;
}

/* ---- restoring ---- */

typedef struct slot {
    float *stage;   /* the value read from the file, until all is checked */
    bool filled;
} slot;

typedef struct reader {
    gf_session *s;
    const char *path;
    FILE *f;
    uint64_t pos, size, limit; /* limit: where the tensors must end */
    bool trailer_ok;           /* the file ends with an intact-looking trailer */
    uLong file_crc, rec_crc;
} reader;

/* A record (or the trailer) needs more bytes than the file holds: with an
 * intact trailer, a damaged length; without one, a truncated file. */
static gf_status r_short(reader *r, const char *what)
{
    if (r->trailer_ok)
        return gf__session_fail(r->s, GF_ERR_FORMAT,
                                "checkpoint %s: %s runs past the end of the tensor data (file damaged)",
                                r->path, what);
    return gf__session_fail(r->s, GF_ERR_FORMAT, "checkpoint %s: truncated at byte %llu (in %s)", r->path,
                            (unsigned long long)r->size, what);
}

/* Reads n bytes, which the caller checked against r->limit, updating both
 * CRCs. */
static gf_status r_bytes(reader *r, void *buf, uint64_t n, const char *what)
{
    unsigned char *p = buf;
    while (n > 0) {
        size_t chunk = n > (1u << 30) ? (1u << 30) : (size_t)n;
        size_t got = fread(p, 1, chunk, r->f);
        r->file_crc = crc_update(r->file_crc, p, got);
        r->rec_crc = crc_update(r->rec_crc, p, got);
        r->pos += got;
        if (got < chunk) {
            if (ferror(r->f))
                return gf__session_fail(r->s, GF_ERR_IO, "checkpoint %s: read error at byte %llu: %s", r->path,
                                        (unsigned long long)r->pos, strerror(errno ? errno : EIO));
            /* The file shrank under us. */
            r->size = r->pos;
            r->trailer_ok = false;
            return r_short(r, what);
        }
        p += got;
        n -= got;
    }
    return GF_OK;
}

/* Reads n bytes into nothing (their CRCs only). */
static gf_status r_skip(reader *r, uint64_t n, const char *what)
{
    unsigned char buf[16384];
    while (n > 0) {
        uint64_t chunk = n > sizeof buf ? sizeof buf : n;
        gf_status st = r_bytes(r, buf, chunk, what);
        if (st != GF_OK) return st;
        n -= chunk;
    }
    return GF_OK;
}

/* Whether n more bytes fit before r->limit. */
static bool r_has(const reader *r, uint64_t n) { return r->pos <= r->limit && n <= r->limit - r->pos; }

/* The first mismatch between file and graph, kept while the rest of the file
 * is still checked for damage (which is reported first). */
typedef struct mismatch {
    gf_status code;
    char msg[768];
    int more;
} mismatch;

static void note(mismatch *m, gf_status code, const char *fmt, ...) GF_PRINTF(3, 4);
static void note(mismatch *m, gf_status code, const char *fmt, ...)
{
    if (m->code != GF_OK) {
        m->more++;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->msg, sizeof m->msg, fmt, ap);
    va_end(ap);
    m->code = code;
}

/* One record. Structure first (so that its length is known), then its CRC,
 * then what it says against the graph. */
static gf_status r_tensor(reader *r, uint32_t index, uint32_t count, slot *slots, mismatch *mm)
{
    gf_graph *g = gf__session_graph(r->s);
    char what[448], name[NAME_MAX_BYTES + 1], qn[400], b1[GF_SHAPE_STR * 2], b2[GF_SHAPE_STR * 2];
    unsigned char b[8];
    gf_status st;
    snprintf(what, sizeof what, "tensor %u of %u", index + 1, count);
    r->rec_crc = crc32(0L, Z_NULL, 0);

    if (!r_has(r, 4)) return r_short(r, what);
    if ((st = r_bytes(r, b, 4, what)) != GF_OK) return st;
    uint32_t name_len = get_u32(b);
    if (name_len == 0 || name_len > NAME_MAX_BYTES)
        return gf__session_fail(r->s, GF_ERR_FORMAT,
                                "checkpoint %s: %s: name length %u out of range 1..%u (file damaged)",
                                r->path, what, name_len, NAME_MAX_BYTES);
    if (!r_has(r, name_len)) return r_short(r, what);
    if ((st = r_bytes(r, name, name_len, what)) != GF_OK) return st;
    name[name_len] = '\0';
    quoted(qn, sizeof qn, name, name_len);
    snprintf(what, sizeof what, "tensor \"%s\"", qn);

    if (!r_has(r, 8)) return r_short(r, what);
    unsigned char dr[8];
    if ((st = r_bytes(r, dr, 8, what)) != GF_OK) return st;
    uint32_t dtype = get_u32(dr), rank = get_u32(dr + 4);
    if (rank > GF_MAX_RANK)
        return gf__session_fail(r->s, GF_ERR_FORMAT, "checkpoint %s: %s: rank %u, at most %d (file damaged)", r->path,
                                what, rank, GF_MAX_RANK);
    if (!r_has(r, 8 * (uint64_t)rank)) return r_short(r, what);
    gf_shape shape = { .rank = (int)rank };
    int64_t elements = 1;
    for (uint32_t i = 0; i < rank; i++) {
        if ((st = r_bytes(r, b, 8, what)) != GF_OK) return st;
        uint64_t d = get_u64(b);
        if (d > (uint64_t)MAX_ELEMENTS || (d && (uint64_t)elements > (uint64_t)MAX_ELEMENTS / d))
            return gf__session_fail(r->s, GF_ERR_FORMAT,
                                    "checkpoint %s: %s: dimension %u is %llu, too large (file damaged)",
                                    r->path, what, i, (unsigned long long)d);
        shape.dim[i] = (int64_t)d;
        elements *= (int64_t)d;
    }
    uint64_t data_bytes = 4 * (uint64_t)elements;
    if (!r_has(r, data_bytes + 4)) return r_short(r, what);

    /* Where the data goes: the variable's staging buffer when name, dtype
     * and shape fit and it is the first record for it; else nowhere. */
    gf_node *var = name_len == strlen(name) ? gf_graph_find(g, name) : NULL;
    slot *dest = NULL;
    if (var && var->var_index >= 0 && (uint32_t)var->dtype == dtype && gf__shape_equal(var->shape, shape) &&
        !slots[var->var_index].filled)
        dest = &slots[var->var_index];
    if (dest) st = r_bytes(r, dest->stage, data_bytes, what);
    else st = r_skip(r, data_bytes, what);
    if (st != GF_OK) return st;
    uint32_t want = (uint32_t)r->rec_crc;
    if ((st = r_bytes(r, b, 4, what)) != GF_OK) return st;
    if (get_u32(b) != want)
        return gf__session_fail(r->s, GF_ERR_FORMAT, "checkpoint %s: %s: CRC mismatch (file damaged)", r->path, what);

    /* Intact: now what it says. */
    if (name_len != strlen(name))
        return gf__session_fail(r->s, GF_ERR_FORMAT, "checkpoint %s: %s: the name contains a NUL byte", r->path, what);
    if (dtype > GF_BOOL)
        return gf__session_fail(r->s, GF_ERR_FORMAT, "checkpoint %s: %s: unknown dtype code %u", r->path, what, dtype);
    if (dest) {
        unsigned char *p = (unsigned char *)dest->stage;
        for (int64_t i = 0; i < elements; i++) { /* little-endian bytes to floats, in place */
            uint32_t u = get_u32(p + 4 * i);
            memcpy(&dest->stage[i], &u, 4);
        }
        dest->filled = true;
    } else if (!var) {
        note(mm, GF_ERR_SHAPE, "checkpoint %s: %s: the graph has no variable of that name", r->path, what);
    } else if (var->var_index < 0) {
        note(mm, GF_ERR_SHAPE, "checkpoint %s: %s: the graph's node of that name is a %s, not a variable",
             r->path, what, var->op->name);
    } else if ((uint32_t)var->dtype != dtype) {
        note(mm, GF_ERR_SHAPE, "checkpoint %s: %s: dtype %s in file, %s in the graph", r->path, what,
             gf_dtype_name((gf_dtype)dtype), gf_dtype_name(var->dtype));
    } else if (!gf__shape_equal(var->shape, shape)) {
        note(mm, GF_ERR_SHAPE, "checkpoint %s: %s: shape %s in file, %s in the graph", r->path, what,
             dims_str(b1, sizeof b1, shape.rank, shape.dim),
             dims_str(b2, sizeof b2, var->shape.rank, var->shape.dim));
    } else {
        note(mm, GF_ERR_FORMAT, "checkpoint %s: %s: appears twice in the file", r->path, what);
    }
    return GF_OK;
}

/* The header: magic, version, flags, count, header CRC. */
static gf_status r_header(reader *r, uint32_t *count)
{
    unsigned char h[HEADER_BYTES];
    uint64_t have = r->size < HEADER_BYTES ? r->size : HEADER_BYTES;
    gf_status st = r_bytes(r, h, have, "the header");
    if (st != GF_OK) return st;
    if (memcmp(h, MAGIC, have < 8 ? have : 8) != 0)
        return gf__session_fail(r->s, GF_ERR_FORMAT, "checkpoint %s: not a gradflow checkpoint (bad magic)", r->path);
    if (have < HEADER_BYTES)
        return gf__session_fail(r->s, GF_ERR_FORMAT, "checkpoint %s: %s at byte %llu (in the header)", r->path,
                                r->size ? "truncated" : "empty file: truncated", (unsigned long long)r->size);
    uint32_t version = get_u32(h + 8);
    if (version != CK_VERSION)
        return gf__session_fail(r->s, GF_ERR_FORMAT,
                                "checkpoint %s: format version %u; this gradflow reads version %u "
                                "(file damaged, or from a newer gradflow)",
                                r->path, version, CK_VERSION);
    if (get_u32(h + 20) != (uint32_t)crc32(crc32(0L, Z_NULL, 0), h, 20))
        return gf__session_fail(r->s, GF_ERR_FORMAT, "checkpoint %s: header CRC mismatch (file damaged)", r->path);
    if (get_u32(h + 12) != 0)
        return gf__session_fail(r->s, GF_ERR_FORMAT, "checkpoint %s: unknown header flags 0x%08x", r->path,
                                (unsigned)get_u32(h + 12));
    *count = get_u32(h + 16);
    return GF_OK;
}

/* The trailer, where the tensors end. */
static gf_status r_trailer(reader *r)
{
    unsigned char t[TRAILER_BYTES];
    gf_status st;
    uint64_t at = r->pos;
    if (r->size - r->pos < TRAILER_BYTES) {
        r->trailer_ok = false;
        return r_short(r, "the end marker");
    }
    if ((st = r_bytes(r, t, 16, "the end marker")) != GF_OK) return st;
    uLong want = r->file_crc;
    if ((st = r_bytes(r, t + 16, 4, "the end marker")) != GF_OK) return st;
    if (memcmp(t, END_MAGIC, 8) != 0)
        return gf__session_fail(r->s, GF_ERR_FORMAT,
                                "checkpoint %s: no end marker at byte %llu, after the last tensor (file damaged)",
                                r->path, (unsigned long long)at);
    if (get_u64(t + 8) != at + TRAILER_BYTES)
        return gf__session_fail(r->s, GF_ERR_FORMAT,
                                "checkpoint %s: the end marker gives the file length as %llu, but it ends at byte %llu "
                                "(file damaged)",
                                r->path, (unsigned long long)get_u64(t + 8), (unsigned long long)(at + TRAILER_BYTES));
    if (r->size != r->pos)
        return gf__session_fail(r->s, GF_ERR_FORMAT, "checkpoint %s: %llu bytes of trailing data after the end marker",
                                r->path, (unsigned long long)(r->size - r->pos));
    if (get_u32(t + 16) != (uint32_t)want)
        return gf__session_fail(r->s, GF_ERR_FORMAT, "checkpoint %s: whole-file CRC mismatch (file damaged)", r->path);
    return GF_OK;
}

/* Whether the file's last bytes are an end marker giving its own length. */
static bool peek_trailer(int fd, uint64_t size)
{
    unsigned char t[TRAILER_BYTES];
    if (size < HEADER_BYTES + TRAILER_BYTES) return false;
    if (pread(fd, t, TRAILER_BYTES, (off_t)(size - TRAILER_BYTES)) != (ssize_t)TRAILER_BYTES) return false;
    return memcmp(t, END_MAGIC, 8) == 0 && get_u64(t + 8) == size;
}

/* The graph's variables that got no record, named (some of them). */
static gf_status report_missing(gf_session *s, const char *path, const slot *slots)
{
    gf_graph *g = gf__session_graph(s);
    char list[600];
    size_t o = 0;
    int missing = 0, listed = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        gf_node *n = g->nodes[i];
        if (n->var_index < 0 || slots[n->var_index].filled) continue;
        missing++;
        if (o + strlen(n->name) + 8 < sizeof list) {
            o += (size_t)snprintf(list + o, sizeof list - o, "%s\"%s\"", listed ? ", " : "", n->name);
            listed++;
        }
    }
    if (!missing) return GF_OK;
    if (missing == 1)
        return gf__session_fail(s, GF_ERR_SHAPE,
                                "checkpoint %s: variable %s of the graph is not in the file", path, list);
    return gf__session_fail(s, GF_ERR_SHAPE, "checkpoint %s: %d variables of the graph are not in the file: %s%s", path,
                            missing, list, listed < missing ? ", ..." : "");
}

gf_status gf_session_restore(gf_session *s, const char *path)
{
    gf_status st = check_args(s, path);
    if (st != GF_OK) return st;
    gf_graph *g = gf__session_graph(s);

    int fd = open(path, O_RDONLY | O_NONBLOCK); /* O_NONBLOCK: never hang on a FIFO */
    if (fd < 0) return gf__session_fail(s, GF_ERR_IO, "checkpoint %s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        st = gf__session_fail(s, GF_ERR_IO, "checkpoint %s: %s", path, strerror(errno));
        close(fd);
        return st;
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return gf__session_fail(s, GF_ERR_IO, "checkpoint %s: not a regular file", path);
    }
    reader r = { .s = s, .path = path, .size = (uint64_t)sb.st_size, .file_crc = crc32(0L, Z_NULL, 0) };
    r.trailer_ok = peek_trailer(fd, r.size);
    r.limit = r.trailer_ok ? r.size - TRAILER_BYTES : r.size;
    r.f = fdopen(fd, "rb");
    if (!r.f) {
        st = gf__session_fail(s, GF_ERR_IO, "checkpoint %s: %s", path, strerror(errno));
        close(fd);
        return st;
    }

    /* Staging for every variable, sized by the graph (never by the file):
     * nothing in the session changes until the whole file has checked out. */
    slot *slots = NULL;
    float *stage = NULL;
    uint32_t count = 0;
    if ((st = r_header(&r, &count)) != GF_OK) goto out;
    int64_t total = 0;
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i]->var_index >= 0) total += gf_shape_count(g->nodes[i]->shape);
    slots = gf__calloc((size_t)g->n_variables + 1, sizeof *slots);
    stage = gf__malloc((size_t)total * sizeof(float));
    if (!slots || !stage) {
        st = gf__session_fail(s, GF_ERR_NOMEM, "checkpoint %s: out of memory for %lld values", path, (long long)total);
        goto out;
    }
    int64_t at = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        gf_node *n = g->nodes[i];
        if (n->var_index < 0) continue;
        slots[n->var_index].stage = stage + at;
        at += gf_shape_count(n->shape);
    }

    mismatch mm = { GF_OK, "", 0 };
    for (uint32_t i = 0; i < count; i++)
        if ((st = r_tensor(&r, i, count, slots, &mm)) != GF_OK) goto out;
    if (r.trailer_ok && r.pos != r.limit) {
        st = gf__session_fail(s, GF_ERR_FORMAT,
                              "checkpoint %s: %llu unexpected bytes after the last tensor (file damaged)",
                              path, (unsigned long long)(r.limit - r.pos));
        goto out;
    }
    if ((st = r_trailer(&r)) != GF_OK) goto out;
    if (mm.code != GF_OK) {
        if (mm.more)
            st = gf__session_fail(s, mm.code, "%s (and %d more problem%s)", mm.msg, mm.more, mm.more > 1 ? "s" : "");
        else
            st = gf__session_fail(s, mm.code, "%s", mm.msg);
        goto out;
    }
    if ((st = report_missing(s, path, slots)) != GF_OK) goto out;

    /* All checked: copy in. */
    for (int i = 0; i < g->n_nodes; i++) {
        gf_node *n = g->nodes[i];
        if (n->var_index < 0) continue;
        gf_tensor *t = gf__session_var(s, n->var_index);
        int64_t k = gf_shape_count(n->shape);
        if (k > 0) memcpy(t->data, slots[n->var_index].stage, (size_t)k * sizeof(float));
        gf__session_set_var_finite(s, n->var_index, false);
    }
    gf__session_fail(s, GF_OK, "%s", "");
out:
    fclose(r.f);
    gf__free(slots);
    gf__free(stage);
    return st;
}
