/*
 * mnist.c — MNIST-style datasets as TensorFlow 1.x's read_data_sets builds
 * them: train/validation/test splits, one-hot labels, and next_batch.
 */
/* Semantics kept (docs/article.md): images are float32 byte/255 flattened to
 * rows*cols (kept as the bytes, made floats as batches are gathered);
 * labels one-hot [n,10] (or another class count); the first 5000
 * training images are the validation set when the files hold 60000. The
 * splits are datasets of dataset.c (one next_batch for every dataset): the
 * training file becomes one dataset, split into validation and train with
 * gf_dataset_split, so nothing is copied twice. Shuffle streams: train 1,
 * validation 2, test 3. gf_dataset_load_idx reads one IDX pair the same way. */
#include "data/data.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MNIST_CLASSES 10
#define MNIST_TF_TRAIN 60000   /* TF holds out validation only for this size */
#define MNIST_TF_VALIDATION 5000

/* Streams of gf_rng, one per split, so that each split shuffles on its own. */
enum { STREAM_TRAIN = 1, STREAM_VALIDATION = 2, STREAM_TEST = 3 };

/* How labels above the class count are reported. */
typedef enum { LABELS_DIGITS, LABELS_CLASSES } label_rule;

/* The largest label of an IDX labels file. */
static int max_label(const gf_idx *labels)
{
    int top = 0;
    for (int64_t i = 0; i < labels->count; i++)
        if (labels->data[i] > top) top = labels->data[i];
    return top;
}

/* Checks labels against classes; lp names the file. */
static gf_status check_labels(const gf_idx *labels, int64_t classes, label_rule rule,
                              const char *lp, gf_error *err)
{
    for (int64_t i = 0; i < labels->count; i++) {
        if (labels->data[i] < classes) continue;
        if (rule == LABELS_DIGITS)
            return gf__error_set(err, GF_ERR_FORMAT,
                                 "%s: label %d at index %lld is not a digit 0..9 (for more "
                                 "classes, set gf_mnist_options.classes)", lp, labels->data[i],
                                 (long long)i);
        return gf__error_set(err, GF_ERR_FORMAT,
                             "%s: label %d at index %lld is not below the %lld classes", lp,
                             labels->data[i], (long long)i, (long long)classes);
    }
    return GF_OK;
}

/* A dataset of an IDX pair (labels checked already): images [n, rest] and
 * labels one-hot [n, classes] as next_batch gives them, kept as the bytes
 * read, which the dataset takes over (images and labels are left empty). */
static gf_status idx_dataset(gf_idx *images, gf_idx *labels, int64_t classes, uint64_t seed,
                             uint64_t stream, gf_dataset **out, gf_error *err)
{
    int64_t n = images->dim[0], dims[2] = { n, images->count / n };
    uint8_t *x = images->data, *y = labels->data;
    images->data = labels->data = NULL;
    gf_idx_free(images);
    gf_idx_free(labels);
    return gf__dataset_adopt_bytes(x, gf_shape_from(2, dims), y, classes, seed, stream, out, err);
}

/* Resolves DIR/NAME.gz, else DIR/NAME, into a malloc'ed path; NULL with err
 * filled when neither exists. */
static char *find_file(const char *dir, const char *name, gf_error *err)
{
    size_t len = strlen(dir) + strlen(name) + 5;
    char *path = gf__malloc(len);
    if (!path) {
        gf__error_set(err, GF_ERR_NOMEM, "mnist: out of memory");
        return NULL;
    }
    struct stat st;
    snprintf(path, len, "%s/%s.gz", dir, name);
    if (stat(path, &st) == 0) return path;
    snprintf(path, len, "%s/%s", dir, name);
    if (stat(path, &st) == 0) return path;
    gf__error_set(err, GF_ERR_IO, "%s: missing %s (or %s.gz) of the four MNIST IDX files", dir, name, name);
    gf__free(path);
    return NULL;
}

