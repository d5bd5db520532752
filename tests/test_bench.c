/*
 * test_bench.c — smoke test of `gradflow bench`: quick runs on generated data
 * print well-formed JSON lines with positive figures (no timing assertions).
 */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/simd.h"

/* The string after "key": in a JSON line into out; fails the test when
 * absent or not a string. */
static void json_string(const char *line, const char *key, char *out, size_t cap)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *p = strstr(line, pat);
    if (!p) fail_msg("no string %s in: %s", key, line);
    p += strlen(pat);
    const char *end = strchr(p, '"');
    if (!end || (size_t)(end - p) >= cap) fail_msg("%s is cut short in: %s", key, line);
    memcpy(out, p, (size_t)(end - p));
    out[end - p] = '\0';
}

static void quick_w1_manual_on_generated_data(void **state)
{
    (void)state;
    if (!gf_test_gradflow()) skip();
    char *dir = gf_test_tmpdir();
    char args[1024];
    /* A folder that does not exist and --generated: never MNIST nor the
     * system's Fashion-MNIST, so the run is the same on every machine. */
    snprintf(args, sizeof args, "bench --quick --only w1-manual --json --generated --data '%s/absent'",
             dir);
    static char out[1 << 16];
    assert_int_equal(gf_test_run_gradflow(args, 0, out, sizeof out), 0);

    const char *w1 = NULL, *peak = NULL;
    int lines = 0;
    for (char *save = NULL, *line = strtok_r(out, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        lines++;
        size_t len = strlen(line);
        if (len < 2 || line[0] != '{' || line[len - 1] != '}')
            fail_msg("--json printed a line that is not a JSON object: %s", line);
        if (strstr(line, "\"bench\":\"w1-manual\"")) w1 = line;
        if (strstr(line, "\"bench\":\"peak\"")) peak = line;
        if (strstr(line, "\"bench\":\"w1-autodiff\"") || strstr(line, "\"bench\":\"eval\""))
            fail_msg("--only w1-manual ran another workload: %s", line);
    }
    assert_true(lines >= 3); /* info, peak, w1-manual */
    if (!w1) fail_msg("no w1-manual line");
    if (!peak) fail_msg("no peak line");
    assert_non_null(strstr(w1, "\"data\":\"generated\""));
    assert_true(gf_test_json_num(w1, "us_per_step") > 0);
    assert_true(gf_test_json_num(w1, "baseline_us_per_step") > 0);
    assert_true(gf_test_json_num(w1, "steps") == 1000);
    assert_true(gf_test_json_num(w1, "step_dense_flops") > 0);
    assert_true(gf_test_json_num(peak, "gflops") > 0);
    /* The peak is measured on the widest unit the CPU has (this process
     * sees the same CPU as the gradflow it ran), and says which. */
    char unit[32], isa[256], gemm_unit[32];
    json_string(peak, "unit", unit, sizeof unit);
    json_string(peak, "isa", isa, sizeof isa);
    json_string(peak, "gemm_unit", gemm_unit, sizeof gemm_unit);
    const char *want = gf__cpu_has_avx512() ? "avx512" : gf__cpu_has_avx2_fma() ? "avx2" : "portable";
    assert_string_equal(unit, want);
    assert_string_equal(isa, gf__cpu_isa());
    assert_true(!strcmp(gemm_unit, "avx512") || !strcmp(gemm_unit, "avx2") || !strcmp(gemm_unit, "portable"));
    if (!strcmp(unit, "avx512")) {
        assert_non_null(strstr(isa, "avx512f"));
        assert_true(gf_test_json_num(peak, "gflops_avx2") > 0);
    } else {
        assert_null(strstr(peak, "gflops_avx2"));
    }
    printf("# peak: %s (%s), %.1f GFLOP/s; cpu: %s\n", unit, gemm_unit, gf_test_json_num(peak, "gflops"), isa);
    gf_test_rmdir(dir);
}

/* eval: one line per thread count, taken in rounds; the same answers at 1
 * and 2 threads (and from the baseline), the fastest pass no slower than
 * the mean, the FMA loop's gain on two threads, and where the two CPUs
 * were timed alone, a bound between 1 and 2. */
static void quick_eval_lines(void **state)
{
    (void)state;
    if (!gf_test_gradflow()) skip();
    static char out[1 << 16];
    assert_int_equal(gf_test_run_gradflow("bench --quick --only eval --json --generated", 0, out, sizeof out), 0);
    const char *e[3] = { NULL, NULL, NULL };
    for (char *save = NULL, *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (!strstr(line, "\"bench\":\"eval\"")) continue;
        int t = (int)gf_test_json_num(line, "threads");
        if (t < 1 || t > 2 || e[t]) fail_msg("unexpected eval line: %s", line);
        e[t] = line;
    }
    if (!e[1] || !e[2]) fail_msg("want eval lines for 1 and 2 threads");
    for (int t = 1; t <= 2; t++) {
        assert_true(gf_test_json_num(e[t], "seconds_per_pass") > 0);
        assert_true(gf_test_json_num(e[t], "seconds_per_pass_best") <= gf_test_json_num(e[t], "seconds_per_pass"));
        assert_true(gf_test_json_num(e[t], "correct") == gf_test_json_num(e[1], "correct"));
        assert_true(gf_test_json_num(e[t], "correct") == gf_test_json_num(e[t], "baseline_correct"));
    }
    assert_true(gf_test_json_num(e[1], "speedup_vs_1_thread") == 1);
    /* Two threads of pure arithmetic against one: a ratio of timings, so
     * only its presence and sign are asserted (a loaded machine can put it
     * anywhere; speed is judged by gradflow bench, not by tests). */
    double fma = gf_test_json_num(e[2], "fma_speedup_2t");
    assert_true(fma > 0 && isfinite(fma));
    if (strstr(e[2], "\"speedup_bound\":")) {
        double bound = gf_test_json_num(e[2], "speedup_bound");
        assert_true(bound > 1 && bound <= 2);
    }
}

/* cnn: a cnn-train line with the plan's FLOPs, and cnn-eval lines at 1
 * and 2 threads that count the same answers. */
static void quick_cnn_lines(void **state)
{
    (void)state;
    if (!gf_test_gradflow()) skip();
    static char out[1 << 16];
    assert_int_equal(gf_test_run_gradflow("bench --quick --only cnn --json --generated", 0, out, sizeof out), 0);
    const char *train = NULL, *e[3] = { NULL, NULL, NULL };
    for (char *save = NULL, *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (strstr(line, "\"bench\":\"w1-") || strstr(line, "\"bench\":\"eval\""))
            fail_msg("--only cnn ran another workload: %s", line);
        if (strstr(line, "\"bench\":\"cnn-train\"")) train = line;
        if (!strstr(line, "\"bench\":\"cnn-eval\"")) continue;
        int t = (int)gf_test_json_num(line, "threads");
        if (t < 1 || t > 2 || e[t]) fail_msg("unexpected cnn-eval line: %s", line);
        e[t] = line;
    }
    if (!train) fail_msg("no cnn-train line");
    if (!e[1] || !e[2]) fail_msg("want cnn-eval lines for 1 and 2 threads");
    assert_true(gf_test_json_num(train, "batch") == 50);
    assert_true(gf_test_json_num(train, "us_per_step") > 0);
    /* At least the two convolutions' and the dense layers' products. */
    assert_true(gf_test_json_num(train, "step_dense_flops") > 1e9);
    double frac = gf_test_json_num(train, "peak_frac");
    assert_true(frac > 0 && isfinite(frac));
    for (int t = 1; t <= 2; t++) {
        assert_true(gf_test_json_num(e[t], "images") == 500);
        assert_true(gf_test_json_num(e[t], "seconds_per_pass") > 0);
        assert_true(gf_test_json_num(e[t], "dense_flops") > 1e10);
        assert_true(gf_test_json_num(e[t], "correct") == gf_test_json_num(e[1], "correct"));
    }
}

/* w1-loop: one line, next_batch timed inside the step's time, over the
 * dataset the data says (arrays for generated images, the IDX bytes of a
 * folder), and no other workload. */
static void check_w1_loop(const char *args, const char *want_data, const char *want_dataset)
{
    static char out[1 << 16];
    assert_int_equal(gf_test_run_gradflow(args, 0, out, sizeof out), 0);
    const char *loop = NULL, *targets = NULL;
    for (char *save = NULL, *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (strstr(line, "\"bench\":\"w1-manual\"") || strstr(line, "\"bench\":\"w1-autodiff\"") ||
            strstr(line, "\"bench\":\"eval\"") || strstr(line, "\"bench\":\"cnn-"))
            fail_msg("--only w1-loop ran another workload: %s", line);
        if (strstr(line, "\"bench\":\"w1-loop\"")) loop = line;
        if (strstr(line, "\"bench\":\"targets\"")) targets = line;
    }
    if (!loop) fail_msg("no w1-loop line in: %s", out);
    if (!targets) fail_msg("no targets line");
    char data[64], dataset[32], step[32];
    json_string(loop, "data", data, sizeof data);
    json_string(loop, "dataset", dataset, sizeof dataset);
    json_string(loop, "step", step, sizeof step);
    assert_string_equal(data, want_data);
    assert_string_equal(dataset, want_dataset);
    assert_string_equal(step, "autodiff");
    assert_true(gf_test_json_num(loop, "steps") == 1000);
    assert_true(gf_test_json_num(loop, "batch") == 10);
    assert_true(gf_test_json_num(loop, "hidden") == 30);
    assert_true(gf_test_json_num(loop, "examples") == 10000);
    double us = gf_test_json_num(loop, "us_per_step"), nb = gf_test_json_num(loop, "next_batch_us");
    double run = gf_test_json_num(loop, "run_us");
    assert_true(nb > 0 && run > 0 && us > 0);
    assert_true(fabs(nb + run - us) <= 1e-3 * us); /* the step is the two parts */
    assert_true(gf_test_json_num(loop, "next_batch_frac") > 0 && gf_test_json_num(loop, "next_batch_frac") < 1);
    assert_true(gf_test_json_num(loop, "next_batch_us_best_block") > 0);
    assert_true(gf_test_json_num(loop, "step_dense_flops") > 0);
    /* 1000 steps of the article's step learn something: well above the
     * tenth a guess gets (generated labels are random: no claim there). */
    double correct = gf_test_json_num(loop, "correct"), images = gf_test_json_num(loop, "eval_images");
    assert_true(images > 0 && correct >= 0 && correct <= images);
    if (strcmp(want_data, "generated")) assert_true(correct > 0.5 * images);
    assert_non_null(strstr(targets, "\"w1_loop_next_batch_us\":{"));
}

static void quick_w1_loop_lines(void **state)
{
    (void)state;
    if (!gf_test_gradflow()) skip();
    check_w1_loop("bench --quick --only w1-loop --json --generated", "generated", "arrays");
    const char *dir = gf_test_mnist_dir();
    if (!dir) {
        printf("# w1-loop on IDX files not run: no MNIST in the test data folder\n");
        return;
    }
    char args[4200];
    snprintf(args, sizeof args, "bench --quick --only w1-loop --json --data '%s'", dir);
    gf_mnist *m = NULL;
    gf_error err = { 0 };
    assert_int_equal(gf_mnist_load(dir, NULL, &m, &err), GF_OK);
    const char *kind = m->is_subset ? "mnist-subset" : "mnist";
    gf_mnist_free(m);
    check_w1_loop(args, kind, "idx");
}

static void usage_errors_exit_2(void **state)
{
    (void)state;
    if (!gf_test_gradflow()) skip();
    static char out[1 << 14];
    assert_int_equal(gf_test_run_gradflow("bench --only w9 --json 2>/dev/null", 0, out, sizeof out), 2);
    assert_int_equal(gf_test_run_gradflow("bench --threads 0 2>/dev/null", 0, out, sizeof out), 2);
    assert_int_equal(gf_test_run_gradflow("bench --frobnicate 2>/dev/null", 0, out, sizeof out), 2);
    assert_int_equal(gf_test_run_gradflow("bench --help", 0, out, sizeof out), 0);
    assert_non_null(strstr(out, "usage: gradflow bench"));
    assert_non_null(strstr(out, "w1-loop"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(quick_w1_manual_on_generated_data),
        cmocka_unit_test(quick_eval_lines),
        cmocka_unit_test(quick_cnn_lines),
        cmocka_unit_test(quick_w1_loop_lines),
        cmocka_unit_test(usage_errors_exit_2),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
