/*
 * test_predict_png.c — gradflow predict reads 28x28 PNG digits (written here
 * with zlib) and sees in them what it sees in the same MNIST test images.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *run(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char *out = calloc(1, 8192);
    size_t n = fread(out, 1, 8191, p);
    out[n] = 0;
    pclose(p);
    return out;
}

static void png_digits_predict_like_idx(void **state)
{
    (void)state;
    const char *dir = gf_test_mnist_dir(), *cli = getenv("GRADFLOW");
    if (!dir || !cli) skip();
    gf_mnist *m;
    gf_error err;
    if (gf_mnist_load(dir, NULL, &m, &err)) fail_msg("%s", err.message);
    char *tmp = gf_test_tmpdir(), cmd[8192], path[4200];
    snprintf(cmd, sizeof cmd, "'%s' train --data '%s' --steps 300 --quiet --save '%s/net.ckpt' >/dev/null", cli, dir, tmp);
    assert_int_equal(system(cmd), 0);
    for (int k = 0; k < 5; k++) {
        unsigned char px[784];
        const float *img = gf_tensor_data(gf_dataset_images(m->test)) + k * 784;
        for (int i = 0; i < 784; i++) px[i] = (unsigned char)(img[i] * 255.0f + 0.5f);
        snprintf(path, sizeof path, "%s/d%d.png", tmp, k);
        gf_test_write_png28(path, px, 1);
        snprintf(cmd, sizeof cmd, "'%s' predict '%s/net.ckpt' '%s' idx:'%s':%d 2>&1", cli, tmp, path, dir, k);
        char *out = run(cmd);
        if (strstr(out, "not a PGM image") || strstr(out, "without libpng")) {
            free(out);
            skip(); /* built without libpng */
        }
        char *a = strstr(out, "digit "), *b = a ? strstr(a + 6, "digit ") : NULL;
        if (!a || !b) fail_msg("unexpected output: %s", out);
        assert_int_equal(a[6], b[6]); /* the same digit from the PNG and the IDX image */
        free(out);
    }
    gf_mnist_free(m);
    gf_test_rmdir(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = { cmocka_unit_test(png_digits_predict_like_idx) };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