/* Reads one images/labels pair and checks them against each other. */
static gf_status read_pair(const char *dir, const char *img_name, const char *lab_name,
                           int64_t classes, gf_idx *images, gf_idx *labels, gf_error *err)
{
    char *ip = NULL, *lp = NULL;
    gf_status rc = GF_OK;
    ip = find_file(dir, img_name, err);
    if (!ip) return err ? err->code : GF_ERR_IO;
    lp = find_file(dir, lab_name, err);
    if (!lp) {
        rc = err ? err->code : GF_ERR_IO;
        goto done;
    }
    /* The ranks are checked before the sizes their dimensions promise. */
    if ((rc = gf__idx_read_ranked(ip, 3, 3, "images must be rank 3 [count,rows,cols]", images,
                                  err)) != GF_OK)
        goto done;
    if ((rc = gf__idx_read_ranked(lp, 1, 1, "labels must be rank 1 [count]", labels, err)) != GF_OK)
        goto done;
    if (images->dim[0] != labels->dim[0]) {
        rc = gf__error_set(err, GF_ERR_FORMAT,
                           "%s holds %lld images but %s holds %lld labels", ip,
                           (long long)images->dim[0], lp, (long long)labels->dim[0]);
        goto done;
    }
    /* classes -1: counted from the labels later, when both files are read */
    if (classes > 0)
        rc = check_labels(labels, classes, classes == MNIST_CLASSES ? LABELS_DIGITS : LABELS_CLASSES,
                          lp, err);
done:
    if (rc != GF_OK) {
        gf_idx_free(images);
        gf_idx_free(labels);
    }
    gf__free(ip);
    gf__free(lp);
    return rc;
}

