/*
 * model_save.c — gf_model_save: a session's graph, variables, seed, random
 * streams and a signature, written atomically in the model file format
 * (docs/model-format.md).
 */
#include "model.h"
#include "atomic.h"
#include "session.h"

#include <stdio.h>
#include <string.h>

typedef struct writer {
    gf_atomic a;
    uint32_t file_crc, sec_crc;
    uint64_t bytes;
} writer;

static void w_bytes(writer *w, const void *p, size_t n)
{
    if (w->a.err || n == 0) return;
    gf__atomic_write(&w->a, p, n);
    if (w->a.err) return;
    w->file_crc = gf__crc32(w->file_crc, p, n);
    w->sec_crc = gf__crc32(w->sec_crc, p, n);
    w->bytes += n;
}

/* A section's tag and length; its payload follows, then w_section_end. */
static void w_section_begin(writer *w, const char *tag, uint64_t length)
{
    unsigned char h[12];
    memcpy(h, tag, 4);
    gf__put_u64(h + 4, length);
    w->sec_crc = 0;
    w_bytes(w, h, 12);
}

static void w_section_end(writer *w)
{
    unsigned char c[4];
    gf__put_u32(c, w->sec_crc);
    w_bytes(w, c, 4);
}

static void w_section(writer *w, const char *tag, const gf_buf *b)
{
    w_section_begin(w, tag, b->n);
    w_bytes(w, b->p, b->n);
    w_section_end(w);
}

/* The variables' values: streamed, being the bulk of the file. */
static void w_vars(writer *w, gf_session *s, const gf_graph *g)
{
    uint64_t length = 4;
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i]->var_index >= 0) length += 12 + 4 * (uint64_t)gf_shape_count(g->nodes[i]->shape);
    w_section_begin(w, "VARS", length);
    unsigned char buf[4 * 2048];
    gf__put_u32(buf, (uint32_t)g->n_variables);
    w_bytes(w, buf, 4);
    for (int i = 0; i < g->n_nodes && !w->a.err; i++) {
        gf_node *n = g->nodes[i];
        if (n->var_index < 0) continue;
        const gf_tensor *t = gf__session_var(s, n->var_index);
        int64_t count = gf_shape_count(n->shape);
        gf__put_u32(buf, (uint32_t)n->id);
        gf__put_u64(buf + 4, (uint64_t)count);
        w_bytes(w, buf, 12);
        for (int64_t at = 0; at < count;) {
            int64_t m = count - at < 2048 ? count - at : 2048;
            for (int64_t j = 0; j < m; j++) {
                uint32_t u;
                memcpy(&u, &t->data[at + j], 4);
                gf__put_u32(buf + 4 * j, u);
            }
            w_bytes(w, buf, (size_t)(4 * m));
            at += m;
        }
    }
    w_section_end(w);
}

/* ---- the sections held in memory ---- */

static void put_meta(gf_buf *b, gf_session *s, const gf_graph *g)
{
    char producer[64];
    snprintf(producer, sizeof producer, "gradflow %d.%d.%d", GF_VERSION_MAJOR, GF_VERSION_MINOR,
             GF_VERSION_PATCH);
    gf__buf_str(b, producer);
    gf__buf_u64(b, gf__session_seed(s));
    gf__buf_u32(b, (uint32_t)g->n_nodes);
    gf__buf_u32(b, (uint32_t)g->n_variables);
}

static void put_nodes(gf_buf *b, const gf_graph *g)
{
    for (int i = 0; i < g->n_nodes; i++) {
        const gf_node *n = g->nodes[i];
        gf__buf_str(b, n->name);
        gf__buf_str(b, n->op->name);
        gf__buf_u32(b, (uint32_t)n->dtype);
        gf__buf_u32(b, (uint32_t)n->shape.rank);
        for (int d = 0; d < n->shape.rank; d++) gf__buf_u64(b, (uint64_t)n->shape.dim[d]);
        gf__buf_u32(b, (uint32_t)n->n_inputs);
        for (int k = 0; k < n->n_inputs; k++) gf__buf_u32(b, (uint32_t)n->inputs[k]->id);
        gf__model_put_attrs(b, n);
    }
}

