/*
 * test_cli.c — the gradflow command as a newcomer meets it: one option
 * parser for every command (--opt=value, unknown options, bad values),
 * options that do not apply refused, train's final evaluation and training
 * loss, file formats chosen by extension, predict's image formats and
 * warnings, messages that hold for an installed binary, the docs' pointers,
 * and the README's option lists against each command's --help.
 */
#include "testutil.h"
#include "zoo.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

static char out[1 << 17];

/* `gradflow ARGS` (printf-style), stderr joined, into out; the status. */
#define cli(...) gf_test_gradflowf(out, sizeof out, __VA_ARGS__)

static void lacks(const char *text, const char *unwanted)
{
    if (strstr(text, unwanted)) fail_msg("did not expect '%s' in:\n%s", unwanted, text);
}

/* ---- the option parser, the same for every command ---- */

static void unknown_options_are_named(void **state)
{
    (void)state;
    if (!gf_test_gradflow()) skip();
    static const char *cmds[] = { "train", "eval x.gf", "predict x.gf a.pgm", "inspect x.gf", "graph", "bench", "gradcheck",
                                  "data check d" };
    for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
        assert_int_equal(cli("%s --bogus", cmds[i]), 2);
        gf_test_contains(out, "unknown option '--bogus'");
        lacks(out, "needs a value");
        const char *nl = strchr(out, '\n');
        assert_non_null(nl);
        assert_int_equal(nl[1], '\0'); /* one line */
    }
    assert_int_equal(cli("train --stpes 5"), 2);
    gf_test_contains(out, "unknown option '--stpes'; did you mean '--steps'?");
    assert_int_equal(cli("train --eval 5"), 2);
    gf_test_contains(out, "did you mean '--eval-every' or '--eval-size'?");
    assert_int_equal(cli("eval x.gf --jsno"), 2);
    gf_test_contains(out, "did you mean '--json'?");
}

static void values_are_checked(void **state)
{
    (void)state;
    if (!gf_test_gradflow()) skip();
    assert_int_equal(cli("train --steps"), 2);
    gf_test_contains(out, "gradflow train: --steps needs a value");
    assert_int_equal(cli("train --data --json"), 2);
    gf_test_contains(out, "--data needs a value");
    assert_int_equal(cli("train --steps abc"), 2);
    gf_test_contains(out, "gradflow train: --steps: 'abc' is not an integer");
    assert_int_equal(cli("train --steps=abc"), 2);
    gf_test_contains(out, "--steps: 'abc' is not an integer");
    assert_int_equal(cli("train --steps=-3"), 2);
    gf_test_contains(out, "--steps: -3 is out of range: expected an integer from 0 to 1000000000");
    assert_int_equal(cli("train --eta=fast"), 2);
    gf_test_contains(out, "--eta: 'fast' is not a number");
    assert_int_equal(cli("train --json=1"), 2);
    gf_test_contains(out, "--json takes no value, got '--json=1'");
    assert_int_equal(cli("train --model=big"), 2);
    gf_test_contains(out, "unknown --model 'big': expected 'article', 'softmax' or 'cnn'");
    assert_int_equal(cli("bench --threads=0"), 2);
    gf_test_contains(out, "--threads: 0 is out of range");
    assert_int_equal(cli("gradcheck --seed x"), 2);
    gf_test_contains(out, "--seed: 'x' is not an integer");
    assert_int_equal(cli("train stray"), 2);
    gf_test_contains(out, "unexpected argument 'stray'");
}

/* --opt=value means what --opt value means, in every command. */
static void equals_form_is_accepted(void **state)
{
    (void)state;
    if (!gf_test_gradflow()) skip();
    static char spaced[1 << 17];
    assert_int_equal(cli("graph --model softmax --hidden 12"), 0);
    memcpy(spaced, out, sizeof out);
    assert_int_equal(cli("graph --model=softmax --hidden=12"), 0);
    assert_string_equal(out, spaced);
    gf_test_contains(out, "784-12-10");

    const char *mnist = gf_test_mnist_dir();
    if (!mnist) return;
    assert_int_equal(cli("train --data=%s --steps=5 --eval-every=2 --eval-size=100 --json --quiet", mnist), 0);
    gf_test_contains(out, "{\"step\":1,");
    gf_test_contains(out, "{\"step\":3,");
    gf_test_contains(out, "{\"step\":5,");
    gf_test_contains(out, "\"total\":100,");
    gf_test_contains(out, "{\"steps\":5,");
}

