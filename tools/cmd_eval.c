/*
 * cmd_eval.c — `gradflow eval FILE`: restores the network a checkpoint was
 * saved from and reports its accuracy and confusion matrix on the test set.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt_cli.h"
#include "cli.h"
#include "atomic_file.h"
#include "errors_png.h"
#include "opts.h"

static const char eval_intro[] =
    "Restores the network saved in the checkpoint FILE (written by 'gradflow\n"
    "train --save FILE') and runs it on every image of the test set of DIR, 1000\n"
    "images at a time. Prints the number of correct answers, the accuracy and\n"
    "the 10x10 confusion matrix. An answer is the output unit with the largest\n"
    "value (the first on ties), as the article's acct_res counts them, so the\n"
    "count equals what 'gradflow train --eval-size' reports for the same images.\n"
    "\n"
    "The network is recognised from the names and shapes of FILE's tensors:\n"
    "train's --model article (784-H-10, sigmoid), --model softmax (784-H-10,\n"
    "relu, softmax), H read from the file, or --model cnn (the Deep MNIST\n"
    "network, run 100 images at a time). FILE is checked whole before use: a\n"
    "damaged or truncated file, or one of no network train makes, is refused\n"
    "with a message naming the tensor and the problem\n"
    "(docs/checkpoint-format.md).\n";

static const char eval_epilog[] =
    "Exit status: 0 success; 1 failure (unreadable, damaged or mismatched\n"
    "checkpoint, missing or bad data); 2 usage error.\n";

int gf_cli_eval(int argc, char **argv)
{
    const char *file = NULL, *dir = "data/mnist";
    int64_t hidden = -1;
    int json = 0;
    const char *errors_png = NULL;
    int64_t errors_max = 100;
    gf_opt opts[] = {
        GF_OPT_S("--data", "DIR",
                 "MNIST folder holding t10k-images-idx3-ubyte[.gz] and\n"
                 "t10k-labels-idx1-ubyte[.gz] (default data/mnist); the\n"
                 "training files are not needed",
                 &dir),
        GF_OPT_I("--hidden", "N", 1, 100000, "hidden units of the network saved in FILE (default: read\nfrom FILE; another N is refused, naming the tensor)", &hidden),
        GF_OPT_F("--json",
                 "print one JSON object instead of text:\n"
                 "{\"checkpoint\":FILE,\"data\":DIR,\"correct\":C,\"total\":T,\n"
                 " \"accuracy\":C/T,\"confusion\":[[...],...]}\n"
                 "where confusion[i][j] counts the test images of digit i\n"
                 "that the network answered j (rows sum to the label counts)",
                 &json),
        GF_OPT_S("--errors", "FILE.png",
                 "also write a PNG picture of the misclassified test digits,\n"
                 "the first --errors-max of them in test-set order, ten to a\n"
                 "row, each drawn 2x (dark ink on white) over \"T7 P2\": its\n"
                 "true label in green, the network's answer in red. FILE\n"
                 "must end in .png. Written atomically with libpng (a build\n"
                 "without libpng says so and fails); adds\n"
                 "\"errors_png\":FILE,\"errors_shown\":N to --json",
                 &errors_png),
        GF_OPT_I("--errors-max", "N", 1, 100000, "at most N digits in that picture (default 100; needs\n--errors)",
                 &errors_max),
    };
    gf_cmd_spec spec = { "eval", "gradflow eval FILE [--data DIR] [--hidden N] [--json] [--errors FILE.png]",
                         eval_intro, eval_epilog, opts, GF_OPTS_N(opts) };
    const char **pos = calloc((size_t)argc + 1, sizeof *pos);
    int n_pos = 0;
    if (!pos) return GF_EXIT_FAIL;
    int parsed = gf_opts_parse(&spec, argc, argv, pos, &n_pos);
    const char *first = n_pos > 0 ? pos[0] : NULL, *second = n_pos > 1 ? pos[1] : NULL;
    free(pos);
    if (parsed != GF_OPTS_CONTINUE) return parsed;
    if (second) return gf_opts_usage_error(&spec, "one checkpoint FILE expected, got '%s' and '%s'", first, second);
    if (!first)
        return gf_opts_usage_error(&spec, "missing the checkpoint FILE (usage: gradflow eval FILE [--data DIR] "
                                          "[--hidden N] [--json] [--errors FILE.png])");
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
    gf_cli_model net = { 0 };
    gf_session *s = NULL;
    gf_cli_test test = { 0 };
    float *out = NULL;
    int rc = GF_EXIT_FAIL;
    if (!gf_cli_load_model("eval", file, (int)hidden, &net, &s)) goto out;
    if (!gf_cli_load_test("eval", dir, 1, &test)) goto out;
    if (test.n < 1) {
        fprintf(stderr, "gradflow eval: %s: the test set is empty\n", dir);
        goto out;
    }
    out = malloc((size_t)test.n * 10 * sizeof *out);
    if (!out) {
        fprintf(stderr, "gradflow eval: out of memory\n");
        goto out;
    }
    if (!gf_cli_model_outputs("eval", &net, s, test.images, test.n, out)) goto out;
    int64_t confusion[10][10] = { { 0 } }, correct = 0;
    for (int64_t i = 0; i < test.n; i++) {
        const float *row = out + 10 * i;
        int best = 0;
        for (int j = 1; j < 10; j++)
            if (row[j] > row[best]) best = j;
        confusion[test.labels[i]][best]++;
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
            const float *row = out + 10 * i;
            int best = 0;
            for (int j = 1; j < 10; j++)
                if (row[j] > row[best]) best = j;
            if (best == test.labels[i]) continue;
            img[errors_shown] = test.images + 784 * i;
            truth[errors_shown] = test.labels[i];
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
        printf("{\"checkpoint\":");
        gf_cli_json_string(stdout, file);
        printf(",\"data\":");
        gf_cli_json_string(stdout, dir);
        printf(",\"model\":\"%s\"", net.name);
        if (net.hidden) printf(",\"hidden\":%d", net.hidden);
        printf(",\"correct\":%lld,\"total\":%lld,\"accuracy\":%.6f,\"confusion\":[", (long long)correct,
               (long long)test.n, accuracy);
        for (int r = 0; r < 10; r++) {
            printf("%s[", r ? "," : "");
            for (int c = 0; c < 10; c++) printf("%s%lld", c ? "," : "", (long long)confusion[r][c]);
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
        printf("checkpoint: %s (%s)\n", file, net.desc);
        printf("data: %s, %lld test images\n", dir, (long long)test.n);
        printf("correct: %lld/%lld (accuracy %.2f%%)\n\n", (long long)correct, (long long)test.n,
               100.0 * accuracy);
        printf("confusion matrix (rows: true digit, columns: answer)\n     ");
        for (int c = 0; c < 10; c++) printf(" %5d", c);
        printf("\n");
        for (int r = 0; r < 10; r++) {
            printf("  %d  ", r);
            for (int c = 0; c < 10; c++) printf(" %5lld", (long long)confusion[r][c]);
            printf("\n");
        }
        if (errors_png)
            printf("\nerrors: %s shows %d of the %lld misclassified digits\n", errors_png, errors_shown,
                   (long long)(test.n - correct));
    }
    rc = GF_EXIT_OK;
out:
    free(out);
    gf_cli_test_free(&test);
    gf_session_free(s);
    gf_cli_model_free(&net);
    return rc;
}
