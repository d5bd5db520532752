/*
 * test_threads.c — what include/gradflow.h promises about threads: several
 * sessions on one finished graph, and separate graphs, used at once from
 * several threads, give the bits a lone thread gives; a dataset's float
 * arrays asked for by several threads at once are made once. Run under
 * TSan in CI.
 */
#include "testutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "article.h"

#define N_THREADS 4
#define STEPS 40

typedef struct job {
    gf_article_net *net;   /* shared (finished) graph, or NULL: build one */
    int kind, threads;     /* manual or autodiff; GEMM threads per session */
    float w_2[300];        /* result */
    float correct;
    gf_status st;
} job;

/* Trains STEPS steps on fixed generated batches and evaluates 2000 images
 * (large enough for a threaded GEMM when threads > 1). */
static void *train(void *arg)
{
    job *j = arg;
    gf_article_net own, *net = j->net;
    if (!net) {
        j->st = j->kind ? gf_article_build_autodiff(&own, 30, 0.1f) : gf_article_build_manual(&own, 30, 0.5f);
        if (j->st != GF_OK) return NULL;
        net = &own;
    }
    gf_session *s = gf_session_new(net->g, &(gf_session_options){ .seed = 9, .threads = j->threads });
    gf_tensor *x = gf_tensor_new(GF_F32, gf_dims(2, 10, 784), NULL), *y = gf_tensor_new(GF_F32, gf_dims(2, 10, 10), NULL);
    gf_tensor *tx = gf_tensor_new(GF_F32, gf_dims(2, 2000, 784), NULL), *ty = gf_tensor_new(GF_F32, gf_dims(2, 2000, 10), NULL);
    gf_rng r;
    gf_rng_seed(&r, 4, 4);
    for (int64_t i = 0; i < 2000 * 784; i++) gf_tensor_data(tx)[i] = gf_rng_uniform(&r) < 0.8 ? 0.0f : (float)gf_rng_uniform(&r);
    for (int i = 0; i < 2000; i++) gf_tensor_data(ty)[i * 10 + gf_rng_below(&r, 10)] = 1.0f;
    gf_feed feed[2] = { { net->a_0, x }, { net->y, y } };
    j->st = gf_session_status(s);
    for (int step = 0; step < STEPS && j->st == GF_OK; step++) {
        for (int i = 0; i < 10 * 784; i++) gf_tensor_data(x)[i] = gf_tensor_data(tx)[step * 10 * 784 + i];
        for (int i = 0; i < 100; i++) gf_tensor_data(y)[i] = gf_tensor_data(ty)[step * 100 + i];
        j->st = gf_session_run(s, feed, 2, NULL, 0, net->step, net->n_step, NULL);
    }
    gf_feed test[2] = { { net->a_0, tx }, { net->y, ty } };
    const gf_tensor *res;
    if (j->st == GF_OK) j->st = gf_session_run(s, test, 2, &net->acct_res, 1, NULL, 0, &res);
    if (j->st == GF_OK) {
        j->correct = gf_tensor_data(res)[0];
        memcpy(j->w_2, gf_tensor_data(gf_session_variable(s, net->w_2)), sizeof j->w_2);
    }
    gf_tensor_free(x);
    gf_tensor_free(y);
    gf_tensor_free(tx);
    gf_tensor_free(ty);
    gf_session_free(s);
    if (!j->net) gf_graph_free(own.g);
    return NULL;
}

static void run_all(job *jobs, int n)
{
    pthread_t t[N_THREADS];
    for (int i = 0; i < n; i++) assert_int_equal(pthread_create(&t[i], NULL, train, &jobs[i]), 0);
    for (int i = 0; i < n; i++) assert_int_equal(pthread_join(t[i], NULL), 0);
    for (int i = 0; i < n; i++) assert_int_equal(jobs[i].st, GF_OK);
}

/* Sessions on one graph, at once, some with threaded GEMMs: each gives
 * what one session alone gives, bitwise. */