static void put_entries(gf_buf *b, const gf_signature_entry *e, int n)
{
    gf__buf_u32(b, (uint32_t)n);
    for (int i = 0; i < n; i++) {
        gf__buf_str(b, e[i].key);
        gf__buf_u32(b, (uint32_t)e[i].node->id);
    }
}

static bool put_streams(gf_buf *b, gf_session *s, const gf_graph *g)
{
    int n_rng;
    gf_rng *rng = gf__session_streams(s, &n_rng);
    if (!rng && n_rng == 0) {
        bool any = false;
        for (int i = 0; i < g->n_nodes; i++) any |= (g->nodes[i]->op->flags & GF_OPF_RANDOM) != 0;
        if (any) return false;
    }
    uint32_t count = 0;
    for (int i = 0; i < g->n_nodes && i < n_rng; i++) count += (g->nodes[i]->op->flags & GF_OPF_RANDOM) != 0;
    gf__buf_u32(b, count);
    for (int i = 0; i < g->n_nodes && i < n_rng; i++) {
        if (!(g->nodes[i]->op->flags & GF_OPF_RANDOM)) continue;
        gf__buf_u32(b, (uint32_t)i);
        gf__buf_u64(b, rng[i].state);
        gf__buf_u64(b, rng[i].inc);
    }
    return true;
}

/* ---- checks ---- */

/* The signature against s's graph; GF_OK or the failure on s. */
static gf_status check_signature(gf_session *s, const gf_signature *sig, const char *path)
{
    gf_graph *g = gf__session_graph(s);
    if (!sig) return GF_OK;
    const gf_signature_entry *groups[2] = { sig->inputs, sig->outputs };
    int counts[2] = { sig->n_inputs, sig->n_outputs };
    static const char *what[2] = { "input", "output" };
    for (int k = 0; k < 2; k++) {
        if (counts[k] < 0)
            return gf__session_fail(s, GF_ERR_ARG, "model %s: signature: %d %ss: expected a count >= 0", path,
                                    counts[k], what[k]);
        if (counts[k] > GF_MODEL_MAX_ENTRIES)
            return gf__session_fail(s, GF_ERR_ARG, "model %s: signature: %d %ss, at most %d", path, counts[k], what[k],
                                    GF_MODEL_MAX_ENTRIES);
        if (counts[k] > 0 && !groups[k])
            return gf__session_fail(s, GF_ERR_ARG, "model %s: signature: %d %ss but the array is NULL", path,
                                    counts[k], what[k]);
        for (int i = 0; i < counts[k]; i++) {
            const gf_signature_entry *e = &groups[k][i];
            size_t len = e->key ? strlen(e->key) : 0;
            if (len == 0 || len >= GF_NAME_MAX)
                return gf__session_fail(s, GF_ERR_ARG, "model %s: signature: %s %d has a key that is %s", path,
                                        what[k], i, !e->key ? "NULL" : len ? "longer than 63 bytes" : "empty");
            for (int k2 = 0; k2 <= k; k2++)
                for (int j = 0; j < (k2 == k ? i : counts[k2]); j++)
                    if (!strcmp(groups[k2][j].key, e->key))
                        return gf__session_fail(s, GF_ERR_ARG, "model %s: signature: key \"%s\" is given twice",
                                                path, e->key);
            if (!e->node || e->node->graph != g || e->node->id < 0)
                return gf__session_fail(s, GF_ERR_ARG, "model %s: signature: %s \"%s\" is %s", path, what[k], e->key,
                                        !e->node ? "NULL" : e->node->id < 0 ? "a poisoned node"
                                                                            : "a node of another graph");
            if (k == 0 && !(e->node->op->flags & GF_OPF_PLACEHOLDER))
                return gf__session_fail(s, GF_ERR_ARG,
                                        "model %s: signature: input \"%s\" is \"%s\" (op %s), not a placeholder",
                                        path, e->key, e->node->name, e->node->op->name);
        }
    }
    int o = 0;
    gf_node *ph = NULL;
    gf_status st = gf__model_needs_listed(g, sig, &o, &ph);
    if (st == GF_ERR_NOMEM) return gf__session_fail(s, st, "model %s: out of memory", path);
    if (st != GF_OK)
        return gf__session_fail(s, GF_ERR_ARG,
                                "model %s: signature: output \"%s\" needs placeholder \"%s\", which is not one of "
                                "the signature's inputs", path, sig->outputs[o].key, ph->name);
    return GF_OK;
}

