/*
 * test_cli_data.c — `gradflow train --data PATH` and `gradflow data check
 * PATH` on a folder of .npy files and on CSV files: the models sized from
 * the data, the test set from --test-data or --validation, the same
 * examples as IDX and as .npy training alike, and one-line errors.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static char out[1 << 17];

/* `gradflow ARGS` (printf-style), stderr joined, into out; the status. */
#define cli(...) gf_test_gradflowf(out, sizeof out, __VA_ARGS__)

static void one_line(const char *text)
{
    const char *nl = strchr(text, '\n');
    if (!nl || nl[1]) fail_msg("expected one line, got:\n%s", text);
}

/* gf_npy_write of t to dir/name; fails the test on error. */
static void npy_to(const char *dir, const char *name, const gf_tensor *t)
{
    gf_error err;
    char *path = gf_test_path(dir, name);
    if (gf_npy_write(path, t, &err) != GF_OK) fail_msg("%s", err.message);
    free(path);
}

/* n examples of side x side: class i % classes lights pixel (i % classes). */
static void write_npy(const char *dir, const char *images, const char *labels, int n, int side, int classes)
{
    gf_error err;
    gf_tensor *x = gf_tensor_new(GF_F32, gf_dims(3, n, side, side), &err);
    gf_tensor *y = gf_tensor_new(GF_I32, gf_dims(1, n), &err);
    assert_non_null(x);
    assert_non_null(y);
    float *px = gf_tensor_data(x);
    float *py = gf_tensor_data(y); /* an int32 tensor holds its values as floats */
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < side * side; j++) px[i * side * side + j] = (float)((i * 7 + j) % 5) / 20.0f;
        px[i * side * side + i % classes] = 1.0f;
        py[i] = (float)(i % classes);
    }
    npy_to(dir, images, x);
    npy_to(dir, labels, y);
    gf_tensor_free(x);
    gf_tensor_free(y);
}

/* The same pattern as CSV text, 0..255, label first, with a header. */
static void write_csv(const char *path, int n, int features, int classes)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "label");
    for (int j = 0; j < features; j++) fprintf(f, ",p%d", j);
    fprintf(f, "\n");
    for (int i = 0; i < n; i++) {
        fprintf(f, "%d", i % classes);
        for (int j = 0; j < features; j++) fprintf(f, ",%d", j == i % classes ? 255 : (i * 7 + j) % 5 * 10);
        fprintf(f, "\n");
    }
    fclose(f);
}

/* train --scale X keeps X in the model file (its "input_scale" output):
 * eval divides .npy and CSV features by it unless told otherwise, and
 * predict's idx:DIR:N of a .npy folder does too, so an image answers as it
 * does from a PGM of the same pixels (which predict reads as value/255). */
static void scale_is_saved(void **state)
{
    (void)state;
    if (!gf_test_gradflow()) skip();
    char *dir = gf_test_tmpdir();
    char train[4200], test[4200], model[4200], pgm[4200];
    snprintf(train, sizeof train, "%s/train.csv", dir);
    snprintf(test, sizeof test, "%s/test.csv", dir);
    snprintf(model, sizeof model, "%s/m.gfm", dir);
    snprintf(pgm, sizeof pgm, "%s/one.pgm", dir);
    write_csv(train, 80, 16, 4);
    write_csv(test, 20, 16, 4);
    assert_int_equal(cli("train --data %s --test-data %s --scale 255 --model softmax --steps 100 --batch 5 --save %s "
                         "--quiet", train, test, model), 0);
    assert_int_equal(cli("inspect %s", model), 0);
    gf_test_contains(out, "output input_scale");
    char given[256], kept[256];
    assert_int_equal(cli("eval %s --data %s --scale 255", model, test), 0);
    snprintf(given, sizeof given, "%s", strstr(out, "correct: "));
    assert_int_equal(cli("eval %s --data %s", model, test), 0);
    gf_test_contains(out, "features divided by 255 (the model's --scale)");
    snprintf(kept, sizeof kept, "%s", strstr(out, "correct: "));
    assert_string_equal(kept, given);
    assert_int_equal(cli("eval %s --data %s --scale 1", model, test), 0);
    gf_test_contains(out, "features divided by 1\n");
    /* predict: a .npy folder of 0..255 pixels against the same pixels as PGM. */
    gf_tensor *x = gf_tensor_new(GF_F32, gf_dims(3, 1, 4, 4), NULL), *y = gf_tensor_new(GF_I32, gf_dims(1, 1), NULL);
    FILE *f = fopen(pgm, "w");
    assert_non_null(f);
    fprintf(f, "P2\n4 4\n255\n");
    for (int j = 0; j < 16; j++) {
        int v = j == 2 ? 255 : (7 * 2 + j) % 5 * 10;
        gf_tensor_data(x)[j] = (float)v;
        fprintf(f, "%d\n", v);
    }
    fclose(f);
    gf_tensor_data(y)[0] = 2;
    npy_to(dir, "test_images.npy", x);
    npy_to(dir, "test_labels.npy", y);
    gf_tensor_free(x);
    gf_tensor_free(y);
    char from_pgm[256];
    assert_int_equal(cli("predict %s %s", model, pgm), 0);
    const char *d = strstr(out, "digit ");
    assert_non_null(d);
    snprintf(from_pgm, sizeof from_pgm, "%.*s", (int)strcspn(d, ")") + 1, d);
    assert_int_equal(cli("predict %s idx:%s:0", model, dir), 0);
    gf_test_contains(out, from_pgm);
    gf_test_rmdir(dir);
}

