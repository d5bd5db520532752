"""tf.train: the optimizers' steps against their formulas, and Saver's
checkpoints."""
import os

import numpy as np
import pytest

import gradflow.compat.v1 as tf

rng = np.random.default_rng(5)


def quadratic():
    """loss = sum((x @ w - t)^2) for fixed x and t; its gradient in NumPy."""
    x = rng.standard_normal((6, 3)).astype(np.float32)
    t = rng.standard_normal((6, 2)).astype(np.float32)
    w0 = rng.standard_normal((3, 2)).astype(np.float32)
    w = tf.Variable(w0)
    loss = tf.reduce_sum(tf.square(tf.matmul(tf.constant(x), w) - t))
    return w, w0, loss, lambda wv: 2 * x.T @ (x @ wv - t)


def steps(optimizer, n):
    w, w0, loss, grad = quadratic()
    train = optimizer.minimize(loss)
    with tf.Session() as sess:
        for _ in range(n):
            assert sess.run(train) is None
        return sess.run(w), w0, grad


def test_gradient_descent():
    got, w0, grad = steps(tf.train.GradientDescentOptimizer(0.01), 2)
    w1 = w0 - 0.01 * grad(w0)
    np.testing.assert_allclose(got, w1 - 0.01 * grad(w1), rtol=1e-4, atol=1e-6)


def test_momentum():
    got, w0, grad = steps(tf.train.MomentumOptimizer(0.01, 0.9), 2)
    acc = grad(w0)
    w1 = w0 - 0.01 * acc
    acc = 0.9 * acc + grad(w1)
    np.testing.assert_allclose(got, w1 - 0.01 * acc, rtol=1e-4, atol=1e-6)


def test_adam():
    got, w0, grad = steps(tf.train.AdamOptimizer(0.1), 2)
    w, m, v = w0.astype(np.float64), 0.0, 0.0
    for t in (1, 2):
        g = grad(w)
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        lr = 0.1 * np.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
        w = w - lr * m / (np.sqrt(v) + 1e-8)
    np.testing.assert_allclose(got, w, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("make", [lambda: tf.train.GradientDescentOptimizer(0.01),
                                  lambda: tf.train.MomentumOptimizer(0.01, 0.9),
                                  lambda: tf.train.AdamOptimizer(0.1)])
def test_the_initializer_restarts_training(make):
    """After training, global_variables_initializer gives the variables and
    the optimizer's slots their initial values: the first steps come again."""
    w, w0, loss, grad = quadratic()
    train = make().minimize(loss)
    init = tf.global_variables_initializer()
    with tf.Session() as sess:
        sess.run(init)
        sess.run(train)
        first = sess.run(w)
        sess.run(train)
        second = sess.run(w)
        sess.run(init)
        np.testing.assert_array_equal(sess.run(w), w0)
        sess.run(train)
        np.testing.assert_array_equal(sess.run(w), first)
        sess.run(train)
        np.testing.assert_array_equal(sess.run(w), second)


def test_var_list_global_step_and_apply_gradients():
    w, w0, loss, grad = quadratic()
    other = tf.Variable(tf.zeros([2]))
    global_step = tf.Variable(0, trainable=False, name="global_step")
    opt = tf.train.GradientDescentOptimizer(0.01)
    train = opt.minimize(loss + tf.reduce_sum(other), global_step=global_step, var_list=[w])
    pairs = opt.compute_gradients(loss)
    assert [v for _, v in pairs] == [w, other] and pairs[1][0] is None
    manual = opt.apply_gradients(pairs)
    with tf.Session() as sess:
        sess.run(train)
        assert sess.run(global_step) == 1.0
        np.testing.assert_array_equal(sess.run(other), [0, 0])    # not in var_list
        w1 = sess.run(w)
        sess.run(manual)
        np.testing.assert_allclose(sess.run(w), w1 - 0.01 * grad(w1), rtol=1e-4, atol=1e-6)
    with pytest.raises(NotImplementedError, match="minimize"):
        tf.train.AdamOptimizer().apply_gradients(pairs)


def test_saver_round_trip(tmp_path):
    w, w0, loss, grad = quadratic()
    train = tf.train.AdamOptimizer(0.1).minimize(loss)
    saver = tf.train.Saver()
    path = str(tmp_path / "model.ckpt")
    with tf.Session() as sess:
        sess.run(train)
        saved = sess.run(w)
        assert saver.save(sess, path) == path
        sess.run(train)
        after_two = sess.run(w)
        saver.restore(sess, path)
        np.testing.assert_array_equal(sess.run(w), saved)
        sess.run(train)        # Adam's slots were restored too: the same second step
        np.testing.assert_array_equal(sess.run(w), after_two)
    with tf.Session() as fresh:
        saver.restore(fresh, path)
        np.testing.assert_array_equal(fresh.run(w), saved)
    assert tf.train.latest_checkpoint(str(tmp_path)) == path


def test_saver_global_step_and_max_to_keep(tmp_path):
    step = tf.Variable(0.0, trainable=False)
    inc = tf.assign_add(step, 1.0)
    saver = tf.train.Saver(max_to_keep=2)
    base = str(tmp_path / "m")
    with tf.Session() as sess:
        written = []
        for _ in range(3):
            sess.run(inc)
            written.append(saver.save(sess, base, global_step=step))
    assert written == [base + "-1", base + "-2", base + "-3"]
    assert not os.path.exists(written[0]) and os.path.exists(written[2])
    assert saver.last_checkpoints == written[1:]
    assert tf.train.latest_checkpoint(str(tmp_path)) == written[2]
    state = (tmp_path / "checkpoint").read_text()
    assert 'model_checkpoint_path: "m-3"' in state and '"m-1"' not in state


def test_restore_errors(tmp_path):
    w = tf.Variable(tf.ones([3]))
    saver = tf.train.Saver()
    path = str(tmp_path / "model.ckpt")
    with tf.Session() as sess:
        with pytest.raises(tf.errors.NotFoundError, match="model.ckpt"):
            saver.restore(sess, path)
        saver.save(sess, path)
        data = bytearray(open(path, "rb").read())
        data[len(data) // 2] ^= 0xFF
        open(path, "wb").write(bytes(data))
        sess.run(tf.assign(w, [5.0, 5.0, 5.0]))
        with pytest.raises(tf.errors.DataLossError):
            saver.restore(sess, path)
        np.testing.assert_array_equal(sess.run(w), [5, 5, 5])   # nothing changed
    tf.reset_default_graph()
    tf.Variable(tf.ones([4]), name="Variable")
    with tf.Session() as other:
        os.remove(path)
        tf.train.Saver().save(other, path)
    tf.reset_default_graph()
    tf.Variable(tf.ones([3]), name="Variable")
    with tf.Session() as sess, pytest.raises(tf.errors.InvalidArgumentError, match="shape"):
        tf.train.Saver().restore(sess, path)
    with pytest.raises(ValueError, match="every variable"):
        tf.Variable(tf.ones([1]))
        tf.train.Saver(var_list=[tf.global_variables()[0]])
