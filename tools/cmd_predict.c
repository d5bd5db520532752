/*
 * cmd_predict.c — `gradflow predict FILE IMAGE...`: the class the network
 * of a model file (or an old checkpoint) answers for PGM or PNG images or
 * test images of a folder; warns when an image looks blank or inverted.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef GF_HAVE_PNG
#include <png.h>
#endif

#include "model_cli.h"
#include "test_data.h"
#include "cli.h"
#include "opts.h"

static const char predict_intro[] =
    "Loads the network saved in FILE (a model file, as 'gradflow train --save\n"
    "FILE' writes it, or an old checkpoint: see 'gradflow eval --help') and\n"
    "prints, for each IMAGE, the class it answers (the digit, for MNIST):\n"
    "\n"
    "  IMAGE  digit D  (p=P)[  label L]\n"
    "\n"
    "D is the output (\"probs\") with the largest value (the first on ties) and P\n"
    "that value. When the outputs are a softmax (--model softmax and cnn) P is\n"
    "the network's probability of D. The article's outputs are sigmoids, one\n"
    "per digit: P is in (0,1) but is not a calibrated probability and the ten\n"
    "need not sum to 1.\n"
    "L is the true label, for MNIST test images when the labels file is there.\n"
    "The images are run in batches of 1000 (100 for convolutional networks).\n"
    "\n"
    "IMAGE is one of (the formats predict reads: PGM, PNG and MNIST's IDX), of\n"
    "as many pixels as the network takes values (28x28 for MNIST's networks):\n"
    "  PATH.pgm      a PGM image, binary (P5) or ASCII (P2), e.g. 28x28 pixels,\n"
    "                maxval 1..65535 (8 or 16 bits; comments allowed). Pixels\n"
    "                are scaled to value/maxval.\n"
    "  PATH.png      a PNG image, e.g. 28x28 pixels, any colour type and depth,\n"
    "                read as gray; a transparent pixel counts as white paper\n"
    "                (alpha is composited over white, as a viewer shows it).\n"
    "                Needs a build with libpng (Debian: libpng-dev); without it,\n"
    "                convert to PGM, e.g. 'pngtopnm in.png | ppmtopgm > out.pgm'.\n"
    "  idx:DIR:N     test image N (from 0) of the MNIST folder DIR\n"
    "                (DIR/t10k-images-idx3-ubyte[.gz]), or of a folder of .npy\n"
    "                files (DIR/test_images.npy, divided by the X of 'train\n"
    "                --scale X' when the model was trained so); DIR may also\n"
    "                be an IDX image file itself (no label then).\n"
    "\n"
    "MNIST's networks were trained on a light digit (high values) on a dark\n"
    "background (0), centred, about 20x20. A PGM or PNG whose border is mostly\n"
    "light looks like dark ink on paper: predict says so on stderr and suggests\n"
    "--invert (and says when an image is blank).\n";

static const char predict_epilog[] =
    "An IMAGE that cannot be read is reported on stderr and skipped; the others\n"
    "are still predicted.\n"
    "\n"
    "Exit status: 0 every image predicted; 1 failure (unreadable, damaged or\n"
    "mismatched FILE, any IMAGE unreadable); 2 usage error.\n";

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

/* The pixels an image must have: the network's input size. */
static int64_t want_pixels = 784;
/* What .npy and CSV features are divided by: the model's "input_scale"
 * (train --scale), or 0 (as they are). */
static float model_scale;

/* w x h against want_pixels: 1, or 0 said on stderr. */
static int size_fits(const char *path, long w, long h)
{
    if ((int64_t)w * h == want_pixels) return 1;
    char b[64];
    fprintf(stderr, "gradflow predict: %s: %ldx%ld pixels, expected %s (the network takes %lld values)\n", path, w,
            h, gf_cli_size_text(want_pixels, b, sizeof b), (long long)want_pixels);
    return 0;
}

#ifdef GF_HAVE_PNG
/* Reads a PNG of want_pixels pixels (any colour type, through libpng's
 * simplified API, as 8-bit gray and alpha) into px (values in [0,1]) and
 * its width into *width, compositing alpha
 * over white paper; prints why not. */
