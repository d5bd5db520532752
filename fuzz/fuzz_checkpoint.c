/*
 * fuzz_checkpoint.c — libFuzzer target for the checkpoint reader: restores
 * the input (after an optional CRC repair) into a small fixed graph's session.
 */
/* Input: one mode byte, then the file. Mode bits 0..2 recompute the header
 * CRC, the record CRCs and the trailer (length, file CRC) as
 * docs/checkpoint-format.md specifies, so that mutations get past the CRC
 * checks to the code behind them. A failed restore must leave every
 * variable as it was; a good one must leave a session that runs. */
#include "gradflow.h"
#include "fuzz_util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

typedef struct fc_model {
    gf_graph *g;
    gf_node *x, *train, *cost;
    gf_node *vars[4];
} fc_model;

/* The fixed graph: a tiny affine layer trained by Adam (slot variables
 * too), a non-trainable scalar and an empty variable. */
static int fc_model_build(fc_model *m)
{
    memset(m, 0, sizeof *m);
    m->g = gf_graph_new();
    if (!m->g) return -1;
    gf_graph *g = m->g;
    m->x = gf_placeholder(g, "x", GF_F32, gf_dims(2, GF_ANY, 3));
    m->vars[0] = gf_variable(g, "w", gf_truncated_normal(g, gf_dims(2, 3, 2), 0.0f, 1.0f));
    m->vars[1] = gf_variable(g, "b", gf_zeros(g, gf_dims(1, 2)));
    m->vars[2] = gf_set_trainable(gf_variable(g, "scale", gf_scalar(g, 2.0f)), 0);
    m->vars[3] = gf_variable(g, "empty", gf_zeros(g, gf_dims(2, 0, 3)));
    gf_node *y = gf_mul(gf_add(gf_matmul(m->x, m->vars[0]), m->vars[1]), m->vars[2]);
    m->cost = gf_reduce_mean(gf_mul(y, y), NULL, 0, 0);
    m->train = gf_minimize(gf_adam(g, 0.01f, 0, 0, 0), m->cost, NULL, 0);
    if (gf_graph_status(g) != GF_OK) {
        fprintf(stderr, "fuzz_checkpoint: graph: %s\n", gf_graph_error(g));
        gf_graph_free(g);
        m->g = NULL;
        return -1;
    }
    return 0;
}

static uint32_t fc_get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void fc_put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t fc_crc(const uint8_t *p, size_t n)
{
    return (uint32_t)crc32(crc32(0L, Z_NULL, 0), p, (uInt)n);
}

/* Recomputes the CRCs (and the trailer's length) that mode asks for, as far
 * as the file's structure can be followed. */
static void fc_repair(uint8_t *f, size_t n, unsigned mode)
{
    if ((mode & 1) && n >= 24) fc_put32(f + 20, fc_crc(f, 20));
    if ((mode & 2) && n >= 24) {
        uint32_t count = fc_get32(f + 16);
        size_t at = 24;
        for (uint32_t r = 0; r < count && r < 64; r++) {
            size_t start = at;
            if (n - at < 4) break;
            uint32_t name_len = fc_get32(f + at);
            at += 4;
            if (name_len > n - at) break;
            at += name_len;
            if (n - at < 8) break;
            uint32_t rank = fc_get32(f + at + 4);
            at += 8;
            if (rank > 4 || n - at < 8u * rank) break;
            uint64_t elements = 1;
            int ok = 1;
            for (uint32_t i = 0; i < rank; i++) {
                uint64_t d = (uint64_t)fc_get32(f + at) | (uint64_t)fc_get32(f + at + 4) << 32;
                at += 8;
                if (d > ((uint64_t)1 << 40) || (d && elements > (((uint64_t)1 << 40) / d))) ok = 0;
                else elements *= d;
            }
            if (!ok || elements > (n - at) / 4) break;
            at += 4 * (size_t)elements;
            if (n - at < 4) break;
            fc_put32(f + at, fc_crc(f + start, at - start));
            at += 4;
        }
    }
    if ((mode & 4) && n >= 20) {
        uint64_t len = n;
        fc_put32(f + n - 12, (uint32_t)len);
        fc_put32(f + n - 8, (uint32_t)(len >> 32));
        fc_put32(f + n - 4, fc_crc(f, n - 4));
    }
}

