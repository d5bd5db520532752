/*
 * cmd_predict.c — `gradflow predict FILE IMAGE...`: the digit the article's
 * network, restored from a checkpoint, sees in PGM images or MNIST test images.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef GF_HAVE_PNG
#include <png.h>
#endif

#include "ckpt_cli.h"
#include "cli.h"

static void predict_usage(FILE *f)
{
    fprintf(f,
        "usage: gradflow predict FILE IMAGE... [--hidden N] [--invert] [--json]\n"
        "\n"
        "Restores the article's 784-H-10 sigmoid network from the checkpoint FILE\n"
        "(written by 'gradflow train --save FILE') and prints, for each IMAGE, the\n"
        "digit it answers:\n"
        "\n"
        "  IMAGE  digit D  (p=P)[  label L]\n"
        "\n"
        "D is the output unit with the largest value (the first on ties) and P that\n"
        "value. The article's outputs are sigmoids, one per digit, not a softmax: P is\n"
        "in (0,1) but is not a calibrated probability and the ten need not sum to 1.\n"
        "L is the true label, for MNIST test images when the labels file is there.\n"
        "All images are run as one batch.\n"
        "\n"
        "IMAGE is one of:\n"
        "  PATH.pgm      a PGM image, binary (P5) or ASCII (P2), 28x28 pixels,\n"
        "                maxval 1..255 (comments allowed). Pixels are scaled to\n"
        "                value/maxval. The network was trained on MNIST: a light digit\n"
        "                (high values) on a dark background (0), centred, about 20x20;\n"
        "                use --invert for dark-on-light drawings.\n"
        "  idx:DIR:N     test image N (from 0) of the MNIST folder DIR\n"
        "                (DIR/t10k-images-idx3-ubyte[.gz]); DIR may also be an IDX\n"
        "                image file itself (no label then).\n"
        "  PATH.png      a PNG image, 28x28 pixels, any colour type (read as 8-bit\n"
        "                gray, value/255), when gradflow is built with libpng\n"
        "                (Debian: libpng-dev); otherwise convert it to PGM first, e.g.\n"
        "                'pngtopnm in.png | ppmtopgm > out.pgm' (netpbm).\n"
        "\n"
        "Options:\n"
        "  --hidden N    hidden units of the network saved in FILE (default 30)\n"
        "  --invert      use maxval-value for PGM pixels (dark ink on white paper)\n"
        "  --json        one JSON object per image: {\"image\":IMAGE,\"digit\":D,\"p\":P,\n"
        "                \"outputs\":[10 values],\"label\":L (MNIST only)}\n"
        "  -h, --help    this help\n"
        "\n"
        "An IMAGE that cannot be read is reported on stderr and skipped; the others\n"
        "are still predicted.\n"
        "\n"
        "Exit status: 0 every image predicted; 1 failure (unreadable, damaged or\n"
        "mismatched checkpoint, any IMAGE unreadable); 2 usage error.\n");
}

/* ---- PGM ---- */

/* Skips whitespace and '#' comments (to the end of their line). */
static size_t pgm_space(const unsigned char *b, size_t n, size_t i)
{
    while (i < n) {
        if (b[i] == '#')
            while (i < n && b[i] != '\n' && b[i] != '\r') i++;
        else if (isspace(b[i]))
            i++;
        else
            break;
    }
    return i;
}

/* A decimal number after optional whitespace/comments; -1 when none or
 * above 65535. */
static long pgm_number(const unsigned char *b, size_t n, size_t *i)
{
    *i = pgm_space(b, n, *i);
    if (*i >= n || !isdigit(b[*i])) return -1;
    long v = 0;
    while (*i < n && isdigit(b[*i])) {
        v = v * 10 + (b[*i] - '0');
        if (v > 65535) return -1;
        (*i)++;
    }
    return v;
}

#ifdef GF_HAVE_PNG
/* Reads a 28x28 PNG (any colour type, read as 8-bit gray through libpng's
 * simplified API) into px (784 floats in [0,1]); prints why not. */
static int read_png(const char *path, int invert, float *px)
{
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&im, path)) {
        fprintf(stderr, "gradflow predict: %s: %s\n", path, im.message);
        return 0;
    }
    if (im.width != 28 || im.height != 28) {
        fprintf(stderr, "gradflow predict: %s: %ux%u pixels, expected 28x28\n", path, im.width, im.height);
        png_image_free(&im);
        return 0;
    }
    unsigned char gray[784];
    im.format = PNG_FORMAT_GRAY;
    if (!png_image_finish_read(&im, NULL, gray, 28, NULL)) {
        fprintf(stderr, "gradflow predict: %s: %s\n", path, im.message);
        png_image_free(&im);
        return 0;
    }
    for (int k = 0; k < 784; k++) px[k] = (float)(invert ? 255 - gray[k] : gray[k]) / 255.0f;
    return 1;
}
#endif

