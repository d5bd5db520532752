/*
 * test_parallel.c — data parallelism in the library, without MPI: a group
 * of sessions in threads (a gf_process_group over shared memory) against
 * one session accumulating the same shards as micro-batches. The weights
 * (optimizer slots included) must be the same bits, for the article's
 * hand-written step with its explicit all-reduce nodes, the automatic
 * step, the softmax model and the CNN (dropout included); and the
 * collectives' edges: broadcasts, failures, means, shapes.
 */
#include "testutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "article.h"
#include "cnn.h"
#include "zoo.h"

#define MAX_RANKS 4

/* ---- a group of threads: the reference collectives, summing in rank order ---- */

typedef struct tgroup {
    int size;
    pthread_barrier_t bar;
    float *buf[MAX_RANKS];
    int64_t n[MAX_RANKS];
    const char *name[MAX_RANKS];
    int calls;            /* all_reduce calls made by rank 0 */
    int fail_at;          /* rank 0's call that fails (on every rank), 0: none */
} tgroup;

typedef struct member {
    tgroup *t;
    int rank;
} member;

static gf_status collective(member *m, float *buf, int64_t n, const char *name, char *msg, size_t len, int bcast)
{
    tgroup *t = m->t;
    t->buf[m->rank] = buf;
    t->n[m->rank] = n;
    t->name[m->rank] = name;
    pthread_barrier_wait(&t->bar);
    gf_status st = GF_OK;
    for (int r = 0; r < t->size; r++)
        if (t->n[r] != n || strcmp(t->name[r], name)) st = GF_ERR_GROUP;
    if (st != GF_OK) snprintf(msg, len, "ranks disagree on \"%s\"", name);
    float *tmp = malloc((size_t)(n ? n : 1) * sizeof *tmp);
    if (!tmp) st = GF_ERR_NOMEM;
    if (st == GF_OK) {
        memcpy(tmp, t->buf[0], (size_t)n * sizeof *tmp);
        for (int r = 1; !bcast && r < t->size; r++)
            for (int64_t i = 0; i < n; i++) tmp[i] = tmp[i] + t->buf[r][i];
    }
    pthread_barrier_wait(&t->bar); /* everyone has read every buffer */
    if (st == GF_OK) memcpy(buf, tmp, (size_t)n * sizeof *tmp);
    free(tmp);
    if (!bcast && m->rank == 0) t->calls++;
    pthread_barrier_wait(&t->bar);
    if (!bcast && t->fail_at && t->calls == t->fail_at) {
        snprintf(msg, len, "rank 1 stopped answering");
        return GF_ERR_GROUP;
    }
    return st;
}

static gf_status t_all_reduce(void *ctx, float *buf, int64_t n, const char *name, char *msg, size_t len)
{
    return collective(ctx, buf, n, name, msg, len, 0);
}

static gf_status t_broadcast(void *ctx, float *buf, int64_t n, const char *name, char *msg, size_t len)
{
    return collective(ctx, buf, n, name, msg, len, 1);
}

/* The process group of member m: the collectives above. */
static gf_process_group group_of(member *m)
{
    return (gf_process_group){ .rank = m->rank, .size = m->t->size, .all_reduce = t_all_reduce,
                               .broadcast = t_broadcast, .ctx = m };
}

/* Runs fn on t->size threads, thread r on jobs + r * job_size (job r of
 * an array), and waits for them all. */
static void run_threads(tgroup *t, void *(*fn)(void *), void *jobs, size_t job_size)
{
    pthread_barrier_init(&t->bar, NULL, (unsigned)t->size);
    pthread_t th[MAX_RANKS];
    for (int r = 0; r < t->size; r++)
        assert_int_equal(pthread_create(&th[r], NULL, fn, (char *)jobs + (size_t)r * job_size), 0);
    for (int r = 0; r < t->size; r++) pthread_join(th[r], NULL);
    pthread_barrier_destroy(&t->bar);
}

/* ---- the models, and the data every run sees ---- */

enum { IN = 64, OUT = 4 };

typedef struct model {
    const char *name;
    gf_article_net net;
    gf_node *keep;  /* the cnn's keep_prob, fed 0.5 */
} model;

