"""Op values against NumPy: elementwise ops with broadcasting, operators with
Python numbers and NumPy arrays, matmul, reductions, layout, softmax,
convolution and pooling."""
import numpy as np
import pytest

import gradflow.compat.v1 as tf

rng = np.random.default_rng(7)


def randn(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def run(fetches, feed_dict=None):
    with tf.Session() as sess:
        return sess.run(fetches, feed_dict)


BROADCASTS = [((3, 4), (3, 4)), ((3, 4), (1, 4)), ((3, 4), (4,)), ((3, 1), (1, 4)),
              ((2, 3, 4), (3, 1)), ((4,), (2, 3, 4)), ((), (3, 4)), ((2, 1, 3, 1), (5, 1, 4))]


@pytest.mark.parametrize("sa,sb", BROADCASTS)
def test_binary_ops_broadcast_as_numpy(sa, sb):
    a, b = randn(*sa), randn(*sb) + 3.0   # b away from 0 for div
    pa = tf.placeholder(tf.float32, sa)
    pb = tf.placeholder(tf.float32, [None] + list(sb[1:]) if sb else [])
    ops = [tf.add(pa, pb), tf.subtract(pa, pb), tf.multiply(pa, pb), tf.div(pa, pb),
           tf.maximum(pa, pb), tf.minimum(pa, pb)]
    got = run(ops, {pa: a, pb: b})
    want = [a + b, a - b, a * b, a / b, np.maximum(a, b), np.minimum(a, b)]
    for g, w in zip(got, want):
        assert g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=1e-6)


def test_shapes_that_do_not_broadcast_raise_at_the_call():
    a = tf.placeholder(tf.float32, [None, 30])
    b = tf.zeros([1, 31])
    with pytest.raises(ValueError, match=r"shapes \[\?,30\] and \[1,31\] do not broadcast"):
        tf.add(a, b)


def test_operators_with_numbers_and_numpy_arrays():
    x = tf.placeholder(tf.float32, [2, 3])
    v = randn(2, 3)
    c = randn(3)
    m = randn(3, 4)
    exprs = [x + 1, 1 + x, x - 2.5, 2.5 - x, x * 3, 3 * x, x / 2, 2 / (x * x + 1), -x,
             x + c, c + x, c - x, x * c, x @ m, v @ tf.transpose(x), x ** 2, x ** 3,
             (x * x + 1) ** 0.5]
    want = [v + 1, 1 + v, v - 2.5, 2.5 - v, v * 3, 3 * v, v / 2, 2 / (v * v + 1), -v,
            v + c, c + v, c - v, v * c, v @ m, v @ v.T, v ** 2, v ** 3, np.sqrt(v * v + 1)]
    for g, w in zip(run(exprs, {x: v}), want):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


def test_tensor_is_not_a_python_bool_and_not_iterable():
    x = tf.constant([1.0, 2.0])
    with pytest.raises(TypeError):
        bool(x)
    with pytest.raises(TypeError):
        list(x)


def test_unary_ops():
    v = randn(4, 5)
    pos = np.abs(v) + 0.5
    x, p = tf.constant(v), tf.constant(pos)
    got = run([tf.exp(x), tf.negative(x), tf.sigmoid(x), tf.tanh(x), tf.nn.relu(x),
               tf.log(p), tf.sqrt(p), tf.square(x), tf.abs(x), tf.nn.sigmoid(x)])
    want = [np.exp(v), -v, 1 / (1 + np.exp(-v)), np.tanh(v), np.maximum(v, 0),
            np.log(pos), np.sqrt(pos), v * v, np.abs(v), 1 / (1 + np.exp(-v))]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("ta,tb", [(False, False), (True, False), (False, True), (True, True)])
def test_matmul_transposes(ta, tb):
    a, b = randn(3, 5), randn(5, 4)
    a_in = a.T.copy() if ta else a
    b_in = b.T.copy() if tb else b
    got = run(tf.matmul(tf.constant(a_in), tf.constant(b_in), transpose_a=ta, transpose_b=tb))
    np.testing.assert_allclose(got, a @ b, rtol=1e-5)


def test_matmul_dimension_mismatch_names_both_shapes():
    a = tf.placeholder(tf.float32, [None, 784])
    w = tf.Variable(tf.zeros([30, 10]))
    with pytest.raises(ValueError, match="784 and 30"):
        tf.matmul(a, w)


