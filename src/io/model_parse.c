/*
 * model_parse.c — what the sections of a model file say (model_load.h):
 * META's counts, NODE's records rebuilt into a graph, SIGN's keys, VARS's
 * values and RAND's streams, each checked against the graph. A payload
 * reaches here only after its CRC matched, so a field that does not fit
 * is reported as malformed (a writer's fault), naming the node and field.
 */
#include "model_load.h"

#include <stdio.h>
#include <string.h>

#define fail gf__model_fail
#define quoted gf__model_quoted

/* A payload that did not end where its contents do. */
static gf_status leftover(gf_model_loader *L, const char *tag, const gf_cursor *c)
{
    if (c->at == c->n) return GF_OK;
    return fail(L, GF_ERR_FORMAT, "section %s: %llu bytes left after its contents (malformed)", tag,
                (unsigned long long)(c->n - c->at));
}

gf_status gf__model_p_meta(gf_model_loader *L, const unsigned char *p, uint64_t len)
{
    gf_cursor c = { p, (size_t)len, 0 };
    const unsigned char *producer;
    uint32_t plen;
    if (!gf__cur_str(&c, 256, &producer, &plen) || !gf__cur_u64(&c, &L->seed) || !gf__cur_u32(&c, &L->n_nodes) ||
        !gf__cur_u32(&c, &L->n_vars))
        return fail(L, GF_ERR_FORMAT, "section META: shorter than its fields (malformed)");
    if (L->n_vars > L->n_nodes)
        return fail(L, GF_ERR_FORMAT, "section META: %u variables but %u nodes (malformed)", L->n_vars, L->n_nodes);
    return leftover(L, "META", &c);
}

/* ---- NODE ---- */

/* The smallest node record: two 1-byte strings, dtype, rank, input and
 * attribute counts. */
#define MIN_NODE_BYTES 26u

static const gf_op *op_named(const unsigned char *s, uint32_t len)
{
    for (int i = 0; i < GF_OP_COUNT; i++)
        if (strlen(gf__ops[i].name) == len && !memcmp(gf__ops[i].name, s, len)) return &gf__ops[i];
    return NULL;
}

/* One node record, rebuilt as node i. where: "node I" for messages, made
 * "node I \"NAME\" (op OP)" once those are read. */
