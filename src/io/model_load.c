/*
 * model_load.c — gf_model_load: a model file read, checked section by
 * section (docs/model-format.md), and made into a new graph, whose nodes
 * are rebuilt through their constructors, and a session holding the saved
 * variables and random streams; and the gf_model accessors.
 */
#include "model_load.h"
#include "session.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct gf_model {
    gf_graph *g;
    gf_session *s;
    gf_signature sig;
    gf_signature_entry *entries; /* inputs, then outputs (library memory) */
};

static const unsigned char CKPT_MAGIC[6] = { 'G', 'F', 'C', 'K', 'P', 'T' };

typedef gf_model_loader loader;

gf_status gf__model_fail(gf_model_loader *L, gf_status code, const char *fmt, ...)
{
    char msg[sizeof L->err->message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return gf__error_set(L->err, code, "model %s: %s", L->path, msg);
}

const char *gf__model_quoted(char *out, size_t cap, const unsigned char *s, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 8 < cap; i++) {
        if (i == 80) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        if (s[i] < 0x20 || s[i] == 0x7f || s[i] == '"' || s[i] == '\\')
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", s[i]);
        else
            out[o++] = (char)s[i];
    }
    out[o] = '\0';
    return out;
}

#define fail gf__model_fail
#define quoted gf__model_quoted

/* ---- the file's bytes ---- */

/* More bytes needed than the file holds: with an intact trailer, a damaged
 * length; without one, a truncated file. */
static gf_status r_short(loader *L, const char *what)
{
    if (L->trailer_ok) return fail(L, GF_ERR_FORMAT, "%s runs past the end of the sections (file damaged)", what);
    return fail(L, GF_ERR_FORMAT, "truncated at byte %llu (in %s)", (unsigned long long)L->size, what);
}

static bool r_has(const loader *L, uint64_t n) { return L->pos <= L->limit && n <= L->limit - L->pos; }

static gf_status r_bytes(loader *L, void *buf, uint64_t n, const char *what)
{
    unsigned char *p = buf;
    while (n > 0) {
        size_t chunk = n > (1u << 30) ? (1u << 30) : (size_t)n;
        size_t got = fread(p, 1, chunk, L->f);
        L->file_crc = gf__crc32(L->file_crc, p, got);
        L->pos += got;
        if (got < chunk) {
            if (ferror(L->f))
                return fail(L, GF_ERR_IO, "read error at byte %llu: %s", (unsigned long long)L->pos,
                            strerror(errno ? errno : EIO));
            L->size = L->pos; /* the file shrank under us */
            L->trailer_ok = false;
            return r_short(L, what);
        }
        p += got;
        n -= got;
    }
    return GF_OK;
}

static gf_status r_header(loader *L)
{
    unsigned char h[GF_MODEL_HEADER_BYTES];
    uint64_t have = L->size < sizeof h ? L->size : sizeof h;
    gf_status st = r_bytes(L, h, have, "the header");
    if (st != GF_OK) return st;
    if (have >= 6 && !memcmp(h, CKPT_MAGIC, 6))
        return fail(L, GF_ERR_FORMAT, "a gradflow checkpoint (variables only), not a model file: restore it into "
                                      "its graph with gf_session_restore");
    if (memcmp(h, gf__model_magic, have < 8 ? have : 8) != 0)
        return fail(L, GF_ERR_FORMAT, "not a gradflow model file (bad magic)");
    if (have < sizeof h)
        return fail(L, GF_ERR_FORMAT, "%s at byte %llu (in the header)", L->size ? "truncated" : "empty file: truncated",
                    (unsigned long long)L->size);
    uint32_t version = gf__get_u32(h + 8);
    if (version != GF_MODEL_VERSION)
        return fail(L, GF_ERR_FORMAT, "format version %u; this gradflow reads version %u (file damaged, or from a newer "
                                      "gradflow)", version, GF_MODEL_VERSION);
    if (gf__get_u32(h + 20) != gf__crc32(0, h, 20)) return fail(L, GF_ERR_FORMAT, "header CRC mismatch (file damaged)");
    if (gf__get_u32(h + 12) != 0)
        return fail(L, GF_ERR_FORMAT, "unknown header flags 0x%08x", (unsigned)gf__get_u32(h + 12));
    if (gf__get_u32(h + 16) != GF_MODEL_SECTIONS)
        return fail(L, GF_ERR_FORMAT, "%u sections, version %u has %u", (unsigned)gf__get_u32(h + 16), GF_MODEL_VERSION,
                    GF_MODEL_SECTIONS);
    return GF_OK;
}

/* Section k: its tag, length and payload (into *payload, library memory),
 * and its CRC. */
