/*
 * test_onnx_errors.c — what gf_onnx_export refuses, and how: an op without
 * an ONNX mapping, training ops, a placeholder left out of the inputs, a
 * dropout that cannot be dropped, bad names and arguments, files that
 * cannot be written (the previous file stays whole, no temporary file
 * stays behind), every allocation failing in turn. And docs/onnx.md lists
 * every row of the op table.
 */
#include "testutil.h"
#include "io/onnx.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cnn.h"
#include "zoo.h"

/* The export failed with code, leaving no file at path, and its message
 * holds each of the NULL-terminated strings. */
static void refused(gf_session *s, gf_status got, gf_status code, const char *path, ...)
{
    if (got != code)
        fail_msg("export gave %s, expected %s: %s", gf_status_string(got), gf_status_string(code),
                 gf_session_error(s));
    va_list ap;
    va_start(ap, path);
    for (const char *want = va_arg(ap, const char *); want; want = va_arg(ap, const char *))
        gf_test_contains(gf_session_error(s), want);
    va_end(ap);
    struct stat sb;
    if (path) assert_int_not_equal(stat(path, &sb), 0);
}

/* No file but want (may be NULL) in dir: no temporary file was left. */
static void only_file(const char *dir, const char *want)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (!want || strcmp(e->d_name, want)) fail_msg("%s: unexpected file %s", dir, e->d_name);
    }
    closedir(d);
}

static void unmapped_and_training_ops_are_named(void **state)
{
    (void)state;
    char *dir = gf_test_tmpdir(), *path = gf_test_path(dir, "m.onnx");
    gf_zoo_net z;
    assert_int_equal(gf_zoo_build_softmax(&z, 8, 0), GF_OK);
    gf_node *hot = gf_name(gf_one_hot(gf_argmax(z.probs, 1), 10), "hot");
    gf_session *s = gf_session_new(z.g, NULL);
    gf_node *xy[] = { z.x, z.y };
    refused(s, gf_onnx_export(s, xy, NULL, 2, &z.loss, NULL, 1, path), GF_ERR_ARG, path,
            "op softmax_cross_entropy_with_logits (node \"softmax_cross_entropy_with_logits\") has no ONNX mapping",
            "output \"loss\" needs it", "docs/onnx.md", NULL);
    refused(s, gf_onnx_export(s, &z.x, NULL, 1, &hot, NULL, 1, path), GF_ERR_ARG, path,
            "op one_hot (node \"hot\") has no ONNX mapping", NULL);
    refused(s, gf_onnx_export(s, xy, NULL, 2, &z.step, (const char *[]){ "step" }, 1, path), GF_ERR_ARG, path,
            "has no ONNX mapping", "output \"step\"", NULL);
    gf_node *w = gf_graph_find(z.g, "w_1");
    gf_node *assign = gf_assign(w, gf_mul(w, gf_scalar(z.g, 2)));
    refused(s, gf_onnx_export(s, xy, NULL, 2, &assign, NULL, 1, path), GF_ERR_ARG, path, "op assign", NULL);
    /* The outputs need x: a placeholder outside the inputs. */
    refused(s, gf_onnx_export(s, NULL, NULL, 0, &z.probs, NULL, 1, path), GF_ERR_FEED, path,
            "placeholder \"x\" is not among the inputs, but output \"probs\" needs it", NULL);
    /* A node inside the graph can be an input: the model starts there. */
    gf_node *h = gf_graph_find(z.g, "h");
    assert_int_equal(gf_onnx_export(s, &h, (const char *[]){ "hidden" }, 1, &z.probs, NULL, 1, path), GF_OK);
    assert_string_equal(gf_session_error(s), "");
    gf_session_free(s);
    gf_graph_free(z.g);
    only_file(dir, "m.onnx");
    free(path);
    gf_test_rmdir(dir);
}

static void dropout_is_dropped_only_when_it_can_be(void **state)
{
    (void)state;
    char *dir = gf_test_tmpdir(), *path = gf_test_path(dir, "m.onnx");
    gf_cnn_net c;
    assert_int_equal(gf_cnn_build(&c, 0), GF_OK);
    gf_graph *g = c.g;
    gf_node *fixed = gf_dropout(c.x, 0.5f, 1);
    gf_node *computed = gf_dropout_keep(c.x, gf_mul(c.keep_prob, gf_scalar(g, 1)), 2);
    gf_node *half = gf_dropout_keep(c.x, gf_scalar(g, 0.5f), 3);
    gf_session *s = gf_session_new(g, NULL);
    assert_int_equal(gf_session_status(s), GF_OK);
    refused(s, gf_onnx_export(s, &c.x, NULL, 1, &fixed, NULL, 1, path), GF_ERR_ARG, path,
            "keep_prob 0.5 fixed in the graph", NULL);
    refused(s, gf_onnx_export(s, &c.x, NULL, 1, &computed, NULL, 1, path), GF_ERR_ARG, path,
            "keep_prob \"mul", "(op mul) is not one that can be taken as 1", NULL);
    refused(s, gf_onnx_export(s, &c.x, NULL, 1, &half, NULL, 1, path), GF_ERR_ARG, path, "(op constant)", NULL);
    gf_node *in[] = { c.x, c.keep_prob };
    refused(s, gf_onnx_export(s, in, NULL, 2, &c.probs, NULL, 1, path), GF_ERR_ARG, path,
            "keep_prob \"keep_prob\" (op placeholder) is an input of the export", NULL);
    assert_int_equal(gf_onnx_export(s, &c.x, NULL, 1, &c.probs, NULL, 1, path), GF_OK);
    gf_session_free(s);
    gf_graph_free(g);
    free(path);
    gf_test_rmdir(dir);
}