@pytest.mark.parametrize("axis", [None, 0, 1, -1, [0, 2], (1, 2)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions(axis, keepdims):
    v = randn(2, 3, 4)
    x = tf.constant(v)
    np_axis = tuple(axis) if isinstance(axis, list) else axis
    got = run([tf.reduce_sum(x, axis=axis, keepdims=keepdims),
               tf.reduce_mean(x, axis=axis, keepdims=keepdims)])
    np.testing.assert_allclose(got[0], v.sum(axis=np_axis, keepdims=keepdims), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(got[1], v.mean(axis=np_axis, keepdims=keepdims), rtol=1e-5,
                               atol=1e-6)


def test_reduction_aliases_of_tensorflow_1():
    v = randn(3, 4)
    x = tf.constant(v)
    got = run([tf.reduce_sum(x, reduction_indices=[1]), tf.reduce_mean(x, 0, keep_dims=True)])
    np.testing.assert_allclose(got[0], v.sum(1), rtol=1e-5)
    np.testing.assert_allclose(got[1], v.mean(0, keepdims=True), rtol=1e-5)


def test_argmax_equal_cast_count_as_numpy():
    v = randn(50, 10)
    labels = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 50)]
    x, y = tf.constant(v), tf.constant(labels)
    idx = tf.argmax(x, 1)
    correct = tf.equal(idx, tf.argmax(y, 1))
    count = tf.reduce_sum(tf.cast(correct, tf.float32))
    got_idx, got_correct, got_count = run([idx, correct, count])
    assert idx.dtype == tf.int32 and correct.dtype == tf.bool
    assert got_idx.dtype == np.int32 and got_correct.dtype == np.bool_
    np.testing.assert_array_equal(got_idx, v.argmax(1))
    np.testing.assert_array_equal(got_correct, v.argmax(1) == labels.argmax(1))
    assert got_count == np.float32((v.argmax(1) == labels.argmax(1)).sum())
    assert isinstance(got_count, np.float32)


def test_int32_and_bool_placeholders_and_constants():
    i = tf.placeholder(tf.int32, [None])
    b = tf.placeholder(tf.bool, [3])
    k = tf.constant([1, 2, 3])
    assert k.dtype == tf.int32
    got = run([i, tf.cast(b, tf.float32), tf.cast(k, tf.float32) * 2, tf.equal(i, 3), b],
              {i: [1.9, 3, 5], b: [True, False, True]})
    np.testing.assert_array_equal(got[0], [1, 3, 5])     # converted as NumPy converts
    assert got[0].dtype == np.int32
    np.testing.assert_array_equal(got[1], [1, 0, 1])
    np.testing.assert_array_equal(got[2], [2, 4, 6])
    np.testing.assert_array_equal(got[3], [False, True, False])
    assert got[4].dtype == np.bool_
    # arithmetic is float32's: other dtypes are cast first, as the message says
    with pytest.raises(ValueError, match="dtype int32, expected float32"):
        i + 2


def test_layout_ops():
    v = randn(2, 3, 4)
    x = tf.constant(v)
    got = run([tf.transpose(x), tf.transpose(x, [0, 2, 1]), tf.reshape(x, [-1, 4]),
               tf.reshape(x, [6, 4]), tf.concat([x, x * 2], 1), tf.gather(x, [1, 0, 1]),
               tf.one_hot([2, 0], 4), x[1:2], tf.identity(x)])
    want = [v.transpose(), v.transpose(0, 2, 1), v.reshape(-1, 4), v.reshape(6, 4),
            np.concatenate([v, v * 2], 1), v[[1, 0, 1]], np.eye(4)[[2, 0]], v[1:2], v]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-6)


def test_reshape_of_an_open_batch():
    x = tf.placeholder(tf.float32, [None, 784])
    img = tf.reshape(x, [-1, 28, 28, 1])
    assert img.shape.as_list() == [None, 28, 28, 1]
    v = randn(3, 784)
    np.testing.assert_array_equal(run(img, {x: v}), v.reshape(3, 28, 28, 1))


def softmax(v):
    e = np.exp(v - v.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_softmax_and_cross_entropy():
    logits = randn(6, 10) * 3
    labels = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 6)]
    lg, lb = tf.constant(logits), tf.constant(labels)
    idx = tf.constant(labels.argmax(1), dtype=tf.int32)
    got = run([tf.nn.softmax(lg), tf.nn.log_softmax(lg),
               tf.nn.softmax_cross_entropy_with_logits(labels=lb, logits=lg),
               tf.nn.sparse_softmax_cross_entropy_with_logits(labels=idx, logits=lg),
               tf.nn.l2_loss(lg)])
    want_ce = -(labels * np.log(softmax(logits))).sum(1)
    np.testing.assert_allclose(got[0], softmax(logits), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(got[1], np.log(softmax(logits)), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(got[2], want_ce, rtol=1e-4)
    np.testing.assert_allclose(got[3], want_ce, rtol=1e-4)
    np.testing.assert_allclose(got[4], (logits ** 2).sum() / 2, rtol=1e-5)
    with pytest.raises(ValueError, match="named arguments"):
        tf.nn.softmax_cross_entropy_with_logits(lb, lg)


def conv2d_same(x, w, stride):
    """NumPy's cross-correlation with TensorFlow's SAME padding."""
    n, h, wd, _ = x.shape
    kh, kw, _, cout = w.shape
    oh, ow = -(-h // stride), -(-wd // stride)
    ph = max((oh - 1) * stride + kh - h, 0)
    pw = max((ow - 1) * stride + kw - wd, 0)
    xp = np.pad(x, ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)))
    out = np.zeros((n, oh, ow, cout), np.float32)
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, i * stride:i * stride + kh, j * stride:j * stride + kw, :]
            out[:, i, j, :] = np.tensordot(patch, w, axes=([1, 2, 3], [0, 1, 2]))
    return out


