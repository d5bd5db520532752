/*
 * softmax.c — softmax, log_softmax and softmax cross-entropy along the last
 * axis, numerically stable: each row is shifted by its maximum first.
 */
#include "kernels.h"

#include <math.h>

/* The rows of a tensor taken along its last axis: count / k rows of k. */
static void rows_of(gf_shape s, int64_t *rows, int64_t *k)
{
    *k = s.rank > 0 ? s.dim[s.rank - 1] : 1;
    int64_t n = gf_shape_count(s);
    *rows = *k > 0 ? n / *k : 0;
}

/* max over x [k], -inf for an empty row; a NaN propagates. */
static float row_max(const float *x, int64_t k)
{
    float m = -INFINITY;
    for (int64_t j = 0; j < k; j++)
        if (x[j] > m || x[j] != x[j]) m = x[j];
    return m;
}

/* log(sum(exp(x - m))) over x [k]: at least log(1) = 0 when m is the max. */
static float row_log_sum_exp(const float *x, int64_t k, float m)
{
    double sum = 0;
    for (int64_t j = 0; j < k; j++) sum += expf(x[j] - m);
    return (float)log(sum);
}

/* out [..., k] = exp(x - max) / sum(exp(x - max)) per row of x [..., k]. */
GF_KERNEL(gf__k_softmax)
{
    (void)n; (void)ctx;
    int64_t rows, k;
    rows_of(out->shape, &rows, &k);
    const float *x = in[0]->data;
    float *o = out->data;
    for (int64_t r = 0; r < rows; r++, x += k, o += k) {
        float m = row_max(x, k);
        double sum = 0;
        for (int64_t j = 0; j < k; j++) {
            o[j] = expf(x[j] - m);
            sum += o[j];
        }
        float inv = (float)(1.0 / sum);
        for (int64_t j = 0; j < k; j++) o[j] *= inv;
    }
}

/* out [..., k] = (x - max) - log(sum(exp(x - max))) per row of x [..., k]. */
GF_KERNEL(gf__k_log_softmax)
{
    (void)n; (void)ctx;
    int64_t rows, k;
    rows_of(out->shape, &rows, &k);
    const float *x = in[0]->data;
    float *o = out->data;
    for (int64_t r = 0; r < rows; r++, x += k, o += k) {
        float m = row_max(x, k);
        float lse = row_log_sum_exp(x, k, m);
        for (int64_t j = 0; j < k; j++) o[j] = (x[j] - m) - lse;
    }
}

/* out [...] = sum_j labels[..., j] * (log_sum_exp(logits) - logits[..., j])
 * for labels, logits [..., k]: -sum(labels * log_softmax(logits)). A zero
 * label contributes nothing, even against an infinite logit. */
GF_KERNEL(gf__k_softmax_xent)
{
    (void)n; (void)ctx;
    int64_t rows, k;
    rows_of(in[1]->shape, &rows, &k);
    const float *lab = in[0]->data, *x = in[1]->data;
    float *o = out->data;
    if (k == 0) { /* no classes: every row's loss is an empty sum */
        for (int64_t r = 0; r < gf_shape_count(out->shape); r++) o[r] = 0.0f;
        return;
    }
    for (int64_t r = 0; r < rows; r++, x += k, lab += k) {
        float m = row_max(x, k);
        float lse = row_log_sum_exp(x, k, m);
        double loss = 0;
        for (int64_t j = 0; j < k; j++)
            if (lab[j] != 0.0f) loss += (double)lab[j] * (((double)m - x[j]) + lse);
        o[r] = (float)loss;
    }
}
