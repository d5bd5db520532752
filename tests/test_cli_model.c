/*
 * test_cli_model.c — model files in the gradflow command: every --model
 * trained on non-MNIST data is saved and evaluated with no flags; a model a
 * C program built by hand (its own names, 4 inputs, 3 classes) is run by
 * eval, predict, inspect and graph; old checkpoints still work in eval,
 * predict, inspect, graph and train --resume; damaged files given to every
 * command are refused in one clear line, never a crash.
 */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "article.h"
#include "zoo.h"

static char out[1 << 17];

#define cli(...) gf_test_gradflowf(out, sizeof out, __VA_ARGS__)

/* The output is one line, starting "gradflow CMD: ". */
static void one_error_line(const char *cmd)
{
    char want[64];
    snprintf(want, sizeof want, "gradflow %s: ", cmd);
    if (strncmp(out, want, strlen(want))) fail_msg("expected \"%s...\", got:\n%s", want, out);
    const char *nl = strchr(out, '\n');
    if (!nl || nl[1]) fail_msg("expected one line, got:\n%s", out);
}

/* n examples of 16 values (a 4x4 image) of 3 classes, as .npy files. */
static void write_npy(const char *dir, const char *images, const char *labels, int n)
{
    gf_tensor *x = gf_tensor_new(GF_F32, gf_dims(3, n, 4, 4), NULL), *y = gf_tensor_new(GF_F32, gf_dims(1, n), NULL);
    for (int i = 0; i < n; i++) {
        gf_tensor_data(y)[i] = (float)(i % 3);
        for (int j = 0; j < 16; j++) gf_tensor_data(x)[16 * i + j] = j == 5 * (i % 3) ? 1.0f : (float)((i + j) % 4) / 8;
    }
    char *p = gf_test_path(dir, images), *q = gf_test_path(dir, labels);
    gf_error err;
    assert_int_equal(gf_npy_write(p, x, &err), GF_OK);
    assert_int_equal(gf_npy_write(q, y, &err), GF_OK);
    free(p);
    free(q);
    gf_tensor_free(x);
    gf_tensor_free(y);
}

/* Every --model on 4x4 images of 3 classes: the saved model is evaluated
 * with no flags, counting what train's final evaluation counted. */
static void every_model_on_other_data(void **state)
{
    (void)state;
    if (!gf_test_gradflow()) skip();
    char *dir = gf_test_tmpdir();
    write_npy(dir, "train_images.npy", "train_labels.npy", 60);
    write_npy(dir, "test_images.npy", "test_labels.npy", 21);
    static const char *models[] = { "article", "softmax", "cnn" };
    for (int i = 0; i < 3; i++) {
        assert_int_equal(cli("train --data %s --model %s --steps 40 --batch 5 --eval-size 21 --json --quiet "
                             "--save %s/%s.gfm", dir, models[i], dir, models[i]), 0);
        const char *fin = strstr(out, "\"final\":true");
        if (!fin) fail_msg("%s: no final evaluation in:\n%s", models[i], out);
        while (fin > out && fin[-1] != '\n') fin--;
        long long want = (long long)gf_test_json_num(fin, "correct");
        assert_int_equal(cli("eval %s/%s.gfm --data %s --json", dir, models[i], dir), 0);
        gf_test_contains(out, "\"format\":\"model\",");
        gf_test_contains(out, "\"classes\":3,");
        assert_int_equal((long long)gf_test_json_num(out, "total"), 21);
        if ((long long)gf_test_json_num(out, "correct") != want)
            fail_msg("%s: eval counts %lld, train's final evaluation %lld", models[i],
                     (long long)gf_test_json_num(out, "correct"), want);
        assert_int_equal(cli("predict %s/%s.gfm idx:%s:4", dir, models[i], dir), 0); /* test_images.npy's */
        gf_test_contains(out, "  label 1\n");
        assert_int_equal(cli("inspect %s/%s.gfm", dir, models[i]), 0);
        gf_test_contains(out, "[?,16]");
        gf_test_contains(out, "  output classes      classes              argmax           int32   [?]\n");
        /* MNIST's test images do not fit a 16-input network. */
        const char *mnist = gf_test_mnist_dir();
        if (mnist) {
            assert_int_equal(cli("eval %s/%s.gfm --data %s", dir, models[i], mnist), 1);
            one_error_line("eval");
            gf_test_contains(out, "examples of 28x28 values, but the network takes 4x4");
        }
    }
    gf_test_rmdir(dir);
}

