/*
 * data_source.c — the data of `gradflow train --data PATH` and `gradflow
 * data check PATH` (data_source.h). An MNIST folder is read by gf_mnist_load
 * exactly as before; .npy folders and CSV files become datasets with the
 * same shuffle streams (train 1, validation 2, test 3), so that the same
 * examples in either format train the same way.
 */
#include "data_source.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

void gf_source_close(gf_source *src)
{
    if (src->mnist) {
        gf_mnist_free(src->mnist);
    } else {
        gf_dataset_free(src->view.train);
        gf_dataset_free(src->view.validation);
        gf_dataset_free(src->all);
        gf_dataset_free(src->all_test);
    }
    for (int i = 0; i < 4; i++) gf_tensor_free(src->arrays[i]);
    memset(src, 0, sizeof *src);
}

/* The example shape of features [n, ...]. */
static void take_shape(gf_source *src, const gf_tensor *x)
{
    gf_shape s = gf_tensor_shape(x);
    src->rank = s.rank > 1 ? s.rank - 1 : 1;
    src->features = 1;
    for (int i = 0; i < src->rank; i++) {
        src->shape[i] = s.rank > 1 ? s.dim[i + 1] : 1;
        src->features *= src->shape[i];
    }
}

/* A square image of a flat example: 784 -> 28x28 (IDX folders). */
static void square_shape(gf_source *src)
{
    int64_t side = (int64_t)llround(sqrt((double)src->features));
    if (side > 1 && side * side == src->features) {
        src->rank = 2;
        src->shape[0] = src->shape[1] = side;
    }
}

/* The largest class index in labels [n] (-1 for one-hot rows). */
static int64_t max_label(const gf_tensor *y)
{
    if (!y || gf_tensor_shape(y).rank != 1) return -1;
    const float *p = gf_tensor_data(y);
    float m = -1;
    for (int64_t i = 0; i < gf_tensor_count(y); i++)
        if (p[i] > m) m = p[i];
    return m >= 0 && m < 1e9f ? (int64_t)m : -1;
}

/* features [n, ...] viewed as [n, features] for the dataset, which
 * borrows x's floats (and y's rows): the caller keeps both until the
 * dataset is freed, so that a large CSV file's floats are held once. */
static gf_status make_dataset(gf_tensor *x, const gf_tensor *y, int64_t classes, uint64_t seed, uint64_t stream,
                              float scale, gf_dataset **out, gf_error *err)
{
    gf_shape s = gf_tensor_shape(x);
    int64_t n = s.rank ? s.dim[0] : 0, per = n ? gf_tensor_count(x) / n : 0;
    if (scale > 0) {
        float *p = gf_tensor_data(x);
        for (int64_t i = 0; i < gf_tensor_count(x); i++) p[i] /= scale;
    }
    gf_tensor *flat = gf_tensor_wrap(GF_F32, gf_dims(2, (int)n, (int)per), gf_tensor_data(x), err);
    if (!flat) return err->code;
    gf_dataset_options o = { .seed = seed, .stream = stream, .classes = classes, .borrow = 1 };
    gf_status st = gf_dataset_from_arrays(flat, y, &o, out, err);
    gf_tensor_free(flat);
    return st;
}

static int open_mnist(const char *path, const gf_source_options *opt, gf_source *src, gf_error *err)
{
    /* Digits keep 10 classes (as always); other IDX data counts its own. */
    gf_mnist_options mo = { .seed = opt->seed,
                            .validation_size = opt->validation >= 0 ? (int)opt->validation
                                               : opt->mnist_no_validation ? 0 : -1,
                            .classes = -1 };
    if (gf_mnist_load(path, &mo, &src->mnist, err) != GF_OK) return 0;
    if (gf_dataset_classes(src->mnist->test) < 10) {
        gf_mnist_free(src->mnist);
        src->mnist = NULL;
        mo.classes = 0;
        if (gf_mnist_load(path, &mo, &src->mnist, err) != GF_OK) return 0;
    }
    src->kind = "MNIST";
    src->view = *src->mnist;
    const gf_tensor *test_x = gf_dataset_images(src->mnist->test); /* made from the bytes read */
    if (!test_x) {
        snprintf(err->message, sizeof err->message, "%s: %s", path, gf_dataset_error(src->mnist->test));
        err->code = GF_ERR_NOMEM;
        gf_mnist_free(src->mnist);
        src->mnist = NULL;
        return 0;
    }
    take_shape(src, test_x);
    square_shape(src);
    src->classes = gf_dataset_classes(src->mnist->test);
    return 1;
}