static int read_png(const char *path, float *px, long *width)
{
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&im, path)) {
        fprintf(stderr, "gradflow predict: %s: a damaged or truncated PNG image (libpng: %s)\n", path, im.message);
        return 0;
    }
    if (!size_fits(path, (long)im.width, (long)im.height)) {
        png_image_free(&im);
        return 0;
    }
    *width = (long)im.width;
    unsigned char *ga = malloc(2 * (size_t)want_pixels);
    if (!ga) {
        fprintf(stderr, "gradflow predict: out of memory\n");
        png_image_free(&im);
        return 0;
    }
    im.format = PNG_FORMAT_GA;
    if (!png_image_finish_read(&im, NULL, ga, (png_int_32)(2 * im.width), NULL)) {
        fprintf(stderr, "gradflow predict: %s: a damaged or truncated PNG image (libpng: %s)\n", path, im.message);
        png_image_free(&im);
        free(ga);
        return 0;
    }
    for (int64_t k = 0; k < want_pixels; k++) {
        int gray = ga[2 * k], alpha = ga[2 * k + 1];
        px[k] = (float)(gray * alpha + 255 * (255 - alpha)) / (255.0f * 255.0f);
    }
    free(ga);
    return 1;
}
#endif

/* What a file that is neither PGM nor PNG looks like, for the message. */
static const char *other_format(const unsigned char *b, size_t n)
{
    if (n >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff) return "a JPEG image";
    if (n >= 4 && !memcmp(b, "GIF8", 4)) return "a GIF image";
    if (n >= 2 && !memcmp(b, "BM", 2)) return "a BMP image";
    if (n >= 12 && !memcmp(b, "RIFF", 4) && !memcmp(b + 8, "WEBP", 4)) return "a WebP image";
    if (n >= 2 && b[0] == 'P' && (b[1] == '1' || b[1] == '4')) return "a PBM (bitmap) image, not PGM";
    if (n >= 2 && b[0] == 'P' && (b[1] == '3' || b[1] == '6')) return "a PPM (colour) image, not PGM";
    if (n >= 2 && b[0] == 'P' && b[1] == '7') return "a PAM image, not PGM";
    if (n >= 5 && !memcmp(b, "<?xml", 5)) return "an XML (perhaps SVG) file";
    if (n >= 4 && !memcmp(b, "<svg", 4)) return "an SVG file";
    return NULL;
}

/* Reads a PGM or PNG of want_pixels pixels into px (values in [0,1],
 * light ink on dark as given, before any --invert) and its width into
 * *width; prints why not. */
