/*
 * ortutil.c — exported models run in ONNX Runtime and checked by Debian's
 * python3-onnx (ortutil.h).
 */
#include "ortutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define ORT_MODULES GF_BINARY_DIR "/onnxruntime/node_modules"

int gf_test_sh(const char *cmd, char *out, size_t cap)
{
    size_t len = strlen(cmd) + 8;
    char *full = malloc(len);
    assert_non_null(full);
    snprintf(full, len, "%s 2>&1", cmd);
    FILE *p = popen(full, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    char sink[4096];
    while (fread(sink, 1, sizeof sink, p) > 0) {} /* the rest, unread, must not block the child */
    int status = pclose(p);
    free(full);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void gf_ort_require(void)
{
    char out[4096];
    if (gf_test_sh("node --version", out, sizeof out) != 0)
        fail_msg("the ONNX export's tests need node (Debian: apt-get install nodejs npm; scripts/install-deps "
                 "does it): 'node --version' said: %s", out);
    if (gf_test_sh("node -e \"try { require('" ORT_MODULES "/onnxruntime-node'); } catch (e) { "
                   "console.log(e.message.split('\\n')[0]); process.exit(1); }\"",
                   out, sizeof out) != 0)
        fail_msg("the ONNX export's tests need npm's onnxruntime-node 1.30.0 in " ORT_MODULES ", which the "
                 "test fixture test_onnx_install (tests/onnx_install.sh, run by ctest before this test) "
                 "installs with npm; loading it said: %s", out);
    if (gf_test_sh("/usr/bin/python3 -c 'import onnx'", out, sizeof out) != 0)
        fail_msg("the ONNX export's tests need Debian's python3-onnx (apt-get install python3-onnx; "
                 "scripts/install-deps does it) for /usr/bin/python3: %s", out);
}

static void write_input(const char *path, const gf_tensor *t)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    const float *v = gf_tensor_data(t);
    for (int64_t i = 0; i < gf_tensor_count(t); i++) {
        size_t ok;
        if (gf_tensor_dtype(t) == GF_I32) {
            int32_t k = (int32_t)v[i];
            ok = fwrite(&k, 4, 1, f);
        } else if (gf_tensor_dtype(t) == GF_BOOL) {
            unsigned char b = v[i] != 0;
            ok = fwrite(&b, 1, 1, f);
        } else {
            ok = fwrite(&v[i], 4, 1, f);
        }
        assert_int_equal(ok, 1);
    }
    assert_int_equal(fclose(f), 0);
}

/* Reads job's outputs back from path (onnx_run.js's layout). */
static void read_outputs(gf_ort_job *job, const char *path)
{
    size_t len = 0, at = 0;
    unsigned char *b = gf_test_read_file(path, &len);
    assert_non_null(b);
    job->n_outputs = 0;
    while (at < len) {
        assert_true(job->n_outputs < GF_ORT_MAX && at + 4 <= len);
        int32_t rank, d;
        memcpy(&rank, b + at, 4);
        at += 4;
        assert_true(rank >= 0 && rank <= GF_MAX_RANK && at + 4 * (size_t)rank <= len);
        gf_shape s = { .rank = rank };
        for (int i = 0; i < rank; i++, at += 4) memcpy(&d, b + at, 4), s.dim[i] = d;
        size_t count = (size_t)gf_shape_count(s);
        assert_true(at + 4 * count <= len);
        float *v = malloc(4 * count + 4);
        assert_non_null(v);
        memcpy(v, b + at, 4 * count);
        at += 4 * count;
        job->shapes[job->n_outputs] = s;
        job->outs[job->n_outputs++] = v;
    }
    free(b);
}

void gf_ort_run(gf_ort_job *jobs, int n, const char *dir)
{
    char *list = gf_test_path(dir, "jobs.json");
    FILE *f = fopen(list, "w");
    assert_non_null(f);
    fprintf(f, "[");
    for (int j = 0; j < n; j++) {
        fprintf(f, "%s{\"model\":\"%s\",\"output\":\"%s/out-%d.bin\",\"inputs\":[", j ? "," : "", jobs[j].model,
                dir, j);
        for (int k = 0; k < jobs[j].n_inputs; k++) {
            const gf_tensor *t = jobs[j].values[k];
            char name[64];
            snprintf(name, sizeof name, "in-%d-%d.bin", j, k);
            char *path = gf_test_path(dir, name);
            write_input(path, t);
            gf_shape s = gf_tensor_shape(t);
            const char *type = gf_tensor_dtype(t) == GF_I32 ? "int32" : gf_tensor_dtype(t) == GF_BOOL ? "bool" : "float32";
            fprintf(f, "%s{\"name\":\"%s\",\"type\":\"%s\",\"file\":\"%s\",\"dims\":[", k ? "," : "",
                    jobs[j].names[k], type, path);
            for (int i = 0; i < s.rank; i++) fprintf(f, "%s%lld", i ? "," : "", (long long)s.dim[i]);
            fprintf(f, "]}");
            free(path);
        }
        fprintf(f, "]}");
    }
    fprintf(f, "]\n");
    assert_int_equal(fclose(f), 0);
    static char out[1 << 14];
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "node '%s/tests/onnx_run.js' '%s' '%s'", GF_SOURCE_DIR, ORT_MODULES, list);
    if (gf_test_sh(cmd, out, sizeof out) != 0) fail_msg("ONNX Runtime failed: %s", out);
    for (int j = 0; j < n; j++) {
        char name[64];
        snprintf(name, sizeof name, "out-%d.bin", j);
        char *path = gf_test_path(dir, name);
        read_outputs(&jobs[j], path);
        free(path);
    }
    free(list);
}

void gf_ort_job_free(gf_ort_job *job)
{
    for (int i = 0; i < job->n_outputs; i++) free(job->outs[i]);
    job->n_outputs = 0;
}

void gf_onnx_check(const char *const *paths, int n)
{
    size_t cap = 256 + strlen(GF_SOURCE_DIR);
    for (int i = 0; i < n; i++) cap += strlen(paths[i]) + 3;
    char *cmd = malloc(cap);
    assert_non_null(cmd);
    size_t k = (size_t)snprintf(cmd, cap, "/usr/bin/python3 '%s/tests/onnx_check.py'", GF_SOURCE_DIR);
    for (int i = 0; i < n; i++) k += (size_t)snprintf(cmd + k, cap - k, " '%s'", paths[i]);
    static char out[1 << 14];
    int st = gf_test_sh(cmd, out, sizeof out);
    free(cmd);
    if (st != 0) fail_msg("Debian's ONNX checker refused an exported file (exit %d): %s", st, out);
}