/* ---- options that do not apply ---- */

static void inapplicable_options_are_refused(void **state)
{
    (void)state;
    if (!gf_test_gradflow()) skip();
    assert_int_equal(cli("train --lr 0.3"), 2);
    gf_test_contains(out, "gradflow train: --lr is the learning rate of the autodiff step and of --model softmax and cnn; "
                  "the manual step's is --eta");
    assert_int_equal(cli("train --step autodiff --eta 0.3"), 2);
    gf_test_contains(out, "--eta is the manual step's learning rate; the autodiff step's is --lr");
    assert_int_equal(cli("train --model softmax --eta 0.3"), 2);
    gf_test_contains(out, "--eta is the manual step's learning rate; --model softmax trains with Adam");
    assert_int_equal(cli("train --model softmax --step manual"), 2);
    gf_test_contains(out, "--model softmax has no hand-written step");
    assert_int_equal(cli("train --model cnn --hidden 10"), 2);
    gf_test_contains(out, "--model cnn has fixed layers");
    assert_int_equal(cli("train --model cnn --eta 0.1"), 2);
    gf_test_contains(out, "--model cnn trains with Adam");
    assert_int_equal(cli("train --keep-prob 0.5"), 2);
    gf_test_contains(out, "--keep-prob is the dropout of --model cnn");
    assert_int_equal(cli("train --model softmax --train-accuracy-every 10"), 2);
    gf_test_contains(out, "--train-accuracy-every is --model cnn's accuracy on the batch");
    assert_int_equal(cli("train --model cnn --keep-prob 0"), 2);
    gf_test_contains(out, "--keep-prob: 0 is out of range: expected a number above 0 and at most 1");
    assert_int_equal(cli("graph --model cnn --hidden 10"), 2);
    assert_int_equal(cli("eval x.gf --errors-max 5"), 2);
    gf_test_contains(out, "--errors-max limits the --errors picture; give --errors FILE.png too");
}

/* ---- file formats follow the extension ---- */

static void formats_follow_the_extension(void **state)
{
    (void)state;
    if (!gf_test_gradflow()) skip();
    assert_int_equal(cli("train --plot curves.png"), 2);
    gf_test_contains(out, "--plot curves.png: the plot is an SVG picture; give a FILE ending in .svg");
    assert_int_equal(cli("eval x.gf --errors e.svg"), 2);
    gf_test_contains(out, "--errors e.svg: the picture is written as PNG; give a FILE ending in .png");
    assert_int_equal(cli("graph --png g.svg"), 2);
    gf_test_contains(out, "--png g.svg: dot writes a PNG picture there; give a FILE ending in .png");
}

/* ---- train: the final evaluation, one numbering, the training loss ---- */