static gf_status check_args(gf_session *s, const gf_signature *sig, const char *path)
{
    if (!s) return GF_ERR_ARG;
    if (gf_session_status(s) != GF_OK) return gf_session_status(s); /* the message stays */
    if (!path || !*path) return gf__session_fail(s, GF_ERR_ARG, "model: the path is NULL or empty");
    gf_graph *g = gf__session_graph(s);
    if (g->status != GF_OK)
        return gf__session_fail(s, GF_ERR_STATE, "model %s: the graph is in error: %s", path, g->error);
    for (int i = 0; i < g->n_nodes; i++)
        if (!gf__model_op_loadable(g->nodes[i]->op))
            return gf__session_fail(s, GF_ERR_ARG, "model %s: node %d \"%s\": op %s cannot be saved in a model file",
                                    path, i, g->nodes[i]->name, g->nodes[i]->op->name);
    gf_status st = check_signature(s, sig, path);
    if (st != GF_OK) return st;
    st = gf__session_init_variables(s);
    if (st != GF_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", gf_session_error(s));
        return gf__session_fail(s, st, "model %s: initialising variables: %s", path, msg);
    }
    return GF_OK;
}

gf_status gf_model_save(gf_session *s, const gf_signature *sig, const char *path)
{
    gf_status st = check_args(s, sig, path);
    if (st != GF_OK) return st;
    gf_graph *g = gf__session_graph(s);
    gf_buf meta = { 0 }, nodes = { 0 }, sign = { 0 }, rand = { 0 };
    put_meta(&meta, s, g);
    put_nodes(&nodes, g);
    put_entries(&sign, sig ? sig->inputs : NULL, sig ? sig->n_inputs : 0);
    put_entries(&sign, sig ? sig->outputs : NULL, sig ? sig->n_outputs : 0);
    bool streams = put_streams(&rand, s, g);
    char msg[768];
    if (!streams || meta.failed || nodes.failed || sign.failed || rand.failed) {
        st = gf__session_fail(s, GF_ERR_NOMEM, "model %s: out of memory", path);
        goto out;
    }
    writer w = { .file_crc = 0 };
    if ((st = gf__atomic_open(&w.a, path, msg, sizeof msg)) != GF_OK) {
        gf__session_fail(s, st, "model %s: %s", path, msg);
        goto out;
    }
    unsigned char h[GF_MODEL_HEADER_BYTES];
    memcpy(h, gf__model_magic, 8);
    gf__put_u32(h + 8, GF_MODEL_VERSION);
    gf__put_u32(h + 12, 0);
    gf__put_u32(h + 16, GF_MODEL_SECTIONS);
    gf__put_u32(h + 20, gf__crc32(0, h, 20));
    w_bytes(&w, h, sizeof h);
    w_section(&w, "META", &meta);
    w_section(&w, "NODE", &nodes);
    w_section(&w, "SIGN", &sign);
    w_vars(&w, s, g);
    w_section(&w, "RAND", &rand);
    unsigned char t[GF_MODEL_TRAILER_BYTES];
    memcpy(t, gf__model_end_magic, 8);
    gf__put_u64(t + 8, w.bytes + GF_MODEL_TRAILER_BYTES);
    w_bytes(&w, t, 16);
    gf__put_u32(t, w.file_crc);
    w_bytes(&w, t, 4);
    if ((st = gf__atomic_close(&w.a, path, msg, sizeof msg)) != GF_OK)
        gf__session_fail(s, st, "model %s: %s", path, msg);
    else
        gf__session_fail(s, GF_OK, "%s", "");
out:
    gf__buf_free(&meta);
    gf__buf_free(&nodes);
    gf__buf_free(&sign);
    gf__buf_free(&rand);
    return st;
}