int gf_fuzz_checkpoint(const uint8_t *data, size_t size);
int gf_fuzz_checkpoint(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    char buf[640];
    const char *path = gf_fuzz_path("ckpt.gfc", buf, sizeof buf);
    if (!path) return 0;
    uint8_t *file = malloc(size);
    if (!file) return 0;
    memcpy(file, data + 1, size - 1);
    fc_repair(file, size - 1, data[0]);
    int wrote = gf_fuzz_write(path, file, size - 1);
    free(file);
    if (wrote != 0) return 0;

    fc_model m;
    if (fc_model_build(&m) != 0) abort();
    gf_session_options opt = { .seed = 7 };
    gf_session *s = gf_session_new(m.g, &opt);
    GF_FUZZ_CHECK(s && gf_session_status(s) == GF_OK);

    /* The values before, to compare with after a failed restore. */
    float *before[4] = { NULL };
    size_t bytes[4] = { 0 };
    for (int i = 0; i < 4; i++) {
        const gf_tensor *t = gf_session_variable(s, m.vars[i]);
        GF_FUZZ_CHECK(t != NULL);
        bytes[i] = (size_t)gf_tensor_count(t) * sizeof(float);
        before[i] = malloc(bytes[i] ? bytes[i] : 1);
        GF_FUZZ_CHECK(before[i] != NULL);
        if (bytes[i]) memcpy(before[i], gf_tensor_data(t), bytes[i]);
    }

    gf_status st = gf_session_restore(s, path);
    const char *msg = gf_session_error(s);
    if (st != GF_OK) {
        GF_FUZZ_CHECK(msg && msg[0] != '\0');
        GF_FUZZ_CHECK(st == GF_ERR_FORMAT || st == GF_ERR_SHAPE || st == GF_ERR_IO ||
                      st == GF_ERR_NOMEM);
        for (int i = 0; i < 4; i++) {
            const gf_tensor *t = gf_session_variable(s, m.vars[i]);
            GF_FUZZ_CHECK(t != NULL && (size_t)gf_tensor_count(t) * sizeof(float) == bytes[i]);
            GF_FUZZ_CHECK(bytes[i] == 0 || memcmp(before[i], gf_tensor_data(t), bytes[i]) == 0);
        }
    } else {
        for (int i = 0; i < 4; i++) {
            const gf_tensor *t = gf_session_variable(s, m.vars[i]);
            GF_FUZZ_CHECK(t != NULL);
            (void)gf_fuzz_touch(gf_tensor_data(t), (size_t)gf_tensor_count(t) * sizeof(float));
        }
        /* The restored session takes a step and computes the cost. */
        float xv[6] = { 1, 2, 3, -1, 0.5f, 0 };
        gf_tensor *xt = gf_tensor_wrap(GF_F32, gf_dims(2, 2, 3), xv, NULL);
        GF_FUZZ_CHECK(xt != NULL);
        gf_feed feed = { m.x, xt };
        const gf_tensor *out = NULL;
        st = gf_session_run(s, &feed, 1, &m.cost, 1, &m.train, 1, &out);
        if (st != GF_OK) fprintf(stderr, "fuzz_checkpoint: run after restore: %s\n", gf_session_error(s));
        GF_FUZZ_CHECK(st == GF_OK && out && gf_tensor_count(out) == 1);
        gf_tensor_free(xt);
    }
    for (int i = 0; i < 4; i++) free(before[i]);
    gf_session_free(s);
    gf_graph_free(m.g);
    return 0;
}

#ifndef GF_FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return gf_fuzz_checkpoint(data, size);
}
#endif
