/*
 * mnist.c — MNIST-style datasets as TensorFlow 1.x's read_data_sets builds
 * them: train/validation/test splits, one-hot labels, and next_batch.
 */
/* Semantics kept (docs/article.md): images are float32 byte/255 flattened to
 * rows*cols; labels one-hot [n,10]; the first 5000 training images are the
 * validation set when the files hold 60000; next_batch is TF 1.x's later
 * DataSet.next_batch with shuffle=True. Shuffles are Fisher–Yates driven by
 * gf_rng, one stream per split, so a seed gives the same batches anywhere. */
#include "internal.h"

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

struct gf_dataset {
    int64_t n, dim;                      /* examples; floats per image */
    gf_tensor images, labels;            /* [n,dim], [n,10]; data owned */
    gf_tensor head_images, head_labels;  /* borrow images/labels' memory */
    gf_tensor batch_images, batch_labels;/* owned; regrown only when n grows */
    int64_t *perm;                       /* current epoch's order */
    int64_t index_in_epoch, epochs;
    gf_rng rng;
    char error[256];
};

static void dataset_free(gf_dataset *d)
{
    if (!d) return;
    gf__tensor_release(&d->images);
    gf__tensor_release(&d->labels);
    gf__tensor_release(&d->batch_images);
    gf__tensor_release(&d->batch_labels);
    gf__free(d->perm);
    gf__free(d);
}

static gf_shape shape2(int64_t a, int64_t b)
{
    int64_t dims[2] = { a, b };
    return gf_shape_from(2, dims);
}