static gf_status p_node(gf_model_loader *L, gf_cursor *c, uint32_t i, gf_model_fields *f)
{
    char where[600], q[400], why[512];
    const unsigned char *name, *opname;
    uint32_t name_len, op_len, dtype, rank, n_in, n_attrs;
    snprintf(where, sizeof where, "node %u", i);
    if (!gf__cur_str(c, GF_NAME_MAX - 1, &name, &name_len) || name_len == 0)
        return fail(L, GF_ERR_FORMAT, "section NODE: %s: its name is empty, longer than %d bytes or past the end "
                                      "(malformed)", where, GF_NAME_MAX - 1);
    quoted(q, sizeof q, name, name_len);
    if (memchr(name, 0, name_len))
        return fail(L, GF_ERR_FORMAT, "section NODE: node %u \"%s\": the name contains a NUL byte", i, q);
    if (!gf__cur_str(c, 64, &opname, &op_len))
        return fail(L, GF_ERR_FORMAT, "section NODE: node %u \"%s\": its op name runs past the end (malformed)", i, q);
    const gf_op *op = op_named(opname, op_len);
    if (!op) {
        char qo[400];
        return fail(L, GF_ERR_FORMAT, "section NODE: node %u \"%s\": unknown op \"%s\"", i, q,
                    quoted(qo, sizeof qo, opname, op_len));
    }
    snprintf(where, sizeof where, "node %u \"%s\" (op %s)", i, q, op->name);
    if (!gf__cur_u32(c, &dtype) || !gf__cur_u32(c, &rank))
        return fail(L, GF_ERR_FORMAT, "section NODE: %s: its dtype and rank run past the end (malformed)", where);
    if (dtype > GF_BOOL) return fail(L, GF_ERR_FORMAT, "section NODE: %s: unknown dtype code %u", where, dtype);
    if (rank > GF_MAX_RANK) return fail(L, GF_ERR_FORMAT, "section NODE: %s: rank %u, at most %d", where, rank, GF_MAX_RANK);
    gf_shape shape = { .rank = (int)rank };
    for (uint32_t d = 0; d < rank; d++) {
        uint64_t v;
        if (!gf__cur_u64(c, &v))
            return fail(L, GF_ERR_FORMAT, "section NODE: %s: its dimensions run past the end (malformed)", where);
        int64_t dim = (int64_t)v;
        if (dim < GF_ANY || dim > GF_MODEL_MAX_ELEMENTS)
            return fail(L, GF_ERR_FORMAT, "section NODE: %s: dimension %u is %lld, expected -1 (open) or 0..2^40",
                        where, d, (long long)dim);
        shape.dim[d] = dim;
    }
    if (!gf__cur_u32(c, &n_in))
        return fail(L, GF_ERR_FORMAT, "section NODE: %s: its input count runs past the end (malformed)", where);
    if (n_in != (uint32_t)op->arity)
        return fail(L, GF_ERR_FORMAT, "section NODE: %s: %u inputs, op %s takes %d", where, n_in, op->name,
                    op->arity);
    gf_node *in[GF_MAX_INPUTS] = { NULL };
    for (uint32_t k = 0; k < n_in; k++) {
        uint32_t id;
        if (!gf__cur_u32(c, &id))
            return fail(L, GF_ERR_FORMAT, "section NODE: %s: its inputs run past the end (malformed)", where);
        if (id >= i)
            return fail(L, GF_ERR_FORMAT, "section NODE: %s: input %u is node %u, expected an earlier node (0..%d)",
                        where, k, id, (int)i - 1);
        in[k] = L->nodes[id];
    }
    if (!gf__cur_u32(c, &n_attrs) || n_attrs > 64)
        return fail(L, GF_ERR_FORMAT, "section NODE: %s: its attribute count is past the end or above 64 (malformed)",
                    where);
    for (uint32_t k = 0; k < n_attrs; k++)
        if (!gf__model_get_attr(c, f, why, sizeof why))
            return fail(L, !strcmp(why, "out of memory") ? GF_ERR_NOMEM : GF_ERR_FORMAT,
                        "section NODE: %s: %s", where, why);
    if (f->init >= 0) {
        if (f->init >= i)
            return fail(L, GF_ERR_FORMAT, "section NODE: %s: attribute \"init\" is node %lld, expected an earlier "
                                          "node (0..%d)", where, (long long)f->init, (int)i - 1);
        in[0] = L->nodes[f->init];
    }

    char name_z[GF_NAME_MAX];
    memcpy(name_z, name, name_len);
    name_z[name_len] = '\0';
    why[0] = '\0';
    gf_node *n = gf__model_rebuild(L->g, op, name_z, (gf_dtype)dtype, shape, in, f, why, sizeof why);
    if (!n) return fail(L, GF_ERR_FORMAT, "section NODE: %s: %s", where, why);
    if (n->id < 0) {
        gf_status st = gf_graph_status(L->g);
        return fail(L, st == GF_ERR_NOMEM ? GF_ERR_NOMEM : GF_ERR_FORMAT, "section NODE: %s: %s", where,
                    gf_graph_error(L->g));
    }
    if (n->id != (int)i)
        return fail(L, GF_ERR_FORMAT, "section NODE: %s: rebuilt as node %d", where, n->id);
    if (!gf__attrs_equal(&n->attrs, &f->attrs)) {
        const char *key = gf__model_attr_diff(&n->attrs, &f->attrs);
        return fail(L, GF_ERR_FORMAT, "section NODE: %s: attribute \"%s\" holds a value op %s does not take "
                                      "(or does not use)", where, key ? key : "?", op->name);
    }
    char b1[GF_SHAPE_STR], b2[GF_SHAPE_STR];
    if (n->dtype != (gf_dtype)dtype || !gf__shape_equal(n->shape, shape))
        return fail(L, GF_ERR_FORMAT, "section NODE: %s: the file says %s %s, the op makes %s %s of its inputs", where,
                    gf_dtype_name((gf_dtype)dtype), gf_shape_format(shape, b1, sizeof b1), gf_dtype_name(n->dtype),
                    gf_shape_format(n->shape, b2, sizeof b2));
    gf_name(n, name_z);
    if (gf_graph_status(L->g) != GF_OK)
        return fail(L, gf_graph_status(L->g), "section NODE: %s: %s", where, gf_graph_error(L->g));
    if (strcmp(n->name, name_z))
        return fail(L, GF_ERR_FORMAT, "section NODE: %s: an earlier node has the same name", where);
    L->nodes[i] = n;
    return GF_OK;
}