char gf_source_delimiter(const char *arg, char *msg, size_t cap)
{
    if (!arg) return ',';
    if (!strcmp(arg, "tab")) return '\t';
    if (strlen(arg) == 1 && arg[0] != '"' && arg[0] != '\n' && arg[0] != '\r') return arg[0];
    snprintf(msg, cap, "--delimiter '%s': expected one character (not a quote or a line end), or 'tab'", arg);
    return 0;
}

int gf_source_file_kind(const char *path)
{
    gzFile f = gzopen(path, "rb");
    if (!f) return GF_FILE_NONE;
    unsigned char h[6] = { 0 };
    int got = gzread(f, h, sizeof h);
    gzclose(f);
    if (got >= 6 && !memcmp(h, "\x93NUMPY", 6)) return GF_FILE_NPY;
    /* IDX: two zero bytes, the element type (0x08 .. 0x0E), the rank */
    if (got >= 4 && h[0] == 0 && h[1] == 0 && h[2] >= 0x08 && h[2] <= 0x0E && h[3] >= 1) return GF_FILE_IDX;
    return GF_FILE_TEXT;
}

int gf_source_open(const char *path, const gf_source_options *opt, gf_source *src, char *msg, size_t cap,
                   gf_error *err, int *mnist_failed)
{
    memset(src, 0, sizeof *src);
    *mnist_failed = 0;
    src->path = path;
    char p[4][4200];
    int npy = 0;
    /* A missing path is an MNIST folder to fetch, unless named as a CSV file. */
    size_t len = strlen(path);
    int named_csv = (len >= 4 && !strcmp(path + len - 4, ".csv")) || (len >= 7 && !strcmp(path + len - 7, ".csv.gz"));
    if (is_dir(path) || (!exists(path) && !named_csv)) {
        static const char *names[4] = { "train_images.npy", "train_labels.npy", "test_images.npy",
                                         "test_labels.npy" };
        for (int i = 0; i < 4; i++) snprintf(p[i], sizeof p[i], "%s/%s", path, names[i]);
        npy = is_dir(path) && (exists(p[0]) || exists(p[1]));
        if (!npy) {
            if (opt->test_path || opt->scale > 0 || opt->delimiter) {
                snprintf(msg, cap, "%s is an MNIST folder: --test-data, --delimiter and --scale are for .npy folders "
                                   "and CSV files (its images are read as 0..1)", path);
                return 0;
            }
            if (!open_mnist(path, opt, src, err)) {
                *mnist_failed = 1;
                snprintf(msg, cap, "%s", err->message);
                return 0;
            }
            return 1;
        }
        if (opt->test_path || opt->delimiter) {
            snprintf(msg, cap, "%s holds .npy files: %s", path,
                     opt->test_path ? "its test set is test_images.npy and test_labels.npy, not --test-data"
                                    : "--delimiter is for CSV files");
            return 0;
        }
    } else if (!exists(path)) {
        snprintf(msg, cap, "%s: no such file", path);
        return 0;
    }
    const int kind = npy ? GF_FILE_NONE : gf_source_file_kind(path); /* not to be read as CSV text: */
    if (kind == GF_FILE_IDX) {
        snprintf(msg, cap, "%s is an IDX file: give the folder that holds it with the other three MNIST files "
                           "(train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-...)", path);
        return 0;
    } else if (kind == GF_FILE_NPY) {
        snprintf(msg, cap, "%s is a .npy file: give the folder that holds train_images.npy and train_labels.npy "
                           "(and test_images.npy, test_labels.npy)", path);
        return 0;
    }
    gf_tensor *x = NULL, *y = NULL, *tx = NULL, *ty = NULL;
    int ok = 0, has_test = 0;
    if (npy) {
        src->kind = "npy";
        if (gf_npy_read(p[0], &x, err) != GF_OK || gf_npy_read(p[1], &y, err) != GF_OK) goto fail;
        has_test = exists(p[2]) || exists(p[3]);
        if (has_test && (gf_npy_read(p[2], &tx, err) != GF_OK || gf_npy_read(p[3], &ty, err) != GF_OK))
            goto fail;
    } else {
        src->kind = "CSV";
        gf_csv_options co = { .label_column = opt->label_column };
        if (!(co.delimiter = gf_source_delimiter(opt->delimiter, msg, cap))) return 0;
        if (gf_csv_read(path, &co, &x, &y, err) != GF_OK) goto fail;
        has_test = opt->test_path != NULL;
        if (has_test && gf_csv_read(opt->test_path, &co, &tx, &ty, err) != GF_OK) goto fail;
    }
    if (gf_tensor_shape(x).rank < 1 || gf_tensor_shape(x).rank > 4) {
        snprintf(msg, cap, "%s: the features are rank %d; give [n, ...] of rank 1 to 4", p[0],
                 gf_tensor_shape(x).rank);
        goto out;
    }
    take_shape(src, x);
    if (tx) {
        gf_source t = { 0 };
        take_shape(&t, tx);
        if (t.features != src->features) {
            snprintf(msg, cap, "%s: the test examples have %lld features, the training examples %lld",
                     npy ? p[2] : opt->test_path, (long long)t.features, (long long)src->features);
            goto out;
        }
        char a[64], b[64];
        gf_source_shape(&t, a, sizeof a);
        gf_source_shape(src, b, sizeof b);
        if (strcmp(a, b) && t.rank != 1 && src->rank != 1) { /* 14x56 is not 28x28 */
            snprintf(msg, cap, "%s: the test examples are %s, the training examples %s (%lld features each): "
                               "give them one shape", npy ? p[2] : opt->test_path, a, b, (long long)t.features);
            goto out;
        }
        if (strcmp(a, b)) { /* flat and square (784 and 28x28): the training set's shape */
            gf_shape s = gf_tensor_shape(x);
            s.dim[0] = gf_tensor_shape(tx).dim[0];
            gf_tensor *t2 = gf_tensor_new(GF_F32, s, err);
            if (!t2) goto fail;
            memcpy(gf_tensor_data(t2), gf_tensor_data(tx), (size_t)gf_tensor_count(tx) * sizeof(float));
            gf_tensor_free(tx);
            tx = t2;
        }
    }
    if (src->rank == 1) square_shape(src); /* flat examples: images if square, as MNIST's */
    /* Class indices: counted over both sets, so that they agree. */
    int64_t classes = 0, a = max_label(y), b = max_label(ty);
    if (a >= 0 || b >= 0) classes = (a > b ? a : b) + 1;
    if (make_dataset(x, y, classes, opt->seed, 1, opt->scale, &src->all, err) != GF_OK) goto fail;
    if (tx && make_dataset(tx, ty, classes ? classes : gf_dataset_classes(src->all), opt->seed, 3, opt->scale,
                           &src->all_test, err) != GF_OK)
        goto fail;
    int64_t v = opt->validation > 0 ? opt->validation : 0, n = gf_dataset_count(src->all);
    if (v > n) {
        snprintf(msg, cap, "--validation %lld exceeds the %lld training examples in %s", (long long)v,
                 (long long)n, path);
        goto out;
    }
    if (gf_dataset_split(src->all, v, &src->view.validation, &src->view.train) != GF_OK) {
        snprintf(msg, cap, "%s", gf_dataset_error(src->all));
        goto out;
    }
    src->view.test = src->all_test;
    src->classes = gf_dataset_classes(src->all);
    ok = 1;
    goto out;
fail:
    snprintf(msg, cap, "%s", err->message);
out:
    /* The datasets borrow them: the source frees them when it closes. */
    src->arrays[0] = x, src->arrays[1] = y, src->arrays[2] = tx, src->arrays[3] = ty;
    if (!ok) gf_source_close(src);
    return ok;
}

void gf_source_shape(const gf_source *src, char *buf, size_t cap)
{
    size_t at = 0;
    buf[0] = '\0';
    for (int i = 0; i < src->rank && at < cap; i++)
        at += (size_t)snprintf(buf + at, cap - at, "%s%lld", i ? "x" : "", (long long)src->shape[i]);
}

void gf_source_describe(const gf_source *src, char *buf, size_t cap)
{
    char shape[64];
    gf_source_shape(src, shape, sizeof shape);
    snprintf(buf, cap, "%s, %s, %lld train / %lld validation / %lld test, examples %s (%lld feature%s), %lld class%s",
             src->path, src->kind, (long long)gf_dataset_count(src->view.train),
             (long long)gf_dataset_count(src->view.validation),
             (long long)(src->view.test == src->view.validation ? 0 : gf_dataset_count(src->view.test)),
             shape, (long long)src->features, src->features == 1 ? "" : "s", (long long)src->classes,
             src->classes == 1 ? "" : "es");
}
