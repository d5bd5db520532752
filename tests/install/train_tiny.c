/* train_tiny.c — built by tests/install_test.sh against an *installed* gradflow
 * (pkg-config and find_package): trains the article's network on generated data.
 *
 * The article's network (784-30-10, sigmoid written from primitive ops, the
 * back-propagation step written by hand, the update as four assigns) learns
 * ten synthetic "digits": class c lights up rows 2c+4 and 2c+5 of a 28x28
 * image, over uniform noise. Only the public API is used. It prints the
 * accuracy on 200 held-out images before and after 300 steps of 10, and
 * exits 0 when training took it from near chance to at least 80%.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gradflow.h>

enum { PIXELS = 784, CLASSES = 10, TRAIN = 1000, TEST = 200, BATCH = 10, STEPS = 300 };

static gf_graph *g;

static gf_node *sigma(gf_node *x)
{
    return gf_div(gf_scalar(g, 1.0f), gf_add(gf_scalar(g, 1.0f), gf_exp(gf_neg(x))));
}

static gf_node *sigmaprime(gf_node *x)
{
    return gf_mul(sigma(x), gf_sub(gf_scalar(g, 1.0f), sigma(x)));
}

/* n images [n,784] and one-hot labels [n,10]. */
static void generate(gf_rng *r, int n, float *images, float *labels)
{
    for (int i = 0; i < n; i++) {
        int c = (int)gf_rng_below(r, CLASSES);
        float *img = images + (size_t)i * PIXELS;
        for (int p = 0; p < PIXELS; p++) {
            int row = p / 28;
            float noise = (float)gf_rng_uniform(r) * 0.3f;
            img[p] = (row == 2 * c + 4 || row == 2 * c + 5) ? 0.7f + noise : noise;
        }
        memset(labels + (size_t)i * CLASSES, 0, CLASSES * sizeof(float));
        labels[(size_t)i * CLASSES + c] = 1.0f;
    }
}

