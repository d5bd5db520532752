/*
 * test_numerics.c — gf_check_numerics and the session's check_numerics
 * option: the first NaN or infinity stops the run, names the op, and
 * changes no variable; extreme inputs stay finite where the math allows.
 */
#include "testutil.h"

#include <math.h>
#include <string.h>

#include "article.h"

static void check_op_passes_finite_and_names_nan(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    gf_node *x = gf_placeholder(g, "x", GF_F32, gf_dims(1, 3));
    gf_node *c = gf_name(gf_check_numerics(gf_div(gf_scalar(g, 1.0f), x), "reciprocal"), "guard");
    gf_node *d;
    assert_int_equal(gf_gradients(g, &c, 1, &x, 1, NULL, &d), GF_OK);
    float ok[3] = { 1, 2, 4 }, bad[3] = { 1, 0, 4 };
    gf_tensor *t = gf_tensor_wrap(GF_F32, gf_dims(1, 3), ok, NULL);
    gf_session *s = gf_session_new(g, NULL);
    gf_feed f = { x, t };
    float want[3] = { 1, 0.5f, 0.25f }, want_d[3] = { -1, -0.25f, -0.0625f };
    gf_test_assert_close(gf_tensor_data(gf_test_run1(s, &f, 1, c)), want, 3, 0);
    gf_test_assert_close(gf_tensor_data(gf_test_run1(s, &f, 1, d)), want_d, 3, 0);
    memcpy(ok, bad, sizeof bad);
    const gf_tensor *out;
    assert_int_equal(gf_session_run(s, &f, 1, &c, 1, NULL, 0, &out), GF_ERR_NUMERIC);
    assert_non_null(strstr(gf_session_error(s), "check_numerics \"guard\": reciprocal: found infinity at element 1 of [3]"));
    gf_session_free(s);
    gf_tensor_free(t);
    gf_graph_free(g);
}

/* A diverging learning rate: the run that first makes a NaN or infinity
 * fails, names the op, and leaves the weights as they were. */
static void diverging_training_stops_at_first_nonfinite(void **state)
{
    (void)state;
    gf_article_net net;
    assert_int_equal(gf_article_build_manual(&net, 30, 1e6f), GF_OK);
    gf_session *s = gf_session_new(net.g, &(gf_session_options){ .seed = 1, .check_numerics = 1 });
    gf_tensor *x = gf_tensor_new(GF_F32, gf_dims(2, 10, 784), NULL), *y = gf_tensor_new(GF_F32, gf_dims(2, 10, 10), NULL);
    for (int i = 0; i < 10 * 784; i++) gf_tensor_data(x)[i] = (float)((i * 7) % 11) / 11.0f;
    for (int i = 0; i < 10; i++) gf_tensor_data(y)[i * 10 + (i * 3) % 10] = 1.0f;
    gf_feed feed[2] = { { net.a_0, x }, { net.y, y } };
    static float before[784 * 30];
    gf_status st = GF_OK;
    int step;
    for (step = 0; step < 100 && st == GF_OK; step++) {
        memcpy(before, gf_tensor_data(gf_session_variable(s, net.w_1)), sizeof before);
        st = gf_session_run(s, feed, 2, NULL, 0, net.step, net.n_step, NULL);
    }
    assert_int_equal(st, GF_ERR_NUMERIC);
    print_message("stopped at step %d: %s\n", step, gf_session_error(s));
    assert_non_null(strstr(gf_session_error(s), "check numerics: op "));
    assert_non_null(strstr(gf_session_error(s), " produced "));
    assert_memory_equal(before, gf_tensor_data(gf_session_variable(s, net.w_1)), sizeof before);
    const float *w = gf_tensor_data(gf_session_variable(s, net.w_1));
    for (int i = 0; i < 784 * 30; i++) assert_true(isfinite(w[i]));
    gf_tensor_free(x);
    gf_tensor_free(y);
    gf_session_free(s);
    gf_graph_free(net.g);
}

static void extreme_inputs_stay_finite(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    float v[4] = { -1e30f, -100, 100, 1e30f };
    gf_node *x = gf_constant(g, gf_dims(1, 4), v);
    gf_node *sig = gf_sigmoid(x), *ds;
    assert_int_equal(gf_gradients(g, &sig, 1, &x, 1, NULL, &ds), GF_OK);
    gf_session *s = gf_session_new(g, &(gf_session_options){ .check_numerics = 1 });
    const float *o = gf_tensor_data(gf_test_run1(s, NULL, 0, sig));
    float want[4] = { 0, 0, 1, 1 };
    gf_test_assert_close(o, want, 4, 1e-30);
    const float *d = gf_tensor_data(gf_test_run1(s, NULL, 0, ds));
    for (int i = 0; i < 4; i++) assert_true(isfinite(d[i]) && d[i] >= 0);
    gf_session_free(s);
    gf_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(check_op_passes_finite_and_names_nan),
        cmocka_unit_test(diverging_training_stops_at_first_nonfinite),
        cmocka_unit_test(extreme_inputs_stay_finite),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