static void build(model *m, const char *name)
{
    memset(m, 0, sizeof *m);
    m->name = name;
    gf_status st;
    if (!strcmp(name, "manual")) {
        st = gf_article_build_manual_dp(&m->net, IN, 8, OUT, 0.5f);
    } else if (!strcmp(name, "autodiff")) {
        st = gf_article_build_autodiff_dp(&m->net, IN, 8, OUT, 0.1f);
    } else if (!strcmp(name, "softmax")) {
        gf_zoo_net z;
        st = gf_zoo_build_softmax_dp(&z, IN, 8, OUT, 0.01f);
        m->net = (gf_article_net){ .g = z.g, .a_0 = z.x, .y = z.y, .step = { z.step }, .n_step = 1 };
    } else {
        gf_cnn_net c;
        st = gf_cnn_build_dp(&c, 8, 8, OUT, 1e-3f);
        m->net = (gf_article_net){ .g = c.g, .a_0 = c.x, .y = c.y_, .step = { c.train_step }, .n_step = 1 };
        m->keep = c.keep_prob;
    }
    if (st != GF_OK) fail_msg("%s: %s", name, gf_graph_error(m->net.g));
}

/* Rows [row, row + n) of step t's global batch: the same everywhere. */
static void batch(int t, int64_t row, int64_t n, float *x, float *y)
{
    gf_rng r;
    gf_rng_seed(&r, 1000 + (uint64_t)t, 5);
    for (int64_t i = 0; i < row + n; i++)
        for (int j = 0; j < IN + 1; j++) {
            double u = gf_rng_uniform(&r);
            if (i < row) continue;
            if (j < IN) x[(i - row) * IN + j] = (float)u;
            else
                for (int k = 0; k < OUT; k++) y[(i - row) * OUT + k] = (int)(u * OUT) == k;
        }
}

/* One micro-batch or step: rows [row, row + n) of step t. */
static gf_status feed_run(gf_session *s, const model *m, int t, int64_t row, int64_t n, int accumulate)
{
    float *x = malloc((size_t)n * IN * sizeof *x), *y = malloc((size_t)n * OUT * sizeof *y);
    assert_true(x && y);
    batch(t, row, n, x, y);
    gf_tensor *xs = gf_tensor_wrap(GF_F32, gf_dims(2, (int)n, IN), x, NULL);
    gf_tensor *ys = gf_tensor_wrap(GF_F32, gf_dims(2, (int)n, OUT), y, NULL);
    gf_tensor *keep = gf_tensor_new(GF_F32, gf_dims(0), NULL);
    gf_tensor_data(keep)[0] = 0.5f;
    gf_feed f[] = { { m->net.a_0, xs }, { m->net.y, ys }, { m->keep, keep } };
    int nf = m->keep ? 3 : 2;
    gf_status st = accumulate ? gf_session_accumulate(s, f, nf, m->net.step, m->net.n_step)
                              : gf_session_run(s, f, nf, NULL, 0, m->net.step, m->net.n_step, NULL);
    gf_tensor_free(xs);
    gf_tensor_free(ys);
    gf_tensor_free(keep);
    free(x);
    free(y);
    return st;
}

/* Every variable of s (graph order), concatenated: malloc'ed, *n floats. */
static float *weights(gf_session *s, gf_graph *g, int64_t *n)
{
    float *all = NULL;
    *n = 0;
    for (int i = 0; i < gf_graph_node_count(g); i++) {
        gf_node *v = gf_graph_node(g, i);
        if (strcmp(gf_node_op(v), "variable")) continue;
        const gf_tensor *t = gf_session_variable(s, v);
        assert_non_null(t);
        int64_t c = gf_tensor_count(t);
        all = realloc(all, (size_t)(*n + c) * sizeof *all);
        assert_non_null(all);
        memcpy(all + *n, gf_tensor_data(t), (size_t)c * sizeof *all);
        *n += c;
    }
    return all;
}

/* ---- one process accumulating, and a group of threads ---- */

static float *run_accumulating(const char *name, int micro, int steps, int64_t global, int64_t *n)
{
    model m;
    build(&m, name);
    gf_session *s = gf_session_new(m.net.g, &(gf_session_options){ .seed = 7 });
    assert_int_equal(gf_session_status(s), GF_OK);
    int64_t rows = global / micro;
    for (int t = 0; t < steps; t++)
        for (int k = 0; k < micro; k++)
            if (feed_run(s, &m, t, k * rows, rows, k < micro - 1) != GF_OK) fail_msg("%s", gf_session_error(s));
    float *w = weights(s, m.net.g, n);
    gf_session_free(s);
    gf_graph_free(m.net.g);
    return w;
}

typedef struct rank_job {
    const char *name;
    member mem;
    int steps;
    int64_t global;
    float *w;
    int64_t n;
    char err[1024]; /* a failure in the thread (cmocka fails only in the main one) */
} rank_job;