static gf_status r_section(loader *L, int k, unsigned char **payload, uint64_t *len)
{
    const char *tag = gf__model_section_tags[k];
    char what[64];
    snprintf(what, sizeof what, "section %s", tag);
    *payload = NULL;
    unsigned char h[12], c[4];
    uint64_t at = L->pos;
    if (!r_has(L, 12)) return r_short(L, what);
    gf_status st = r_bytes(L, h, 12, what);
    if (st != GF_OK) return st;
    if (memcmp(h, tag, 4) != 0) {
        char found[40];
        return fail(L, GF_ERR_FORMAT, "expected section %s at byte %llu, found \"%s\" (file damaged)", tag,
                    (unsigned long long)at, quoted(found, sizeof found, h, 4));
    }
    *len = gf__get_u64(h + 4);
    if (*len > L->limit || !r_has(L, *len + 4)) return r_short(L, what);
    *payload = gf__malloc(*len ? (size_t)*len : 1);
    if (!*payload) return fail(L, GF_ERR_NOMEM, "out of memory for %llu bytes of %s", (unsigned long long)*len, what);
    if ((st = r_bytes(L, *payload, *len, what)) != GF_OK) return st;
    if ((st = r_bytes(L, c, 4, what)) != GF_OK) return st;
    if (gf__get_u32(c) != gf__crc32(gf__crc32(0, h, 12), *payload, *len))
        return fail(L, GF_ERR_FORMAT, "section %s: CRC mismatch (file damaged)", tag);
    return GF_OK;
}

static gf_status r_trailer(loader *L)
{
    unsigned char t[GF_MODEL_TRAILER_BYTES];
    uint64_t at = L->pos;
    if (L->size - L->pos < sizeof t) {
        L->trailer_ok = false;
        return r_short(L, "the end marker");
    }
    gf_status st = r_bytes(L, t, 16, "the end marker");
    if (st != GF_OK) return st;
    uint32_t want = L->file_crc;
    if ((st = r_bytes(L, t + 16, 4, "the end marker")) != GF_OK) return st;
    if (memcmp(t, gf__model_end_magic, 8) != 0)
        return fail(L, GF_ERR_FORMAT, "no end marker at byte %llu, after the last section (file damaged)",
                    (unsigned long long)at);
    if (gf__get_u64(t + 8) != at + sizeof t)
        return fail(L, GF_ERR_FORMAT, "the end marker gives the file length as %llu, but it ends at byte %llu (file "
                                      "damaged)", (unsigned long long)gf__get_u64(t + 8),
                    (unsigned long long)(at + sizeof t));
    if (L->size != L->pos)
        return fail(L, GF_ERR_FORMAT, "%llu bytes of trailing data after the end marker",
                    (unsigned long long)(L->size - L->pos));
    if (gf__get_u32(t + 16) != want) return fail(L, GF_ERR_FORMAT, "whole-file CRC mismatch (file damaged)");
    return GF_OK;
}

/* Whether the file's last bytes are an end marker giving its own length. */
static bool peek_trailer(int fd, uint64_t size)
{
    unsigned char t[GF_MODEL_TRAILER_BYTES];
    if (size < GF_MODEL_HEADER_BYTES + sizeof t) return false;
    if (pread(fd, t, sizeof t, (off_t)(size - sizeof t)) != (ssize_t)sizeof t) return false;
    return memcmp(t, gf__model_end_magic, 8) == 0 && gf__get_u64(t + 8) == size;
}

/* ---- the model ---- */

static void loader_free(loader *L)
{
    if (L->f) fclose(L->f);
    gf__free(L->nodes);
    gf__free(L->entries);
    gf__free(L->values);
    gf__free(L->streams);
    gf_graph_free(L->g);
}

/* Every section in order, then the trailer; the payloads of VARS and RAND
 * are kept in *vars (freed by the caller) until the session is made. */
static gf_status read_all(loader *L, unsigned char **vars)
{
    gf_status st = r_header(L);
    for (int k = 0; st == GF_OK && k < (int)GF_MODEL_SECTIONS; k++) {
        unsigned char *p = NULL;
        uint64_t len = 0;
        st = r_section(L, k, &p, &len);
        if (st == GF_OK) {
            switch (k) {
            case 0: st = gf__model_p_meta(L, p, len); break;
            case 1: st = gf__model_p_nodes(L, p, len); break;
            case 2: st = gf__model_p_sign(L, p, len); break;
            case 3: st = gf__model_p_vars(L, p, len); break;
            default: st = gf__model_p_rand(L, p, len); break;
            }
        }
        if (k == 3 && st == GF_OK) *vars = p; /* L->values point into it */
        else gf__free(p);
    }
    if (st == GF_OK && L->trailer_ok && L->pos != L->limit)
        st = fail(L, GF_ERR_FORMAT, "%llu unexpected bytes after the last section (file damaged)",
                  (unsigned long long)(L->limit - L->pos));
    if (st == GF_OK) st = r_trailer(L);
    return st;
}