/* Reads a 28x28 PGM (or PNG) into px (784 floats in [0,1]); prints why not. */
static int read_pgm(const char *path, int invert, float *px)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "gradflow predict: %s: %s\n", path, strerror(errno));
        return 0;
    }
    static unsigned char b[1 << 16];
    size_t n = fread(b, 1, sizeof b, f);
    int err = ferror(f);
    fclose(f);
    if (err) {
        fprintf(stderr, "gradflow predict: %s: read error\n", path);
        return 0;
    }
#ifdef GF_HAVE_PNG
    if (n >= 8 && !memcmp(b, "\x89PNG\r\n\x1a\n", 8)) return read_png(path, invert, px);
#endif
    if (n < 2 || b[0] != 'P' || (b[1] != '5' && b[1] != '2')) {
        fprintf(stderr, "gradflow predict: %s: not a PGM image (P5 or P2)%s\n", path,
                n >= 4 && !memcmp(b, "\x89PNG", 4) ? ": PNG is not supported, convert it to PGM (see --help)" : "");
        return 0;
    }
    int binary = b[1] == '5';
    size_t i = 2;
    long w = pgm_number(b, n, &i), h = pgm_number(b, n, &i), maxval = pgm_number(b, n, &i);
    if (w < 0 || h < 0 || maxval < 0) {
        fprintf(stderr, "gradflow predict: %s: a bad or truncated PGM header\n", path);
        return 0;
    }
    if (w != 28 || h != 28) {
        fprintf(stderr, "gradflow predict: %s: %ldx%ld pixels, expected 28x28\n", path, w, h);
        return 0;
    }
    if (maxval < 1 || maxval > 255) {
        fprintf(stderr, "gradflow predict: %s: maxval %ld, expected 1 to 255\n", path, maxval);
        return 0;
    }
    if (binary) {
        if (i >= n || !isspace(b[i])) {
            fprintf(stderr, "gradflow predict: %s: a bad PGM header\n", path);
            return 0;
        }
        i++; /* the single whitespace before the raster */
        if (n - i < 784) {
            fprintf(stderr, "gradflow predict: %s: truncated: %zu of 784 pixels\n", path, n - i);
            return 0;
        }
    }
    for (int k = 0; k < 784; k++) {
        long v = binary ? b[i++] : pgm_number(b, n, &i);
        if (v < 0) {
            fprintf(stderr, "gradflow predict: %s: truncated or bad pixel data at pixel %d\n", path, k);
            return 0;
        }
        if (v > maxval) {
            fprintf(stderr, "gradflow predict: %s: pixel %d is %ld, above maxval %ld\n", path, k, v, maxval);
            return 0;
        }
        px[k] = (float)(invert ? maxval - v : v) / (float)maxval;
    }
    return 1;
}

/* ---- idx:DIR:N ---- */

typedef struct idx_cache {
    char *where;
    gf_cli_test test;
} idx_cache;

static int read_idx(const char *spec, idx_cache *c, float *px, int *label)
{
    const char *colon = strrchr(spec + 4, ':');
    char *end;
    if (!colon || colon == spec + 4) {
        fprintf(stderr, "gradflow predict: %s: expected idx:DIR:N\n", spec);
        return 0;
    }
    errno = 0;
    long long k = strtoll(colon + 1, &end, 10);
    if (errno || end == colon + 1 || *end || k < 0) {
        fprintf(stderr, "gradflow predict: %s: N must be an image number from 0\n", spec);
        return 0;
    }
    size_t len = (size_t)(colon - (spec + 4));
    if (!c->where || strlen(c->where) != len || strncmp(c->where, spec + 4, len)) {
        free(c->where);
        gf_cli_test_free(&c->test);
        c->where = malloc(len + 1);
        if (!c->where) return 0;
        memcpy(c->where, spec + 4, len);
        c->where[len] = '\0';
        if (!gf_cli_load_test("predict", c->where, 2, &c->test)) {
            free(c->where);
            c->where = NULL;
            return 0;
        }
    }
    if (k >= c->test.n) {
        fprintf(stderr, "gradflow predict: %s: image %lld does not exist (%lld images, 0 to %lld)\n", spec, k,
                (long long)c->test.n, (long long)c->test.n - 1);
        return 0;
    }
    memcpy(px, c->test.images + 784 * k, 784 * sizeof(float));
    *label = c->test.labels ? c->test.labels[k] : -1;
    return 1;
}