gf_status gf__model_p_nodes(gf_model_loader *L, const unsigned char *p, uint64_t len)
{
    if (L->n_nodes > len / MIN_NODE_BYTES)
        return fail(L, GF_ERR_FORMAT, "section NODE: %u nodes cannot fit in its %llu bytes (malformed)", L->n_nodes,
                    (unsigned long long)len);
    L->nodes = gf__calloc((size_t)L->n_nodes + 1, sizeof *L->nodes);
    L->g = gf_graph_new();
    if (!L->nodes || !L->g) return fail(L, GF_ERR_NOMEM, "out of memory for %u nodes", L->n_nodes);
    gf_cursor c = { p, (size_t)len, 0 };
    for (uint32_t i = 0; i < L->n_nodes; i++) {
        gf_model_fields f = { .init = -1, .trainable = -1 };
        gf_status st = p_node(L, &c, i, &f);
        gf__free(f.text);
        if (st != GF_OK) return st;
    }
    if ((uint32_t)L->g->n_variables != L->n_vars)
        return fail(L, GF_ERR_FORMAT, "section NODE: %d variables, section META says %u", L->g->n_variables, L->n_vars);
    return leftover(L, "NODE", &c);
}

/* ---- SIGN ---- */

/* Every placeholder an output depends on is one of the inputs (as
 * gf_model_save requires). */
static gf_status needs_listed(gf_model_loader *L)
{
    gf_signature sig = { L->entries, (int)L->n_in, L->entries + L->n_in, (int)L->n_out };
    int o = 0;
    gf_node *ph = NULL;
    gf_status st = gf__model_needs_listed(L->g, &sig, &o, &ph);
    if (st == GF_ERR_NOMEM) return fail(L, st, "out of memory for the signature");
    if (st == GF_OK) return GF_OK;
    char qk[400], qn[400];
    return fail(L, GF_ERR_FORMAT, "section SIGN: output \"%s\" needs placeholder \"%s\", which is not one of the "
                                  "inputs", quoted(qk, sizeof qk, (const unsigned char *)sig.outputs[o].key,
                                                   strlen(sig.outputs[o].key)),
                quoted(qn, sizeof qn, (const unsigned char *)ph->name, strlen(ph->name)));
}

gf_status gf__model_p_sign(gf_model_loader *L, const unsigned char *p, uint64_t len)
{
    gf_cursor c = { p, (size_t)len, 0 };
    uint32_t counts[2] = { 0, 0 };
    static const char *what[2] = { "input", "output" };
    /* Each entry takes at least 9 bytes (a 1-byte key and a node). */
    L->entries = gf__calloc((size_t)(len / 9) + 1, sizeof *L->entries);
    if (!L->entries) return fail(L, GF_ERR_NOMEM, "out of memory for the signature");
    uint32_t total = 0;
    for (int k = 0; k < 2; k++) {
        if (!gf__cur_u32(&c, &counts[k]) || counts[k] > (len - c.at) / 9 || counts[k] > GF_MODEL_MAX_ENTRIES)
            return fail(L, GF_ERR_FORMAT, "section SIGN: the %s count is past the end or too large (malformed)",
                        what[k]);
        for (uint32_t i = 0; i < counts[k]; i++) {
            const unsigned char *key;
            uint32_t key_len, id;
            char q[400];
            if (!gf__cur_str(&c, GF_NAME_MAX - 1, &key, &key_len) || key_len == 0 || !gf__cur_u32(&c, &id))
                return fail(L, GF_ERR_FORMAT, "section SIGN: %s %u: an empty or too long key, or past the end "
                                              "(malformed)", what[k], i);
            quoted(q, sizeof q, key, key_len);
            if (memchr(key, 0, key_len))
                return fail(L, GF_ERR_FORMAT, "section SIGN: %s \"%s\": the key contains a NUL byte", what[k], q);
            if (id >= L->n_nodes)
                return fail(L, GF_ERR_FORMAT, "section SIGN: %s \"%s\" is node %u, but there are %u nodes", what[k], q,
                            id, L->n_nodes);
            gf_node *n = L->nodes[id];
            if (k == 0 && !(n->op->flags & GF_OPF_PLACEHOLDER))
                return fail(L, GF_ERR_FORMAT, "section SIGN: input \"%s\" is node %u \"%s\" (op %s), not a "
                                              "placeholder", q, id, n->name, n->op->name);
            char *copy = gf__graph_alloc(L->g, (size_t)key_len + 1);
            if (!copy) return fail(L, GF_ERR_NOMEM, "out of memory for the signature");
            memcpy(copy, key, key_len);
            copy[key_len] = '\0';
            for (uint32_t j = 0; j < total; j++)
                if (!strcmp(L->entries[j].key, copy))
                    return fail(L, GF_ERR_FORMAT, "section SIGN: key \"%s\" is given twice", q);
            L->entries[total++] = (gf_signature_entry){ copy, n };
        }
    }
    L->n_in = counts[0];
    L->n_out = counts[1];
    gf_status st = leftover(L, "SIGN", &c);
    return st == GF_OK ? needs_listed(L) : st;
}

