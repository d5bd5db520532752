/*
 * test_mpi_equal.c — `mpirun -np N gradflow train` against one process
 * accumulating the same N shards (`--accumulate N`): the checkpoints are
 * the same bytes, for the article's hand-written step (its explicit
 * all-reduce nodes), the automatic step, the softmax model and the CNN,
 * with 2 and 3 ranks on this 2-core machine (4 for the manual step);
 * mpirun -np 1 is a plain run; a checkpoint resumes under another N.
 * Needs Open MPI (openmpi-bin, libopenmpi-dev) and gradflow built with it:
 * without them these tests fail, saying so.
 */
#include "mpi_util.h"

#include <math.h>

static char out[1 << 16];

/* train ARGS under mpirun -np N and alone with --accumulate N: the same
 * checkpoint; and (moved) the weights moved away from where they started. */
static void same_bits(const char *dir, const char *args, int n, int moved)
{
    char a[512], b[512], c[512];
    snprintf(a, sizeof a, "%s/ranks%d.ckpt", dir, n);
    snprintf(b, sizeof b, "%s/accumulate%d.ckpt", dir, n);
    snprintf(c, sizeof c, "%s/start.ckpt", dir);
    int rc = mpi_gradflowf(out, sizeof out, n, "train --data '%s' %s --quiet --json --save '%s'",
                           gf_test_mnist_dir(), args, a);
    if (rc != 0) fail_msg("mpirun -np %d gradflow train %s: exit %d:\n%s", n, args, rc, out);
    gf_test_contains(out, "\"final\":true");
    rc = gf_test_gradflowf(out, sizeof out, "train --data '%s' %s --accumulate %d --quiet --json --save '%s'",
                           gf_test_mnist_dir(), args, n, b);
    if (rc != 0) fail_msg("gradflow train %s --accumulate %d: exit %d:\n%s", args, n, rc, out);
    char what[600];
    snprintf(what, sizeof what, "train %s: %d ranks against 1 process accumulating %d", args, n, n);
    assert_same_file(a, b, what);
    if (!moved) return;
    rc = gf_test_gradflowf(out, sizeof out, "train --data '%s' %s --accumulate %d --steps 0 --quiet --json "
                           "--save '%s'", gf_test_mnist_dir(), args, n, c);
    assert_int_equal(rc, 0);
    size_t na, nc;
    unsigned char *x = gf_test_read_file(a, &na), *y = gf_test_read_file(c, &nc);
    assert_true(x && y && na == nc);
    if (!memcmp(x, y, na)) fail_msg("%s: the weights did not move", what);
    free(x);
    free(y);
}

static void check(const char *args, int max_ranks)
{
    if (!gf_test_mnist_dir()) skip();
    mpirun_path();
    char *dir = gf_test_tmpdir();
    for (int n = 2; n <= max_ranks; n++) same_bits(dir, args, n, n == 2);
    gf_test_rmdir(dir);
}

static void manual_step(void **state)
{
    (void)state;
    check("--step manual --batch 12 --steps 100 --eval-every 1000 --eval-size 100", 4);
}
static void autodiff_step(void **state)
{
    (void)state;
    check("--step autodiff --batch 12 --steps 100 --eval-every 1000 --eval-size 100", 3);
}
static void softmax_model(void **state)
{
    (void)state;
    check("--model softmax --batch 12 --steps 100 --eval-every 1000 --eval-size 100", 3);
}
static void cnn_model(void **state) /* a few steps: it is slow, and dropout is in it */
{
    (void)state;
    check("--model cnn --batch 12 --steps 5 --eval-every 1000 --eval-size 100", 3);
}

/* mpirun -np 1 trains as a plain run does: the same bits. */
static void one_rank_is_a_plain_run(void **state)
{
    (void)state;
    if (!gf_test_mnist_dir()) skip();
    char *dir = gf_test_tmpdir(), *a = gf_test_path(dir, "one.ckpt"), *b = gf_test_path(dir, "plain.ckpt");
    const char *args = "--batch 10 --steps 100 --eval-every 1000 --eval-size 100 --quiet --json";
    int rc = mpi_gradflowf(out, sizeof out, 1, "train --data '%s' %s --save '%s'", gf_test_mnist_dir(), args, a);
    if (rc != 0) fail_msg("mpirun -np 1: exit %d:\n%s", rc, out);
    assert_int_equal(gf_test_gradflowf(out, sizeof out, "train --data '%s' %s --save '%s'", gf_test_mnist_dir(),
                                       args, b), 0);
    assert_same_file(a, b, "mpirun -np 1 against a plain run");
    free(a);
    free(b);
    gf_test_rmdir(dir);
}

