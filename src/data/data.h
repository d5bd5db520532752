/*
 * data.h — shared inside src/data/: datasets made from arrays the library
 * owns (dataset.c), bytes made floats (pixels.c), and the byte source of
 * the CSV reader (source.c: a plain file or a gzip stream, told apart by
 * magic). Not installed.
 */
#ifndef GF_DATA_H
#define GF_DATA_H

#include "internal.h"

#include <stdio.h>
#include <zlib.h>

/* A dataset of an IDX pair, kept as the bytes read: pixels x [n, ...]
 * (xshape; next_batch makes them floats b / 255) and class indices y [n],
 * each below classes (checked by the caller). Both owned by gf__malloc and
 * taken over by the dataset whatever the outcome (freed on failure). *out
 * is NULL on failure: GF_ERR_NOMEM, message in err. */
gf_status gf__dataset_adopt_bytes(uint8_t *x, gf_shape xshape, uint8_t *y, int64_t classes,
                                  uint64_t seed, uint64_t stream, gf_dataset **out, gf_error *err);

/* gf_idx_read (max_bytes 0) of a file that must be of rank lo..hi: the rank
 * is checked right after the magic, before the dimensions are read or the
 * size they promise is compared with the file, so that a file of another
 * rank is named as such ("PATH: WHAT, but its IDX magic 00 00 08 03 says
 * rank 3"), never as truncated. */
gf_status gf__idx_read_ranked(const char *path, int lo, int hi, const char *what, gf_idx *out,
                              gf_error *err);

/* What gf_dataset_from_arrays checks of class-index labels: every value of
 * v (n of them) integral and in 0..classes-1; with classes 0, finds it
 * (the largest + 1) into *found. what names them in messages. */
gf_status gf__check_class_indices(const float *v, int64_t n, int64_t classes, int64_t *found,
                                  const char *what, gf_error *err);

/* pixels.c: o[i] = (float)p[i] / 255.0f for i < n, the same bits on every
 * path. gf__unit_floats_pick gives this process's path: AVX-512 when
 * gf__avx512_enabled(), AVX2 when gf__simd_enabled() (so GF_NO_SIMD=1 and
 * GF_NO_AVX512=1 choose), else portable C. The variants are there for the
 * tests; _avx2 and _avx512 exist where GF_HAVE_AVX2_KERNELS (kernels/simd.h)
 * and need a CPU that has them. */
typedef void (*gf__unit_floats_fn)(float *o, const uint8_t *p, int64_t n);
gf__unit_floats_fn gf__unit_floats_pick(void);
void gf__unit_floats_portable(float *o, const uint8_t *p, int64_t n);
void gf__unit_floats_avx2(float *o, const uint8_t *p, int64_t n);
void gf__unit_floats_avx512(float *o, const uint8_t *p, int64_t n);

/* ---- a byte source: a plain file or gzip members (source.c) ---- */

#define GF_SRC_CHUNK 65536

typedef struct gf__src {
    const char *path;
    gf_error *err;
    FILE *f;
    int64_t file_size;
    gf_status st;     /* the code of the error reported */
    int gz;           /* the file starts with gzip's magic */
    int zinit, zend;  /* inflateInit2 done; the last member ended at the file's end */
    z_stream zs;
    unsigned char *in; /* GF_SRC_CHUNK bytes of compressed input */
} gf__src;

/* Opens path (a regular, non-empty file; what names it in messages:
 * "CSV file"). GF_OK, or an error in err with nothing left to close. */
gf_status gf__src_open(gf__src *s, const char *path, const char *what, gf_error *err);
/* Reads up to n bytes; the count, short only at the end of the data, or -1
 * with err filled (a broken or cut-off gzip stream is an error). */
int64_t gf__src_read(gf__src *s, void *buf, int64_t n);
void gf__src_close(gf__src *s);

#endif /* GF_DATA_H */