static void final_evaluation_matches_the_saved_weights(void **state)
{
    (void)state;
    const char *mnist = gf_test_mnist_dir();
    if (!gf_test_gradflow() || !mnist) skip();
    char *dir = gf_test_tmpdir();
    assert_int_equal(cli("train --data '%s' --steps 6000 --eval-every 2000 --json --quiet --save '%s/n.gf' "
                         "--plot '%s/c.svg'", mnist, dir, dir),
                     0);
    /* Evaluations after steps 1, 2001, 4001, then the final one after 6000. */
    long long want[] = { 1, 2001, 4001, 6000 };
    int n = 0;
    double first_loss = NAN, final_loss = NAN;
    long long final_correct = -1;
    static char copy[sizeof out];
    memcpy(copy, out, sizeof out);
    for (char *save = NULL, *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "{\"step\":", 8)) continue;
        assert_true(n < 4);
        assert_int_equal((long long)gf_test_json_num(line, "step"), want[n]);
        double loss = gf_test_json_num(line, "loss");
        assert_true(isfinite(loss) && loss > 0);
        if (n == 0) first_loss = loss;
        assert_int_equal(strstr(line, "\"final\":true") != NULL, n == 3);
        if (n == 3) {
            final_loss = loss;
            final_correct = (long long)gf_test_json_num(line, "correct");
        }
        n++;
    }
    assert_int_equal(n, 4);
    assert_true(final_loss < first_loss / 4); /* it trains */
    gf_test_contains(out, "{\"plot\":");
    gf_test_contains(out, "\"evaluations\":4}");
    size_t len;
    char path[4200];
    snprintf(path, sizeof path, "%s/c.svg", dir);
    char *svg = (char *)gf_test_read_file(path, &len);
    assert_non_null(svg);
    gf_test_contains(svg, "training loss");
    gf_test_contains(svg, "<title>step 6000: ");
    free(svg);

    /* eval of the saved checkpoint counts what the final line said. */
    assert_int_equal(cli("eval '%s/n.gf' --data '%s' --json", dir, mnist), 0);
    if (gf_test_json_num(out, "total") == 1000) assert_int_equal((long long)gf_test_json_num(out, "correct"), final_correct);

    /* Plain text: the final line is labelled as such. */
    assert_int_equal(cli("train --data '%s' --steps 300 --eval-every 100 --quiet", mnist), 0);
    gf_test_contains(out, "step     1  correct ");
    gf_test_contains(out, "step   201  correct ");
    gf_test_contains(out, "\nfinal step   300  correct ");
    gf_test_rmdir(dir);
}

/* The softmax model numbers its evaluations as the article's model does,
 * and an evaluation after the last step is the final one, not printed twice. */
static void softmax_numbering_and_loss(void **state)
{
    (void)state;
    const char *mnist = gf_test_mnist_dir();
    if (!gf_test_gradflow() || !mnist) skip();
    assert_int_equal(cli("train --data '%s' --model softmax --steps 100 --eval-every 50 --eval-size 200 --json "
                         "--quiet", mnist),
                     0);
    gf_test_contains(out, "{\"step\":50,\"correct\":");
    gf_test_contains(out, "{\"step\":100,\"correct\":");
    const char *first = strstr(out, "{\"step\":100,");
    assert_null(strstr(first + 1, "{\"step\":100,"));
    gf_test_contains(first, "\"final\":true}");
    /* Cross-entropy of ten classes starts near ln 10 and falls. */
    double l50 = gf_test_json_num(strstr(out, "{\"step\":50,"), "loss"), l100 = gf_test_json_num(first, "loss");
    assert_true(l50 > 0.1 && l50 < 2.4);
    assert_true(l100 < l50);
}

/* ---- eval and predict: the network is read from the checkpoint ---- */

/* eval and predict run a softmax model file with no --hidden and count
 * what train's final evaluation counted; an old checkpoint of the same
 * network is recognised from its tensors; a checkpoint of another network
 * is refused, naming its tensors. */
