"""Exceptions carrying the library's messages: ValueError at the line that
builds a bad node (and the graph goes on), InvalidArgumentError for feeds
and run-time failures."""
import traceback

import numpy as np
import pytest

import gradflow.compat.v1 as tf


def article_graph():
    a_0 = tf.placeholder(tf.float32, [None, 784], name="a_0")
    y = tf.placeholder(tf.float32, [None, 10], name="y")
    w = tf.Variable(tf.truncated_normal([784, 10]), name="w")
    a_2 = tf.sigmoid(tf.matmul(a_0, w))
    acct_res = tf.reduce_sum(tf.cast(tf.equal(tf.argmax(a_2, 1), tf.argmax(y, 1)), tf.float32),
                             name="acct_res")
    return a_0, y, w, acct_res


def test_shape_error_is_raised_by_the_offending_line():
    a = tf.placeholder(tf.float32, [None, 784])
    w = tf.Variable(tf.zeros([30, 10]))
    try:
        tf.matmul(a, w)   # the offending line
    except ValueError as e:
        message = str(e)
        frames = traceback.extract_tb(e.__traceback__)
    else:
        pytest.fail("no ValueError")
    assert "dimensions must be equal, but are 784 and 30" in message
    assert "[?,784] and [30,10]" in message
    assert frames[0].line == "tf.matmul(a, w)   # the offending line"


def test_the_graph_goes_on_after_an_error():
    x = tf.placeholder(tf.float32, [None, 3])
    with pytest.raises(ValueError, match="do not broadcast"):
        x + tf.zeros([4])
    with pytest.raises(ValueError, match="axis 5"):
        tf.reduce_sum(x, axis=5)
    with pytest.raises(ValueError, match="cannot reshape|elements"):
        tf.reshape(tf.zeros([3, 4]), [5, 2])
    y = x * 2     # built after the errors, runs
    with tf.Session() as sess:
        np.testing.assert_array_equal(sess.run(y, {x: [[1, 2, 3]]}), [[2, 4, 6]])


def test_a_session_started_before_an_error_keeps_running():
    x = tf.placeholder(tf.float32, [2])
    sess = tf.Session()
    with pytest.raises(ValueError):
        tf.matmul(x, x)
    assert list(sess.run(x * 3, {x: [1, 2]})) == [3, 6]
    sess.close()


def test_wrong_feed_shape():
    a_0, y, w, acct_res = article_graph()
    with tf.Session() as sess:
        with pytest.raises(tf.errors.InvalidArgumentError) as info:
            sess.run(acct_res, {a_0: np.zeros((10, 783)), y: np.zeros((10, 10))})
    assert 'feed for placeholder "a_0": shape [10,783], expected [?,784]' in str(info.value)
    assert isinstance(info.value, ValueError)          # as TensorFlow 1 raised it
    assert isinstance(info.value, tf.errors.OpError)


def test_wrong_feed_rank():
    a_0, y, w, acct_res = article_graph()
    with tf.Session() as sess:
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"shape \[784\], expected"):
            sess.run(acct_res, {a_0: np.zeros(784), y: np.zeros((1, 10))})
        with pytest.raises(tf.errors.InvalidArgumentError, match="rank 5"):
            sess.run(acct_res, {a_0: np.zeros((1, 1, 1, 1, 784)), y: np.zeros((1, 10))})


def test_missing_feed_names_the_placeholder_and_the_fetch():
    a_0, y, w, acct_res = article_graph()
    with tf.Session() as sess:
        with pytest.raises(tf.errors.InvalidArgumentError) as info:
            sess.run(acct_res, feed_dict={a_0: np.zeros((2, 784))})
    assert 'placeholder "y" of shape [?,10] must be fed' in str(info.value)
    assert "acct_res" in str(info.value)


def test_feeding_what_cannot_be_fed():
    a_0, y, w, acct_res = article_graph()
    with tf.Session() as sess:
        with pytest.raises(tf.errors.InvalidArgumentError, match="not a placeholder"):
            sess.run(acct_res, {a_0: np.zeros((1, 784)), y: np.zeros((1, 10)),
                                w: np.zeros((784, 10))})
        with pytest.raises(TypeError, match="cannot be a tf.Tensor"):
            sess.run(acct_res, {a_0: a_0, y: np.zeros((1, 10))})
        with pytest.raises(TypeError, match="feed_dict key"):
            sess.run(acct_res, {3: np.zeros((1, 784))})
        with pytest.raises(ValueError, match="could not convert"):
            sess.run(acct_res, {a_0: "images", y: np.zeros((1, 10))})
        # the session is fine afterwards
        assert sess.run(acct_res, {a_0: np.zeros((1, 784)), y: np.eye(10)[:1]}) in (0.0, 1.0)


def test_check_numerics_names_the_op_at_run_time():
    x = tf.placeholder(tf.float32, [2])
    checked = tf.check_numerics(tf.log(x), "log of the input")
    with tf.Session() as sess:
        np.testing.assert_allclose(sess.run(checked, {x: [1.0, np.e]}), [0.0, 1.0], atol=1e-6)
        with pytest.raises(tf.errors.InvalidArgumentError, match="log of the input.*infinity"):
            sess.run(checked, {x: [0.0, 1.0]})


def test_bad_arguments_at_build_time():
    x = tf.placeholder(tf.float32, [None, 4])
    with pytest.raises(TypeError, match="float32, int32 or bool"):
        tf.placeholder("float64", [2])
    with pytest.raises(ValueError, match="rank 4 at most"):
        tf.placeholder(tf.float32, [1, 2, 3, 4, 5])
    with pytest.raises(ValueError, match="truncated_normal"):
        tf.truncated_normal([2], stddev=-1.0)
    with pytest.raises(TypeError, match="not a variable"):
        tf.assign(x, x)
    with pytest.raises(ValueError, match="assign"):
        tf.assign(tf.Variable(tf.zeros([3])), tf.zeros([4]))
    with pytest.raises(ValueError, match="fully known shape"):
        tf.Variable(x)
    with pytest.raises(TypeError, match="fixed number"):
        tf.train.GradientDescentOptimizer(tf.constant(0.1))
    with pytest.raises(ValueError, match="no gradients for any variable"):
        tf.Variable(tf.zeros([2]))
        tf.train.GradientDescentOptimizer(0.1).minimize(tf.reduce_sum(x))


def test_names_gradflow_lacks_say_so():
    with pytest.raises(AttributeError, match="gradflow does not implement"):
        tf.reduce_max([2.0])
