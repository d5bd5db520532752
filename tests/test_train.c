/*
 * test_train.c — end to end: the article's manual program learns on the
 * 10,000-digit MNIST subset and on Fashion-MNIST, and is bitwise repeatable.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "article.h"
#include "zoo.h"

typedef struct evals {
    int n;
    int64_t correct[64];
    int64_t total;
} evals;

static void record(void *ctx, int64_t step, int64_t correct, int64_t total)
{
    (void)step;
    evals *e = ctx;
    if (e->n < 64) e->correct[e->n++] = correct;
    e->total = total;
}

/* Trains the article's network; fills e and, when w is non-NULL, copies the
 * final w_1 there (784*30 floats). */
static void train(const char *dir, uint64_t seed, int64_t steps, int64_t every, evals *e, float *w)
{
    gf_mnist *m;
    gf_error err;
    if (gf_mnist_load(dir, &(gf_mnist_options){ .seed = seed, .validation_size = -1 }, &m, &err))
        fail_msg("%s", err.message);
    gf_article_net net;
    assert_int_equal(gf_article_build_manual(&net, 30, 0.5f), GF_OK);
    gf_session *s = gf_session_new(net.g, &(gf_session_options){ .seed = seed });
    assert_int_equal(gf_session_status(s), GF_OK);
    gf_article_train_opts opt = { .batch = 10, .steps = steps, .eval_every = every, .eval_size = 1000 };
    char msg[512];
    memset(e, 0, sizeof *e);
    if (gf_article_train(&net, s, m, &opt, record, e, NULL, msg, sizeof msg)) fail_msg("%s", msg);
    if (w) memcpy(w, gf_tensor_data(gf_session_variable(s, net.w_1)), 784 * 30 * sizeof(float));
    gf_session_free(s);
    gf_graph_free(net.g);
    gf_mnist_free(m);
}

/* The article's run: ten evaluations, the first near chance, the last high. */
static void manual_learns_mnist(void **state)
{
    (void)state;
    const char *dir = gf_test_mnist_dir();
    if (!dir) skip();
    evals e;
    train(dir, 1, 10000, 1000, &e, NULL);
    assert_int_equal(e.n, 10);
    assert_int_equal(e.total, 1000);
    print_message("evaluations: %lld %lld ... %lld\n", (long long)e.correct[0],
                  (long long)e.correct[1], (long long)e.correct[9]);
    assert_true(e.correct[0] < 350);   /* one step: near chance */
    assert_true(e.correct[9] >= 880);  /* the article ends around 900-950 */
}

static void manual_learns_fashion(void **state)
{
    (void)state;
    if (access(GF_FASHION_DIR "/train-images-idx3-ubyte.gz", R_OK) != 0) skip();
    evals e;
    train(GF_FASHION_DIR, 3, 3000, 1000, &e, NULL);
    assert_int_equal(e.n, 3);
    print_message("fashion evaluations: %lld %lld %lld\n", (long long)e.correct[0],
                  (long long)e.correct[1], (long long)e.correct[2]);
    assert_true(e.correct[2] >= 650);
    assert_true(e.correct[2] > e.correct[0] + 300);
}

/* The zoo's softmax model (relu, cross-entropy, Adam), as `gradflow train
 * --model softmax` runs it: 10 epochs of batch 16 on all 9000 digits. */
static void softmax_model_learns_mnist(void **state)
{
    (void)state;
    const char *dir = gf_test_mnist_dir();
    if (!dir) skip();
    gf_mnist *m;
    gf_error err;
    if (gf_mnist_load(dir, &(gf_mnist_options){ .seed = 1, .validation_size = 0 }, &m, &err)) fail_msg("%s", err.message);
    gf_zoo_net z;
    assert_int_equal(gf_zoo_build_softmax(&z, 100, 0), GF_OK);
    gf_article_net net = { .g = z.g, .a_0 = z.x, .y = z.y, .acct_res = z.correct, .step = { z.step }, .n_step = 1 };
    gf_session *s = gf_session_new(z.g, &(gf_session_options){ .seed = 1 });
    int64_t epoch = (gf_dataset_count(m->train) + 15) / 16;
    gf_article_train_opts opt = { .batch = 16, .steps = 10 * epoch, .eval_every = epoch,
                                  .eval_size = gf_dataset_count(m->test), .at_end = 1 };
    evals e;
    memset(&e, 0, sizeof e);
    char msg[512];
    if (gf_article_train(&net, s, m, &opt, record, &e, NULL, msg, sizeof msg)) fail_msg("%s", msg);
    print_message("softmax model: %lld/%lld after 10 epochs\n", (long long)e.correct[e.n - 1], (long long)e.total);
    assert_int_equal(e.n, 10);
    assert_true(e.correct[9] * 1000 >= 940 * e.total); /* 95.1% with seed 1; a margin for rounding */
    gf_session_free(s);
    gf_graph_free(z.g);
    gf_mnist_free(m);
}