static void *rank_main(void *arg)
{
    rank_job *j = arg;
    model m;
    build(&m, j->name);
    gf_process_group grp = group_of(&j->mem);
    gf_session *s = gf_session_new(m.net.g, &(gf_session_options){ .seed = 7, .group = &grp });
    int64_t rows = j->global / grp.size;
    gf_status st = gf_session_status(s);
    for (int t = 0; st == GF_OK && t < j->steps; t++) st = feed_run(s, &m, t, grp.rank * rows, rows, 0);
    if (st != GF_OK) snprintf(j->err, sizeof j->err, "rank %d: %s", grp.rank, gf_session_error(s));
    else j->w = weights(s, m.net.g, &j->n);
    gf_session_free(s);
    gf_graph_free(m.net.g);
    return NULL;
}

static void run_group(const char *name, int size, int steps, int64_t global, rank_job *jobs, tgroup *t)
{
    memset(t, 0, sizeof *t);
    t->size = size;
    for (int r = 0; r < size; r++)
        jobs[r] = (rank_job){ .name = name, .mem = { t, r }, .steps = steps, .global = global };
    run_threads(t, rank_main, jobs, sizeof *jobs);
}

/* N ranks and one process accumulating N micro-batches: the same bits. */
static void check_model(const char *name, int steps)
{
    for (int size = 2; size <= 4; size++) {
        if (size == 4 && strcmp(name, "manual")) continue; /* 4 ranks: one model is enough */
        int64_t global = 12, n_ref;
        float *ref = run_accumulating(name, size, steps, global, &n_ref);
        rank_job jobs[MAX_RANKS];
        tgroup t;
        run_group(name, size, steps, global, jobs, &t);
        /* The session's check that all run one graph, then every gradient
         * of a step in one bucket: one group call a step. */
        if (t.calls != steps + 1)
            fail_msg("%s, %d ranks: %d all-reduce calls in %d steps", name, size, t.calls, steps);
        for (int r = 0; r < size; r++) {
            if (jobs[r].err[0]) fail_msg("%s, %d ranks: %s", name, size, jobs[r].err);
            assert_int_equal(jobs[r].n, n_ref);
            if (memcmp(jobs[r].w, ref, (size_t)n_ref * sizeof *ref)) {
                int64_t i = 0;
                while (jobs[r].w[i] == ref[i]) i++;
                fail_msg("%s, %d ranks: rank %d's weights differ from 1 process accumulating %d micro-batches, "
                         "first at float %lld: %.9g vs %.9g", name, size, r, size, (long long)i,
                         (double)jobs[r].w[i], (double)ref[i]);
            }
            free(jobs[r].w);
        }
        /* And the weights moved: a step that did nothing would also agree. */
        int64_t n0;
        float *start = run_accumulating(name, size, 0, global, &n0);
        assert_true(memcmp(start, ref, (size_t)n0 * sizeof *ref) != 0);
        free(start);
        free(ref);
    }
}

static void manual_step(void **state) { (void)state; check_model("manual", 30); }
static void autodiff_step(void **state) { (void)state; check_model("autodiff", 30); }
static void softmax_model(void **state) { (void)state; check_model("softmax", 30); }
static void cnn_model(void **state) { (void)state; check_model("cnn", 3); }

/* A group of one is a plain session on the same graph; one micro-batch is
 * a plain step. */
static void group_of_one_is_alone(void **state)
{
    (void)state;
    int64_t n_ref, n1;
    float *ref = run_accumulating("softmax", 1, 10, 12, &n_ref);
    rank_job jobs[1];
    tgroup t;
    run_group("softmax", 1, 10, 12, jobs, &t);
    if (jobs[0].err[0]) fail_msg("%s", jobs[0].err);
    assert_int_equal(jobs[0].n, n_ref);
    assert_memory_equal(jobs[0].w, ref, (size_t)n_ref * sizeof *ref);
    free(jobs[0].w);
    float *two = run_accumulating("softmax", 2, 10, 12, &n1);
    assert_true(memcmp(two, ref, (size_t)n1 * sizeof *ref) != 0); /* other arithmetic: other bits */
    free(two);
    free(ref);
}

/* all_reduce_mean over micro-batches 1, 2, 4 (then 8 alone): the sum in
 * order over the count, and nothing left over for the next step. */