/* ---- a model built by hand in C ---- */

static char *text_file(const char *dir, const char *name, const char *text)
{
    return gf_test_write_file(dir, name, text, strlen(text));
}

/* 4 inputs, 3 classes, its own node names; the signature's keys are what
 * the CLI looks for. Weights chosen so that the class is the index of the
 * largest of inputs 0..2. */
static void save_hand_model(const char *path)
{
    gf_graph *g = gf_graph_new();
    gf_node *feat = gf_placeholder(g, "features", GF_F32, gf_dims(2, GF_ANY, 4));
    static const float wv[12] = { 3, 0, 0, 0, 3, 0, 0, 0, 3, 0.5f, 0.5f, 0.5f };
    gf_node *w = gf_variable(g, "dense/kernel", gf_constant(g, gf_dims(2, 4, 3), wv));
    gf_node *b = gf_variable(g, "dense/bias", gf_zeros(g, gf_dims(1, 3)));
    gf_node *scores = gf_name(gf_softmax(gf_add(gf_matmul(feat, w), b)), "scores");
    gf_node *answer = gf_name(gf_argmax(scores, 1), "answer");
    assert_int_equal(gf_graph_status(g), GF_OK);
    gf_session *s = gf_session_new(g, NULL);
    gf_signature_entry in[] = { { "images", feat } }, outs[] = { { "probs", scores }, { "classes", answer } };
    gf_signature sig = { in, 1, outs, 2 };
    assert_int_equal(gf_model_save(s, &sig, path), GF_OK);
    gf_session_free(s);
    gf_graph_free(g);
}