static void sessions_share_a_finished_graph(void **state)
{
    (void)state;
    for (int kind = 0; kind < 2; kind++) {
        gf_article_net net;
        gf_status st = kind ? gf_article_build_autodiff(&net, 30, 0.1f) : gf_article_build_manual(&net, 30, 0.5f);
        assert_int_equal(st, GF_OK);
        static job alone, jobs[N_THREADS];
        alone = (job){ .net = &net, .kind = kind, .threads = 1 };
        train(&alone);
        assert_int_equal(alone.st, GF_OK);
        for (int i = 0; i < N_THREADS; i++) jobs[i] = (job){ .net = &net, .kind = kind, .threads = 1 + i % 2 };
        run_all(jobs, N_THREADS);
        for (int i = 0; i < N_THREADS; i++) {
            assert_memory_equal(jobs[i].w_2, alone.w_2, sizeof alone.w_2);
            assert_true(jobs[i].correct == alone.correct);
        }
        gf_graph_free(net.g);
    }
}

/* Separate graphs built and run in parallel threads. */
static void separate_graphs_in_parallel(void **state)
{
    (void)state;
    static job alone, jobs[N_THREADS];
    alone = (job){ .kind = 1, .threads = 2 };
    train(&alone);
    assert_int_equal(alone.st, GF_OK);
    for (int i = 0; i < N_THREADS; i++) jobs[i] = (job){ .kind = 1, .threads = 2 };
    run_all(jobs, N_THREADS);
    for (int i = 0; i < N_THREADS; i++) assert_memory_equal(jobs[i].w_2, alone.w_2, sizeof alone.w_2);
}

/* Threads that ask one dataset read from IDX files for its images and
 * labels at once (the first call makes the float copies) all get the one
 * copy, with the right values. */
typedef struct asker {
    const gf_dataset *d;
    pthread_barrier_t *go;
    const gf_tensor *x, *y;
} asker;

static void *ask(void *arg)
{
    asker *a = arg;
    pthread_barrier_wait(a->go);
    a->x = gf_dataset_images(a->d);
    a->y = gf_dataset_labels(a->d);
    return NULL;
}

static void dataset_arrays_from_threads(void **state)
{
    (void)state;
    enum { N = 2000, DIM = 300 };
    char *dir = gf_test_tmpdir();
    uint8_t *img = malloc((size_t)N * DIM), lab[N];
    assert_non_null(img);
    for (int i = 0; i < N * DIM; i++) img[i] = (uint8_t)(i * 31 + 7);
    for (int i = 0; i < N; i++) lab[i] = (uint8_t)(i % 10);
    gf_test_write_idx(dir, "img", 0, 2, (const uint32_t[]){ N, DIM }, img, (size_t)N * DIM);
    gf_test_write_idx(dir, "lab", 0, 1, (const uint32_t[]){ N }, lab, N);
    char *ip = gf_test_path(dir, "img"), *lp = gf_test_path(dir, "lab");
    for (int round = 0; round < 5; round++) {
        gf_dataset *d = NULL;
        gf_error err = { 0 };
        assert_int_equal(gf_dataset_load_idx(ip, lp, NULL, &d, &err), GF_OK);
        pthread_barrier_t go;
        assert_int_equal(pthread_barrier_init(&go, NULL, N_THREADS), 0);
        asker a[N_THREADS];
        pthread_t th[N_THREADS];
        for (int t = 0; t < N_THREADS; t++) {
            a[t] = (asker){ .d = d, .go = &go };
            assert_int_equal(pthread_create(&th[t], NULL, ask, &a[t]), 0);
        }
        for (int t = 0; t < N_THREADS; t++) assert_int_equal(pthread_join(th[t], NULL), 0);
        pthread_barrier_destroy(&go);
        for (int t = 0; t < N_THREADS; t++) {
            assert_non_null(a[t].x);
            assert_non_null(a[t].y);
            assert_ptr_equal(gf_tensor_data(a[t].x), gf_tensor_data(a[0].x));
            assert_ptr_equal(gf_tensor_data(a[t].y), gf_tensor_data(a[0].y));
        }
        const float *x = gf_tensor_data(a[0].x), *y = gf_tensor_data(a[0].y);
        for (int i = 0; i < N * DIM; i++)
            if (x[i] != (float)img[i] / 255.0f) fail_msg("round %d: image float %d is %.9g", round, i, (double)x[i]);
        for (int i = 0; i < N; i++)
            for (int c = 0; c < 10; c++) assert_true(y[i * 10 + c] == (c == lab[i] ? 1.0f : 0.0f));
        gf_dataset_free(d);
    }
    free(img);
    free(ip);
    free(lp);
    gf_test_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sessions_share_a_finished_graph),
        cmocka_unit_test(separate_graphs_in_parallel),
        cmocka_unit_test(dataset_arrays_from_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