static void npy_folder(void **state)
{
    (void)state;
    if (!gf_test_gradflow()) skip();
    char *dir = gf_test_tmpdir();
    write_npy(dir, "train_images.npy", "train_labels.npy", 60, 4, 3);
    write_npy(dir, "test_images.npy", "test_labels.npy", 20, 4, 3);
    assert_int_equal(cli("data check %s", dir), 0);
    gf_test_contains(out, "npy, 60 train / 0 validation / 20 test, examples 4x4 (16 features), 3 classes");
    gf_test_contains(out, "  train: 60 examples of 4x4, values 0..1, 3 classes: 0:20 1:20 2:20");
    gf_test_contains(out, "  test: 20 examples of 4x4, values 0..1, 3 classes: 0:7 1:7 2:6");
    static const char *models[] = { "article", "softmax", "cnn" };
    for (int i = 0; i < 3; i++) {
        assert_int_equal(cli("train --data %s --model %s --steps 50 --batch 5 --eval-size 20 --quiet", dir,
                             models[i]), 0);
        gf_test_contains(out, "examples 4x4 (16 features), 3 classes");
        gf_test_contains(out, "final step    50  correct ");
        gf_test_contains(out, "/20\n");
    }
    /* Counts that differ: one line naming the problem. */
    write_npy(dir, "x.npy", "train_labels.npy", 59, 4, 3);
    assert_int_equal(cli("train --data %s --steps 5 --quiet", dir), 1);
    one_line(out);
    gf_test_contains(out, "gradflow train: ");
    gf_test_rmdir(dir);
}