static void hand_built_model_in_the_cli(void **state)
{
    (void)state;
    if (!gf_test_gradflow()) skip();
    char *dir = gf_test_tmpdir(), *model = gf_test_path(dir, "hand.gfm"), *csv = gf_test_path(dir, "t.csv");
    save_hand_model(model);
    /* A CSV test set: label first; rows 3 and 7 are labelled wrongly. */
    FILE *f = fopen(csv, "w");
    assert_non_null(f);
    fprintf(f, "label,a,b,c,d\n");
    int wrong = 0;
    for (int i = 0; i < 10; i++) {
        int cls = i % 3, label = (i == 3 || i == 7) ? (cls + 1) % 3 : cls;
        wrong += label != cls;
        fprintf(f, "%d,%g,%g,%g,%g\n", label, cls == 0 ? 2.0 : 0.1, cls == 1 ? 2.0 : 0.2, cls == 2 ? 2.0 : 0.3, 0.5);
    }
    fclose(f);
    assert_int_equal(cli("eval %s --data %s --json", model, csv), 0);
    assert_int_equal((long long)gf_test_json_num(out, "correct"), 10 - wrong);
    gf_test_contains(out, "\"classes\":3,\"correct\":8,\"total\":10,");
    gf_test_contains(out, "\"confusion\":[[3,0,0],[1,2,0],[0,1,3]]");
    assert_int_equal(cli("eval %s --data %s", model, csv), 0);
    gf_test_contains(out, "model: ");
    gf_test_contains(out, "(a model file: images [?,4] -> probs [?,3] (softmax); 9 nodes, 2 variables)");
    gf_test_contains(out, "correct: 8/10 (accuracy 80.00%)");
    /* predict: a 2x2 PGM is 4 values. */
    char *pgm = text_file(dir, "x.pgm", "P2\n2 2 255\n10 255 0 20\n");
    assert_int_equal(cli("predict %s %s --json", model, pgm), 0);
    assert_int_equal((long long)gf_test_json_num(out, "digit"), 1);
    gf_test_contains(out, "\"outputs\":[");
    char *big = text_file(dir, "big.pgm", "P2\n3 2 255\n0 0 0 0 0 0\n");
    assert_int_equal(cli("predict %s %s", model, big), 1);
    gf_test_contains(out, "3x2 pixels, expected 2x2 (the network takes 4 values)");
    /* inspect: the signature and the tensors with their statistics. */
    assert_int_equal(cli("inspect %s", model), 0);
    gf_test_contains(out, "  input  images       features             placeholder      float32 [?,4]\n");
    gf_test_contains(out, "  output probs        scores               softmax          float32 [?,3]\n");
    gf_test_contains(out, "  dense/kernel             [4,3]                    12          48");
    assert_int_equal(cli("inspect %s --json", model), 0);
    const char *k = strstr(out, "{\"name\":\"dense/kernel\"");
    assert_non_null(k);
    assert_true(fabs(gf_test_json_num(k, "min") - 0) < 1e-9 && fabs(gf_test_json_num(k, "max") - 3) < 1e-9);
    assert_true(fabs(gf_test_json_num(k, "mean") - 10.5 / 12) < 1e-6);
    gf_test_contains(out, "\"ops\":{\"placeholder\":1,\"constant\":1,\"variable\":2,");
    /* graph draws it. */
    assert_int_equal(cli("graph %s", model), 0);
    gf_test_contains(out, "digraph gradflow {");
    gf_test_contains(out, "<b>scores</b>");
    gf_test_contains(out, "<b>dense/kernel</b>");
    assert_int_equal(cli("graph %s --model softmax", model), 2);
    gf_test_contains(out, "FILE says which network it holds");
    free(pgm);
    free(big);
    free(model);
    free(csv);
    gf_test_rmdir(dir);
}

/* A model file without the keys eval needs names what it has. */
static void signature_without_images(void **state)
{
    (void)state;
    if (!gf_test_gradflow()) skip();
    char *dir = gf_test_tmpdir(), *path = gf_test_path(dir, "odd.gfm");
    gf_graph *g = gf_graph_new();
    gf_node *x = gf_placeholder(g, "x", GF_F32, gf_dims(1, 3));
    gf_session *s = gf_session_new(g, NULL);
    gf_signature_entry in[] = { { "pixels", x } }, o[] = { { "doubled", gf_add(x, x) } };
    gf_signature sig = { in, 1, o, 1 };
    assert_int_equal(gf_model_save(s, &sig, path), GF_OK);
    assert_int_equal(cli("eval %s --data %s", path, dir), 1);
    one_error_line("eval");
    gf_test_contains(out, "a model file whose signature has no input \"images\" (it has inputs \"pixels\"; outputs "
                          "\"doubled\")");
    assert_int_equal(cli("inspect %s", path), 0);
    gf_test_contains(out, "  output doubled      add");
    gf_test_contains(out, "tensors (0, 0 values, 0 bytes):");
    gf_session_free(s);
    gf_graph_free(g);
    free(path);
    gf_test_rmdir(dir);
}

/* ---- old checkpoints ---- */

