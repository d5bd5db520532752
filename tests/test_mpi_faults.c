/*
 * test_mpi_faults.c — `mpirun gradflow train` when a rank goes wrong:
 * killed mid-training, stopped (alive but silent: the others' --timeout
 * fires and names what did not answer), running another graph, or given
 * a batch that does not split. Every case must end every rank within
 * seconds with a message, and leave any checkpoint whole. Needs Open MPI
 * (openmpi-bin, libopenmpi-dev) and gradflow built with it.
 */
#include "mpi_util.h"

static char out[1 << 16];

typedef struct job {
    char *dir, *ckpt, *log;
    pid_t pid;
    pid_t rank1;
} job;

/* Starts 2 ranks training for long, saving every 20 steps, and waits for
 * the first save (training is under way) and for rank 1's pid. */
static job start_long_job(const char *extra)
{
    job j = { .dir = gf_test_tmpdir() };
    j.ckpt = gf_test_path(j.dir, "long.ckpt");
    j.log = gf_test_path(j.dir, "log.txt");
    char pre[4200], cmd[16384];
    mpirun_prefix(pre, sizeof pre);
    snprintf(cmd, sizeof cmd, "exec %s -np 2 '%s' train --data '%s' --batch 20 --steps 100000000 --eval-every "
             "100000 --eval-size 100 --quiet --save '%s' --save-every 20 %s", pre, gf_test_gradflow(),
             gf_test_mnist_dir(), j.ckpt, extra);
    j.pid = spawn_sh(cmd, j.log);
    double t0 = now_s();
    while (!(exists(j.ckpt) && (j.rank1 = find_rank(j.dir, 1))) && now_s() - t0 < 60) {
        if (waitpid(j.pid, NULL, WNOHANG) == j.pid) {
            size_t n;
            char *log = (char *)gf_test_read_file(j.log, &n);
            fail_msg("the job ended before its first save:\n%s", log ? log : "");
        }
        sleep_s(0.05);
    }
    if (!j.rank1) {
        wait_exit(j.pid, 0);
        fail_msg("no first checkpoint or no rank 1 after 60 s");
    }
    return j;
}

/* The job's log, once it ended. */
static char *log_of(const job *j)
{
    size_t n;
    char *log = (char *)gf_test_read_file(j->log, &n);
    assert_non_null(log);
    return log;
}

static void end_job(job *j)
{
    free(j->ckpt);
    free(j->log);
    gf_test_rmdir(j->dir);
}

/* The checkpoint a killed job leaves is whole: eval reads it. */
static void checkpoint_whole(const job *j)
{
    int rc = gf_test_gradflowf(out, sizeof out, "eval '%s' --data '%s'", j->ckpt, gf_test_mnist_dir());
    if (rc != 0) fail_msg("the checkpoint left behind does not read back: exit %d:\n%s", rc, out);
}

/* A rank killed mid-training: every rank stops within seconds. */
static void killed_rank_stops_all(void **state)
{
    (void)state;
    if (!gf_test_mnist_dir()) skip();
    mpirun_path();
    job j = start_long_job("");
    double t0 = now_s();
    assert_int_equal(kill(j.rank1, SIGKILL), 0);
    int rc = wait_exit(j.pid, 30);
    double took = now_s() - t0;
    char *log = log_of(&j);
    if (rc < 0) fail_msg("the job still ran 30 s after rank 1 was killed:\n%s", log);
    print_message("killed rank 1: the job ended in %.2f s, exit %d\n", took, rc);
    if (rc == 0) fail_msg("the job exited 0 after rank 1 was killed:\n%s", log);
    if (took > 10) fail_msg("the job took %.1f s to stop after rank 1 was killed:\n%s", took, log);
    gf_test_contains(log, "rank 1");
    assert_null(find_rank(j.dir, 0) ? "rank 0 still running" : NULL);
    checkpoint_whole(&j);
    free(log);
    end_job(&j);
}

/* A rank that stops answering (SIGSTOP): the other gives up after
 * --timeout, names what did not complete, and stops everyone. */