int main(void)
{
    static float train_x[TRAIN * PIXELS], train_y[TRAIN * CLASSES];
    static float test_x[TEST * PIXELS], test_y[TEST * CLASSES];
    static float batch_x[BATCH * PIXELS], batch_y[BATCH * CLASSES];
    gf_rng r;
    gf_rng_seed(&r, 42, 1);
    generate(&r, TRAIN, train_x, train_y);
    generate(&r, TEST, test_x, test_y);

    printf("gradflow %d.%d.%d\n", GF_VERSION_MAJOR, GF_VERSION_MINOR, GF_VERSION_PATCH);
    g = gf_graph_new();
    if (!g) return 1;

    gf_node *a_0 = gf_placeholder(g, "a_0", GF_F32, gf_dims(2, GF_ANY, PIXELS));
    gf_node *y = gf_placeholder(g, "y", GF_F32, gf_dims(2, GF_ANY, CLASSES));
    int middle = 30;
    gf_node *w_1 = gf_variable(g, "w_1", gf_truncated_normal(g, gf_dims(2, PIXELS, middle), 0, 1));
    gf_node *b_1 = gf_variable(g, "b_1", gf_truncated_normal(g, gf_dims(2, 1, middle), 0, 1));
    gf_node *w_2 = gf_variable(g, "w_2", gf_truncated_normal(g, gf_dims(2, middle, CLASSES), 0, 1));
    gf_node *b_2 = gf_variable(g, "b_2", gf_truncated_normal(g, gf_dims(2, 1, CLASSES), 0, 1));

    gf_node *z_1 = gf_add(gf_matmul(a_0, w_1), b_1);
    gf_node *a_1 = sigma(z_1);
    gf_node *z_2 = gf_add(gf_matmul(a_1, w_2), b_2);
    gf_node *a_2 = sigma(z_2);
    gf_node *diff = gf_sub(a_2, y);

    gf_node *d_z_2 = gf_mul(diff, sigmaprime(z_2));
    gf_node *d_w_2 = gf_matmul(gf_transpose(a_1), d_z_2);
    gf_node *d_a_1 = gf_matmul(d_z_2, gf_transpose(w_2));
    gf_node *d_z_1 = gf_mul(d_a_1, sigmaprime(z_1));
    gf_node *d_w_1 = gf_matmul(gf_transpose(a_0), d_z_1);

    gf_node *eta = gf_scalar(g, 0.5f);
    int axis0[] = { 0 };
    gf_node *step[] = {
        gf_assign(w_1, gf_sub(w_1, gf_mul(eta, d_w_1))),
        gf_assign(b_1, gf_sub(b_1, gf_mul(eta, gf_reduce_mean(d_z_1, axis0, 1, 0)))),
        gf_assign(w_2, gf_sub(w_2, gf_mul(eta, d_w_2))),
        gf_assign(b_2, gf_sub(b_2, gf_mul(eta, gf_reduce_mean(d_z_2, axis0, 1, 0)))),
    };
    gf_node *correct = gf_reduce_sum(
        gf_cast(gf_equal(gf_argmax(a_2, 1), gf_argmax(y, 1)), GF_F32), NULL, 0, 0);
    if (gf_graph_status(g)) {
        fprintf(stderr, "train_tiny: %s\n", gf_graph_error(g));
        return 1;
    }

    gf_session *s = gf_session_new(g, &(gf_session_options){ .seed = 2 });
    if (!s || gf_session_status(s)) {
        fprintf(stderr, "train_tiny: %s\n", s ? gf_session_error(s) : "out of memory");
        return 1;
    }

    gf_error err;
    gf_tensor *tx = gf_tensor_wrap(GF_F32, gf_dims(2, TEST, PIXELS), test_x, &err);
    gf_tensor *ty = gf_tensor_wrap(GF_F32, gf_dims(2, TEST, CLASSES), test_y, &err);
    gf_tensor *bx = gf_tensor_wrap(GF_F32, gf_dims(2, BATCH, PIXELS), batch_x, &err);
    gf_tensor *by = gf_tensor_wrap(GF_F32, gf_dims(2, BATCH, CLASSES), batch_y, &err);
    if (!tx || !ty || !bx || !by) {
        fprintf(stderr, "train_tiny: %s\n", err.message);
        return 1;
    }

    gf_feed test[] = { { a_0, tx }, { y, ty } };
    gf_feed batch[] = { { a_0, bx }, { y, by } };
    const gf_tensor *out;
    float before = -1, after = -1;
    int ok = gf_session_run(s, test, 2, &correct, 1, NULL, 0, &out) == GF_OK;
    if (ok) before = gf_tensor_data(out)[0];
    for (int i = 0; ok && i < STEPS; i++) {
        for (int k = 0; k < BATCH; k++) {
            uint32_t j = gf_rng_below(&r, TRAIN);
            memcpy(batch_x + k * PIXELS, train_x + (size_t)j * PIXELS, PIXELS * sizeof(float));
            memcpy(batch_y + k * CLASSES, train_y + (size_t)j * CLASSES, CLASSES * sizeof(float));
        }
        ok = gf_session_run(s, batch, 2, NULL, 0, step, 4, NULL) == GF_OK;
    }
    if (ok) ok = gf_session_run(s, test, 2, &correct, 1, NULL, 0, &out) == GF_OK;
    if (ok) after = gf_tensor_data(out)[0];
    if (!ok) fprintf(stderr, "train_tiny: %s\n", gf_session_error(s));

    printf("before: correct %.0f/%d\n", before, TEST);
    printf("after %d steps: correct %.0f/%d\n", STEPS, after, TEST);
    int pass = ok && after >= 0.8f * TEST && after > before;
    printf("%s\n", pass ? "train_tiny: ok" : "train_tiny: FAILED");

    gf_tensor_free(tx);
    gf_tensor_free(ty);
    gf_tensor_free(bx);
    gf_tensor_free(by);
    gf_session_free(s);
    gf_graph_free(g);
    return pass ? 0 : 1;
}