static void eval_recognises_the_model(void **state)
{
    (void)state;
    const char *mnist = gf_test_mnist_dir();
    if (!gf_test_gradflow() || !mnist) skip();
    char *dir = gf_test_tmpdir();
    assert_int_equal(cli("train --data '%s' --model softmax --hidden 40 --steps 200 --eval-every 200 --json "
                         "--quiet --save '%s/s.gf'", mnist, dir),
                     0);
    const char *fin = strstr(out, "\"final\":true");
    assert_non_null(fin);
    while (fin > out && fin[-1] != '\n') fin--;
    long long want = (long long)gf_test_json_num(fin, "correct"), total = (long long)gf_test_json_num(fin, "total");
    assert_int_equal(cli("eval '%s/s.gf' --data '%s' --json", dir, mnist), 0);
    gf_test_contains(out, "\"format\":\"model\",");
    gf_test_contains(out, "\"classes\":10,");
    assert_int_equal((long long)gf_test_json_num(out, "total"), total);
    assert_int_equal((long long)gf_test_json_num(out, "correct"), want);
    assert_int_equal(cli("eval '%s/s.gf' --data '%s'", dir, mnist), 0);
    gf_test_contains(out, "(a model file: images [?,784] -> probs [?,10] (softmax); ");
    /* Its outputs are a softmax: the ten sum to 1. */
    assert_int_equal(cli("predict '%s/s.gf' idx:%s:3 --json", dir, mnist), 0);
    const char *o = strstr(out, "\"outputs\":[");
    assert_non_null(o);
    double sum = 0;
    for (char *p = (char *)o + 11, *end; *p && *p != ']'; p = end + (*end == ',')) sum += strtod(p, &end);
    assert_true(fabs(sum - 1) < 1e-4);
    /* A model file says its own sizes. */
    assert_int_equal(cli("eval '%s/s.gf' --data '%s' --hidden 40", dir, mnist), 1);
    gf_test_contains(out, "is a model file, which says its own sizes; leave out --hidden");

    /* An old checkpoint of the softmax model (variables only). */
    gf_zoo_net z;
    assert_int_equal(gf_zoo_build_softmax(&z, 40, 0), GF_OK);
    gf_session *zs = gf_session_new(z.g, &(gf_session_options){ .seed = 3 });
    char old[4200];
    snprintf(old, sizeof old, "%s/old.gf", dir);
    assert_int_equal(gf_session_save(zs, old), GF_OK);
    gf_session_free(zs);
    gf_graph_free(z.g);
    assert_int_equal(cli("eval '%s' --data '%s' --json", old, mnist), 0);
    gf_test_contains(out, "\"format\":\"checkpoint\",\"model\":\"softmax\",\"hidden\":40,");
    assert_int_equal(cli("eval '%s' --data '%s'", old, mnist), 0);
    gf_test_contains(out, "(--model softmax: 784-40-10, relu, softmax)");

    /* A checkpoint of some other graph. */
    gf_graph *g = gf_graph_new();
    gf_variable(g, "kernel", gf_zeros(g, gf_dims(2, 3, 4)));
    gf_session *s = gf_session_new(g, NULL);
    char path[4200];
    snprintf(path, sizeof path, "%s/other.gf", dir);
    assert_int_equal(gf_session_save(s, path), GF_OK);
    gf_session_free(s);
    gf_graph_free(g);
    assert_int_equal(cli("eval '%s' --data '%s'", path, mnist), 1);
    gf_test_contains(out, "a checkpoint of no network that 'gradflow train' makes (it holds \"kernel\" [3,4])");
    assert_int_equal(cli("predict '%s' idx:%s:0", path, mnist), 1);
    gf_test_contains(out, "gradflow predict: ");
    gf_test_contains(out, "a checkpoint of no network that 'gradflow train' makes");
    gf_test_rmdir(dir);
}

/* ---- predict: the images users have ---- */

/* The digit in a predict line for IMAGE. */
static int digit_of(const char *text, const char *image)
{
    char key[4400];
    snprintf(key, sizeof key, "%s  digit ", image);
    const char *p = strstr(text, key);
    if (!p) fail_msg("no prediction for %s in:\n%s", image, text);
    return p[strlen(key)] - '0';
}