gf_status gf_mnist_load(const char *dir, const gf_mnist_options *opt, gf_mnist **out,
                        gf_error *err)
{
    if (!out) return gf__error_set(err, GF_ERR_ARG, "gf_mnist_load: out is NULL");
    *out = NULL;
    if (!dir) return gf__error_set(err, GF_ERR_ARG, "gf_mnist_load: dir is NULL");
    uint64_t seed = opt ? opt->seed : 0;
    int validation_size = opt ? opt->validation_size : -1;
    int64_t classes = opt && opt->classes ? opt->classes : MNIST_CLASSES;
    if (classes < -1)
        return gf__error_set(err, GF_ERR_ARG,
                             "mnist: classes %lld out of range: 0 (10 digits), -1 (the labels "
                             "found) or a count", (long long)classes);

    struct stat st;
    if (stat(dir, &st) != 0)
        return gf__error_set(err, GF_ERR_IO, "%s: %s", dir, errno == ENOENT ? "no such directory" : strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return gf__error_set(err, GF_ERR_IO, "%s: not a directory", dir);

    gf_idx tr_img = { 0 }, tr_lab = { 0 }, te_img = { 0 }, te_lab = { 0 };
    gf_mnist *m = NULL;
    gf_dataset *all = NULL;
    gf_status rc = read_pair(dir, "train-images-idx3-ubyte", "train-labels-idx1-ubyte", classes,
                             &tr_img, &tr_lab, err);
    if (rc != GF_OK) goto done;
    rc = read_pair(dir, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", classes, &te_img,
                   &te_lab, err);
    if (rc != GF_OK) goto done;
    if (te_img.dim[1] != tr_img.dim[1] || te_img.dim[2] != tr_img.dim[2]) {
        rc = gf__error_set(err, GF_ERR_FORMAT,
                           "%s: test images are %lldx%lld but training images %lldx%lld", dir,
                           (long long)te_img.dim[1], (long long)te_img.dim[2],
                           (long long)tr_img.dim[1], (long long)tr_img.dim[2]);
        goto done;
    }
    if (classes == -1) {
        int a = max_label(&tr_lab), b = max_label(&te_lab);
        classes = (a > b ? a : b) + 1;
    }

    int64_t n_train = tr_img.dim[0];
    int64_t n_val = validation_size;
    if (validation_size < 0) n_val = n_train == MNIST_TF_TRAIN ? MNIST_TF_VALIDATION : 0;
    if (n_val > n_train || validation_size < -1) {
        rc = gf__error_set(err, GF_ERR_ARG,
                           "mnist: validation_size %d out of range: -1 (TensorFlow's rule) or "
                           "0..%lld (the training images in %s)", validation_size,
                           (long long)n_train, dir);
        goto done;
    }

    m = gf__calloc(1, sizeof *m);
    if (!m) {
        rc = gf__error_set(err, GF_ERR_NOMEM, "mnist: out of memory");
        goto done;
    }
    /* The training file is one dataset, split: validation then train. */
    rc = idx_dataset(&tr_img, &tr_lab, classes, seed, STREAM_TRAIN, &all, err);
    if (rc != GF_OK) goto done;
    if (gf_dataset_split(all, n_val, &m->validation, &m->train) != GF_OK) {
        rc = gf__error_set(err, GF_ERR_NOMEM, "mnist: out of memory for the datasets of %s", dir);
        goto done;
    }
    rc = idx_dataset(&te_img, &te_lab, classes, seed, STREAM_TEST, &m->test, err);
    if (rc != GF_OK) goto done;

    size_t len = strlen(dir) + sizeof "/SUBSET";
    char *marker = gf__malloc(len);
    if (!marker) {
        rc = gf__error_set(err, GF_ERR_NOMEM, "mnist: out of memory");
        goto done;
    }
    snprintf(marker, len, "%s/SUBSET", dir);
    m->is_subset = stat(marker, &st) == 0;
    gf__free(marker);

done:
    gf_dataset_free(all);
    gf_idx_free(&tr_img);
    gf_idx_free(&tr_lab);
    gf_idx_free(&te_img);
    gf_idx_free(&te_lab);
    if (rc != GF_OK) {
        gf_mnist_free(m);
        return rc;
    }
    *out = m;
    return GF_OK;
}

void gf_mnist_free(gf_mnist *m)
{
    if (!m) return;
    gf_dataset_free(m->train);
    gf_dataset_free(m->validation);
    gf_dataset_free(m->test);
    gf__free(m);
}

gf_status gf_dataset_load_idx(const char *images_path, const char *labels_path,
                              const gf_dataset_options *opt, gf_dataset **out, gf_error *err)
{
    if (!out) return gf__error_set(err, GF_ERR_ARG, "gf_dataset_load_idx: out is NULL");
    *out = NULL;
    if (!images_path || !labels_path)
        return gf__error_set(err, GF_ERR_ARG, "gf_dataset_load_idx: %s is NULL",
                             images_path ? "labels_path" : "images_path");
    gf_dataset_options o = opt ? *opt : (gf_dataset_options){ 0 };
    if (o.classes < 0 || o.classes > 256)
        return gf__error_set(err, GF_ERR_ARG,
                             "gf_dataset_load_idx: classes %lld out of range: 0 (counted) or "
                             "1..256 (labels are bytes)", (long long)o.classes);
    gf_idx img = { 0 }, lab = { 0 };
    gf_status rc = gf__idx_read_ranked(images_path, 2, GF_MAX_RANK,
                                       "images must be rank 2..4 [count, ...]", &img, err);
    if (rc == GF_OK)
        rc = gf__idx_read_ranked(labels_path, 1, 1, "labels must be rank 1 [count]", &lab, err);
    if (rc != GF_OK) goto done;
    if (img.dim[0] != lab.dim[0]) {
        rc = gf__error_set(err, GF_ERR_FORMAT, "%s holds %lld images but %s holds %lld labels",
                           images_path, (long long)img.dim[0], labels_path,
                           (long long)lab.dim[0]);
        goto done;
    }
    int64_t classes = o.classes ? o.classes : max_label(&lab) + 1;
    if ((rc = check_labels(&lab, classes, LABELS_CLASSES, labels_path, err)) != GF_OK) goto done;
    rc = idx_dataset(&img, &lab, classes, o.seed, o.stream, out, err);
done:
    gf_idx_free(&img);
    gf_idx_free(&lab);
    return rc;
}