static void csv_files(void **state)
{
    (void)state;
    if (!gf_test_gradflow()) skip();
    char *dir = gf_test_tmpdir();
    char train[4200], test[4200], odd[4200];
    snprintf(train, sizeof train, "%s/train.csv", dir);
    snprintf(test, sizeof test, "%s/test.csv", dir);
    snprintf(odd, sizeof odd, "%s/odd.csv", dir);
    write_csv(train, 80, 16, 4);
    write_csv(test, 20, 16, 4);
    write_csv(odd, 30, 5, 4);
    assert_int_equal(cli("train --data %s --test-data %s --scale 255 --steps 50 --batch 5 --eval-size 20 --quiet",
                         train, test), 0);
    gf_test_contains(out, "CSV, 80 train / 0 validation / 20 test, examples 4x4 (16 features), 4 classes");
    gf_test_contains(out, "final step    50  correct ");
    assert_int_equal(cli("train --data %s --validation 20 --model softmax --steps 50 --json --quiet", train), 0);
    gf_test_contains(out, "\"total\":20,");
    gf_test_contains(out, "\"final\":true");
    assert_int_equal(cli("train --data %s --validation 10 --model softmax --steps 5 --quiet", train), 0);
    gf_test_contains(out, "CSV, 70 train / 10 validation / 0 test");
    gf_test_contains(out, "evaluated on the validation set");
    /* No test set, no validation: refused, saying what to give. */
    assert_int_equal(cli("train --data %s --steps 5 --quiet", train), 1);
    one_line(out);
    gf_test_contains(out, "give --test-data FILE, or --validation N");
    /* cnn wants an image: 5 features are none. */
    assert_int_equal(cli("train --data %s --validation 10 --model cnn --steps 5 --quiet", odd), 1);
    one_line(out);
    gf_test_contains(out, "--model cnn needs single-channel images (h x w or h x w x 1); the examples of");
    gf_test_contains(out, " are 5\n");
    /* A test file of another width; a missing file. */
    assert_int_equal(cli("train --data %s --test-data %s --steps 5 --quiet", train, odd), 1);
    one_line(out);
    gf_test_contains(out, "the test examples have 5 features, the training examples 16");
    assert_int_equal(cli("train --data %s/none.csv --steps 5 --quiet", dir), 1);
    one_line(out);
    gf_test_contains(out, "none.csv: no such file");
    /* A label that is no class index: named by its file, line and column. */
    char frac[4200];
    snprintf(frac, sizeof frac, "%s/frac.csv", dir);
    FILE *ff = fopen(frac, "w");
    assert_non_null(ff);
    fputs("label,a,b\n1,2,3\n0,1,1\n2,2,2\n3.5,0,0\n", ff);
    fclose(ff);
    assert_int_equal(cli("train --data %s --validation 1 --steps 5 --quiet", frac), 1);
    one_line(out);
    gf_test_contains(out, "gradflow train: ");
    gf_test_contains(out, "frac.csv:5:1: label \"3.5\" is not a class index (an integer from 0)\n");
    assert_int_equal(cli("data check %s", train), 0);
    gf_test_contains(out, "  train: 80 examples of 4x4, values 0..255, 4 classes: 0:20 1:20 2:20 3:20");
    gf_test_contains(out, "  test: none");
    /* Another delimiter, gzipped: read with --delimiter, and named when missing. */
    char semi[4200];
    snprintf(semi, sizeof semi, "%s/semi.csv.gz", dir);
    gzFile z = gzopen(semi, "wb");
    assert_non_null(z);
    for (int i = 0; i < 12; i++) gzprintf(z, "%d;%d;%d;%d;%d\n", i % 3, i, 2 * i, 255 - i, 7);
    gzclose(z);
    assert_int_equal(cli("data check --delimiter ';' --scale 255 --validation 3 %s", semi), 0);
    gf_test_contains(out, "CSV, 9 train / 3 validation / 0 test, examples 2x2 (4 features), 3 classes");
    gf_test_contains(out, "values 0..1,");
    assert_int_equal(cli("train --data %s --delimiter ';' --validation 3 --steps 5 --batch 3 --quiet", semi), 0);
    gf_test_contains(out, "final step     5  correct ");
    /* one feature, one class: the description says so in the singular */
    char one[4200];
    snprintf(one, sizeof one, "%s/one.csv", dir);
    FILE *f1 = fopen(one, "w");
    assert_non_null(f1);
    fprintf(f1, "0,1\n0,2\n0,3\n");
    fclose(f1);
    assert_int_equal(cli("data check --validation 1 %s", one), 0);
    gf_test_contains(out, "CSV, 2 train / 1 validation / 0 test, examples 1 (1 feature), 1 class\n");
    assert_int_equal(cli("data check %s", semi), 1);
    one_line(out);
    gf_test_contains(out, "semi.csv.gz:1:1: one field per line with the delimiter ',': the label, and no features");
    assert_int_equal(cli("data check --delimiter ab %s", semi), 1);
    gf_test_contains(out, "--delimiter 'ab': expected one character");
    gf_test_rmdir(dir);
}

/* Drops the timing fields' line of train --json. */
static void drop_timing(char *s)
{
    char *p = strstr(s, "{\"steps\":");
    if (p) *p = '\0';
}

