/*
 * dataset.c — gf_dataset: examples held as two arrays (features [n, ...],
 * labels [n, width]), next_batch with TensorFlow 1.x's epoch semantics, and
 * the constructors every loader goes through (gf_mnist_load, the IDX, CSV
 * and NumPy paths, and the caller's own arrays).
 */
/* A dataset's arrays live in a store shared, by reference count, with the
 * datasets split from it: gf_dataset_split copies nothing, and each part
 * can be freed in any order. A borrowed store points at the caller's
 * memory and frees none of it. next_batch is TF 1.x's later
 * DataSet.next_batch with shuffle=True: Fisher–Yates over an index, driven
 * by gf_rng (seed, stream), so a seed gives the same batches anywhere.
 *
 * Two kinds of store: floats (features, and labels as rows: the arrays
 * paths, CSV, .npy) and bytes (the IDX paths: pixels, and labels as class
 * indices, a quarter of the memory). next_batch makes a byte dataset's
 * batch as it gathers it: pixels b / 255 (pixels.c, SIMD) and one-hot rows
 * from the indices, the same floats a float store would hold. Its arrays as
 * floats (gf_dataset_images, _labels, _head) are copies each dataset makes
 * the first time they are asked for, and owns. Each next_batch also
 * prefetches the rows of the next batch (of the same size, as far as the
 * epoch's order is known), so that when a training step later asks for
 * them they are in cache; large byte arrays sit on 2 MiB pages where Linux
 * gives them (on_huge_pages), without which most of those prefetches
 * would miss the TLB. */
#if defined(__linux__)
#define _DEFAULT_SOURCE /* MADV_HUGEPAGE */
#endif
#include "data/data.h"

#include <math.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

typedef struct ds_store {
    atomic_long refs;
    void *x, *y; /* owned (gf__free), or NULL where borrowed */
} ds_store;

/* Where a dataset's rows are: floats (x [n, dim], y [n, ldim]) or bytes
 * (xb [n, dim] pixels, yb [n] class indices below ldim). */
typedef struct ds_rows {
    const float *x, *y;
    const uint8_t *xb, *yb;
    int bytes;
} ds_rows;

/* The states of a byte dataset's float copy (images, labels). */
enum { COPY_NONE, COPY_MAKING, COPY_MADE };

struct gf_dataset {
    int64_t n, dim, ldim;                /* examples; floats per example; per label */
    gf_shape xshape;                     /* [n, ...] */
    ds_rows rows;                        /* borrow the store */
    gf_tensor images, labels;            /* all rows: float stores' (borrowed), or
                                            byte stores' copies (owned; data NULL
                                            until made) */
    atomic_int images_copy, labels_copy; /* COPY_*: byte stores only */
    gf_tensor head_images, head_labels;  /* borrow images and labels */
    gf_tensor batch_images, batch_labels;/* owned; regrown only when n grows */
    gf__unit_floats_fn to_floats;        /* byte stores: this process's path */
    ds_store *store;
    uint64_t seed, stream;
    int64_t *perm;                       /* current epoch's order */
    int64_t index_in_epoch, epochs;
    gf_rng rng;
    char error[256];
};

static void store_release(ds_store *s)
{
    if (!s) return;
    if (atomic_fetch_sub(&s->refs, 1) != 1) return;
    gf__free(s->x);
    gf__free(s->y);
    gf__free(s);
}

/* A byte dataset's copy in t, when one was made (not the empty tensor's). */
static void free_copy(gf_tensor *t)
{
    if (t->data != gf__no_elements) gf__free(t->data);
}

void gf_dataset_free(gf_dataset *d)
{
    if (!d) return;
    if (d->rows.bytes) {
        free_copy(&d->images);
        free_copy(&d->labels);
    }
    gf__tensor_release(&d->batch_images);
    gf__tensor_release(&d->batch_labels);
    gf__free(d->perm);
    store_release(d->store);
    gf__free(d);
}

