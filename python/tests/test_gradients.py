"""tf.gradients against NumPy: the gradients of broadcast operands, matmul,
reductions, the article's network (against its hand-written backward pass)
and finite differences."""
import numpy as np
import pytest

import gradflow.compat.v1 as tf

rng = np.random.default_rng(11)


def randn(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def run(fetches, feed_dict=None):
    with tf.Session() as sess:
        return sess.run(fetches, feed_dict)


def test_broadcast_operands_get_summed_gradients():
    a, b = randn(4, 3), randn(1, 3)
    pa = tf.placeholder(tf.float32, [None, 3])
    vb = tf.Variable(b)
    y = pa * vb + vb          # [4,3], b broadcast over the rows
    ga, gb = tf.gradients(y, [pa, vb])
    got_a, got_b = run([ga, gb], {pa: a})
    # d(sum y)/da = b (per row); d(sum y)/db = sum over rows of (a + 1)
    np.testing.assert_allclose(got_a, np.broadcast_to(b, (4, 3)), rtol=1e-6)
    np.testing.assert_allclose(got_b, (a + 1).sum(0, keepdims=True), rtol=1e-5)
    assert gb.shape.as_list() == [1, 3]


def test_matmul_and_reduce_mean_gradients():
    x, w = randn(5, 4), randn(4, 3)
    px = tf.placeholder(tf.float32, [None, 4])
    vw = tf.Variable(w)
    loss = tf.reduce_mean(tf.square(tf.matmul(px, vw)))
    gx, gw = tf.gradients(loss, [px, vw])
    got_x, got_w = run([gx, gw], {px: x})
    dz = 2 * (x @ w) / (5 * 3)
    np.testing.assert_allclose(got_x, dz @ w.T, rtol=1e-5)
    np.testing.assert_allclose(got_w, x.T @ dz, rtol=1e-5)


def test_grad_ys_and_unconnected_xs():
    x = tf.Variable(randn(2, 2))
    unused = tf.Variable(randn(3))
    y = tf.exp(x)
    seed = randn(2, 2)
    g, none = tf.gradients(y, [x, unused], grad_ys=seed)
    assert none is None
    xv, gv = run([x, g])
    np.testing.assert_allclose(gv, seed * np.exp(xv), rtol=1e-5)


def test_article_autodiff_matches_its_hand_written_backward_pass():
    """d(sum of diff^2)/dw is twice the article's hand-written d_w."""
    x, labels = rng.random((10, 784), dtype=np.float32), np.eye(10, dtype=np.float32)[:10]
    a_0 = tf.placeholder(tf.float32, [None, 784])
    y = tf.placeholder(tf.float32, [None, 10])
    w_1 = tf.Variable(tf.truncated_normal([784, 30]))
    b_1 = tf.Variable(tf.truncated_normal([1, 30]))
    w_2 = tf.Variable(tf.truncated_normal([30, 10]))
    b_2 = tf.Variable(tf.truncated_normal([1, 10]))
    a_1 = tf.sigmoid(tf.matmul(a_0, w_1) + b_1)
    a_2 = tf.sigmoid(tf.matmul(a_1, w_2) + b_2)
    diff = a_2 - y
    grads = tf.gradients(diff * diff, [w_1, b_1, w_2, b_2])
    with tf.Session() as sess:
        got = sess.run(grads, {a_0: x, y: labels})
        v1, c1, v2, c2 = sess.run([w_1, b_1, w_2, b_2])
    h = 1 / (1 + np.exp(-(x @ v1 + c1)))
    out = 1 / (1 + np.exp(-(h @ v2 + c2)))
    d_z_2 = 2 * (out - labels) * out * (1 - out)
    d_z_1 = (d_z_2 @ v2.T) * h * (1 - h)
    want = [x.T @ d_z_1, d_z_1.sum(0, keepdims=True), h.T @ d_z_2, d_z_2.sum(0, keepdims=True)]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=2e-4, atol=2e-6)


def test_gradients_against_finite_differences():
    """A small network mixing the ops, each gradient element against a
    central difference in float64 of the same function."""
    xv = randn(3, 4)
    w_init = randn(4, 5) * 0.5
    x = tf.placeholder(tf.float32, [None, 4])
    w = tf.Variable(w_init)
    logits = tf.tanh(tf.matmul(x, w)) * 2 + tf.nn.relu(tf.matmul(x, w) - 0.1)
    labels = tf.constant(np.eye(5, dtype=np.float32)[[0, 3, 1]])
    loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=logits))
    (g,) = tf.gradients(loss, [w])
    got = run(g, {x: xv})

    def f(wv):
        z = xv.astype(np.float64) @ wv
        lg = np.tanh(z) * 2 + np.maximum(z - 0.1, 0)
        lg = lg - lg.max(1, keepdims=True)
        logp = lg - np.log(np.exp(lg).sum(1, keepdims=True))
        return -(np.eye(5)[[0, 3, 1]] * logp).sum(1).mean()
    numeric = np.zeros_like(w_init, dtype=np.float64)
    base = w_init.astype(np.float64)
    for idx in np.ndindex(*w_init.shape):
        step = np.zeros_like(base)
        step[idx] = 1e-5
        numeric[idx] = (f(base + step) - f(base - step)) / 2e-5
    np.testing.assert_allclose(got, numeric, rtol=1e-3, atol=1e-4)


def test_differentiating_through_argmax_is_refused_at_the_call():
    x = tf.Variable(randn(3, 4))
    y = tf.cast(tf.argmax(x, 1), tf.float32)
    with pytest.raises(ValueError, match="no gradient"):
        tf.gradients(y, [x])
    # the graph goes on working after the refusal
    (g,) = tf.gradients(tf.reduce_sum(x * 2), [x])
    np.testing.assert_allclose(run(g), np.full((3, 4), 2.0))