static void accumulated_mean_and_sum(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    gf_node *x = gf_placeholder(g, "x", GF_F32, gf_dims(1, 2));
    gf_node *v = gf_variable(g, "v", gf_zeros(g, gf_dims(1, 2)));
    gf_node *mean = gf_all_reduce_mean(x), *sum = gf_all_reduce_sum(x);
    gf_node *step = gf_group(gf_assign(v, mean), gf_assign(v, gf_add(v, sum)));
    gf_node *set_mean = gf_assign(v, mean);
    (void)step;
    gf_session *s = gf_session_new(g, NULL);
    gf_tensor *xt = gf_tensor_new(GF_F32, gf_dims(1, 2), NULL);
    gf_feed f = { x, xt };
    float in[] = { 1, 2, 4 };
    for (int k = 0; k < 3; k++) {
        gf_tensor_data(xt)[0] = in[k];
        gf_tensor_data(xt)[1] = -in[k];
        gf_status st = k < 2 ? gf_session_accumulate(s, &f, 1, &set_mean, 1)
                             : gf_session_run(s, &f, 1, NULL, 0, &set_mean, 1, NULL);
        assert_int_equal(st, GF_OK);
        if (k < 2) assert_true(gf_tensor_data(gf_session_variable(s, v))[0] == 0.0f); /* no update yet */
    }
    const float *val = gf_tensor_data(gf_session_variable(s, v));
    assert_true(val[0] == 7.0f / 3.0f && val[1] == -7.0f / 3.0f);
    gf_tensor_data(xt)[0] = 8;
    const gf_tensor *out = gf_test_run1(s, &f, 1, sum); /* a fresh step: 8 alone */
    assert_true(gf_tensor_data(out)[0] == 8.0f);
    /* Micro-batches of another shape than the step's: refused. */
    gf_node *y = gf_placeholder(g, "y", GF_F32, gf_dims(1, GF_ANY));
    gf_node *ys = gf_all_reduce_sum(y);
    gf_tensor *y1 = gf_tensor_new(GF_F32, gf_dims(1, 1), NULL), *y2 = gf_tensor_new(GF_F32, gf_dims(1, 2), NULL);
    gf_feed f1 = { y, y1 }, f2 = { y, y2 };
    assert_int_equal(gf_session_accumulate(s, &f1, 1, &ys, 1), GF_OK);
    assert_int_equal(gf_session_run(s, &f2, 1, &ys, 1, NULL, 0, (const gf_tensor *[1]){ NULL }), GF_ERR_SHAPE);
    gf_test_contains(gf_session_error(s), "this micro-batch gives 2 elements, the 1 accumulated before it 1");
    gf_tensor_data(y2)[0] = 3;
    out = gf_test_run1(s, &f2, 1, ys); /* the failure dropped the open step */
    assert_true(gf_tensor_data(out)[0] == 3.0f);
    gf_tensor_free(xt);
    gf_tensor_free(y1);
    gf_tensor_free(y2);
    gf_session_free(s);
    gf_graph_free(g);
}

/* The group's failure names the node, and the next step starts clean. */
typedef struct fail_job {
    member mem;
    gf_status start, first, second;
    char msg[1024];
    float init, v;
} fail_job;

static void *fail_main(void *arg)
{
    fail_job *j = arg;
    gf_graph *g = gf_graph_new();
    gf_node *x = gf_placeholder(g, "x", GF_F32, gf_dims(1, 1));
    gf_node *v = gf_variable(g, "v", gf_truncated_normal(g, gf_dims(1, 1), 0, 1));
    gf_node *step = gf_assign(v, gf_name(gf_all_reduce_sum(x), "all_reduce/v"));
    gf_process_group grp = group_of(&j->mem);
    gf_session *s = gf_session_new(g, &(gf_session_options){ .seed = 10, .group = &grp });
    j->start = gf_session_status(s);
    if (j->start == GF_OK) j->init = gf_tensor_data(gf_session_variable(s, v))[0];
    gf_tensor *xt = gf_tensor_new(GF_F32, gf_dims(1, 1), NULL);
    gf_tensor_data(xt)[0] = (float)(j->mem.rank + 1);
    gf_feed f = { x, xt };
    j->first = gf_session_run(s, &f, 1, NULL, 0, &step, 1, NULL);
    snprintf(j->msg, sizeof j->msg, "%s", gf_session_error(s));
    j->second = gf_session_run(s, &f, 1, NULL, 0, &step, 1, NULL);
    if (j->second == GF_OK) j->v = gf_tensor_data(gf_session_variable(s, v))[0];
    gf_tensor_free(xt);
    gf_session_free(s);
    gf_graph_free(g);
    return NULL;
}