static void old_checkpoints_still_work(void **state)
{
    (void)state;
    const char *mnist = gf_test_mnist_dir();
    if (!gf_test_gradflow() || !mnist) skip();
    char *dir = gf_test_tmpdir(), *ck = gf_test_path(dir, "old.ckpt"), *back = gf_test_path(dir, "back.gfm");
    gf_article_net net;
    assert_int_equal(gf_article_build_manual(&net, 12, 0.5f), GF_OK);
    gf_session *s = gf_session_new(net.g, &(gf_session_options){ .seed = 9 });
    assert_int_equal(gf_session_save(s, ck), GF_OK);
    assert_int_equal(cli("eval %s --data %s --json", ck, mnist), 0);
    gf_test_contains(out, "\"format\":\"checkpoint\",\"model\":\"article\",\"hidden\":12,");
    assert_int_equal(cli("predict %s idx:%s:0", ck, mnist), 0);
    gf_test_contains(out, "  digit ");
    assert_int_equal(cli("inspect %s --json", ck), 0);
    gf_test_contains(out, "\"format\":\"checkpoint\",\"tensors\":[{\"name\":\"w_1\",\"dtype\":\"float32\","
                          "\"shape\":[784,12],\"values\":9408,\"bytes\":37632,");
    const gf_tensor *b2 = gf_session_variable(s, net.b_2);
    double mx = -1e30;
    for (int i = 0; i < 10; i++) mx = fmax(mx, gf_tensor_data(b2)[i]);
    assert_true(fabs(gf_test_json_num(strstr(out, "{\"name\":\"b_2\""), "max") - mx) < 1e-6);
    assert_int_equal(cli("graph %s", ck), 0);
    gf_test_contains(out, "the article's network 784-12-10, manual step");
    /* --resume from it, then save: a model file with its values. */
    assert_int_equal(cli("train --data %s --hidden 12 --steps 0 --resume %s --save %s", mnist, ck, back), 0);
    gf_error err;
    gf_model *m = gf_model_load(back, NULL, &err);
    if (!m) fail_msg("%s", err.message);
    const gf_tensor *w = gf_session_variable(gf_model_session(m), gf_graph_find(gf_model_graph(m), "w_1"));
    const gf_tensor *w0 = gf_session_variable(s, net.w_1);
    assert_memory_equal(gf_tensor_data(w), gf_tensor_data(w0), (size_t)gf_tensor_count(w0) * sizeof(float));
    gf_model_free(m);
    /* --resume from a model file of another model is refused, naming the model to give. */
    assert_int_equal(cli("train --data %s --model softmax --hidden 12 --steps 0 --resume %s", mnist, back), 1);
    gf_test_contains(out, "gradflow train: ");
    gf_test_contains(out, "back.gfm is a --model article network (784-12-10), not --model softmax: resume it with "
                          "--model article --hidden 12\n");
    gf_session_free(s);
    gf_graph_free(net.g);
    free(ck);
    free(back);
    gf_test_rmdir(dir);
}

/* --resume FILE of another --model names that model (from FILE's
 * variables), and of another --hidden that --hidden; model files and old
 * checkpoints alike. */
static void resume_from_another_model(void **state)
{
    (void)state;
    const char *mnist = gf_test_mnist_dir();
    if (!gf_test_gradflow() || !mnist) skip();
    char *dir = gf_test_tmpdir(), *soft = gf_test_path(dir, "soft.gfm"), *ck = gf_test_path(dir, "soft.ckpt");
    assert_int_equal(cli("train --data %s --model softmax --steps 0 --quiet --save %s", mnist, soft), 0);
    /* The user's case: a softmax model resumed into the default network. */
    assert_int_equal(cli("train --data %s --steps 0 --quiet --resume %s", mnist, soft), 1);
    gf_test_contains(out, "gradflow train: ");
    gf_test_contains(out, "soft.gfm is a --model softmax network (784-100-10), not --model article: resume it "
                          "with --model softmax\n");
    assert_int_equal(cli("train --data %s --model cnn --steps 0 --quiet --resume %s", mnist, soft), 1);
    gf_test_contains(out, "soft.gfm is a --model softmax network (784-100-10), not --model cnn: resume it with "
                          "--model softmax\n");
    assert_int_equal(cli("train --data %s --model softmax --hidden 50 --steps 0 --quiet --resume %s", mnist, soft),
                     1);
    gf_test_contains(out, "soft.gfm: variable \"w_1\" is [784,100] in the model file, [784,50] in this network "
                          "(saved with --hidden 100: resume it with --hidden 100)\n");
    /* An old checkpoint of the softmax model, 12 hidden units. */
    gf_zoo_net z;
    assert_int_equal(gf_zoo_build_softmax(&z, 12, 0), GF_OK);
    gf_session *s = gf_session_new(z.g, NULL);
    assert_int_equal(gf_session_save(s, ck), GF_OK);
    gf_session_free(s);
    gf_graph_free(z.g);
    assert_int_equal(cli("train --data %s --steps 0 --quiet --resume %s", mnist, ck), 1);
    gf_test_contains(out, "soft.ckpt is a --model softmax network (784-12-10), not --model article: resume it "
                          "with --model softmax --hidden 12\n");
    assert_int_equal(cli("train --data %s --model softmax --steps 0 --quiet --resume %s", mnist, ck), 1);
    gf_test_contains(out, "; saved with --hidden 12: resume it with --hidden 12\n");
    assert_int_equal(cli("train --data %s --model softmax --hidden 12 --steps 0 --quiet --resume %s", mnist, ck), 0);
    free(soft);
    free(ck);
    gf_test_rmdir(dir);
}

