/*
 * test_alloc_fail.c — fails the N-th allocation, for every N, while building
 * the article's graphs, planning, running steps and evaluating: every path
 * must report an error or finish correctly, and free what it took (LSan).
 */
#include "testutil.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "article.h"

static long fail_at, n_calls;
static bool failed_once;

static void *fail_malloc(void *ctx, size_t n)
{
    (void)ctx;
    if (++n_calls == fail_at) {
        failed_once = true;
        return NULL;
    }
    return malloc(n);
}

static void *fail_realloc(void *ctx, void *p, size_t n)
{
    (void)ctx;
    if (++n_calls == fail_at) {
        failed_once = true;
        return NULL;
    }
    return realloc(p, n);
}

static void plain_free(void *ctx, void *p)
{
    (void)ctx;
    free(p);
}

/* Builds, plans and runs one net; returns GF_OK or the first error. The
 * final b_2 goes to out (10 floats) when everything succeeded. */
static gf_status scenario(int kind, float *out)
{
    gf_article_net net = { 0 };
    gf_status st = kind ? gf_article_build_autodiff(&net, 30, 0.1f) : gf_article_build_manual(&net, 30, 0.5f);
    gf_session *s = NULL;
    gf_tensor *x = NULL, *y = NULL;
    if (st != GF_OK) goto done;
    if (!(s = gf_session_new(net.g, &(gf_session_options){ .seed = 2 }))) {
        st = GF_ERR_NOMEM;
        goto done;
    }
    if ((st = gf_session_status(s)) != GF_OK) goto done;
    x = gf_tensor_new(GF_F32, gf_dims(2, 10, 784), NULL);
    y = gf_tensor_new(GF_F32, gf_dims(2, 10, 10), NULL);
    if (!x || !y) {
        st = GF_ERR_NOMEM;
        goto done;
    }
    for (int i = 0; i < 10 * 784; i++) gf_tensor_data(x)[i] = (float)(i % 7) / 7.0f;
    for (int i = 0; i < 10; i++) gf_tensor_data(y)[i * 10 + i % 10] = 1.0f;
    gf_feed feed[2] = { { net.a_0, x }, { net.y, y } };
    for (int step = 0; step < 3 && st == GF_OK; step++) {
        st = gf_session_run(s, feed, 2, NULL, 0, net.step, net.n_step, NULL);
        const gf_tensor *res;
        if (st == GF_OK) st = gf_session_run(s, feed, 2, &net.acct_res, 1, NULL, 0, &res);
        if (st == GF_OK && !(gf_tensor_data(res)[0] >= 0 && gf_tensor_data(res)[0] <= 10)) st = GF_ERR_STATE;
    }
    if (st == GF_OK) {
        const gf_tensor *b = gf_session_variable(s, net.b_2);
        if (!b) st = GF_ERR_STATE;
        else memcpy(out, gf_tensor_data(b), 10 * sizeof(float));
    }
done:
    gf_tensor_free(x);
    gf_tensor_free(y);
    gf_session_free(s);
    gf_graph_free(net.g);
    return st;
}

static void every_allocation_can_fail(void **state)
{
    (void)state;
    for (int kind = 0; kind < 2; kind++) {
        float want[10], got[10];
        assert_int_equal(scenario(kind, want), GF_OK); /* the reference run */
        gf_set_allocator(&(gf_allocator){ fail_malloc, fail_realloc, plain_free, NULL });
        long n_errors = 0, n_points = 0;
        for (fail_at = 1;; fail_at++) {
            n_calls = 0;
            failed_once = false;
            gf_status st = scenario(kind, got);
            if (!failed_once) break; /* ran past the last allocation */
            n_points++;
            if (st != GF_OK) {
                n_errors++;
            } else if (memcmp(got, want, sizeof want)) {
                /* an allocation that is only an optimisation may fail
                 * silently, but then the results must not change */
                gf_set_allocator(NULL);
                fail_msg("allocation %ld failed silently and changed the result", fail_at);
            }
        }
        gf_set_allocator(NULL);
        print_message("%s: %ld allocation points, %ld reported an error\n", kind ? "autodiff" : "manual",
                      n_points, n_errors);
        assert_true(n_points > 50);
        assert_true(n_errors > n_points / 2);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_allocation_can_fail),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