static void names_arguments_and_shapes(void **state)
{
    (void)state;
    char *dir = gf_test_tmpdir(), *path = gf_test_path(dir, "m.onnx");
    gf_graph *g = gf_graph_new(), *other = gf_graph_new();
    gf_node *a = gf_placeholder(g, "a", GF_F32, gf_dims(2, GF_ANY, 4));
    gf_node *b = gf_placeholder(g, "b", GF_F32, gf_dims(2, GF_ANY, 4));
    gf_node *sum = gf_add(a, b), *zero = gf_reshape(a, gf_dims(3, GF_ANY, 0, 4));
    gf_node *foreign = gf_placeholder(other, "f", GF_F32, gf_dims(1, 2));
    gf_node *f = gf_placeholder(g, "filter", GF_F32, gf_dims(4, 3, GF_ANY, 1, 2));
    gf_node *img = gf_placeholder(g, "img", GF_F32, gf_dims(4, GF_ANY, 5, 5, 1));
    gf_node *conv = gf_conv2d(img, f, 1, 1, GF_SAME);
    assert_int_equal(gf_graph_status(g), GF_OK);
    gf_session *s = gf_session_new(g, NULL);
    gf_node *ab[] = { a, b }, *aa[] = { a, a };
    refused(s, gf_onnx_export(s, ab, (const char *[]){ "in", "in" }, 2, &sum, NULL, 1, path), GF_ERR_ARG, path,
            "two inputs are named \"in\"", NULL);
    refused(s, gf_onnx_export(s, aa, NULL, 2, &sum, NULL, 1, path), GF_ERR_ARG, path,
            "node \"a\" is given as input 0 and as input 1", NULL);
    refused(s, gf_onnx_export(s, ab, NULL, 2, &sum, (const char *[]){ "b" }, 1, path), GF_ERR_ARG, path,
            "output 0 is named \"b\", as an input or another output is", NULL);
    refused(s, gf_onnx_export(s, ab, (const char *[]){ "x", NULL }, 2, &sum, NULL, 1, path), GF_ERR_ARG, path,
            "input name 1 is NULL or empty", NULL);
    refused(s, gf_onnx_export(s, ab, NULL, 2, &foreign, NULL, 1, path), GF_ERR_ARG, path,
            "output 0 (\"f\") is a node of another graph", NULL);
    refused(s, gf_onnx_export(s, ab, NULL, 2, NULL, NULL, 1, path), GF_ERR_ARG, path, "at least one output", NULL);
    refused(s, gf_onnx_export(s, ab, NULL, -1, &sum, NULL, 1, path), GF_ERR_ARG, path, "n_inputs -1", NULL);
    refused(s, gf_onnx_export(s, &a, NULL, 1, &zero, NULL, 1, path), GF_ERR_SHAPE, path,
            "a target dimension of 0", NULL);
    gf_node *ins[] = { img, f };
    refused(s, gf_onnx_export(s, ins, NULL, 2, &conv, NULL, 1, path), GF_ERR_SHAPE, path,
            "the filter's shape must be known (it is [3,?,1,2])", NULL);
    /* A graph that went into error after the session started. */
    gf_add(a, foreign);
    refused(s, gf_onnx_export(s, ab, NULL, 2, &sum, NULL, 1, path), GF_ERR_STATE, path, "the graph is in error",
            NULL);
    only_file(dir, NULL);
    gf_session_free(s);
    gf_graph_free(g);
    gf_graph_free(other);
    free(path);
    gf_test_rmdir(dir);
}

/* A failed export leaves the previous file whole; a file that cannot be
 * written is GF_ERR_IO naming it, with no temporary file left. */