gf_model *gf_model_load(const char *path, const gf_model_options *opt, gf_error *err)
{
    if (!path || !*path) {
        gf__error_set(err, GF_ERR_ARG, "model: the path is NULL or empty");
        return NULL;
    }
    loader L = { .path = path, .err = err };
    int fd = open(path, O_RDONLY | O_NONBLOCK); /* O_NONBLOCK: never hang on a FIFO */
    if (fd < 0) {
        fail(&L, GF_ERR_IO, "cannot open: %s", strerror(errno));
        return NULL;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        fail(&L, GF_ERR_IO, "%s", strerror(errno));
        close(fd);
        return NULL;
    }
    if (!S_ISREG(sb.st_mode)) {
        fail(&L, GF_ERR_IO, "not a regular file");
        close(fd);
        return NULL;
    }
    L.size = (uint64_t)sb.st_size;
    L.trailer_ok = peek_trailer(fd, L.size);
    L.limit = L.trailer_ok ? L.size - GF_MODEL_TRAILER_BYTES : L.size;
    L.f = fdopen(fd, "rb");
    if (!L.f) {
        fail(&L, GF_ERR_IO, "%s", strerror(errno));
        close(fd);
        return NULL;
    }
    unsigned char *vars = NULL;
    gf_model *m = NULL;
    gf_status st = read_all(&L, &vars);
    if (st == GF_OK) {
        m = gf__calloc(1, sizeof *m);
        if (!m) st = fail(&L, GF_ERR_NOMEM, "out of memory");
    }
    if (st == GF_OK) {
        gf_session_options so = { .seed = L.seed };
        if (opt) {
            so.threads = opt->threads;
            so.disable = opt->disable;
            so.check_numerics = opt->check_numerics;
        }
        m->s = gf__session_new_restored(L.g, &so, L.values);
        if (!m->s) st = fail(&L, GF_ERR_NOMEM, "out of memory for the session");
        else if ((st = gf_session_status(m->s)) != GF_OK) fail(&L, st, "%s", gf_session_error(m->s));
    }
    if (st == GF_OK) { /* the saved streams, in place of the fresh ones */
        int n_rng;
        gf_rng *rng = gf__session_streams(m->s, &n_rng);
        for (int i = 0; i < n_rng; i++)
            if (L.nodes[i]->op->flags & GF_OPF_RANDOM) rng[i] = L.streams[i];
        if (!rng && n_rng == 0 && L.n_nodes > 0) {
            for (uint32_t i = 0; i < L.n_nodes && st == GF_OK; i++)
                if (L.nodes[i]->op->flags & GF_OPF_RANDOM) st = fail(&L, GF_ERR_NOMEM, "out of memory for the random streams");
        }
    }
    gf__free(vars);
    if (st != GF_OK) {
        if (m) gf_session_free(m->s);
        gf__free(m);
        loader_free(&L);
        return NULL;
    }
    m->g = L.g;
    m->entries = L.entries;
    m->sig = (gf_signature){ .inputs = L.entries, .n_inputs = (int)L.n_in, .outputs = L.entries + L.n_in,
                             .n_outputs = (int)L.n_out };
    L.g = NULL;
    L.entries = NULL;
    loader_free(&L);
    if (err) {
        err->code = GF_OK;
        err->message[0] = '\0';
    }
    return m;
}

void gf_model_free(gf_model *m)
{
    if (!m) return;
    gf_session_free(m->s);
    gf_graph_free(m->g);
    gf__free(m->entries);
    gf__free(m);
}

gf_graph *gf_model_graph(const gf_model *m) { return m ? m->g : NULL; }
gf_session *gf_model_session(const gf_model *m) { return m ? m->s : NULL; }
const gf_signature *gf_model_signature(const gf_model *m) { return m ? &m->sig : NULL; }

static gf_node *find(const gf_signature_entry *e, int n, const char *key)
{
    for (int i = 0; key && i < n; i++)
        if (!strcmp(e[i].key, key)) return e[i].node;
    return NULL;
}

gf_node *gf_model_input(const gf_model *m, const char *key)
{
    return m ? find(m->sig.inputs, m->sig.n_inputs, key) : NULL;
}

gf_node *gf_model_output(const gf_model *m, const char *key)
{
    return m ? find(m->sig.outputs, m->sig.n_outputs, key) : NULL;
}