static int read_image(const char *path, float *px, long *width)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "gradflow predict: %s: %s\n", path, strerror(errno));
        return 0;
    }
    /* Enough for an ASCII PGM of want_pixels 16-bit values and comments. */
    size_t cap = 65536 + 8 * (size_t)want_pixels;
    unsigned char *b = malloc(cap);
    if (!b) {
        fclose(f);
        fprintf(stderr, "gradflow predict: out of memory\n");
        return 0;
    }
    size_t n = fread(b, 1, cap, f);
    int err = ferror(f);
    fclose(f);
    int ok = 0;
    if (err) {
        fprintf(stderr, "gradflow predict: %s: read error\n", path);
        goto out;
    }
    if (n >= 8 && !memcmp(b, "\x89PNG\r\n\x1a\n", 8)) {
#ifdef GF_HAVE_PNG
        ok = read_png(path, px, width);
#else
        fprintf(stderr, "gradflow predict: %s: a PNG image, but this gradflow was built without libpng: convert it "
                        "to PGM ('pngtopnm in.png | ppmtopgm > out.pgm') or rebuild with libpng-dev\n", path);
#endif
        goto out;
    }
    if (n < 2 || b[0] != 'P' || (b[1] != '5' && b[1] != '2')) {
        const char *what = other_format(b, n);
#ifdef GF_HAVE_PNG
        const char *and_png = " and PNG", *or_png = " or PNG";
#else
        const char *and_png = "", *or_png = ""; /* this build reads no PNG */
#endif
        if (what)
            fprintf(stderr, "gradflow predict: %s: %s; predict reads PGM (P5 or P2)%s images: convert it to one\n",
                    path, what, and_png);
        else
            fprintf(stderr, "gradflow predict: %s: not a PGM (P5 or P2)%s image, the formats predict reads\n", path,
                    or_png);
        goto out;
    }
    int binary = b[1] == '5';
    size_t i = 2;
    long w = pgm_number(b, n, &i), h = pgm_number(b, n, &i), maxval = pgm_number(b, n, &i);
    if (w < 0 || h < 0 || maxval < 0) {
        fprintf(stderr, "gradflow predict: %s: a bad or truncated PGM header\n", path);
        goto out;
    }
    if (!size_fits(path, w, h)) goto out;
    *width = w;
    if (maxval < 1) {
        fprintf(stderr, "gradflow predict: %s: maxval %ld, expected 1 to 65535\n", path, maxval);
        goto out;
    }
    int bytes = maxval > 255 ? 2 : 1; /* P5: 16-bit samples are big-endian */
    if (binary) {
        if (i >= n || !isspace(b[i])) {
            fprintf(stderr, "gradflow predict: %s: a bad PGM header\n", path);
            goto out;
        }
        i++; /* the single whitespace before the raster */
        if (n - i < (size_t)(want_pixels * bytes)) {
            fprintf(stderr, "gradflow predict: %s: truncated: %zu of %lld pixels\n", path, (n - i) / (size_t)bytes,
                    (long long)want_pixels);
            goto out;
        }
    }
    for (int64_t k = 0; k < want_pixels; k++) {
        long v;
        if (!binary) v = pgm_number(b, n, &i);
        else if (bytes == 1) v = b[i++];
        else v = (long)b[i] << 8 | b[i + 1], i += 2;
        if (v < 0) {
            fprintf(stderr, "gradflow predict: %s: truncated or bad pixel data at pixel %lld\n", path, (long long)k);
            goto out;
        }
        if (v > maxval) {
            fprintf(stderr, "gradflow predict: %s: pixel %lld is %ld, above maxval %ld\n", path, (long long)k, v,
                    maxval);
            goto out;
        }
        px[k] = (float)v / (float)maxval;
    }
    ok = 1;
out:
    free(b);
    return ok;
}

/* Applies --invert and says on stderr when the image (w pixels wide) looks
 * blank or like dark ink on light paper, which a network trained on
 * MNIST's light digits on black answers confidently and wrongly. */