static void idx_and_npy_train_alike(void **state)
{
    (void)state;
    if (!gf_test_gradflow() || !gf_test_mnist_dir()) skip();
    gf_mnist *m = NULL;
    gf_error err;
    assert_int_equal(gf_mnist_load(gf_test_mnist_dir(), &(gf_mnist_options){ .validation_size = 0 }, &m, &err),
                     GF_OK);
    char *dir = gf_test_tmpdir();
    npy_to(dir, "train_images.npy", gf_dataset_images(m->train));
    npy_to(dir, "train_labels.npy", gf_dataset_labels(m->train));
    npy_to(dir, "test_images.npy", gf_dataset_images(m->test));
    npy_to(dir, "test_labels.npy", gf_dataset_labels(m->test));
    gf_mnist_free(m);
    /* Flat 784-feature examples are 28x28 images, as MNIST's: the cnn takes them. */
    static const char *models[] = { "article", "softmax", "cnn --batch 10" };
    for (int i = 0; i < 3; i++) {
        static char a[sizeof out];
        int steps = i == 2 ? 20 : 300;
        assert_int_equal(cli("train --data %s --model %s --validation 0 --steps %d --eval-every 100 --json --quiet",
                             gf_test_mnist_dir(), models[i], steps), 0);
        drop_timing(out);
        snprintf(a, sizeof a, "%s", out);
        assert_int_equal(cli("train --data %s --model %s --steps %d --eval-every 100 --json --quiet", dir,
                             models[i], steps), 0);
        drop_timing(out);
        assert_string_equal(a, out);
    }
    gf_test_rmdir(dir);
}

/* DIR/NAME.gz, else DIR/NAME, of the test MNIST folder (static). */
static const char *mnist_file(const char *name)
{
    static char path[4200];
    snprintf(path, sizeof path, "%s/%s.gz", gf_test_mnist_dir(), name);
    FILE *f = fopen(path, "rb");
    if (!f) snprintf(path, sizeof path, "%s/%s", gf_test_mnist_dir(), name);
    else fclose(f);
    return path;
}

/* A file is what its first bytes say, whatever its name: an IDX or .npy
 * file given where a folder belongs is named as such (not read as CSV
 * text), eval takes CSV text named .txt, and refuses an IDX images file
 * (it holds no labels) instead of crashing. A .npy test set of flat
 * examples goes with square training images of as many features. An
 * MNIST folder whose labels run past 9 says how many classes it makes. */
