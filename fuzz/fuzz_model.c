/*
 * fuzz_model.c — libFuzzer target for the model file reader: loads the
 * input (after an optional CRC repair) with gf_model_load, and runs, saves
 * and reloads what loads.
 */
/* Input: one mode byte, then the file. Mode bits 0..2 recompute the header
 * CRC, the sections' CRCs and the trailer (length, file CRC) as
 * docs/model-format.md specifies, so that mutations get past the CRC
 * checks to the parsing and rebuilding behind them. A failed load must
 * come with a message and one of the documented codes; a model that loads
 * must have a graph without error and a signature of its own nodes (inputs
 * placeholders), must run its outputs (small graphs only) without crashing,
 * and must save and load again. */
#include "gradflow.h"
#include "fuzz_util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static uint32_t fm_get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void fm_put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t fm_crc(const uint8_t *p, size_t n) { return (uint32_t)crc32(crc32(0L, Z_NULL, 0), p, (uInt)n); }

/* Recomputes the CRCs (and the trailer's length) that mode asks for, as far
 * as the sections can be followed. */
static void fm_repair(uint8_t *f, size_t n, unsigned mode)
{
    if ((mode & 1) && n >= 24) fm_put32(f + 20, fm_crc(f, 20));
    if ((mode & 2) && n >= 24) {
        size_t at = 24;
        for (int k = 0; k < 5 && n - at >= 12; k++) {
            uint64_t len = (uint64_t)fm_get32(f + at + 4) | (uint64_t)fm_get32(f + at + 8) << 32;
            if (len > n - at - 12 || n - at - 12 - len < 4) break;
            fm_put32(f + at + 12 + len, fm_crc(f + at, 12 + (size_t)len));
            at += 16 + (size_t)len;
        }
    }
    if ((mode & 4) && n >= 20) {
        uint64_t len = n;
        fm_put32(f + n - 12, (uint32_t)len);
        fm_put32(f + n - 8, (uint32_t)(len >> 32));
        fm_put32(f + n - 4, fm_crc(f, n - 4));
    }
}

/* Whether every node is small: at most 4096 elements with open dimensions
 * taken as 2 (then running the outputs is cheap). */
static int fm_small(gf_graph *g)
{
    for (int i = 0; i < gf_graph_node_count(g); i++) {
        gf_shape s = gf_node_shape(gf_graph_node(g, i));
        int64_t c = 1;
        for (int d = 0; d < s.rank; d++) {
            int64_t k = s.dim[d] < 0 ? 2 : s.dim[d];
            if (k > 4096 || (c *= k) > 4096) return 0;
        }
    }
    return 1;
}

/* Feeds every input zeros (open dimensions 2) and fetches each output in
 * its own run; errors are fine, crashes and silent failures are not. */
static void fm_run(gf_model *m)
{
    const gf_signature *sig = gf_model_signature(m);
    gf_session *s = gf_model_session(m);
    gf_feed feeds[16];
    int n = 0;
    for (int i = 0; i < sig->n_inputs && n < 16; i++) {
        gf_shape sh = gf_node_shape(sig->inputs[i].node);
        for (int d = 0; d < sh.rank; d++)
            if (sh.dim[d] < 0) sh.dim[d] = 2;
        gf_tensor *t = gf_tensor_new(gf_node_dtype(sig->inputs[i].node), sh, NULL);
        if (t) feeds[n++] = (gf_feed){ sig->inputs[i].node, t };
    }
    for (int i = 0; i < sig->n_outputs && i < 16; i++) {
        const gf_tensor *out = NULL;
        gf_node *y = sig->outputs[i].node;
        gf_status st = gf_session_run(s, feeds, n, &y, 1, NULL, 0, &out);
        if (st == GF_OK) {
            GF_FUZZ_CHECK(out != NULL && gf_tensor_dtype(out) == gf_node_dtype(y));
            (void)gf_fuzz_touch(gf_tensor_data(out), (size_t)gf_tensor_count(out) * sizeof(float));
        } else {
            GF_FUZZ_CHECK(gf_session_error(s)[0] != '\0');
        }
    }
    for (int i = 0; i < n; i++) gf_tensor_free((gf_tensor *)feeds[i].value);
}

int gf_fuzz_model(const uint8_t *data, size_t size);
int gf_fuzz_model(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    char buf[640], buf2[640];
    const char *path = gf_fuzz_path("model.gfm", buf, sizeof buf);
    const char *again = gf_fuzz_path("again.gfm", buf2, sizeof buf2);
    if (!path || !again) return 0;
    uint8_t *file = malloc(size);
    if (!file) return 0;
    memcpy(file, data + 1, size - 1);
    fm_repair(file, size - 1, data[0]);
    int wrote = gf_fuzz_write(path, file, size - 1);
    free(file);
    if (wrote != 0) return 0;

    gf_error err = { 0 };
    gf_model *m = gf_model_load(path, NULL, &err);
    if (!m) {
        GF_FUZZ_CHECK(err.message[0] != '\0');
        GF_FUZZ_CHECK(err.code == GF_ERR_FORMAT || err.code == GF_ERR_IO || err.code == GF_ERR_NOMEM);
        return 0;
    }
    gf_graph *g = gf_model_graph(m);
    GF_FUZZ_CHECK(g && gf_graph_status(g) == GF_OK && gf_session_status(gf_model_session(m)) == GF_OK);
    const gf_signature *sig = gf_model_signature(m);
    for (int i = 0; i < sig->n_inputs; i++) {
        GF_FUZZ_CHECK(gf_node_graph(sig->inputs[i].node) == g);
        GF_FUZZ_CHECK(!strcmp(gf_node_op(sig->inputs[i].node), "placeholder"));
        GF_FUZZ_CHECK(gf_model_input(m, sig->inputs[i].key) != NULL);
    }
    for (int i = 0; i < sig->n_outputs; i++) GF_FUZZ_CHECK(gf_node_graph(sig->outputs[i].node) == g);
    if (fm_small(g)) fm_run(m);
    /* What loads saves and loads again, to the same graph. */
    gf_signature copy = *sig;
    gf_status st = gf_model_save(gf_model_session(m), &copy, again);
    if (st == GF_OK) {
        gf_model *m2 = gf_model_load(again, NULL, &err);
        if (!m2) fprintf(stderr, "fuzz_model: reload: %s\n", err.message);
        GF_FUZZ_CHECK(m2 != NULL);
        GF_FUZZ_CHECK(gf_graph_node_count(gf_model_graph(m2)) == gf_graph_node_count(g));
        gf_model_free(m2);
    } else {
        GF_FUZZ_CHECK(st == GF_ERR_NOMEM || st == GF_ERR_IO);
    }
    gf_model_free(m);
    return 0;
}

#ifndef GF_FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return gf_fuzz_model(data, size);
}
#endif