/* ---- VARS ---- */

gf_status gf__model_p_vars(gf_model_loader *L, unsigned char *p, uint64_t len)
{
    gf_cursor c = { p, (size_t)len, 0 };
    uint32_t count;
    if (!gf__cur_u32(&c, &count)) return fail(L, GF_ERR_FORMAT, "section VARS: no count (malformed)");
    if (count != L->n_vars)
        return fail(L, GF_ERR_FORMAT, "section VARS: %u values, the graph has %u variables", count, L->n_vars);
    L->values = gf__calloc((size_t)count + 1, sizeof *L->values);
    if (!L->values) return fail(L, GF_ERR_NOMEM, "out of memory for %u variables", count);
    uint32_t k = 0;
    for (uint32_t i = 0; i < L->n_nodes && k < count; i++) {
        gf_node *v = L->nodes[i];
        if (v->var_index < 0) continue;
        uint32_t id;
        uint64_t elements;
        unsigned char *data;
        char q[400];
        if (!gf__cur_u32(&c, &id) || !gf__cur_u64(&c, &elements))
            return fail(L, GF_ERR_FORMAT, "section VARS: value %u runs past the end (malformed)", k);
        if (id != i)
            return fail(L, GF_ERR_FORMAT, "section VARS: value %u is for node %u, expected variable %u \"%s\" (values "
                                          "come in the variables' order)", k, id, i,
                        quoted(q, sizeof q, (const unsigned char *)v->name, strlen(v->name)));
        int64_t want = gf_shape_count(v->shape);
        if (elements != (uint64_t)want)
            return fail(L, GF_ERR_FORMAT, "section VARS: variable \"%s\": %llu values, its shape holds %lld",
                        quoted(q, sizeof q, (const unsigned char *)v->name, strlen(v->name)),
                        (unsigned long long)elements, (long long)want);
        const unsigned char *at;
        if (!gf__cur_skip(&c, 4 * elements, &at))
            return fail(L, GF_ERR_FORMAT, "section VARS: variable \"%s\": its values run past the end (malformed)",
                        quoted(q, sizeof q, (const unsigned char *)v->name, strlen(v->name)));
        data = p + (at - (const unsigned char *)p);
        for (uint64_t e = 0; e < elements; e++) { /* little-endian bytes to floats, in place */
            uint32_t u = gf__get_u32(data + 4 * e);
            memcpy(data + 4 * e, &u, 4);
        }
        L->values[v->var_index] = (const float *)(const void *)data;
        k++;
    }
    return leftover(L, "VARS", &c);
}

/* ---- RAND ---- */

gf_status gf__model_p_rand(gf_model_loader *L, const unsigned char *p, uint64_t len)
{
    gf_cursor c = { p, (size_t)len, 0 };
    uint32_t count;
    if (!gf__cur_u32(&c, &count) || count > len / 20)
        return fail(L, GF_ERR_FORMAT, "section RAND: the count is past the end or too large (malformed)");
    L->streams = gf__calloc((size_t)L->n_nodes + 1, sizeof *L->streams);
    if (!L->streams) return fail(L, GF_ERR_NOMEM, "out of memory for the random streams");
    for (uint32_t k = 0; k < count; k++) {
        uint32_t id;
        uint64_t state, inc;
        if (!gf__cur_u32(&c, &id) || !gf__cur_u64(&c, &state) || !gf__cur_u64(&c, &inc))
            return fail(L, GF_ERR_FORMAT, "section RAND: stream %u runs past the end (malformed)", k);
        if (id >= L->n_nodes || !(L->nodes[id]->op->flags & GF_OPF_RANDOM))
            return fail(L, GF_ERR_FORMAT, "section RAND: stream %u is for node %u, which is not a random node", k, id);
        if (!(inc & 1))
            return fail(L, GF_ERR_FORMAT, "section RAND: stream %u (node %u): increment %llu, expected an odd number",
                        k, id, (unsigned long long)inc);
        if (L->streams[id].inc)
            return fail(L, GF_ERR_FORMAT, "section RAND: node %u has two streams", id);
        L->streams[id] = (gf_rng){ state, inc };
    }
    for (uint32_t i = 0; i < L->n_nodes; i++)
        if ((L->nodes[i]->op->flags & GF_OPF_RANDOM) && !L->streams[i].inc)
            return fail(L, GF_ERR_FORMAT, "section RAND: random node %u \"%s\" has no stream", i, L->nodes[i]->name);
    return leftover(L, "RAND", &c);
}
