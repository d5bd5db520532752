/*
 * fuzz_entries.h — the fuzz targets' entry points, for programs that run
 * inputs through them without libFuzzer: tests/test_bad_inputs.c replays
 * every file of fuzz/regressions/ and fuzz/corpus/ with them.
 */
/* fuzz_<target>.c defines gf_fuzz_<target> and, unless compiled with
 * GF_FUZZ_NO_MAIN, libFuzzer's LLVMFuzzerTestOneInput calling it (what
 * fuzz/CMakeLists.txt builds). The main build's gradflow_fuzz_entries
 * library (tests/CMakeLists.txt) is the target files compiled with
 * GF_FUZZ_NO_MAIN and with this header included first, so that a
 * declaration here that no longer matches its definition fails to compile.
 * Each returns 0; a broken promise of the library aborts (GF_FUZZ_CHECK). */
#ifndef GF_FUZZ_ENTRIES_H
#define GF_FUZZ_ENTRIES_H

#include <stddef.h>
#include <stdint.h>

int gf_fuzz_idx(const uint8_t *data, size_t size);        /* fuzz_idx.c */
int gf_fuzz_graph(const uint8_t *data, size_t size);      /* fuzz_graph.c */
int gf_fuzz_checkpoint(const uint8_t *data, size_t size); /* fuzz_checkpoint.c */
int gf_fuzz_npy(const uint8_t *data, size_t size);        /* fuzz_npy.c */
int gf_fuzz_csv(const uint8_t *data, size_t size);        /* fuzz_csv.c */
int gf_fuzz_model(const uint8_t *data, size_t size);      /* fuzz_model.c */

#endif
