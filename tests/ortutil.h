/*
 * ortutil.h — for the ONNX export's tests: exported models run in ONNX
 * Runtime (npm onnxruntime-node, installed under the build folder by the
 * test fixture tests/onnx_install.sh) through tests/onnx_run.js, and
 * checked by Debian's python3-onnx (tests/onnx_check.py).
 */
#ifndef GF_ORTUTIL_H
#define GF_ORTUTIL_H

#include "testutil.h"

#define GF_ORT_MAX 8

/* One model run: its file and its inputs (borrowed); gf_ort_run fills in
 * the outputs, in the model's output order, as float32 copies (int32 and
 * bool outputs converted) owned by the job: free with gf_ort_job_free. */
typedef struct gf_ort_job {
    const char *model;
    int n_inputs;
    const char *names[GF_ORT_MAX];
    const gf_tensor *values[GF_ORT_MAX];
    int n_outputs;
    gf_shape shapes[GF_ORT_MAX];
    float *outs[GF_ORT_MAX];
} gf_ort_job;

/* Fails the test, naming what to install, unless node, onnxruntime-node
 * (under the build folder) and Debian's python3-onnx can be used. */
void gf_ort_require(void);

/* Runs the n jobs in one node process, with scratch files in dir; any
 * failure fails the test, printing what ONNX Runtime said. */
void gf_ort_run(gf_ort_job *jobs, int n, const char *dir);
void gf_ort_job_free(gf_ort_job *job);

/* Debian's checker (onnx.checker.check_model, full_check) on each of the
 * n files; fails the test, printing its report, unless every one passes. */
void gf_onnx_check(const char *const *paths, int n);

/* Runs a shell command, keeping up to cap-1 bytes of its output (stderr
 * joined) in out; returns its exit status (-1 when it did not exit). */
int gf_test_sh(const char *cmd, char *out, size_t cap);

#endif
