/*
 * fuzz_idx.c — libFuzzer target for the IDX reader: the input is a file's
 * bytes (plain or gzip, told apart by magic), read with gf_idx_read.
 */
#include "gradflow.h"
#include "fuzz_util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One read with a given cap; checks what it returns. */
static void fi_read(const char *path, size_t max_bytes)
{
    gf_idx idx;
    gf_error err = { 0 };
    gf_status st = gf_idx_read(path, max_bytes, &idx, &err);
    if (st != GF_OK) {
        GF_FUZZ_CHECK(idx.data == NULL && err.code == st && err.message[0] != '\0');
        GF_FUZZ_CHECK(st == GF_ERR_FORMAT || st == GF_ERR_IO || st == GF_ERR_NOMEM);
        return;
    }
    GF_FUZZ_CHECK(idx.rank >= 1 && idx.rank <= GF_MAX_RANK && idx.data != NULL);
    int64_t count = 1;
    for (int i = 0; i < idx.rank; i++) {
        GF_FUZZ_CHECK(idx.dim[i] > 0);
        count *= idx.dim[i];
    }
    GF_FUZZ_CHECK(count == idx.count);
    GF_FUZZ_CHECK(max_bytes == 0 || (uint64_t)count <= (uint64_t)max_bytes);
    (void)gf_fuzz_touch(idx.data, (size_t)idx.count);
    gf_idx_free(&idx);
    GF_FUZZ_CHECK(idx.data == NULL);
}

int gf_fuzz_idx(const uint8_t *data, size_t size);
int gf_fuzz_idx(const uint8_t *data, size_t size)
{
    char buf[640];
    const char *path = gf_fuzz_path("t-idx3-ubyte", buf, sizeof buf);
    if (!path || gf_fuzz_write(path, data, size) != 0) return 0;
    fi_read(path, 0);   /* the default cap, 1 GiB */
    fi_read(path, 100); /* a small cap: "too large" paths */
    return 0;
}

#ifndef GF_FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return gf_fuzz_idx(data, size); }
#endif