static void check_ink(const char *path, int invert, float *px, long w)
{
    int64_t n = want_pixels, h = w > 0 ? n / w : 0;
    if (invert)
        for (int64_t k = 0; k < n; k++) px[k] = 1.0f - px[k];
    float lo = px[0], hi = px[0];
    double border = 0;
    int64_t on_border = 0;
    for (int64_t k = 0; k < n; k++) {
        if (px[k] < lo) lo = px[k];
        if (px[k] > hi) hi = px[k];
        int64_t r = k / w, c = k % w;
        if (r == 0 || r == h - 1 || c == 0 || c == w - 1) {
            border += px[k];
            on_border++;
        }
    }
    border /= (double)(on_border ? on_border : 1);
    if (hi - lo < 1.0f / 255) {
        fprintf(stderr, "gradflow predict: %s: warning: the image is blank (every pixel %.2f): there is no digit "
                        "to see\n", path, (double)lo);
    } else if (border > 0.5) {
        fprintf(stderr, "gradflow predict: %s: warning: looks inverted: its border averages %.2f, where MNIST "
                        "digits are light on a black (0) background; %s\n", path, border,
                invert ? "leave out --invert" : "for dark ink on light paper give --invert");
    }
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
        gf_cli_test_options o = { .labels = 2, .features = want_pixels, .scale = model_scale };
        if (!gf_cli_load_test("predict", c->where, &o, &c->test)) {
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
    memcpy(px, c->test.images + want_pixels * k, (size_t)want_pixels * sizeof(float));
    *label = c->test.labels ? c->test.labels[k] : -1;
    return 1;
}

int gf_cli_predict(int argc, char **argv)
{
    const char *file = NULL;
    int64_t hidden = -1;
    int json = 0, invert = 0, n_images = 0;
    gf_opt opts[] = {
        GF_OPT_I("--hidden", "N", 1, 100000,
                 "an old checkpoint's hidden units (default: read from FILE);\na model file says its own sizes",
                 &hidden),
        GF_OPT_F("--invert", "use 1 - value for PGM and PNG pixels (dark ink on light\npaper)", &invert),
        GF_OPT_F("--json",
                 "one JSON object per image: {\"image\":IMAGE,\"digit\":D,\"p\":P,\n"
                 "\"outputs\":[one value per class],\"label\":L (test sets\n"
                 "with labels only)}",
                 &json),
    };
    gf_cmd_spec spec = { "predict", "gradflow predict FILE IMAGE... [--invert] [--json]", predict_intro,
                         predict_epilog, opts, GF_OPTS_N(opts) };
    const char **images = calloc((size_t)argc + 1, sizeof *images);
    if (!images) return GF_EXIT_FAIL;
    int parsed = gf_opts_parse(&spec, argc, argv, images, &n_images);
    if (parsed != GF_OPTS_CONTINUE) {
        free(images);
        return parsed;
    }
    if (n_images < 2) {
        free(images);
        return gf_opts_usage_error(&spec, "%s (usage: gradflow predict FILE IMAGE... [--invert] [--json])",
                                   n_images ? "no IMAGE given" : "missing the model FILE and IMAGEs");
    }
    file = images[0];
    images++; /* freed as images - 1 */
    n_images--;

    gf_cli_net net = { 0 };
    float *outs = NULL, *px = NULL;
    idx_cache cache = { 0 };
    int *label = malloc((size_t)n_images * sizeof *label), *good = malloc((size_t)n_images * sizeof *good);
    int rc = GF_EXIT_FAIL, n_good = 0, failed = 0;
    if (!label || !good) {
        fprintf(stderr, "gradflow predict: out of memory\n");
        goto out;
    }
    if (!gf_cli_net_load("predict", file, (int)hidden, &net)) goto out;
    want_pixels = net.features;
    model_scale = net.input_scale;
    int64_t k = net.n_classes;
    px = malloc((size_t)(n_images * want_pixels) * sizeof *px);
    if (!px) {
        fprintf(stderr, "gradflow predict: out of memory\n");
        goto out;
    }
    for (int i = 0; i < n_images; i++) {
        int ok;
        long w = 0;
        float *at = px + want_pixels * n_good;
        label[n_good] = -1;
        if (!strncmp(images[i], "idx:", 4)) ok = read_idx(images[i], &cache, at, &label[n_good]);
        else if ((ok = read_image(images[i], at, &w))) check_ink(images[i], invert, at, w);
        if (ok) good[n_good++] = i;
        else failed = 1;
    }
    if (n_good) {
        outs = malloc((size_t)(n_good * k) * sizeof *outs);
        if (!outs) {
            fprintf(stderr, "gradflow predict: out of memory\n");
            goto out;
        }
        if (!gf_cli_net_outputs("predict", &net, px, n_good, outs)) goto out;
        for (int i = 0; i < n_good; i++) {
            const float *row = outs + k * i;
            int best = gf_cli_argmax(row, k);
            const char *name = images[good[i]];
            if (json) {
                printf("{\"image\":");
                gf_cli_json_string(stdout, name);
                printf(",\"digit\":%d,\"p\":%.6f,\"outputs\":[", best, (double)row[best]);
                for (int64_t j = 0; j < k; j++) printf("%s%.6f", j ? "," : "", (double)row[j]);
                printf("]");
                if (label[i] >= 0) printf(",\"label\":%d", label[i]);
                printf("}\n");
            } else {
                printf("%s  digit %d  (p=%.3f)", name, best, (double)row[best]);
                if (label[i] >= 0) printf("  label %d", label[i]);
                printf("\n");
            }
        }
    }
    rc = failed ? GF_EXIT_FAIL : GF_EXIT_OK;
out:
    free(outs);
    free(cache.where);
    gf_cli_test_free(&cache.test);
    free(px);
    free(label);
    free(good);
    free(images - 1);
    gf_cli_net_free(&net);
    return rc;
}