/* ---- damaged files, every command ---- */

static void damaged_files_in_every_command(void **state)
{
    (void)state;
    if (!gf_test_gradflow()) skip();
    char *dir = gf_test_tmpdir(), *good = gf_test_path(dir, "good.gfm");
    save_hand_model(good);
    write_npy(dir, "train_images.npy", "train_labels.npy", 12); /* train's data */
    write_npy(dir, "test_images.npy", "test_labels.npy", 3);
    size_t len;
    unsigned char *bytes = gf_test_read_file(good, &len);
    unsigned char *flip = malloc(len);
    memcpy(flip, bytes, len);
    flip[len - 60] ^= 0x10; /* inside the values (VARS) */
    char *files[6] = {
        gf_test_write_file(dir, "cut.gfm", bytes, len / 2),
        gf_test_write_file(dir, "flip.gfm", flip, len),
        gf_test_write_file(dir, "empty.gfm", "", 0),
        gf_test_write_file(dir, "text.gfm", "not a model\n", 12),
        gf_test_write_file(dir, "ck.gf", "GFCKPT\0\1\1\0\0\0", 12),
        gf_test_path(dir, "absent.gfm"),
    };
    static const char *why[6] = { "truncated at byte", "CRC mismatch (file damaged)", "empty file: truncated",
                                  "not a gradflow model file (bad magic)", "truncated", "cannot open" };
    static const char *cmds[5] = { "eval %s --data %s", "predict %s %s/x.pgm", "inspect %s", "graph %s",
                                   "train --steps 0 --eval-size 3 --data %s --resume %s" };
    static const char *names[5] = { "eval", "predict", "inspect", "graph", "train" };
    for (int f = 0; f < 6; f++)
        for (int c = 0; c < 5; c++) {
            int rc = c == 4 ? cli(cmds[c], dir, files[f]) : c < 2 ? cli(cmds[c], files[f], dir) : cli(cmds[c], files[f]);
            if (rc != 1) fail_msg("%s on %s: exit %d:\n%s", names[c], files[f], rc, out);
            if (c == 4) { /* train also says what data it read (stdout): keep its error line */
                char *line = strstr(out, "gradflow train: ");
                if (!line) fail_msg("%s", out);
                size_t n = strcspn(line, "\n");
                memmove(out, line, n);
                memcpy(out + n, "\n", 2);
            }
            one_error_line(names[c]);
            if (!strstr(out, why[f]) || !strstr(out, files[f]))
                fail_msg("%s on %s: \"%s\" lacks \"%s\"", names[c], files[f], out, why[f]);
        }
    for (int f = 0; f < 6; f++) free(files[f]);
    free(bytes);
    free(flip);
    free(good);
    gf_test_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_model_on_other_data),
        cmocka_unit_test(hand_built_model_in_the_cli),
        cmocka_unit_test(signature_without_images),
        cmocka_unit_test(old_checkpoints_still_work),
        cmocka_unit_test(resume_from_another_model),
        cmocka_unit_test(damaged_files_in_every_command),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
