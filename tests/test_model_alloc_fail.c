/*
 * test_model_alloc_fail.c — fails the N-th allocation, for every N, inside
 * gf_model_save and gf_model_load (the article's network and the small
 * convolutional one): a load either fails with GF_ERR_NOMEM and frees what
 * it took (LSan), or gives a model that computes the same bits; a save
 * either fails with GF_ERR_NOMEM, leaving the previous file as it was and
 * no temporary file, or writes the same bytes as an unhindered save.
 */
#include "testutil.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "article.h"
#include "cnn.h"


/* A network and its session (kind 0: the article's, 1: the cnn), with the
 * signature train saves. */
typedef struct net {
    gf_graph *g;
    gf_session *s;
    gf_node *x, *y, *keep, *probs, *step;
    int in, classes;
} net;

static void net_make(net *n, int kind, int steps)
{
    memset(n, 0, sizeof *n);
    if (kind == 0) {
        gf_article_net a;
        assert_int_equal(gf_article_build_manual_sized(&a, 12, 5, 3, 0.5f), GF_OK);
        *n = (net){ a.g, NULL, a.a_0, a.y, NULL, a.a_2, gf_group(gf_group(a.step[0], a.step[1]),
                                                                 gf_group(a.step[2], a.step[3])), 12, 3 };
    } else {
        gf_cnn_net c;
        assert_int_equal(gf_cnn_build_sized(&c, 4, 4, 3, 0.01f), GF_OK);
        *n = (net){ c.g, NULL, c.x, c.y_, c.keep_prob, c.infer_probs, c.train_step, 16, 3 };
    }
    n->s = gf_session_new(n->g, &(gf_session_options){ .seed = 6 });
    assert_int_equal(gf_session_status(n->s), GF_OK);
    gf_tensor *x = gf_tensor_new(GF_F32, gf_dims(2, 4, n->in), NULL), *y = gf_tensor_new(GF_F32, gf_dims(2, 4, 3), NULL);
    gf_tensor *kp = gf_tensor_new(GF_F32, gf_dims(0), NULL);
    for (int i = 0; i < 4 * n->in; i++) gf_tensor_data(x)[i] = (float)(i % 7) / 7.0f;
    for (int i = 0; i < 4; i++) gf_tensor_data(y)[3 * i + i % 3] = 1;
    gf_tensor_data(kp)[0] = 0.5f;
    gf_feed feed[3] = { { n->x, x }, { n->y, y }, { n->keep, kp } };
    for (int i = 0; i < steps; i++)
        assert_int_equal(gf_session_run(n->s, feed, n->keep ? 3 : 2, NULL, 0, &n->step, 1, NULL), GF_OK);
    gf_tensor_free(x);
    gf_tensor_free(y);
    gf_tensor_free(kp);
}

static void net_free(net *n)
{
    gf_session_free(n->s);
    gf_graph_free(n->g);
}

static gf_status net_save(net *n, const char *path)
{
    gf_signature_entry in[3] = { { "images", n->x }, { "labels", n->y }, { "keep_prob", n->keep } };
    gf_signature_entry out[2] = { { "probs", n->probs }, { "train", n->step } };
    gf_signature sig = { in, n->keep ? 3 : 2, out, 2 };
    return gf_model_save(n->s, &sig, path);
}

/* The model's probs for fixed images (n floats into out), run unarmed. */
static void probs_of(gf_model *m, int in, float *out, size_t n)
{
    gf_tensor *x = gf_tensor_new(GF_F32, gf_dims(2, 2, in), NULL);
    for (int i = 0; i < 2 * in; i++) gf_tensor_data(x)[i] = (float)(i % 5) / 5.0f;
    gf_feed feed = { gf_model_input(m, "images"), x };
    gf_node *p = gf_model_output(m, "probs");
    const gf_tensor *t;
    if (gf_session_run(gf_model_session(m), &feed, 1, &p, 1, NULL, 0, &t) != GF_OK)
        fail_msg("%s", gf_session_error(gf_model_session(m)));
    memcpy(out, gf_tensor_data(t), n * sizeof *out);
    gf_tensor_free(x);
}

