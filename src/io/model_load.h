/*
 * model_load.h — the model file reader's state, shared by model_load.c
 * (the file: header, sections, trailer, the model made) and model_parse.c
 * (what each section's payload says).
 */
#ifndef GF_IO_MODEL_LOAD_H
#define GF_IO_MODEL_LOAD_H

#include "model.h"

#include <stdio.h>

typedef struct gf_model_loader {
    const char *path;
    gf_error *err;
    FILE *f;
    uint64_t size, pos, limit; /* limit: where the sections must end */
    bool trailer_ok;           /* the file ends with an intact-looking trailer */
    uint32_t file_crc;
    /* what the sections say */
    uint64_t seed;
    uint32_t n_nodes, n_vars;
    gf_graph *g;
    gf_node **nodes;           /* by index (library memory) */
    gf_signature_entry *entries; /* inputs, then outputs (library memory; keys in g's arena) */
    uint32_t n_in, n_out;
    const float **values;      /* by var_index, into the VARS payload (library memory) */
    gf_rng *streams;           /* by node index, for the random nodes (library memory) */
} gf_model_loader;

/* Fills L->err with "model PATH: MESSAGE"; returns code. */
gf_status gf__model_fail(gf_model_loader *L, gf_status code, const char *fmt, ...) GF_PRINTF(3, 4);

/* A name from the file as it goes into a message: control bytes, '"' and
 * '\\' as \xNN, cut at 80 bytes. */
const char *gf__model_quoted(char *out, size_t cap, const unsigned char *s, size_t len);

/* The payloads, in the file's order, once their CRCs matched. Each returns
 * GF_OK or the failure in L->err. p_vars converts its payload's floats to
 * host floats in place and keeps pointers into it in L->values. */
gf_status gf__model_p_meta(gf_model_loader *L, const unsigned char *p, uint64_t len);
gf_status gf__model_p_nodes(gf_model_loader *L, const unsigned char *p, uint64_t len);
gf_status gf__model_p_sign(gf_model_loader *L, const unsigned char *p, uint64_t len);
gf_status gf__model_p_vars(gf_model_loader *L, unsigned char *p, uint64_t len);
gf_status gf__model_p_rand(gf_model_loader *L, const unsigned char *p, uint64_t len);

#endif