static void predict_images(void **state)
{
    (void)state;
    const char *mnist = gf_test_mnist_dir();
    if (!gf_test_gradflow() || !mnist) skip();
    char *dir = gf_test_tmpdir(), path[4200];
    assert_int_equal(cli("train --data '%s' --steps 3000 --quiet --save '%s/n.gf'", mnist, dir), 0);
    gf_mnist *m;
    gf_error err;
    if (gf_mnist_load(mnist, NULL, &m, &err)) fail_msg("%s", err.message);
    const float *img = gf_tensor_data(gf_dataset_images(m->test));
    unsigned char gray[784], rgba[4 * 784];
    for (int i = 0; i < 784; i++) {
        gray[i] = (unsigned char)(img[i] * 255.0f + 0.5f);
        rgba[4 * i] = rgba[4 * i + 1] = rgba[4 * i + 2] = 0; /* black ink ... */
        rgba[4 * i + 3] = gray[i];                           /* ... only where alpha says */
    }
    assert_int_equal(cli("predict '%s/n.gf' idx:%s:0", dir, mnist), 0);
    char idx_name[4200];
    snprintf(idx_name, sizeof idx_name, "idx:%s:0", mnist);
    int want = digit_of(out, idx_name);

    /* 16-bit PGM: the same digit. */
    static unsigned char pgm[8192];
    int o = snprintf((char *)pgm, sizeof pgm, "P5\n28 28\n65535\n");
    for (int i = 0; i < 784; i++) pgm[o++] = gray[i], pgm[o++] = gray[i]; /* v * 257, big-endian */
    free(gf_test_write_file(dir, "d16.pgm", pgm, (size_t)o));
    snprintf(path, sizeof path, "%s/d16.pgm", dir);
    assert_int_equal(cli("predict '%s/n.gf' '%s'", dir, path), 0);
    assert_int_equal(digit_of(out, path), want);
    lacks(out, "warning");

    /* Dark ink on light paper: a warning naming --invert; with it, the digit. */
    o = snprintf((char *)pgm, sizeof pgm, "P5\n28 28\n255\n");
    for (int i = 0; i < 784; i++) pgm[o++] = (unsigned char)(255 - gray[i]);
    free(gf_test_write_file(dir, "paper.pgm", pgm, (size_t)o));
    snprintf(path, sizeof path, "%s/paper.pgm", dir);
    assert_int_equal(cli("predict '%s/n.gf' '%s'", dir, path), 0);
    gf_test_contains(out, "paper.pgm: warning: looks inverted");
    gf_test_contains(out, "give --invert");
    assert_int_equal(cli("predict '%s/n.gf' '%s' --invert", dir, path), 0);
    lacks(out, "warning");
    assert_int_equal(digit_of(out, path), want);

    /* A JPEG and a text file are named, with the formats predict reads. */
    free(gf_test_write_file(dir, "photo.jpg", "\xff\xd8\xff\xe0\0\x10JFIF", 10));
    free(gf_test_write_file(dir, "notes.txt", "hello\n", 6));
    assert_int_equal(cli("predict '%s/n.gf' '%s/photo.jpg' '%s/notes.txt'", dir, dir, dir), 1);
    gf_test_contains(out, "photo.jpg: a JPEG image; predict reads PGM (P5 or P2)");
    gf_test_contains(out, "notes.txt: not a PGM (P5 or P2)");
    lacks(out, "not a PGM image");

    /* PNG (when built with libpng). */
    snprintf(path, sizeof path, "%s/d.png", dir);
    gf_test_write_png28(path, gray, 1);
    int rc = cli("predict '%s/n.gf' '%s'", dir, path);
    if (strstr(out, "without libpng")) {
        print_message("gradflow was built without libpng: PNG not checked\n");
    } else {
        assert_int_equal(rc, 0);
        assert_int_equal(digit_of(out, path), want);

        /* Ink only in the alpha channel: composited over white it is dark
         * ink on paper, so the warning, and with --invert the digit. */
        snprintf(path, sizeof path, "%s/alpha.png", dir);
        gf_test_write_png28(path, rgba, 4);
        assert_int_equal(cli("predict '%s/n.gf' '%s'", dir, path), 0);
        gf_test_contains(out, "alpha.png: warning: looks inverted");
        lacks(out, "blank");
        assert_int_equal(cli("predict '%s/n.gf' '%s' --invert", dir, path), 0);
        assert_int_equal(digit_of(out, path), want);

        /* A truncated PNG says so. */
        size_t len;
        unsigned char *bytes = gf_test_read_file(path, &len);
        free(gf_test_write_file(dir, "cut.png", bytes, len / 2));
        free(bytes);
        assert_int_equal(cli("predict '%s/n.gf' '%s/cut.png'", dir, dir), 1);
        gf_test_contains(out, "cut.png: a damaged or truncated PNG image (libpng: ");
    }
    gf_mnist_free(m);
    gf_test_rmdir(dir);
}

/* ---- data: nothing advertised that does not exist ---- */