/* shape with its first dimension set to n. */
static gf_shape with_rows(gf_shape s, int64_t n)
{
    s.dim[0] = n;
    return s;
}

static gf_shape shape2(int64_t a, int64_t b)
{
    int64_t dims[2] = { a, b };
    return gf_shape_from(2, dims);
}

/* A dataset of n rows of rows (borrowed from store, which gains a
 * reference on success). NULL when out of memory. */
static gf_dataset *dataset_over(ds_store *store, ds_rows rows, gf_shape xshape, int64_t ldim,
                                uint64_t seed, uint64_t stream)
{
    gf_dataset *d = gf__calloc(1, sizeof *d);
    if (!d) return NULL;
    int64_t n = xshape.dim[0];
    d->n = n;
    d->dim = n ? gf_shape_count(xshape) / n : gf_shape_count(with_rows(xshape, 1));
    d->ldim = ldim;
    d->xshape = xshape;
    d->rows = rows;
    d->seed = seed;
    d->stream = stream;
    /* Tensors without elements still point at storage (internal.h); a byte
     * store's copies are made when first asked for. */
    int x_empty = n * d->dim == 0, y_empty = n * ldim == 0;
    d->images = (gf_tensor){ .dtype = GF_F32, .shape = xshape,
                             .data = x_empty ? gf__no_elements : (float *)rows.x };
    d->labels = (gf_tensor){ .dtype = GF_F32, .shape = shape2(n, ldim),
                             .data = y_empty ? gf__no_elements : (float *)rows.y };
    atomic_init(&d->images_copy, x_empty || !rows.bytes ? COPY_MADE : COPY_NONE);
    atomic_init(&d->labels_copy, y_empty || !rows.bytes ? COPY_MADE : COPY_NONE);
    if (rows.bytes) d->to_floats = gf__unit_floats_pick();
    gf_rng_seed(&d->rng, seed, stream);
    if (n > 0) {
        d->perm = gf__malloc((size_t)n * sizeof *d->perm);
        if (!d->perm) {
            gf__free(d);
            return NULL;
        }
        for (int64_t i = 0; i < n; i++) d->perm[i] = i;
    }
    atomic_fetch_add(&store->refs, 1);
    d->store = store;
    return d;
}

static ds_store *store_new(void *x, void *y)
{
    ds_store *s = gf__calloc(1, sizeof *s);
    if (!s) return NULL;
    atomic_init(&s->refs, 1);
    s->x = x;
    s->y = y;
    return s;
}

/* A dataset over rows, whose memory own_x and own_y (the allocations
 * that hold rows' x and y, or xb and yb; NULL where borrowed) the store
 * takes over; they are freed on failure. */
static gf_status make(ds_rows rows, void *own_x, gf_shape xshape, void *own_y, int64_t ldim,
                      uint64_t seed, uint64_t stream, gf_dataset **out, gf_error *err)
{
    *out = NULL;
    ds_store *s = store_new(own_x, own_y);
    if (!s) {
        gf__free(own_x);
        gf__free(own_y);
        return gf__error_set(err, GF_ERR_NOMEM, "dataset: out of memory");
    }
    *out = dataset_over(s, rows, xshape, ldim, seed, stream);
    store_release(s); /* the dataset's reference, or none: then it is freed */
    if (!*out) {
        char buf[GF_SHAPE_STR];
        return gf__error_set(err, GF_ERR_NOMEM, "dataset: out of memory for the index of %s",
                             gf_shape_format(xshape, buf, sizeof buf));
    }
    return GF_OK;
}

#define HUGE_PAGE ((size_t)2 << 20)

/* next_batch reads rows scattered over the whole array, each on a page of
 * its own: with 4 KiB pages nearly every row misses the TLB, and a CPU
 * may drop a prefetch that does (in a virtual machine a page walk costs
 * dozens of memory reads). So where Linux can back memory with 2 MiB pages
 * (transparent huge pages, "madvise" or "always"), a large array moves to
 * a new allocation whose 2 MiB-aligned part is advised so before anything
 * is written to it. Returns the allocation to free, *at where the bytes
 * now are; or x itself (*at = x) where that cannot be done. */