static void files_are_replaced_whole_or_not_at_all(void **state)
{
    (void)state;
    char *dir = gf_test_tmpdir();
    char *old = gf_test_write_file(dir, "m.onnx", "previous", 8), *missing = gf_test_path(dir, "no/m.onnx");
    gf_zoo_net z;
    assert_int_equal(gf_zoo_build_softmax(&z, 8, 0), GF_OK);
    gf_session *s = gf_session_new(z.g, NULL);
    gf_node *xy[] = { z.x, z.y };
    assert_int_equal(gf_onnx_export(s, xy, NULL, 2, &z.loss, NULL, 1, old), GF_ERR_ARG);
    size_t len;
    unsigned char *b = gf_test_read_file(old, &len);
    assert_true(len == 8 && !memcmp(b, "previous", 8));
    free(b);
    refused(s, gf_onnx_export(s, &z.x, NULL, 1, &z.probs, NULL, 1, missing), GF_ERR_IO, missing,
            "no/m.onnx: cannot create a temporary file", NULL);
    refused(s, gf_onnx_export(s, &z.x, NULL, 1, &z.probs, NULL, 1, dir), GF_ERR_IO, NULL, "not a regular file",
            NULL);
    only_file(dir, "m.onnx");
    assert_int_equal(gf_onnx_export(s, &z.x, NULL, 1, &z.probs, NULL, 1, old), GF_OK);
    b = gf_test_read_file(old, &len);
    assert_true(len > 4 * 784 * 8 && b[0] == 0x08 && b[1] == 7); /* ir_version 7 first */
    free(b);
    only_file(dir, "m.onnx");
    gf_session_free(s);
    gf_graph_free(z.g);
    free(old);
    free(missing);
    gf_test_rmdir(dir);
}

/* ---- every allocation failing in turn ---- */

static void every_allocation_can_fail(void **state)
{
    (void)state;
    char *dir = gf_test_tmpdir(), *path = gf_test_path(dir, "m.onnx"), *ref = gf_test_path(dir, "ref.onnx");
    gf_set_allocator(&gf_test_fail_allocator);
    gf_cnn_net c;
    assert_int_equal(gf_cnn_build_sized(&c, 8, 8, 3, 0), GF_OK);
    gf_node *outs[] = { c.probs, gf_argmax(c.y_conv, 1) };
    gf_session *s = gf_session_new(c.g, NULL);
    assert_int_equal(gf_session_status(s), GF_OK);
    assert_int_equal(gf_onnx_export(s, &c.x, NULL, 1, outs, NULL, 2, ref), GF_OK);
    size_t want_len, len;
    unsigned char *want = gf_test_read_file(ref, &want_len), *got;
    long points = 0;
    for (gf_fail.at = 1;; gf_fail.at++) {
        gf_fail.calls = 0;
        gf_fail.failed = false;
        gf_fail.armed = true;
        gf_status st = gf_onnx_export(s, &c.x, NULL, 1, outs, NULL, 2, path);
        gf_fail.armed = false;
        if (!gf_fail.failed) {
            assert_int_equal(st, GF_OK);
            break;
        }
        points++;
        if (st != GF_ERR_NOMEM || !strstr(gf_session_error(s), "out of memory"))
            fail_msg("allocation %ld failed: %s \"%s\", expected out of memory", gf_fail.at, gf_status_string(st),
                     gf_session_error(s));
        assert_null(gf_test_read_file(path, &len));
    }
    got = gf_test_read_file(path, &len);
    assert_true(got && len == want_len && !memcmp(got, want, len));
    print_message("%ld allocation points, each reported out of memory\n", points);
    assert_true(points > 20);
    gf_session_free(s);
    gf_graph_free(c.g);
    gf_set_allocator(NULL);
    free(want);
    free(got);
    assert_int_equal(remove(ref), 0);
    only_file(dir, "m.onnx");
    free(path);
    free(ref);
    gf_test_rmdir(dir);
}

/* docs/onnx.md's table has a line "| `op` | ... |" for every row of the op
 * table, naming the ONNX op(s) the row writes. */
static void docs_list_every_mapping(void **state)
{
    (void)state;
    size_t len;
    char *md = (char *)gf_test_read_file(GF_SOURCE_DIR "/docs/onnx.md", &len);
    assert_non_null(md);
    int n;
    const gf_ox_row *rows = gf__onnx_rows(&n);
    assert_true(n >= 25);
    for (int i = 0; i < n; i++) {
        char key[96];
        snprintf(key, sizeof key, "\n| `%s` | %s |", gf__ops[rows[i].op].name, rows[i].onnx);
        if (!strstr(md, key)) fail_msg("docs/onnx.md lacks the table line \"%s ...\"", key + 1);
    }
    free(md);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(unmapped_and_training_ops_are_named),
        cmocka_unit_test(dropout_is_dropped_only_when_it_can_be),
        cmocka_unit_test(names_arguments_and_shapes),
        cmocka_unit_test(files_are_replaced_whole_or_not_at_all),
        cmocka_unit_test(every_allocation_can_fail),
        cmocka_unit_test(docs_list_every_mapping),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