static void group_failure_and_broadcast(void **state)
{
    (void)state;
    tgroup t = { .size = 2, .fail_at = 2 }; /* the first is the session's check of the graph */
    fail_job j[2] = { { .mem = { &t, 0 } }, { .mem = { &t, 1 } } };
    run_threads(&t, fail_main, j, sizeof j[0]);
    /* Rank 0 draws what a plain session draws (shard 0 of step 0), and
     * rank 1, which draws as shard 1, got it by the broadcast. */
    gf_graph *g = gf_graph_new();
    gf_placeholder(g, "x", GF_F32, gf_dims(1, 1)); /* the nodes in the same places */
    gf_node *v = gf_variable(g, "v", gf_truncated_normal(g, gf_dims(1, 1), 0, 1));
    gf_session *s = gf_session_new(g, &(gf_session_options){ .seed = 10 });
    assert_true(gf_tensor_data(gf_session_variable(s, v))[0] == j[0].init);
    gf_session_free(s);
    gf_graph_free(g);
    for (int r = 0; r < 2; r++) {
        assert_int_equal(j[r].start, GF_OK);
        assert_true(j[r].init == j[0].init);
        assert_int_equal(j[r].first, GF_ERR_GROUP);
        gf_test_contains(j[r].msg, "all-reduce \"all_reduce/v\" (1 elements) across the group: rank 1 stopped "
                                   "answering");
        assert_int_equal(j[r].second, GF_OK);
        assert_true(j[r].v == 3.0f); /* 1 + 2 */
    }
}

/* An all-reduce of an all-reduce's result cannot share its bucket: each
 * reduces alone, in graph order. */
typedef struct nest_job {
    member mem;
    gf_status st;
    float y;
} nest_job;

static void *nest_main(void *arg)
{
    nest_job *j = arg;
    gf_graph *g = gf_graph_new();
    gf_node *x = gf_placeholder(g, "x", GF_F32, gf_dims(0));
    gf_node *y = gf_all_reduce_sum(gf_mul(gf_all_reduce_sum(x), gf_scalar(g, 2)));
    gf_process_group grp = group_of(&j->mem);
    gf_session *s = gf_session_new(g, &(gf_session_options){ .group = &grp });
    gf_tensor *xt = gf_tensor_new(GF_F32, gf_dims(0), NULL);
    gf_tensor_data(xt)[0] = (float)(j->mem.rank + 1);
    gf_feed f = { x, xt };
    const gf_tensor *out = NULL;
    j->st = gf_session_run(s, &f, 1, &y, 1, NULL, 0, &out);
    if (j->st == GF_OK) j->y = gf_tensor_data(out)[0];
    gf_tensor_free(xt);
    gf_session_free(s);
    gf_graph_free(g);
    return NULL;
}

static void nested_all_reduce(void **state)
{
    (void)state;
    tgroup t = { .size = 2 };
    nest_job j[2] = { { .mem = { &t, 0 } }, { .mem = { &t, 1 } } };
    run_threads(&t, nest_main, j, sizeof j[0]);
    for (int r = 0; r < 2; r++) {
        assert_int_equal(j[r].st, GF_OK);
        assert_true(j[r].y == 12.0f); /* (1 + 2) * 2, summed over 2 ranks */
    }
    assert_int_equal(t.calls, 3); /* the graph check, then one reduction at a time */
}

/* Ranks with another seed, or another graph, refuse to start, all of them. */
typedef struct seed_job {
    member mem;
    uint64_t seed;
    float rate;
    gf_status st;
    char msg[1024];
} seed_job;

static void *seed_main(void *arg)
{
    seed_job *j = arg;
    gf_graph *g = gf_graph_new();
    gf_node *v = gf_variable(g, "v", gf_zeros(g, gf_dims(1, 3)));
    gf_node *step = gf_assign(v, gf_sub(v, gf_mul(gf_scalar(g, j->rate), gf_all_reduce_sum(v))));
    (void)step;
    gf_process_group grp = group_of(&j->mem);
    gf_session *s = gf_session_new(g, &(gf_session_options){ .seed = j->seed, .group = &grp });
    j->st = gf_session_status(s);
    snprintf(j->msg, sizeof j->msg, "%s", gf_session_error(s));
    gf_session_free(s);
    gf_graph_free(g);
    return NULL;
}