static void data_messages_hold_outside_the_checkout(void **state)
{
    (void)state;
    if (!gf_test_gradflow()) skip();
    assert_int_equal(cli("--help"), 0);
    lacks(out, "fetch");
    assert_int_equal(cli("data fetch"), 2);
    gf_test_contains(out, "unknown subcommand 'fetch'");
    assert_int_equal(cli("data --help"), 0);
    gf_test_contains(out, "t10k-labels-idx1-ubyte.gz");

    /* Run from a folder without scripts/, as an installed gradflow is. */
    char *dir = gf_test_tmpdir(), cmd[8192];
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' train --data nowhere 2>&1", dir, gf_test_gradflow());
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    pclose(p);
    gf_test_contains(out, "gradflow train: nowhere: no such directory; 'gradflow data --help' says how to get the MNIST "
                  "files");
    lacks(out, "scripts/get-mnist");
    gf_test_rmdir(dir);
}

/* ---- the docs ---- */

/* Files under dir whose name ends in one of exts, with a line containing
 * one of the pointers users cannot follow. */
static int scan(const char *dir, int *bad)
{
    static const char *exts[] = { ".c", ".h", ".md", ".sh", ".txt", ".in" };
    DIR *d = opendir(dir);
    if (!d) return 0;
    int files = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || !strncmp(e->d_name, "build", 5)) continue;
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) {
            if (strcmp(e->d_name, "data") && strcmp(e->d_name, "corpus") && strcmp(e->d_name, "regressions"))
                files += scan(path, bad);
            continue;
        }
        size_t nl = strlen(e->d_name);
        int want = 0;
        for (size_t k = 0; k < sizeof exts / sizeof *exts; k++)
            if (nl > strlen(exts[k]) && !strcmp(e->d_name + nl - strlen(exts[k]), exts[k])) want = 1;
        if (!want || !strcmp(e->d_name, "test_cli.c")) continue;
        files++;
        FILE *f = fopen(path, "r");
        if (!f) continue;
        char line[4096];
        for (int no = 1; fgets(line, sizeof line, f); no++) {
            int hit = strstr(line, "REFERENCE.md") || strstr(line, "shared/") || strstr(line, "DESIGN.md");
            for (const char *q = line; !hit && (q = strstr(q, "ssue ")); q++)
                hit = q > line && (q[-1] == 'i' || q[-1] == 'I') && q[5] >= '0' && q[5] <= '9';
            if (hit) {
                print_message("%s:%d: %s", path, no, line);
                (*bad)++;
            }
        }
        fclose(f);
    }
    closedir(d);
    return files;
}

static void docs_point_inside_the_repository(void **state)
{
    (void)state;
    int bad = 0;
    assert_true(scan(GF_SOURCE_DIR, &bad) > 50);
    assert_int_equal(bad, 0);
    char *md = (char *)gf_test_read_file(GF_SOURCE_DIR "/docs/article.md", &(size_t){ 0 });
    assert_non_null(md);
    gf_test_contains(md, "for i in range(10000):");
    gf_test_contains(md, "step = tf.train.GradientDescentOptimizer(0.1).minimize(cost)");
    free(md);
    if (!gf_test_gradflow()) return;
    static const char *cmds[] = { "train", "bench", "eval", "predict", "export", "graph", "gradcheck", "data" };
    for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
        assert_int_equal(cli("%s --help", cmds[i]), 0);
        lacks(out, "REFERENCE");
        lacks(out, "issue");
    }
}

/* The option labels of `gradflow CMD --help` ("--steps N"), space-joined. */
static void help_labels(const char *cmd, char *labels, size_t cap)
{
    assert_int_equal(cli("%s --help", cmd), 0);
    size_t at = 0;
    labels[0] = '\0';
    const char *p = strstr(out, "\nOptions:\n");
    assert_non_null(p);
    for (p += 10; *p && *p != '\n'; p = strchr(p, '\n') + 1) {
        if (!strncmp(p, "  -", 3)) {
            const char *end = strstr(p + 2, "  "), *eol = strchr(p, '\n');
            if (!end || end > eol) end = eol;
            if (strncmp(p + 2, "-h, --help", 10))
                at += (size_t)snprintf(labels + at, cap - at, "%s%.*s", at ? " " : "", (int)(end - p - 2), p + 2);
        }
        if (!strchr(p, '\n')) break;
    }
}

