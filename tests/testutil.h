/*
 * testutil.h — helpers shared by the cmocka tests: float comparison with a
 * tolerance, temporary files, graph/session shortcuts.
 */
#ifndef GF_TESTUTIL_H
#define GF_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gradflow.h"

/* Fails the test, naming index i, unless |got[i]-want[i]| <= tol*(1+|want[i]|). */
void gf_test_assert_close(const float *got, const float *want, int64_t n, double tol);

/* A fresh temporary directory (removed by gf_test_rmdir). Returns a static-
 * lifetime path owned by the caller (free()). */
char *gf_test_tmpdir(void);
void gf_test_rmdir(char *dir);

/* "dir/name", malloc'ed (the caller frees it). */
char *gf_test_path(const char *dir, const char *name);

/* Writes n bytes to dir/name; returns the malloc'ed full path. */
char *gf_test_write_file(const char *dir, const char *name, const void *bytes, size_t n);
/* Writes an IDX ubyte file DIR/NAME (DIR/NAME.gz, gzipped, when gz) of
 * rank dims and n data bytes; a failure fails the test. */
void gf_test_write_idx(const char *dir, const char *name, int gz, int rank, const uint32_t *dims,
                       const uint8_t *data, size_t n);

/* A file's bytes, malloc'ed (*len of them), or NULL when it cannot be
 * opened; a read error fails the test. */
unsigned char *gf_test_read_file(const char *path, size_t *len);

/* Fails the test unless got is want, printing both. */
void gf_test_assert_shape(gf_shape got, gf_shape want);

/* A float32 constant that must build (not poisoned). */
gf_node *gf_test_const(gf_graph *g, gf_shape s, const float *data);

/* Runs node n of g (no feeds) in a fresh session (seed 3) and checks its
 * dtype, shape and values (gf_test_assert_close with tol). */
void gf_test_check_node(gf_graph *g, gf_node *n, gf_dtype dt, gf_shape s, const float *want, double tol);

/* Runs one fetch with the given feeds and fails the test on error. The tensor
 * is owned by the session (valid until the next run). */
const gf_tensor *gf_test_run1(gf_session *s, const gf_feed *feeds, int n_feeds, gf_node *fetch);

/* The gradflow binary under test (ctest sets GRADFLOW), or NULL. */
const char *gf_test_gradflow(void);

/* Runs `gradflow ARGS` (with stderr joined to stdout when join_stderr),
 * keeps up to cap-1 bytes of the output in out, NUL-terminated, and returns
 * the exit status (the test fails if it did not exit normally). */
int gf_test_run_gradflow(const char *args, int join_stderr, char *out, size_t cap);

/* The MNIST folder for tests (GF_TEST_DATA/mnist), or NULL when it has no
 * files; tests that need it call skip() then. */
const char *gf_test_mnist_dir(void);

/* Writes a 28x28 8-bit PNG of pixels: gray (channels 1, 784 bytes) or RGBA
 * (channels 4, 4 * 784 bytes); a write failure fails the test. */
void gf_test_write_png28(const char *path, const unsigned char *pixels, int channels);

/* The number after "key": in a JSON line; fails the test when it is absent
 * or not a number. */
double gf_test_json_num(const char *line, const char *key);

/* The allocation-failure sweeps' allocator (gf_set_allocator(&gf_test_fail_allocator)):
 * while gf_fail.armed, it counts its malloc and realloc calls in
 * gf_fail.calls and makes call number gf_fail.at return NULL (setting
 * gf_fail.failed); disarmed, it is malloc, realloc and free. */
typedef struct gf_test_fail {
    long at, calls;
    bool failed, armed;
} gf_test_fail;
extern gf_test_fail gf_fail;
extern const gf_allocator gf_test_fail_allocator;

/* gf_test_run_gradflow with printf-style arguments and stderr joined. */
int gf_test_gradflowf(char *out, size_t cap, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Fails the test, printing text, unless it contains want. */
void gf_test_contains(const char *text, const char *want);

#endif