/* A split of n examples taken from rows [first, first+n) of the IDX data. */
static gf_dataset *dataset_new(const gf_idx *images, const gf_idx *labels, int64_t first,
                               int64_t n, uint64_t seed, uint64_t stream)
{
    gf_dataset *d = gf__calloc(1, sizeof *d);
    if (!d) return NULL;
    int64_t dim = images->dim[1] * images->dim[2];
    d->n = n;
    d->dim = dim;
    d->images.dtype = d->labels.dtype = GF_F32;
    d->images.shape = shape2(n, dim);
    d->labels.shape = shape2(n, MNIST_CLASSES);
    gf_rng_seed(&d->rng, seed, stream);
    if (n == 0) return d;
    d->images.data = gf__malloc((size_t)(n * dim) * sizeof(float));
    d->labels.data = gf__calloc((size_t)(n * MNIST_CLASSES), sizeof(float));
    d->perm = gf__malloc((size_t)n * sizeof *d->perm);
    if (!d->images.data || !d->labels.data || !d->perm) {
        gf__free(d->images.data);
        gf__free(d->labels.data);
        gf__free(d->perm);
        gf__free(d);
        return NULL;
    }
    d->images.capacity = n * dim;
    d->labels.capacity = n * MNIST_CLASSES;

    float scale[256];
    for (int b = 0; b < 256; b++) scale[b] = (float)b / 255.0f;
    const uint8_t *src = images->data + first * dim;
    for (int64_t i = 0; i < n * dim; i++) d->images.data[i] = scale[src[i]];
    for (int64_t i = 0; i < n; i++) {
        d->labels.data[i * MNIST_CLASSES + labels->data[first + i]] = 1.0f;
        d->perm[i] = i;
    }
    return d;
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
                           gf_idx *images, gf_idx *labels, gf_error *err)
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
    if ((rc = gf_idx_read(ip, 0, images, err)) != GF_OK) goto done;
    if ((rc = gf_idx_read(lp, 0, labels, err)) != GF_OK) goto done;
    if (images->rank != 3) {
        rc = gf__error_set(err, GF_ERR_FORMAT,
                           "%s: images must be rank 3 [count,rows,cols], file has rank %d", ip,
                           images->rank);
        goto done;
    }
    if (labels->rank != 1) {
        rc = gf__error_set(err, GF_ERR_FORMAT,
                           "%s: labels must be rank 1 [count], file has rank %d", lp,
                           labels->rank);
        goto done;
    }
    if (images->dim[0] != labels->dim[0]) {
        rc = gf__error_set(err, GF_ERR_FORMAT,
                           "%s holds %lld images but %s holds %lld labels", ip,
                           (long long)images->dim[0], lp, (long long)labels->dim[0]);
        goto done;
    }
    for (int64_t i = 0; i < labels->count; i++) {
        if (labels->data[i] >= MNIST_CLASSES) {
            rc = gf__error_set(err, GF_ERR_FORMAT,
                               "%s: label %d at index %lld is not a digit 0..9", lp,
                               labels->data[i], (long long)i);
            goto done;
        }
    }
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

    struct stat st;
    if (stat(dir, &st) != 0)
        return gf__error_set(err, GF_ERR_IO, "%s: %s", dir, errno == ENOENT ? "no such directory" : strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return gf__error_set(err, GF_ERR_IO, "%s: not a directory", dir);

    gf_idx tr_img = { 0 }, tr_lab = { 0 }, te_img = { 0 }, te_lab = { 0 };
    gf_mnist *m = NULL;
    gf_status rc = read_pair(dir, "train-images-idx3-ubyte", "train-labels-idx1-ubyte", &tr_img,
                             &tr_lab, err);
    if (rc != GF_OK) goto done;
    rc = read_pair(dir, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", &te_img, &te_lab,
                   err);
    if (rc != GF_OK) goto done;
    if (te_img.dim[1] != tr_img.dim[1] || te_img.dim[2] != tr_img.dim[2]) {
        rc = gf__error_set(err, GF_ERR_FORMAT,
                           "%s: test images are %lldx%lld but training images %lldx%lld", dir,
                           (long long)te_img.dim[1], (long long)te_img.dim[2],
                           (long long)tr_img.dim[1], (long long)tr_img.dim[2]);
        goto done;
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
    m->validation = dataset_new(&tr_img, &tr_lab, 0, n_val, seed, STREAM_VALIDATION);
    m->train = dataset_new(&tr_img, &tr_lab, n_val, n_train - n_val, seed, STREAM_TRAIN);
    m->test = dataset_new(&te_img, &te_lab, 0, te_img.dim[0], seed, STREAM_TEST);
    if (!m->validation || !m->train || !m->test) {
        rc = gf__error_set(err, GF_ERR_NOMEM, "mnist: out of memory for the datasets of %s", dir);
        goto done;
    }

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
    dataset_free(m->train);
    dataset_free(m->validation);
    dataset_free(m->test);
    gf__free(m);
}

int64_t gf_dataset_count(const gf_dataset *d) { return d ? d->n : 0; }

const gf_tensor *gf_dataset_images(const gf_dataset *d) { return d ? &d->images : NULL; }

const gf_tensor *gf_dataset_labels(const gf_dataset *d) { return d ? &d->labels : NULL; }

int64_t gf_dataset_epochs(const gf_dataset *d) { return d ? d->epochs : 0; }

const char *gf_dataset_error(const gf_dataset *d) { return d ? d->error : ""; }

gf_status gf_dataset_head(gf_dataset *d, int64_t n, const gf_tensor **images,
                          const gf_tensor **labels)
{
    if (images) *images = NULL;
    if (labels) *labels = NULL;
    if (!d) return GF_ERR_ARG;
    d->error[0] = '\0';
    if (d->n == 0) return GF_OK;
    if (n < 1) n = 1;
    if (n > d->n) n = d->n;
    d->head_images = (gf_tensor){ .dtype = GF_F32, .shape = shape2(n, d->dim),
                                  .data = d->images.data };
    d->head_labels = (gf_tensor){ .dtype = GF_F32, .shape = shape2(n, MNIST_CLASSES),
                                  .data = d->labels.data };
    if (images) *images = &d->head_images;
    if (labels) *labels = &d->head_labels;
    return GF_OK;
}

static void shuffle(gf_dataset *d)
{
    for (int64_t i = d->n - 1; i > 0; i--) {
        int64_t j = (int64_t)gf_rng_below(&d->rng, (uint32_t)(i + 1));
        int64_t t = d->perm[i];
        d->perm[i] = d->perm[j];
        d->perm[j] = t;
    }
}

/* Copies the examples perm[from..from+count) to batch rows at..at+count. */
static void gather(gf_dataset *d, int64_t from, int64_t count, int64_t at)
{
    for (int64_t k = 0; k < count; k++) {
        int64_t src = d->perm[from + k];
        memcpy(d->batch_images.data + (at + k) * d->dim, d->images.data + src * d->dim,
               (size_t)d->dim * sizeof(float));
        memcpy(d->batch_labels.data + (at + k) * MNIST_CLASSES,
               d->labels.data + src * MNIST_CLASSES, MNIST_CLASSES * sizeof(float));
    }
}

gf_status gf_dataset_next_batch(gf_dataset *d, int64_t n, const gf_tensor **images,
                                const gf_tensor **labels)
{
    if (images) *images = NULL;
    if (labels) *labels = NULL;
    if (!d) return GF_ERR_ARG;
    d->error[0] = '\0';
    if (n < 1 || n > d->n) {
        snprintf(d->error, sizeof d->error,
                 "next_batch: batch size %lld out of range: the dataset has %lld examples, "
                 "so 1..%lld", (long long)n, (long long)d->n, (long long)d->n);
        return GF_ERR_ARG;
    }
    /* Same size as last time: no allocation (reshape regrows only when n
     * exceeds the capacity already held). */
    if (gf__tensor_reshape(&d->batch_images, GF_F32, shape2(n, d->dim)) != GF_OK ||
        gf__tensor_reshape(&d->batch_labels, GF_F32, shape2(n, MNIST_CLASSES)) != GF_OK) {
        snprintf(d->error, sizeof d->error, "next_batch: out of memory for a batch of %lld",
                 (long long)n);
        return GF_ERR_NOMEM;
    }

    /* TensorFlow 1.x DataSet.next_batch(n, shuffle=True), step for step. */
    int64_t start = d->index_in_epoch;
    if (d->epochs == 0 && start == 0) shuffle(d);
    if (start + n > d->n) {
        d->epochs++;
        int64_t rest = d->n - start;       /* the rest of the finished epoch */
        gather(d, start, rest, 0);
        shuffle(d);
        d->index_in_epoch = n - rest;      /* then the new epoch's start */
        gather(d, 0, n - rest, rest);
    } else {
        gather(d, start, n, 0);
        d->index_in_epoch += n;
    }
    if (images) *images = &d->batch_images;
    if (labels) *labels = &d->batch_labels;
    return GF_OK;
}