static void readme_lists_what_help_lists(void **state)
{
    (void)state;
    if (!gf_test_gradflow()) skip();
    size_t len;
    char *readme = (char *)gf_test_read_file(GF_SOURCE_DIR "/README.md", &len);
    assert_non_null(readme);
    static const char *cmds[] = { "train", "eval", "predict", "inspect", "export", "graph", "bench", "gradcheck" };
    for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
        char labels[2048], key[64], got[2048] = "";
        help_labels(cmds[i], labels, sizeof labels);
        snprintf(key, sizeof key, "\n- `%s", cmds[i]);
        const char *p = strstr(readme, key);
        if (!p) fail_msg("README.md has no line '- `%s ...`: `...`' listing its options: %s", cmds[i], labels);
        const char *q = strstr(p, "`: `"), *eol = strchr(p + 1, '\n');
        assert_true(q && q < eol);
        const char *end = strchr(q + 4, '`');
        assert_true(end && end < eol);
        snprintf(got, sizeof got, "%.*s", (int)(end - q - 4), q + 4);
        if (strcmp(got, labels))
            fail_msg("README.md's options of %s:\n  %s\nbut 'gradflow %s --help' lists:\n  %s", cmds[i], got, cmds[i],
                     labels);
    }
    /* Every command of the top-level help is in the README's list. */
    assert_int_equal(cli("--help"), 0);
    const char *p = strstr(out, "Commands:\n");
    assert_non_null(p);
    int n = 0;
    for (p = strchr(p, '\n') + 1; !strncmp(p, "  ", 2); p = strchr(p, '\n') + 1) {
        char name[32];
        if (p[2] != ' ' && sscanf(p, " %31s", name) == 1) {
            char key[64];
            snprintf(key, sizeof key, "\n- `%s", name);
            if (!strstr(readme, key)) fail_msg("README.md does not list the options of '%s'", name);
            n++;
        }
    }
    assert_int_equal(n, 9);
    free(readme);
}

/* README's "What `make demo` prints" is what it prints (on the MNIST subset
 * the block shows; "..." stands for lines left out). */
static void readme_demo_block_is_current(void **state)
{
    (void)state;
    const char *mnist = gf_test_mnist_dir();
    if (!mnist) skip();
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "'%s/backprop_manual' '%s' 2>&1", GF_BINARY_DIR, mnist);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    assert_int_equal(pclose(p), 0);
    if (!strstr(out, "10,000-digit subset")) skip(); /* the block shows the subset's run */
    size_t len;
    char *readme = (char *)gf_test_read_file(GF_SOURCE_DIR "/README.md", &len);
    assert_non_null(readme);
    const char *b = strstr(readme, "## What `make demo` prints\n\n```\n");
    assert_non_null(b);
    b = strchr(strstr(b, "```"), '\n') + 1;
    const char *e = strstr(b, "```");
    assert_non_null(e);
    const char *at = out, *last = NULL;
    for (const char *l = b; l < e; l = strchr(l, '\n') + 1) {
        size_t ll = (size_t)(strchr(l, '\n') - l);
        if (ll == 3 && !strncmp(l, "...", 3)) continue;
        char line[256];
        snprintf(line, sizeof line, "%.*s\n", (int)ll, l);
        const char *hit = strstr(at, line);
        if (!hit || (at == out && hit != out)) fail_msg("README's demo line '%.*s' is not printed (in order):\n%s", (int)ll, l, out);
        at = hit + ll + 1;
        last = hit;
    }
    assert_non_null(last);
    assert_int_equal(*at, '\0'); /* the block ends with the last line printed */
    free(readme);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(unknown_options_are_named),
        cmocka_unit_test(values_are_checked),
        cmocka_unit_test(equals_form_is_accepted),
        cmocka_unit_test(inapplicable_options_are_refused),
        cmocka_unit_test(formats_follow_the_extension),
        cmocka_unit_test(final_evaluation_matches_the_saved_weights),
        cmocka_unit_test(softmax_numbering_and_loss),
        cmocka_unit_test(eval_recognises_the_model),
        cmocka_unit_test(predict_images),
        cmocka_unit_test(data_messages_hold_outside_the_checkout),
        cmocka_unit_test(docs_point_inside_the_repository),
        cmocka_unit_test(readme_lists_what_help_lists),
        cmocka_unit_test(readme_demo_block_is_current),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
