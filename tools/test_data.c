/*
 * test_data.c — the test examples of eval and predict (test_data.h), from
 * IDX, .npy or CSV files, checked against the network that runs them.
 */
#include "test_data.h"
#include "cli.h"
#include "data_source.h"
#include "data/data.h" /* gf__idx_read_ranked */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gradflow.h"

const char *gf_cli_size_text(int64_t n, char *buf, int cap)
{
    int64_t side = (int64_t)llround(sqrt((double)n));
    if (side > 1 && side * side == n) snprintf(buf, (size_t)cap, "%lldx%lld", (long long)side, (long long)side);
    else snprintf(buf, (size_t)cap, "%lld", (long long)n);
    return buf;
}

static int exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0;
}

/* DIR/NAME.gz, else DIR/NAME (the dataset loader's order); returns 0 when
 * neither exists, saying so on stderr when cmd is not NULL. */
static int pick(const char *cmd, char *out, size_t cap, const char *dir, const char *name)
{
    snprintf(out, cap, "%s/%s.gz", dir, name);
    if (exists(out)) return 1;
    snprintf(out, cap, "%s/%s", dir, name);
    if (exists(out)) return 1;
    if (cmd) {
        char hint[4200];
        gf_cli_fetch_hint(dir, hint, sizeof hint);
        fprintf(stderr, "gradflow %s: %s: missing %s (or %s.gz); %s\n", cmd, dir, name, name, hint);
    }
    return 0;
}

/* The examples' size against the network's. */
static int features_fit(const char *cmd, const char *what, int64_t got, const gf_cli_test_options *o)
{
    if (!o->features || got == o->features) return 1;
    char a[64], b[64];
    fprintf(stderr, "gradflow %s: %s: examples of %s values, but the network takes %s\n", cmd, what,
            gf_cli_size_text(got, a, sizeof a), gf_cli_size_text(o->features, b, sizeof b));
    return 0;
}

/* A label against the class count: 1, or 0 said on stderr. */
static int label_fits(const char *cmd, const char *what, int64_t i, double v, const gf_cli_test_options *o)
{
    if (v >= 0 && v == floor(v) && (!o->classes || v < (double)o->classes) && v < 1e9) return 1;
    fprintf(stderr, "gradflow %s: %s: label %lld is %g, expected a class from 0 to %lld\n", cmd, what, (long long)i, v,
            (long long)(o->classes ? o->classes - 1 : 999999999));
    return 0;
}

static int load_idx(const char *cmd, const char *where, int is_file, const gf_cli_test_options *o, gf_cli_test *out)
{
    char ipath[4200], lpath[4200];
    int labels = is_file ? 0 : o->labels;
    if (is_file) {
        snprintf(ipath, sizeof ipath, "%s", where);
    } else {
        if (!pick(cmd, ipath, sizeof ipath, where, "t10k-images-idx3-ubyte")) return 0;
        if (labels && !pick(labels == 1 ? cmd : NULL, lpath, sizeof lpath, where, "t10k-labels-idx1-ubyte")) {
            if (labels == 1) return 0;
            labels = 0; /* optional and absent */
        }
    }
    if (is_file && o->labels == 1) { /* eval: the answers are needed */
        fprintf(stderr, "gradflow %s: %s is an IDX file of images, which holds no labels: give the folder that "
                        "holds it with t10k-labels-idx1-ubyte\n", cmd, where);
        return 0;
    }
    gf_idx img, lab = { 0 };
    gf_error err;
    /* The ranks are checked before the sizes their dimensions promise, as
     * the dataset loaders check them. */
    if (gf__idx_read_ranked(ipath, 2, GF_MAX_RANK, "images must be rank 2..4 [n,rows,cols] or rows [n,k]", &img,
                            &err) != GF_OK) {
        fprintf(stderr, "gradflow %s: %s\n", cmd, err.message);
        return 0;
    }
    int ok = 0;
    int64_t per = img.count / img.dim[0];
    if (!features_fit(cmd, ipath, per, o)) goto out;
    if (labels) {
        if (gf__idx_read_ranked(lpath, 1, 1, "labels must be rank 1 [count]", &lab, &err) != GF_OK) {
            fprintf(stderr, "gradflow %s: %s\n", cmd, err.message);
            goto out;
        }
        if (lab.dim[0] != img.dim[0]) {
            fprintf(stderr, "gradflow %s: %s: expected %lld labels, one per image, not %lld\n", cmd, lpath,
                    (long long)img.dim[0], (long long)lab.dim[0]);
            goto out;
        }
    }
    out->n = img.dim[0];
    out->features = per;
    if (img.rank == 3) {
        out->height = img.dim[1];
        out->width = img.dim[2];
    }
    out->images = malloc((size_t)img.count * sizeof(float) + 1);
    out->labels = labels ? malloc((size_t)out->n * sizeof(int) + 1) : NULL;
    if (!out->images || (labels && !out->labels)) {
        fprintf(stderr, "gradflow %s: out of memory\n", cmd);
        goto out;
    }
    for (int64_t i = 0; i < img.count; i++) out->images[i] = (float)img.data[i] / 255.0f;
    for (int64_t i = 0; labels && i < out->n; i++) {
        if (!label_fits(cmd, lpath, i, lab.data[i], o)) goto out;
        out->labels[i] = lab.data[i];
    }
    ok = 1;
out:
    gf_idx_free(&img);
    if (lab.data) gf_idx_free(&lab);
    return ok;
}