static void files_by_content(void **state)
{
    (void)state;
    if (!gf_test_gradflow() || !gf_test_mnist_dir()) skip();
    char *dir = gf_test_tmpdir();
    write_npy(dir, "train_images.npy", "train_labels.npy", 60, 4, 3);
    write_npy(dir, "test_images.npy", "test_labels.npy", 20, 4, 3);
    gf_error err;
    char *ti = gf_test_path(dir, "test_images.npy");
    gf_tensor *sq = NULL;
    assert_int_equal(gf_npy_read(ti, &sq, &err), GF_OK);
    gf_tensor *flat = gf_tensor_new(GF_F32, gf_dims(2, 20, 16), &err);
    assert_non_null(flat);
    memcpy(gf_tensor_data(flat), gf_tensor_data(sq), 20 * 16 * sizeof(float));
    npy_to(dir, "test_images.npy", flat);
    gf_tensor_free(sq);
    gf_tensor_free(flat);
    assert_int_equal(cli("data check %s", dir), 0);
    gf_test_contains(out, "  test: 20 examples of 4x4, values 0..1, 3 classes: 0:7 1:7 2:6");
    /* 2x8 is not 4x4, though as many features */
    char *tl = gf_test_path(dir, "test_labels.npy");
    gf_tensor *y = NULL;
    assert_int_equal(gf_npy_read(tl, &y, &err), GF_OK);
    write_npy(dir, "test_images.npy", "test_labels.npy", 20, 4, 3);
    assert_int_equal(gf_npy_read(ti, &sq, &err), GF_OK);
    gf_tensor *odd = gf_tensor_new(GF_F32, gf_dims(3, 20, 2, 8), &err);
    assert_non_null(odd);
    memcpy(gf_tensor_data(odd), gf_tensor_data(sq), 20 * 16 * sizeof(float));
    npy_to(dir, "test_images.npy", odd);
    assert_int_equal(cli("data check %s", dir), 1);
    one_line(out);
    gf_test_contains(out, "test_images.npy: the test examples are 2x8, the training examples 4x4 (16 features each)");
    npy_to(dir, "test_images.npy", sq); /* back to 4x4 */
    gf_tensor_free(odd);
    gf_tensor_free(sq);
    gf_tensor_free(y);
    free(tl);
    assert_int_equal(cli("train --data %s --steps 20 --batch 5 --save %s/m.gfm --quiet", dir, dir), 0);
    gf_test_contains(out, "final step    20  correct ");
    assert_int_equal(cli("train --data %s --steps 5 --quiet", ti), 1);
    one_line(out);
    gf_test_contains(out, "test_images.npy is a .npy file: give the folder that holds train_images.npy");
    assert_int_equal(cli("eval %s/m.gfm --data %s", dir, ti), 1);
    one_line(out);
    gf_test_contains(out, "test_images.npy is a .npy file: give the folder that holds test_images.npy");
    char txt[4200];
    snprintf(txt, sizeof txt, "%s/test.txt", dir);
    write_csv(txt, 20, 16, 3);
    assert_int_equal(cli("eval %s/m.gfm --data %s --scale 1", dir, txt), 0);
    gf_test_contains(out, "data: ");
    gf_test_contains(out, "test.txt, 20 test examples");
    /* IDX files: the images of the test MNIST folder. */
    const char *images = mnist_file("t10k-images-idx3-ubyte");
    assert_int_equal(cli("train --data %s --steps 5 --save %s/a.gfm --quiet", gf_test_mnist_dir(), dir), 0);
    assert_int_equal(cli("eval %s/a.gfm --data %s", dir, images), 1);
    one_line(out);
    gf_test_contains(out, "is an IDX file of images, which holds no labels: give the folder that holds it");
    assert_int_equal(cli("eval %s/a.gfm --data %s/nope", dir, dir), 1);
    one_line(out);
    gf_test_contains(out, "/nope: no such file or directory; ");
    assert_int_equal(cli("predict %s/a.gfm idx:%s:3", dir, images), 0);
    gf_test_contains(out, "digit ");
    assert_int_equal(cli("train --data %s --steps 5 --quiet", images), 1);
    one_line(out);
    gf_test_contains(out, "is an IDX file: give the folder that holds it with the other three MNIST files");
    /* A label 12 among the test labels: 13 classes, said. */
    char *bad = gf_test_path(dir, "bad");
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "mkdir '%s'", bad);
    assert_int_equal(system(cmd), 0);
    static const char *const copied[] = { "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                          "t10k-images-idx3-ubyte" };
    for (int i = 0; i < 3; i++) { /* mnist_file's path is static: one at a time */
        snprintf(cmd, sizeof cmd, "cp '%s' '%s'", mnist_file(copied[i]), bad);
        assert_int_equal(system(cmd), 0);
    }
    gzFile in = gzopen(mnist_file("t10k-labels-idx1-ubyte"), "rb");
    assert_non_null(in);
    static unsigned char lab[20000];
    int n = gzread(in, lab, sizeof lab);
    gzclose(in);
    assert_true(n > 100);
    lab[8 + 5] = 12;
    char *lp = gf_test_path(bad, "t10k-labels-idx1-ubyte");
    FILE *f = fopen(lp, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(lab, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    assert_int_equal(cli("train --data %s --steps 5", bad), 0);
    gf_test_contains(out, "note: the labels run from 0 to 12: 13 classes (MNIST's have 10;");
    /* A labels header that says rank 3: named so by eval, not as a file
     * truncated against the absurd size its "dimensions" promise. */
    lab[3] = 3;
    f = fopen(lp, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(lab, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    assert_int_equal(cli("eval %s/a.gfm --data %s", dir, bad), 1);
    one_line(out);
    gf_test_contains(out, "t10k-labels-idx1-ubyte: labels must be rank 1 [count], but its IDX magic 00 00 08 03 "
                          "says rank 3");
    free(lp);
    free(bad);
    free(ti);
    gf_test_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(files_by_content),
        cmocka_unit_test(npy_folder),
        cmocka_unit_test(csv_files),
        cmocka_unit_test(scale_is_saved),
        cmocka_unit_test(idx_and_npy_train_alike),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
