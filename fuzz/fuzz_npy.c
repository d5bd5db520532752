/*
 * fuzz_npy.c — libFuzzer target for the .npy reader and writer: the input
 * is a file's bytes, read with gf_npy_read; what reads is written back with
 * gf_npy_write and read again, and must come back bit for bit.
 */
#include "gradflow.h"
#include "fuzz_util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int gf_fuzz_npy(const uint8_t *data, size_t size);
int gf_fuzz_npy(const uint8_t *data, size_t size)
{
    char buf[640], buf2[640];
    const char *path = gf_fuzz_path("t.npy", buf, sizeof buf);
    const char *back = gf_fuzz_path("back.npy", buf2, sizeof buf2);
    if (!path || !back || gf_fuzz_write(path, data, size) != 0) return 0;
    gf_tensor *t = (gf_tensor *)1;
    gf_error err = { 0 };
    gf_status st = gf_npy_read(path, &t, &err);
    if (st != GF_OK) {
        GF_FUZZ_CHECK(t == NULL && err.code == st && err.message[0] != '\0');
        GF_FUZZ_CHECK(st == GF_ERR_FORMAT || st == GF_ERR_IO || st == GF_ERR_NOMEM);
        return 0;
    }
    GF_FUZZ_CHECK(t != NULL);
    gf_shape s = gf_tensor_shape(t);
    GF_FUZZ_CHECK(s.rank >= 0 && s.rank <= GF_MAX_RANK && gf_tensor_dtype(t) == GF_F32);
    int64_t count = gf_tensor_count(t);
    GF_FUZZ_CHECK(count == gf_shape_count(s) && count >= 0 && gf_tensor_data(t) != NULL);
    GF_FUZZ_CHECK((uint64_t)count <= (uint64_t)size); /* at least a byte per item */
    (void)gf_fuzz_touch(gf_tensor_data(t), (size_t)count * sizeof(float));
    /* Written back and read again: the same shape and bits. */
    GF_FUZZ_CHECK(gf_npy_write(back, t, &err) == GF_OK);
    gf_tensor *u = NULL;
    GF_FUZZ_CHECK(gf_npy_read(back, &u, &err) == GF_OK);
    gf_shape su = gf_tensor_shape(u);
    GF_FUZZ_CHECK(su.rank == s.rank && gf_tensor_count(u) == count);
    for (int i = 0; i < s.rank; i++) GF_FUZZ_CHECK(su.dim[i] == s.dim[i]);
    GF_FUZZ_CHECK(count == 0 ||
                  memcmp(gf_tensor_data(u), gf_tensor_data(t), (size_t)count * sizeof(float)) == 0);
    gf_tensor_free(u);
    gf_tensor_free(t);
    return 0;
}

#ifndef GF_FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return gf_fuzz_npy(data, size); }
#endif