int gf_cli_predict(int argc, char **argv)
{
    const char *file = NULL;
    int64_t hidden = 30;
    int json = 0, invert = 0, n_images = 0;
    const char **images = calloc((size_t)argc + 1, sizeof *images);
    if (!images) return GF_EXIT_FAIL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            predict_usage(stdout);
            free(images);
            return GF_EXIT_OK;
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else if (!strcmp(a, "--invert")) {
            invert = 1;
        } else if (!strcmp(a, "--hidden")) {
            if (!gf_cli_int("predict", a, v, 1, 100000, &hidden)) {
                free(images);
                return GF_EXIT_USAGE;
            }
            i++;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "gradflow predict: unknown option '%s' (try 'gradflow predict --help')\n", a);
            free(images);
            return GF_EXIT_USAGE;
        } else if (!file) {
            file = a;
        } else {
            images[n_images++] = a;
        }
    }
    if (!file || !n_images) {
        fprintf(stderr, "gradflow predict: %s (usage: gradflow predict FILE IMAGE... [--hidden N] [--invert] "
                        "[--json])\n", file ? "no IMAGE given" : "missing the checkpoint FILE and IMAGEs");
        free(images);
        return GF_EXIT_USAGE;
    }

    gf_article_net net = { 0 };
    gf_session *s = NULL;
    gf_tensor *xs = NULL;
    idx_cache cache = { 0 };
    float *px = malloc((size_t)n_images * 784 * sizeof *px);
    int *label = malloc((size_t)n_images * sizeof *label), *good = malloc((size_t)n_images * sizeof *good);
    int rc = GF_EXIT_FAIL, n_good = 0, failed = 0;
    if (!px || !label || !good) {
        fprintf(stderr, "gradflow predict: out of memory\n");
        goto out;
    }
    if (!gf_cli_load_article("predict", file, (int)hidden, &net, &s)) goto out;
    for (int i = 0; i < n_images; i++) {
        int ok;
        label[n_good] = -1;
        if (!strncmp(images[i], "idx:", 4)) ok = read_idx(images[i], &cache, px + 784 * n_good, &label[n_good]);
        else ok = read_pgm(images[i], invert, px + 784 * n_good);
        if (ok) good[n_good++] = i;
        else failed = 1;
    }
    if (n_good) {
        gf_error err;
        xs = gf_tensor_wrap(GF_F32, gf_dims(2, n_good, 784), px, &err);
        if (!xs) {
            fprintf(stderr, "gradflow predict: %s\n", err.message);
            goto out;
        }
        gf_feed feed = { net.a_0, xs };
        const gf_tensor *a2;
        if (gf_session_run(s, &feed, 1, &net.a_2, 1, NULL, 0, &a2) != GF_OK) {
            fprintf(stderr, "gradflow predict: %s\n", gf_session_error(s));
            goto out;
        }
        for (int k = 0; k < n_good; k++) {
            const float *row = gf_tensor_data(a2) + 10 * k;
            int best = 0;
            for (int j = 1; j < 10; j++)
                if (row[j] > row[best]) best = j;
            const char *name = images[good[k]];
            if (json) {
                printf("{\"image\":");
                gf_cli_json_string(stdout, name);
                printf(",\"digit\":%d,\"p\":%.6f,\"outputs\":[", best, (double)row[best]);
                for (int j = 0; j < 10; j++) printf("%s%.6f", j ? "," : "", (double)row[j]);
                printf("]");
                if (label[k] >= 0) printf(",\"label\":%d", label[k]);
                printf("}\n");
            } else {
                printf("%s  digit %d  (p=%.3f)", name, best, (double)row[best]);
                if (label[k] >= 0) printf("  label %d", label[k]);
                printf("\n");
            }
        }
    }
    rc = failed ? GF_EXIT_FAIL : GF_EXIT_OK;
out:
    gf_tensor_free(xs);
    free(cache.where);
    gf_cli_test_free(&cache.test);
    free(px);
    free(label);
    free(good);
    free(images);
    gf_session_free(s);
    gf_graph_free(net.g);
    return rc;
}