static void silent_rank_times_out(void **state)
{
    (void)state;
    if (!gf_test_mnist_dir()) skip();
    mpirun_path();
    job j = start_long_job("--timeout 2");
    double t0 = now_s();
    assert_int_equal(kill(j.rank1, SIGSTOP), 0);
    int rc = wait_exit(j.pid, 40);
    double took = now_s() - t0;
    kill(j.rank1, SIGCONT); /* in case it outlived the job */
    kill(j.rank1, SIGKILL);
    char *log = log_of(&j);
    if (rc < 0) fail_msg("the job still ran 40 s after rank 1 stopped:\n%s", log);
    print_message("stopped rank 1: the job ended in %.2f s, exit %d\n", took, rc);
    if (rc == 0) fail_msg("the job exited 0 with rank 1 stopped:\n%s", log);
    if (took > 15) fail_msg("the job took %.1f s to stop with --timeout 2:\n%s", took, log);
    gf_test_contains(log, "gradflow train: rank 0: all-reduce \"all_reduce/");
    gf_test_contains(log, "within 2 s");
    checkpoint_whole(&j);
    free(log);
    end_job(&j);
}

/* An MPMD launch of train on two ranks, rank 1 given `other` options too:
 * both must stop (a non-zero exit) and the output must say `want`. */
static void rank1_differs(const char *other, const char *want)
{
    char pre[4200], cmd[16384];
    mpirun_prefix(pre, sizeof pre);
    const char *g = gf_test_gradflow(), *d = gf_test_mnist_dir();
    snprintf(cmd, sizeof cmd, "%s -np 1 '%s' train --data '%s' --batch 20 --steps 50 --quiet : -np 1 '%s' "
             "train --data '%s' --batch 20 --steps 50 --quiet %s 2>&1", pre, g, d, g, d, other);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    if (!WIFEXITED(status) || WEXITSTATUS(status) == 0) fail_msg("rank 1 with %s: exit 0:\n%s", other, out);
    gf_test_contains(out, want);
}

/* Ranks running different graphs (an MPMD launch with another --hidden,
 * or another --eta) or seeds stop before they train, every one saying
 * why. */
static void ranks_that_disagree_stop(void **state)
{
    (void)state;
    if (!gf_test_mnist_dir()) skip();
    const char *other[] = { "--hidden 20", "--eta 0.3", "--seed 2" };
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++)
        rank1_differs(other[i], "the group's ranks do not all run the same graph with the same seed");
}

/* Ranks started with other data, or another --accumulate, --batch or
 * --steps, which the graph does not show, stop before they train. */
static void ranks_started_unlike_stop(void **state)
{
    (void)state;
    if (!gf_test_mnist_dir()) skip();
    const char *other[] = { "--accumulate 2", "--batch 40", "--steps 60", "--validation 100" };
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
        rank1_differs(other[i], "the ranks were not started alike: this one has --batch ");
        gf_test_contains(out, "start every rank with the same --data, --batch, --accumulate and --steps");
    }
}

/* A global batch that does not split into N equal shards is refused
 * before anything trains; so is --timeout without mpirun. */
static void uneven_batch_refused(void **state)
{
    (void)state;
    if (!gf_test_mnist_dir()) skip();
    int rc = mpi_gradflowf(out, sizeof out, 3, "train --data '%s' --batch 20 --steps 5 --quiet", gf_test_mnist_dir());
    assert_int_equal(rc, 2);
    gf_test_contains(out, "--batch 20 does not split into 3 ranks x 1 micro-batch of equal size: give a multiple "
                          "of 3");
    rc = gf_test_gradflowf(out, sizeof out, "train --data '%s' --batch 20 --accumulate 3 --steps 5",
                           gf_test_mnist_dir());
    assert_int_equal(rc, 2);
    gf_test_contains(out, "into 1 rank x 3 micro-batches");
    rc = gf_test_gradflowf(out, sizeof out, "train --timeout 5 --steps 1");
    assert_int_equal(rc, 2);
    gf_test_contains(out, "not started by mpirun");
}

int main(void)
{
    mpi_test_env();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(killed_rank_stops_all),
        cmocka_unit_test(silent_rank_times_out),
        cmocka_unit_test(ranks_that_disagree_stop),
        cmocka_unit_test(ranks_started_unlike_stop),
        cmocka_unit_test(uneven_batch_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