@pytest.mark.parametrize("stride", [1, 2])
def test_conv2d_same_as_numpy(stride):
    x, w = randn(2, 7, 6, 3), randn(3, 3, 3, 4)
    got = run(tf.nn.conv2d(tf.constant(x), tf.constant(w), strides=[1, stride, stride, 1],
                           padding="SAME"))
    np.testing.assert_allclose(got, conv2d_same(x, w, stride), rtol=1e-4, atol=1e-5)


def test_max_and_avg_pool_as_numpy():
    x = randn(2, 4, 6, 3)
    xt = tf.constant(x)
    got = run([tf.nn.max_pool(xt, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="SAME"),
               tf.nn.avg_pool(xt, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="VALID")])
    blocks = x.reshape(2, 2, 2, 3, 2, 3)
    np.testing.assert_allclose(got[0], blocks.max(axis=(2, 4)))
    np.testing.assert_allclose(got[1], blocks.mean(axis=(2, 4)), rtol=1e-6)


def test_conv_and_pool_arguments_are_checked():
    x = tf.placeholder(tf.float32, [None, 28, 28, 1])
    w = tf.zeros([5, 5, 1, 4])
    with pytest.raises(ValueError, match="batch and channel entries must be 1"):
        tf.nn.conv2d(x, w, strides=[2, 1, 1, 1], padding="SAME")
    with pytest.raises(ValueError, match="padding 'same'"):
        tf.nn.max_pool(x, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="same")
    with pytest.raises(ValueError, match="in must match|1 and 3|channels"):
        tf.nn.conv2d(x, tf.zeros([5, 5, 3, 4]), strides=[1, 1, 1, 1], padding="SAME")


def test_dropout_keeps_and_scales():
    x = tf.ones([200, 50])
    keep = tf.placeholder(tf.float32)
    fixed = tf.nn.dropout(x, 0.5)
    fed = tf.nn.dropout(x, keep)
    with tf.Session() as sess:
        a, b = sess.run([fixed, fed], {keep: 0.25})
        same = sess.run(fed, {keep: 1.0})
    assert set(np.unique(a)) <= {0.0, 2.0} and 0.4 < (a > 0).mean() < 0.6
    assert set(np.unique(b)) <= {0.0, 4.0} and 0.2 < (b > 0).mean() < 0.3
    np.testing.assert_array_equal(same, np.ones((200, 50)))
    with pytest.raises(ValueError, match="keep_prob"):
        tf.nn.dropout(x, 1.5)


def test_constant_fills_a_shape_and_names():
    c = tf.constant(0.1, shape=[2, 3], name="bias")
    assert c.name == "bias:0"
    np.testing.assert_allclose(run(c), np.full((2, 3), 0.1, np.float32))
    assert run(tf.constant(2.0)).shape == ()
    assert tf.constant(2.0).shape.as_list() == []


def test_random_values_drawn_when_built():
    tf.set_random_seed(3)
    n = tf.random_normal([400, 50], mean=1.0, stddev=2.0)
    u = tf.random_uniform([400, 50], minval=-1, maxval=3)
    nv, uv = run([n, u])
    assert abs(nv.mean() - 1.0) < 0.05 and abs(nv.std() - 2.0) < 0.05
    assert uv.min() >= -1 and uv.max() < 3 and abs(uv.mean() - 1.0) < 0.05
    again = tf.random_normal([400, 50], mean=1.0, stddev=2.0)
    assert not np.array_equal(run(again), nv)    # another node, other values
    tf.reset_default_graph()
    tf.set_random_seed(3)
    np.testing.assert_array_equal(run(tf.random_normal([400, 50], mean=1.0, stddev=2.0)), nv)


def test_sigmoid_cross_entropy():
    x = randn(5, 4) * 10
    z = (rng.random((5, 4)) > 0.5).astype(np.float32)
    got = run(tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.constant(z),
                                                      logits=tf.constant(x)))
    p = 1 / (1 + np.exp(-x.astype(np.float64)))
    want = -(z * np.log(p) + (1 - z) * np.log(1 - p))
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