static void record_batch(void *ctx, int64_t step, double acc)
{
    evals *e = ctx;
    if (e->n < 64 && acc >= 0 && acc <= 1) e->correct[e->n++] = step;
}

/* The loop's options for networks with extra inputs: an evaluation run in
 * pieces counts what one run counts, and the accuracy on the training batch
 * is taken before the steps after 0, every, 2 * every, ... */
static void evaluation_in_pieces_and_batch_accuracy(void **state)
{
    (void)state;
    const char *dir = gf_test_mnist_dir();
    if (!dir) skip();
    gf_mnist *m;
    gf_error err;
    if (gf_mnist_load(dir, &(gf_mnist_options){ .seed = 2, .validation_size = 0 }, &m, &err)) fail_msg("%s", err.message);
    gf_zoo_net z;
    assert_int_equal(gf_zoo_build_softmax(&z, 20, 0), GF_OK);
    gf_article_net net = { .g = z.g, .a_0 = z.x, .y = z.y, .acct_res = z.correct, .step = { z.step }, .n_step = 1 };
    gf_session *s = gf_session_new(z.g, &(gf_session_options){ .seed = 2 });
    evals batch;
    memset(&batch, 0, sizeof batch);
    gf_article_train_opts opt = { .batch = 16, .steps = 250, .eval_size = 1000, .batch_accuracy = z.accuracy,
                                  .batch_every = 100, .on_batch = record_batch };
    char msg[512];
    if (gf_article_train(&net, s, m, &opt, NULL, &batch, NULL, msg, sizeof msg)) fail_msg("%s", msg);
    assert_int_equal(batch.n, 3);
    assert_int_equal(batch.correct[0], 0);
    assert_int_equal(batch.correct[1], 100);
    assert_int_equal(batch.correct[2], 200);
    /* A run in pieces (train --save-every) numbers from the run's start:
     * steps 150..249 take the accuracy before step 200 only. */
    memset(&batch, 0, sizeof batch);
    opt.first_step = 150;
    opt.steps = 100;
    if (gf_article_train(&net, s, m, &opt, NULL, &batch, NULL, msg, sizeof msg)) fail_msg("%s", msg);
    assert_int_equal(batch.n, 1);
    assert_int_equal(batch.correct[0], 200);

    const gf_tensor *xs, *ys;
    assert_int_equal(gf_dataset_head(m->test, 1000, &xs, &ys), GF_OK);
    int64_t whole, pieces;
    assert_int_equal(gf_article_count(&net, s, xs, ys, &opt, &whole, NULL), GF_OK);
    opt.eval_batch = 300; /* 300, 300, 300, 100 */
    assert_int_equal(gf_article_count(&net, s, xs, ys, &opt, &pieces, NULL), GF_OK);
    print_message("softmax model after 250 steps: %lld/1000\n", (long long)whole);
    assert_true(whole > 500);
    assert_int_equal(pieces, whole);
    gf_session_free(s);
    gf_graph_free(z.g);
    gf_mnist_free(m);
}

/* Same seed, same bits; another seed, other weights. */
static void training_is_repeatable(void **state)
{
    (void)state;
    const char *dir = gf_test_mnist_dir();
    if (!dir) dir = access(GF_FASHION_DIR "/train-images-idx3-ubyte.gz", R_OK) ? NULL : GF_FASHION_DIR;
    if (!dir) skip();
    static float w1[784 * 30], w2[784 * 30], w3[784 * 30];
    evals e1, e2, e3;
    train(dir, 7, 300, 100, &e1, w1);
    train(dir, 7, 300, 100, &e2, w2);
    train(dir, 8, 300, 100, &e3, w3);
    assert_memory_equal(w1, w2, sizeof w1);
    assert_memory_equal(e1.correct, e2.correct, sizeof e1.correct);
    assert_memory_not_equal(w1, w3, sizeof w1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(manual_learns_mnist),
        cmocka_unit_test(manual_learns_fashion),
        cmocka_unit_test(softmax_model_learns_mnist),
        cmocka_unit_test(evaluation_in_pieces_and_batch_accuracy),
        cmocka_unit_test(training_is_repeatable),
    };
    /* GF_TEST_FILTER=manual_learns_mnist runs one test (CI's valgrind run) */
    const char *filter = getenv("GF_TEST_FILTER");
    if (filter && *filter) cmocka_set_test_filter(filter);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