/* 2 ranks save, 3 ranks resume (Adam's slots and step count included);
 * the same as one process accumulating 2, then 3. */
static void resume_with_another_n(void **state)
{
    (void)state;
    if (!gf_test_mnist_dir()) skip();
    char *dir = gf_test_tmpdir();
    char *r2 = gf_test_path(dir, "r2.ckpt"), *r3 = gf_test_path(dir, "r3.ckpt");
    char *a2 = gf_test_path(dir, "a2.ckpt"), *a3 = gf_test_path(dir, "a3.ckpt");
    const char *args = "--model softmax --batch 30 --steps 40 --eval-every 1000 --eval-size 100 --quiet --json";
    const char *d = gf_test_mnist_dir();
    int rc = mpi_gradflowf(out, sizeof out, 2, "train --data '%s' %s --save '%s'", d, args, r2);
    if (rc) fail_msg("2 ranks: exit %d:\n%s", rc, out);
    rc = mpi_gradflowf(out, sizeof out, 3, "train --data '%s' %s --resume '%s' --save '%s'", d, args, r2, r3);
    if (rc) fail_msg("3 ranks resuming: exit %d:\n%s", rc, out);
    assert_int_equal(gf_test_gradflowf(out, sizeof out, "train --data '%s' %s --accumulate 2 --save '%s'", d,
                                       args, a2), 0);
    assert_int_equal(gf_test_gradflowf(out, sizeof out, "train --data '%s' %s --accumulate 3 --resume '%s' "
                                       "--save '%s'", d, args, a2, a3), 0);
    assert_same_file(r2, a2, "2 ranks against accumulating 2");
    assert_same_file(r3, a3, "resumed under 3 ranks against accumulating 3");
    free(r2);
    free(r3);
    free(a2);
    free(a3);
    gf_test_rmdir(dir);
}

/* gradflow bench --only cnn-dp starts its own ranks under mpirun: one
 * round with --quick, one process against 2 ranks, and the all-reduce of
 * each model's parameter count. */
static void bench_cnn_dp(void **state)
{
    (void)state;
    int rc = gf_test_gradflowf(out, sizeof out, "bench --quick --only cnn-dp --json --generated");
    if (rc != 0) fail_msg("gradflow bench --only cnn-dp: exit %d:\n%s", rc, out);
    const char *line = strstr(out, "{\"bench\":\"cnn-dp\"");
    if (!line) fail_msg("no cnn-dp line:\n%s", out);
    if (strstr(line, "\"skipped\"")) fail_msg("cnn-dp skipped:\n%s", line);
    assert_true(gf_test_json_num(line, "ranks") == 2 && gf_test_json_num(line, "rounds") == 1);
    assert_true(gf_test_json_num(line, "global_batch") == 100);
    double one = gf_test_json_num(line, "one_rank_us_per_step"), two = gf_test_json_num(line, "ranks_us_per_step");
    assert_true(one > 0 && two > 0);
    assert_true(gf_test_json_num(line, "speedup") == gf_test_json_num(line, "speedup_lowest_round"));
    assert_true(fabs(gf_test_json_num(line, "speedup") - one / two) < 1e-3 * one / two);
    assert_true(gf_test_json_num(line, "allreduce_cnn_floats") == 3274634);
    assert_true(gf_test_json_num(line, "allreduce_cnn_us") > 0 && gf_test_json_num(line, "allreduce_one_float_us") > 0);
}

int main(void)
{
    mpi_test_env();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(manual_step),
        cmocka_unit_test(autodiff_step),
        cmocka_unit_test(softmax_model),
        cmocka_unit_test(cnn_model),
        cmocka_unit_test(one_rank_is_a_plain_run),
        cmocka_unit_test(resume_with_another_n),
        cmocka_unit_test(bench_cnn_dp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