static uint8_t *on_huge_pages(uint8_t *x, size_t len, uint8_t **at)
{
    *at = x;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (len < 2 * HUGE_PAGE || len > SIZE_MAX - 2 * HUGE_PAGE) return x;
    uint8_t *raw = gf__malloc(len + HUGE_PAGE);
    if (!raw) return x; /* not needed: keep the bytes where they are */
    uintptr_t a = ((uintptr_t)raw + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
    size_t whole = (size_t)((uintptr_t)raw + len + HUGE_PAGE - a) & ~(HUGE_PAGE - 1);
    (void)madvise((void *)a, whole, MADV_HUGEPAGE); /* advice: ignored where not taken */
    memcpy((void *)a, x, len);
    gf__free(x);
    *at = (uint8_t *)a;
    return raw;
#else
    (void)len;
    return x;
#endif
}

gf_status gf__dataset_adopt_bytes(uint8_t *x, gf_shape xshape, uint8_t *y, int64_t classes,
                                  uint64_t seed, uint64_t stream, gf_dataset **out, gf_error *err)
{
    ds_rows rows = { .yb = y, .bytes = 1 };
    uint8_t *xb, *own = on_huge_pages(x, (size_t)gf_shape_count(xshape), &xb);
    rows.xb = xb;
    return make(rows, own, xshape, y, classes, seed, stream, out, err);
}

gf_status gf__check_class_indices(const float *v, int64_t n, int64_t classes, int64_t *found,
                                  const char *what, gf_error *err)
{
    float top = -1.0f;
    for (int64_t i = 0; i < n; i++) {
        float c = v[i];
        if (!(c >= 0.0f) || c >= 16777216.0f || c != floorf(c))
            return gf__error_set(err, GF_ERR_ARG,
                                 "%s: the label of example %lld (from 0) is %.9g, not a class index "
                                 "(an integer from 0)",
                                 what, (long long)i, (double)c);
        if (classes > 0 && c >= (float)classes)
            return gf__error_set(err, GF_ERR_ARG,
                                 "%s: the label of example %lld (from 0) is %.9g, not a class index "
                                 "0..%lld (classes: %lld)",
                                 what, (long long)i, (double)c, (long long)classes - 1,
                                 (long long)classes);
        if (c > top) top = c;
    }
    if (found) *found = classes > 0 ? classes : (int64_t)top + 1;
    return GF_OK;
}

gf_status gf_dataset_from_arrays(const gf_tensor *features, const gf_tensor *labels,
                                 const gf_dataset_options *opt, gf_dataset **out, gf_error *err)
{
    if (!out) return gf__error_set(err, GF_ERR_ARG, "gf_dataset_from_arrays: out is NULL");
    *out = NULL;
    if (!features) return gf__error_set(err, GF_ERR_ARG, "gf_dataset_from_arrays: features is NULL");
    if (!labels) return gf__error_set(err, GF_ERR_ARG, "gf_dataset_from_arrays: labels is NULL");
    gf_dataset_options o = opt ? *opt : (gf_dataset_options){ 0 };
    char fs[GF_SHAPE_STR], ls[GF_SHAPE_STR];
    gf_shape xs = features->shape, ys = labels->shape;
    gf_shape_format(xs, fs, sizeof fs);
    gf_shape_format(ys, ls, sizeof ls);
    if (xs.rank < 1)
        return gf__error_set(err, GF_ERR_SHAPE,
                             "dataset: features %s must have a first dimension [n, ...]", fs);
    if (ys.rank < 1 || ys.rank > 2)
        return gf__error_set(err, GF_ERR_SHAPE,
                             "dataset: labels %s must be class indices [n] or one-hot [n, classes]",
                             ls);
    int64_t n = xs.dim[0];
    if (ys.dim[0] != n)
        return gf__error_set(err, GF_ERR_SHAPE,
                             "dataset: features %s hold %lld examples but labels %s hold %lld", fs,
                             (long long)n, ls, (long long)ys.dim[0]);
    if (n > (int64_t)UINT32_MAX)
        return gf__error_set(err, GF_ERR_SHAPE, "dataset: %lld examples, over the limit of %lld",
                             (long long)n, (long long)UINT32_MAX);
    if (o.classes < 0)
        return gf__error_set(err, GF_ERR_ARG, "dataset: classes %lld is negative",
                             (long long)o.classes);
    if (ys.rank == 2 && o.classes && ys.dim[1] != o.classes)
        return gf__error_set(err, GF_ERR_SHAPE,
                             "dataset: one-hot labels %s have %lld classes, options say %lld", ls,
                             (long long)ys.dim[1], (long long)o.classes);
    int64_t classes = ys.rank == 2 ? ys.dim[1] : o.classes;
    if (ys.rank == 1) {
        gf_status st = gf__check_class_indices(labels->data, n, o.classes, &classes,
                                               "dataset", err);
        if (st != GF_OK) return st;
        if (n == 0 && classes == 0)
            return gf__error_set(err, GF_ERR_ARG,
                                 "dataset: no labels to count the classes of: set "
                                 "gf_dataset_options.classes");
        if (gf__shape_count_checked(shape2(n, classes)) < 0)
            return gf__error_set(err, GF_ERR_SHAPE, "dataset: %lld one-hot labels of %lld classes "
                                 "are too many elements", (long long)n, (long long)classes);
    }

    /* Labels: one-hot from indices (always owned), or the rows given. */
    int64_t xcount = gf_shape_count(xs), ycount = n * classes;
    float *y = NULL, *x = NULL;
    int own_y = ys.rank == 1 || !o.borrow;
    if (own_y && ycount > 0) {
        y = ys.rank == 1 ? gf__calloc((size_t)ycount, sizeof *y)
                         : gf__malloc((size_t)ycount * sizeof *y);
        if (!y)
            return gf__error_set(err, GF_ERR_NOMEM, "dataset: out of memory for labels [%lld,%lld]",
                                 (long long)n, (long long)classes);
        if (ys.rank == 1)
            for (int64_t i = 0; i < n; i++) y[i * classes + (int64_t)labels->data[i]] = 1.0f;
        else
            memcpy(y, labels->data, (size_t)ycount * sizeof *y);
    } else if (!own_y) {
        y = labels->data;
    }
    if (o.borrow) {
        x = features->data;
    } else if (xcount > 0) {
        x = gf__malloc((size_t)xcount * sizeof *x);
        if (!x) {
            if (own_y) gf__free(y);
            return gf__error_set(err, GF_ERR_NOMEM, "dataset: out of memory for features %s", fs);
        }
        memcpy(x, features->data, (size_t)xcount * sizeof *x);
    }
    return make((ds_rows){ .x = x, .y = y }, o.borrow ? NULL : x, xs, own_y ? y : NULL, classes, o.seed,
                o.stream, out, err);
}

gf_status gf_dataset_split(gf_dataset *d, int64_t k, gf_dataset **first, gf_dataset **rest)
{
    if (first) *first = NULL;
    if (rest) *rest = NULL;
    if (!d) return GF_ERR_ARG;
    d->error[0] = '\0';
    if (!first || !rest) {
        snprintf(d->error, sizeof d->error, "split: %s is NULL", first ? "rest" : "first");
        return GF_ERR_ARG;
    }
    if (k < 0 || k > d->n) {
        snprintf(d->error, sizeof d->error,
                 "split: %lld examples out of range: the dataset has %lld, so 0..%lld",
                 (long long)k, (long long)d->n, (long long)d->n);
        return GF_ERR_ARG;
    }
    ds_rows ra = d->rows, rb = d->rows;
    if (rb.bytes) {
        rb.xb += k * d->dim;
        rb.yb += k;
    } else {
        /* Empty arrays may be NULL: nothing to offset. */
        if (rb.x) rb.x += k * d->dim;
        if (rb.y) rb.y += k * d->ldim;
    }
    gf_dataset *a = dataset_over(d->store, ra, with_rows(d->xshape, k), d->ldim, d->seed,
                                 d->stream + 1);
    gf_dataset *b = a ? dataset_over(d->store, rb, with_rows(d->xshape, d->n - k), d->ldim,
                                     d->seed, d->stream)
                      : NULL;
    if (!b) {
        gf_dataset_free(a);
        snprintf(d->error, sizeof d->error, "split: out of memory");
        return GF_ERR_NOMEM;
    }
    *first = a;
    *rest = b;
    return GF_OK;
}

int64_t gf_dataset_count(const gf_dataset *d) { return d ? d->n : 0; }

int64_t gf_dataset_classes(const gf_dataset *d) { return d ? d->ldim : 0; }

/* A byte dataset's float copy of its images or labels, made into t and
 * owned by d. 1 done, 0 out of memory (message on d). */
static int make_images(gf_dataset *d)
{
    int64_t count = d->n * d->dim;
    float *x = gf__malloc((size_t)count * sizeof *x);
    if (!x) {
        char buf[GF_SHAPE_STR];
        snprintf(d->error, sizeof d->error,
                 "dataset: out of memory for the images %s as floats (%lld bytes)",
                 gf_shape_format(d->xshape, buf, sizeof buf), (long long)count * 4);
        return 0;
    }
    d->to_floats(x, d->rows.xb, count);
    d->images.data = x;
    return 1;
}

static int make_labels(gf_dataset *d)
{
    float *y = gf__calloc((size_t)(d->n * d->ldim), sizeof *y);
    if (!y) {
        snprintf(d->error, sizeof d->error,
                 "dataset: out of memory for the labels [%lld,%lld] as floats",
                 (long long)d->n, (long long)d->ldim);
        return 0;
    }
    for (int64_t i = 0; i < d->n; i++) y[i * d->ldim + d->rows.yb[i]] = 1.0f;
    d->labels.data = y;
    return 1;
}

/* Makes the copy that *state guards, once: the first thread to ask makes
 * it, the others wait for it (or, if it failed, try again themselves).
 * 1 when it is there, 0 out of memory (message on d). */
static int copy_once(gf_dataset *d, atomic_int *state, int (*fill)(gf_dataset *))
{
    for (;;) {
        int s = atomic_load_explicit(state, memory_order_acquire);
        if (s == COPY_MADE) return 1;
        if (s == COPY_NONE &&
            atomic_compare_exchange_strong_explicit(state, &s, COPY_MAKING, memory_order_acquire,
                                                    memory_order_acquire)) {
            int ok = fill(d);
            atomic_store_explicit(state, ok ? COPY_MADE : COPY_NONE, memory_order_release);
            return ok;
        }
        if (s == COPY_MAKING) sched_yield();
    }
}

/* d's images (images 1) or labels as floats, made if need be: NULL when
 * out of memory. The const accessors write only through copy_once, which
 * lets one thread at a time in; d itself is never a const object. */
static const gf_tensor *floats_of(const gf_dataset *cd, int images)
{
    gf_dataset *d = (gf_dataset *)cd;
    if (images)
        return copy_once(d, &d->images_copy, make_images) ? &d->images : NULL;
    return copy_once(d, &d->labels_copy, make_labels) ? &d->labels : NULL;
}

const gf_tensor *gf_dataset_images(const gf_dataset *d) { return d ? floats_of(d, 1) : NULL; }

const gf_tensor *gf_dataset_labels(const gf_dataset *d) { return d ? floats_of(d, 0) : NULL; }

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
    /* The copies asked for only: labels alone do not need the images'. */
    if ((images && !floats_of(d, 1)) || (labels && !floats_of(d, 0))) return GF_ERR_NOMEM;
    d->head_images = (gf_tensor){ .dtype = GF_F32, .shape = with_rows(d->xshape, n),
                                  .data = d->images.data };
    d->head_labels = (gf_tensor){ .dtype = GF_F32, .shape = shape2(n, d->ldim),
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

/* Asks the CPU to bring the bytes [p, p+len) into its level-2 cache. Not
 * level 1: the training step that runs before they are read would evict
 * them from there anyway, and on AMD's cores a prefetch to level 1 holds
 * one of the few level-1 miss buffers until memory answers, which stalls
 * the gather's own loads and stores (next_batch(10) of Fashion-MNIST in a
 * training loop, medians: 1.45 us with prefetcht0, 1.1 us with prefetcht1). */
static void prefetch_span(const void *p, size_t len)
{
#if defined(__GNUC__) || defined(__clang__)
    uintptr_t a = (uintptr_t)p & ~(uintptr_t)63, end = (uintptr_t)p + len;
    for (; a < end; a += 64) __builtin_prefetch((const void *)a, 0, 2);
#else
    (void)p;
    (void)len;
#endif
}

/* Prefetches example perm[i]'s row and label. */
static void prefetch_example(const gf_dataset *d, int64_t i)
{
    int64_t r = d->perm[i];
    if (d->rows.bytes) {
        prefetch_span(d->rows.xb + r * d->dim, (size_t)d->dim);
        prefetch_span(d->rows.yb + r, 1);
        return;
    }
    if (d->dim) prefetch_span(d->rows.x + r * d->dim, (size_t)d->dim * sizeof(float));
    if (d->ldim) prefetch_span(d->rows.y + r * d->ldim, (size_t)d->ldim * sizeof(float));
}

/* Copies the examples perm[from..from+count) to batch rows at..at+count,
 * and prefetches the examples perm[ahead..ahead+n_ahead) (the next batch),
 * one with each row copied: those misses then overlap the copying instead
 * of stalling a loop of prefetches. */
static void gather(gf_dataset *d, int64_t from, int64_t count, int64_t at, int64_t ahead,
                   int64_t n_ahead)
{
    int64_t dim = d->dim, ldim = d->ldim;
    float *bx = d->batch_images.data + at * dim, *by = d->batch_labels.data + at * ldim;
    const int64_t *perm = d->perm + from;
    if (d->rows.bytes && ldim) memset(by, 0, (size_t)(count * ldim) * sizeof *by);
    for (int64_t k = 0; k < count; k++) {
        if (k < n_ahead) prefetch_example(d, ahead + k);
        if (d->rows.bytes) {
            d->to_floats(bx + k * dim, d->rows.xb + perm[k] * dim, dim);
            if (ldim) by[k * ldim + d->rows.yb[perm[k]]] = 1.0f;
            continue;
        }
        if (dim) memcpy(bx + k * dim, d->rows.x + perm[k] * dim, (size_t)dim * sizeof(float));
        if (ldim) memcpy(by + k * ldim, d->rows.y + perm[k] * ldim, (size_t)ldim * sizeof(float));
    }
    for (int64_t k = count; k < n_ahead; k++) prefetch_example(d, ahead + k);
}

/* How many of the n examples from index i of this epoch's order exist. */
static int64_t known(const gf_dataset *d, int64_t i, int64_t n)
{
    return i + n <= d->n ? n : d->n - i;
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
    if (gf__tensor_reshape(&d->batch_images, GF_F32, with_rows(d->xshape, n)) != GF_OK ||
        gf__tensor_reshape(&d->batch_labels, GF_F32, shape2(n, d->ldim)) != GF_OK) {
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
        gather(d, start, rest, 0, 0, 0);
        shuffle(d);
        d->index_in_epoch = n - rest;      /* then the new epoch's start */
        gather(d, 0, n - rest, rest, n - rest, known(d, n - rest, n));
    } else {
        /* The next batch of n, as far as this epoch's order goes. */
        gather(d, start, n, 0, start + n, known(d, start + n, n));
        d->index_in_epoch += n;
    }
    if (images) *images = &d->batch_images;
    if (labels) *labels = &d->batch_labels;
    return GF_OK;
}
