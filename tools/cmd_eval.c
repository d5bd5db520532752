/*
 * cmd_eval.c — `gradflow eval FILE`: runs the network of a model file (or
 * of an old checkpoint) on a test set and reports its accuracy and
 * confusion matrix.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_cli.h"
#include "test_data.h"
#include "data_source.h"
#include "cli.h"
#include "atomic_file.h"
#include "errors_png.h"
#include "opts.h"

static const char eval_intro[] =
    "Runs the network saved in FILE on every example of the test set of PATH,\n"
    "1000 at a time (100 for convolutional networks), and prints the number of\n"
    "correct answers, the accuracy and the confusion matrix. An answer is the\n"
    "output with the largest value (the first on ties), as the article's acct_res\n"
    "counts them, so the count equals what 'gradflow train --eval-size' reports\n"
    "for the same examples.\n"
    "\n"
    "FILE is a model file (what 'gradflow train --save' writes; any network whose\n"
    "signature names an \"images\" input [?,N] and a \"probs\" output [?,K], e.g.\n"
    "one built in C and saved with gf_model_save): its sizes come from the file,\n"
    "and the test examples must have N values and labels below K. FILE may also\n"
    "be a checkpoint of an older gradflow train (variables only), recognised from\n"
    "its tensors: --model article, softmax (H read from the file) or cnn. FILE is\n"
    "checked whole before use: a damaged or truncated file is refused with a\n"
    "message naming the section or tensor and the problem\n"
    "(docs/model-format.md, docs/checkpoint-format.md).\n";

static const char eval_epilog[] =
    "Exit status: 0 success; 1 failure (unreadable, damaged or mismatched FILE,\n"
    "missing or bad data); 2 usage error.\n";

/* The confusion matrix, k x k, as text: printed for up to 30 classes. */
static void print_confusion(const int64_t *confusion, int64_t k)
{
    if (k > 30) {
        printf("confusion matrix: %lld classes, too many to print (--json gives it)\n", (long long)k);
        return;
    }
    printf("confusion matrix (rows: true class, columns: answer)\n     ");
    for (int64_t c = 0; c < k; c++) printf(" %5lld", (long long)c);
    printf("\n");
    for (int64_t r = 0; r < k; r++) {
        printf(" %2lld  ", (long long)r);
        for (int64_t c = 0; c < k; c++) printf(" %5lld", (long long)confusion[r * k + c]);
        printf("\n");
    }
}