/* features [n, ...] and labels (class indices [n], one-hot rows [n,k], or
 * NULL) from .npy or CSV, into out. */
static int take_arrays(const char *cmd, const char *what, gf_tensor *x, gf_tensor *y, const gf_cli_test_options *o,
                       gf_cli_test *out)
{
    gf_shape xs = gf_tensor_shape(x);
    if (xs.rank < 1 || xs.dim[0] < 1) {
        fprintf(stderr, "gradflow %s: %s: no examples\n", cmd, what);
        return 0;
    }
    out->n = xs.dim[0];
    out->features = gf_tensor_count(x) / out->n;
    if (!features_fit(cmd, what, out->features, o)) return 0;
    out->images = malloc((size_t)gf_tensor_count(x) * sizeof(float) + 1);
    if (!out->images) {
        fprintf(stderr, "gradflow %s: out of memory\n", cmd);
        return 0;
    }
    const float *p = gf_tensor_data(x);
    for (int64_t i = 0; i < gf_tensor_count(x); i++) out->images[i] = o->scale > 0 ? p[i] / o->scale : p[i];
    if (!y) return 1;
    gf_shape ys = gf_tensor_shape(y);
    if (ys.dim[0] != out->n || ys.rank < 1 || ys.rank > 2) {
        fprintf(stderr, "gradflow %s: %s: %lld examples but labels of another count or shape\n", cmd, what,
                (long long)out->n);
        return 0;
    }
    out->labels = malloc((size_t)out->n * sizeof(int) + 1);
    if (!out->labels) {
        fprintf(stderr, "gradflow %s: out of memory\n", cmd);
        return 0;
    }
    int64_t k = ys.rank == 2 ? ys.dim[1] : 1;
    const float *l = gf_tensor_data(y);
    for (int64_t i = 0; i < out->n; i++) {
        double v = ys.rank == 2 ? 0 : l[i];
        for (int64_t j = 1; ys.rank == 2 && j < k; j++)
            if (l[i * k + j] > l[i * k + (int64_t)v]) v = (double)j;
        if (!label_fits(cmd, what, i, v, o)) return 0;
        out->labels[i] = (int)v;
    }
    return 1;
}

int gf_cli_load_test(const char *cmd, const char *where, const gf_cli_test_options *o, gf_cli_test *out)
{
    memset(out, 0, sizeof *out);
    struct stat sb;
    if (stat(where, &sb) != 0) { /* as train says it */
        char hint[4200];
        gf_cli_fetch_hint(where, hint, sizeof hint);
        fprintf(stderr, "gradflow %s: %s: no such file or directory; %s\n", cmd, where, hint);
        return 0;
    }
    int is_file = S_ISREG(sb.st_mode);
    /* A file: IDX or .npy by its first bytes, else CSV text (as train
     * takes it, whatever its name). */
    const int kind = is_file ? gf_source_file_kind(where) : GF_FILE_NONE;
    if (kind == GF_FILE_NPY) {
        fprintf(stderr, "gradflow %s: %s is a .npy file: give the folder that holds test_images.npy%s\n", cmd, where,
                o->labels ? " and test_labels.npy" : "");
        return 0;
    }
    int csv = kind == GF_FILE_TEXT;
    char ipath[4200], lpath[4200];
    snprintf(ipath, sizeof ipath, "%s/test_images.npy", where);
    snprintf(lpath, sizeof lpath, "%s/test_labels.npy", where);
    int npy = !is_file && exists(ipath);
    if (!csv && !npy) return load_idx(cmd, where, is_file, o, out) || (gf_cli_test_free(out), 0);
    gf_tensor *x = NULL, *y = NULL;
    gf_error err;
    int ok = 0;
    if (csv) {
        gf_csv_options co = { .delimiter = o->delimiter, .label_column = o->label_column, .no_labels = !o->labels };
        if (gf_csv_read(where, &co, &x, o->labels ? &y : NULL, &err) != GF_OK) goto fail;
    } else {
        if (gf_npy_read(ipath, &x, &err) != GF_OK) goto fail;
        if (o->labels == 1 || (o->labels == 2 && exists(lpath)))
            if (gf_npy_read(lpath, &y, &err) != GF_OK) goto fail;
    }
    ok = take_arrays(cmd, csv ? where : ipath, x, y, o, out);
    goto out;
fail:
    fprintf(stderr, "gradflow %s: %s\n", cmd, err.message);
out:
    gf_tensor_free(x);
    gf_tensor_free(y);
    if (!ok) gf_cli_test_free(out);
    return ok;
}

void gf_cli_test_free(gf_cli_test *t)
{
    free(t->images);
    free(t->labels);
    memset(t, 0, sizeof *t);
}