static bool stray_files(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    bool stray = false;
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] == '.' && strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) stray = true;
    closedir(d);
    return stray;
}

static void sweep(int kind)
{
    char *dir = gf_test_tmpdir(), *path = gf_test_path(dir, "m.gfm"), *over = gf_test_path(dir, "over.gfm");
    net a, b;
    net_make(&a, kind, 0); /* the old file */
    assert_int_equal(net_save(&a, over), GF_OK);
    net_make(&b, kind, 2); /* the new one */
    assert_int_equal(net_save(&b, path), GF_OK);
    size_t n_old, n_new;
    unsigned char *old = gf_test_read_file(over, &n_old), *fresh = gf_test_read_file(path, &n_new);
    float want[6], got[6];
    gf_error err;
    gf_model *m = gf_model_load(path, NULL, &err);
    assert_non_null(m);
    probs_of(m, b.in, want, 6);
    gf_model_free(m);

    gf_set_allocator(&gf_test_fail_allocator);
    long points = 0, errors = 0;
    for (gf_fail.at = 1;; gf_fail.at++) { /* loading */
        gf_fail.calls = 0;
        gf_fail.failed = false;
        gf_fail.armed = true;
        m = gf_model_load(path, NULL, &err);
        gf_fail.armed = false;
        if (!gf_fail.failed) {
            assert_non_null(m);
            gf_model_free(m);
            break;
        }
        points++;
        if (m) {
            probs_of(m, b.in, got, 6);
            if (memcmp(got, want, sizeof want)) fail_msg("load: allocation %ld failed silently and changed the result", gf_fail.at);
            gf_model_free(m);
        } else {
            errors++;
            if (err.code != GF_ERR_NOMEM || !strstr(err.message, "out of memory"))
                fail_msg("load: allocation %ld: code %d: %s", gf_fail.at, err.code, err.message);
        }
    }
    print_message("%s load: %ld allocation points, %ld reported an error\n", kind ? "cnn" : "article", points, errors);
    assert_true(points > 20 && errors > points / 2);
    points = errors = 0;
    for (gf_fail.at = 1;; gf_fail.at++) { /* saving over the old file */
        gf_fail.calls = 0;
        gf_fail.failed = false;
        gf_fail.armed = true;
        gf_status st = net_save(&b, over);
        gf_fail.armed = false;
        if (!gf_fail.failed) {
            assert_int_equal(st, GF_OK);
            break;
        }
        points++;
        size_t n;
        unsigned char *now = gf_test_read_file(over, &n);
        if (st == GF_OK) {
            if (n != n_new || memcmp(now, fresh, n)) fail_msg("save: allocation %ld: other bytes written", gf_fail.at);
            free(gf_test_write_file(dir, "over.gfm", old, n_old));
        } else {
            errors++;
            if (st != GF_ERR_NOMEM) fail_msg("save: allocation %ld: %s", gf_fail.at, gf_session_error(b.s));
            if (n != n_old || memcmp(now, old, n)) fail_msg("save: allocation %ld: the old file changed", gf_fail.at);
        }
        free(now);
        if (stray_files(dir)) fail_msg("save: allocation %ld left a temporary file", gf_fail.at);
    }
    gf_set_allocator(NULL);
    print_message("%s save: %ld allocation points, %ld reported an error\n", kind ? "cnn" : "article", points, errors);
    assert_true(points > 5 && errors == points);
    free(old);
    free(fresh);
    net_free(&a);
    net_free(&b);
    free(path);
    free(over);
    gf_test_rmdir(dir);
}

static void load_and_save_with_every_allocation_failing(void **state)
{
    (void)state;
    sweep(0);
    sweep(1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(load_and_save_with_every_allocation_failing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