static void ranks_must_agree(void **state)
{
    (void)state;
    const struct { uint64_t seed1; float rate1; gf_status want; } cases[] = {
        { 5, 0.1f, GF_OK }, { 6, 0.1f, GF_ERR_GROUP }, { 5, 0.2f, GF_ERR_GROUP } };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        tgroup t = { .size = 2 };
        seed_job j[2] = { { .mem = { &t, 0 }, .seed = 5, .rate = 0.1f },
                          { .mem = { &t, 1 }, .seed = cases[c].seed1, .rate = cases[c].rate1 } };
        run_threads(&t, seed_main, j, sizeof j[0]);
        for (int r = 0; r < 2; r++) {
            assert_int_equal(j[r].st, cases[c].want);
            if (cases[c].want != GF_OK)
                gf_test_contains(j[r].msg, "the group's ranks do not all run the same graph with the same seed");
        }
    }
}

/* The plan computes a gradient that only its all-reduce reads straight
 * into the all-reduce's place (no copy). Values read before the bucket,
 * fetched, taken by two all-reduces or read after the bucket must still be
 * each rank's own. */
typedef struct slot_job {
    member mem;
    gf_status st[2];
    float y, s, s2, w, d; /* element 0 of each fetch */
} slot_job;

static void *slot_main(void *arg)
{
    slot_job *j = arg;
    gf_graph *g = gf_graph_new();
    gf_node *x = gf_placeholder(g, "x", GF_F32, gf_dims(1, 3));
    gf_node *d = gf_mul(x, gf_scalar(g, 2)), *d2 = gf_mul(x, gf_scalar(g, 3));
    gf_node *y = gf_add(d, gf_scalar(g, 1));                        /* reads d before the bucket */
    gf_node *s = gf_all_reduce_sum(d), *s2 = gf_all_reduce_mean(d); /* d taken twice */
    gf_node *w = gf_add(gf_all_reduce_sum(d2), d2);                 /* d2 read after the bucket */
    gf_process_group grp = group_of(&j->mem);
    gf_session *ses = gf_session_new(g, &(gf_session_options){ .group = &grp });
    gf_tensor *xt = gf_tensor_new(GF_F32, gf_dims(1, 3), NULL);
    for (int i = 0; i < 3; i++) gf_tensor_data(xt)[i] = (float)(j->mem.rank + 1 + i);
    gf_feed f = { x, xt };
    const gf_tensor *out[4] = { NULL };
    j->st[0] = gf_session_run(ses, &f, 1, (gf_node *[]){ y, s, s2, w }, 4, NULL, 0, out);
    if (j->st[0] == GF_OK) {
        j->y = gf_tensor_data(out[0])[0];
        j->s = gf_tensor_data(out[1])[0];
        j->s2 = gf_tensor_data(out[2])[0];
        j->w = gf_tensor_data(out[3])[0];
    }
    j->st[1] = gf_session_run(ses, &f, 1, (gf_node *[]){ d, s }, 2, NULL, 0, out); /* d fetched */
    if (j->st[1] == GF_OK) j->d = gf_tensor_data(out[0])[0];
    gf_tensor_free(xt);
    gf_session_free(ses);
    gf_graph_free(g);
    return NULL;
}

static void gradient_in_its_slot(void **state)
{
    (void)state;
    tgroup t = { .size = 2 };
    slot_job j[2] = { { .mem = { &t, 0 } }, { .mem = { &t, 1 } } };
    run_threads(&t, slot_main, j, sizeof j[0]);
    for (int r = 0; r < 2; r++) { /* rank r feeds x[0] = r + 1 */
        assert_int_equal(j[r].st[0], GF_OK);
        assert_int_equal(j[r].st[1], GF_OK);
        assert_true(j[r].y == 2.0f * (float)(r + 1) + 1.0f);
        assert_true(j[r].s == 6.0f && j[r].s2 == 3.0f); /* 2 + 4, and its mean */
        assert_true(j[r].w == 9.0f + 3.0f * (float)(r + 1));
        assert_true(j[r].d == 2.0f * (float)(r + 1));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(manual_step),
        cmocka_unit_test(autodiff_step),
        cmocka_unit_test(softmax_model),
        cmocka_unit_test(cnn_model),
        cmocka_unit_test(group_of_one_is_alone),
        cmocka_unit_test(accumulated_mean_and_sum),
        cmocka_unit_test(group_failure_and_broadcast),
        cmocka_unit_test(nested_all_reduce),
        cmocka_unit_test(ranks_must_agree),
        cmocka_unit_test(gradient_in_its_slot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