int gf_cli_eval(int argc, char **argv)
{
    const char *file = NULL, *dir = "data/mnist", *delimiter = NULL;
    int64_t hidden = -1, label_column = 0;
    float scale = 0;
    int json = 0;
    const char *errors_png = NULL;
    int64_t errors_max = 100;
    gf_opt opts[] = {
        GF_OPT_S("--data", "PATH",
                 "the test set (default data/mnist): an MNIST folder holding\n"
                 "t10k-images-idx3-ubyte[.gz] and t10k-labels-idx1-ubyte[.gz]\n"
                 "(the training files are not needed; any image size and\n"
                 "class count), a folder holding test_images.npy and\n"
                 "test_labels.npy, or a CSV file (a label column, then the\n"
                 "features)",
                 &dir),
        GF_OPT_I("--label-column", "N", -1000000, 1000000,
                 "a CSV file's label column, 0-based; negative counts from\nthe end (default 0)", &label_column),
        GF_OPT_S("--delimiter", "C", "a CSV file's field separator: one character, or 'tab'\n(default ',')",
                 &delimiter),
        GF_OPT_X("--scale", "X", 1e-30, 1e30,
                 "divide .npy and CSV features by X (default: the X of\n'train --scale X', which the model file keeps; else taken\nas they are)", &scale),
        GF_OPT_I("--hidden", "N", 1, 100000,
                 "an old checkpoint's hidden units (default: read from FILE;\nanother N is refused, naming the "
                 "tensor); a model file\nsays its own sizes",
                 &hidden),
        GF_OPT_F("--json",
                 "print one JSON object instead of text:\n"
                 "{\"file\":FILE,\"format\":\"model\" or \"checkpoint\",\"data\":PATH,\n"
                 " \"classes\":K,\"correct\":C,\"total\":T,\"accuracy\":C/T,\n"
                 " \"confusion\":[[...],...]} (a checkpoint adds \"model\" and\n"
                 "\"hidden\") where confusion[i][j] counts the test examples\n"
                 "of class i that the network answered j",
                 &json),
        GF_OPT_S("--errors", "FILE.png",
                 "also write a PNG picture of the misclassified test digits\n"
                 "(networks of 28x28 inputs), the first --errors-max of them\n"
                 "in test-set order, ten to a row, each drawn 2x (dark ink\n"
                 "on white) over \"T7 P2\": its true label in green, the\n"
                 "network's answer in red. FILE must end in .png. Written\n"
                 "atomically with libpng (a build without libpng says so\n"
                 "and fails); adds \"errors_png\":FILE,\"errors_shown\":N to\n"
                 "--json",
                 &errors_png),
        GF_OPT_I("--errors-max", "N", 1, 100000, "at most N digits in that picture (default 100; needs\n--errors)",
                 &errors_max),
    };
    gf_cmd_spec spec = { "eval", "gradflow eval FILE [--data PATH] [--json] [--errors FILE.png]", eval_intro,
                         eval_epilog, opts, GF_OPTS_N(opts) };
    const char *first;
    int parsed = gf_opts_parse_file(&spec, argc, argv, &first);
    if (parsed != GF_OPTS_CONTINUE) return parsed;
    if (!first)
        return gf_opts_usage_error(&spec, "missing the model FILE (usage: gradflow eval FILE [--data PATH] [--json] "
                                          "[--errors FILE.png])");
    file = first;
    if (gf_opts_given(&spec, "--errors-max") && !errors_png)
        return gf_opts_usage_error(&spec, "--errors-max limits the --errors picture; give --errors FILE.png too");
    if (errors_png && !gf_opts_has_ext(errors_png, ".png"))
        return gf_opts_usage_error(&spec, "--errors %s: the picture is written as PNG; give a FILE ending in .png",
                                   errors_png);

    if (errors_png && !gf_errors_png_available()) {
        fprintf(stderr, "gradflow eval: --errors %s: gradflow was built without libpng, so it cannot write "
                        "PNG files; install libpng-dev (Debian; scripts/install-deps does it) and rebuild\n",
                errors_png);
        return GF_EXIT_FAIL;
    }
    char errors_msg[4400];
    if (errors_png && !gf_atomic_dir_ok(errors_png, errors_msg, sizeof errors_msg)) {
        fprintf(stderr, "gradflow eval: --errors %s\n", errors_msg);
        return GF_EXIT_FAIL;
    }
    int errors_shown = 0;
    gf_cli_net net = { 0 };
    gf_cli_test test = { 0 };
    float *out = NULL;
    int64_t *confusion = NULL;
    int rc = GF_EXIT_FAIL;
    if (!gf_cli_net_load("eval", file, (int)hidden, &net)) goto out;
    int64_t k = net.n_classes;
    if (errors_png && (net.features != 784 || k > 256)) {
        fprintf(stderr, "gradflow eval: --errors draws 28x28 digits of at most 256 classes; %s takes %lld values "
                        "and has %lld classes\n", file, (long long)net.features, (long long)k);
        goto out;
    }
    char msg[256];
    gf_cli_test_options to = { .labels = 1, .features = net.features, .classes = k,
                               .label_column = (int)label_column, .scale = scale > 0 ? scale : net.input_scale,
                               .delimiter = gf_source_delimiter(delimiter, msg, sizeof msg) };
    if (!to.delimiter) {
        fprintf(stderr, "gradflow eval: %s\n", msg);
        goto out;
    }
    if (!gf_cli_load_test("eval", dir, &to, &test)) goto out;
    if (test.n < 1) {
        fprintf(stderr, "gradflow eval: %s: the test set is empty\n", dir);
        goto out;
    }
    out = malloc((size_t)(test.n * k) * sizeof *out);
    confusion = calloc((size_t)(k * k), sizeof *confusion);
    if (!out || !confusion) {
        fprintf(stderr, "gradflow eval: out of memory\n");
        goto out;
    }
    if (!gf_cli_net_outputs("eval", &net, test.images, test.n, out)) goto out;
    int64_t correct = 0;
    for (int64_t i = 0; i < test.n; i++) {
        int best = gf_cli_argmax(out + k * i, k);
        confusion[test.labels[i] * k + best]++;
        correct += best == test.labels[i];
    }
    double accuracy = (double)correct / (double)test.n;
    if (errors_png) {
        int64_t n_err = test.n - correct;
        int cap = (int)(n_err < errors_max ? n_err : errors_max);
        const float **img = malloc((size_t)cap * sizeof *img + 1);
        uint8_t *truth = malloc((size_t)cap + 1), *guess = malloc((size_t)cap + 1);
        if (!img || !truth || !guess) {
            fprintf(stderr, "gradflow eval: out of memory\n");
            free(img), free(truth), free(guess);
            goto out;
        }
        for (int64_t i = 0; i < test.n && errors_shown < cap; i++) {
            int best = gf_cli_argmax(out + k * i, k);
            if (best == test.labels[i]) continue;
            img[errors_shown] = test.images + 784 * i;
            truth[errors_shown] = (uint8_t)test.labels[i];
            guess[errors_shown++] = (uint8_t)best;
        }
        int written = gf_errors_png_write(errors_png, img, truth, guess, errors_shown, n_err, test.n, errors_msg,
                                          sizeof errors_msg);
        free(img), free(truth), free(guess);
        if (!written) {
            fprintf(stderr, "gradflow eval: --errors %s\n", errors_msg);
            goto out;
        }
    }
    if (json) {
        printf("{\"file\":");
        gf_cli_json_string(stdout, file);
        printf(",\"format\":\"%s\"", net.model ? "model" : "checkpoint");
        if (!net.model) printf(",\"model\":\"%s\"", net.name);
        if (!net.model && net.hidden) printf(",\"hidden\":%d", net.hidden);
        printf(",\"data\":");
        gf_cli_json_string(stdout, dir);
        printf(",\"classes\":%lld,\"correct\":%lld,\"total\":%lld,\"accuracy\":%.6f,\"confusion\":[", (long long)k,
               (long long)correct, (long long)test.n, accuracy);
        for (int64_t r = 0; r < k; r++) {
            printf("%s[", r ? "," : "");
            for (int64_t c = 0; c < k; c++) printf("%s%lld", c ? "," : "", (long long)confusion[r * k + c]);
            printf("]");
        }
        printf("]");
        if (errors_png) {
            printf(",\"errors_png\":");
            gf_cli_json_string(stdout, errors_png);
            printf(",\"errors_shown\":%d", errors_shown);
        }
        printf("}\n");
    } else {
        printf("%s: %s (%s)\n", net.model ? "model" : "checkpoint", file, net.desc);
        printf("data: %s, %lld test examples", dir, (long long)test.n);
        if (to.scale > 0 && !test.height) /* .npy or CSV: divided as training's were */
            printf(", features divided by %g%s", (double)to.scale, scale > 0 ? "" : " (the model's --scale)");
        printf("\n");
        printf("correct: %lld/%lld (accuracy %.2f%%)\n\n", (long long)correct, (long long)test.n, 100.0 * accuracy);
        print_confusion(confusion, k);
        if (errors_png)
            printf("\nerrors: %s shows %d of the %lld misclassified digits\n", errors_png, errors_shown,
                   (long long)(test.n - correct));
    }
    rc = GF_EXIT_OK;
out:
    free(out);
    free(confusion);
    gf_cli_test_free(&test);
    gf_cli_net_free(&net);
    return rc;
}
