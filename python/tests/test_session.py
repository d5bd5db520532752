"""Sessions: fetch structures, fed and fetched arrays, default sessions,
variable initialisation and assignment semantics."""
import collections
import ctypes
import sys

import numpy as np
import pytest

import gradflow.compat.v1 as tf
from gradflow import session as session_module


@pytest.fixture
def net():
    """x [?,3] -> y = x @ w + b, with w and b variables."""
    x = tf.placeholder(tf.float32, [None, 3], name="x")
    w = tf.Variable(np.arange(6, dtype=np.float32).reshape(3, 2), name="w")
    b = tf.Variable([0.5, -0.5], name="b")
    y = tf.add(tf.matmul(x, w), b, name="y")
    return x, w, b, y


def test_fetch_structures(net):
    x, w, b, y = net
    xv = np.ones((2, 3), np.float32)
    Pair = collections.namedtuple("Pair", "out weights")
    with tf.Session() as sess:
        single = sess.run(y, {x: xv})
        flat = sess.run([y, w, b], {x: xv})
        nested = sess.run({"y": y, "vars": (w, [b, y]), "pair": Pair(y, w)}, feed_dict={x: xv})
        op_and_tensor = sess.run([tf.group(w.op), y], {x: xv})
        by_name = sess.run(["y:0", "w:0"], {"x:0": xv})
        twice = sess.run([y, y], {x: xv})
    want = xv @ np.arange(6).reshape(3, 2) + [0.5, -0.5]
    np.testing.assert_allclose(single, want)
    assert isinstance(flat, list) and len(flat) == 3
    np.testing.assert_allclose(flat[0], want)
    assert set(nested) == {"y", "vars", "pair"}
    assert isinstance(nested["vars"], tuple) and isinstance(nested["vars"][1], list)
    np.testing.assert_allclose(nested["vars"][1][1], want)
    assert isinstance(nested["pair"], Pair)
    np.testing.assert_allclose(nested["pair"].weights, flat[1])
    assert op_and_tensor[0] is None
    np.testing.assert_allclose(op_and_tensor[1], want)
    np.testing.assert_allclose(by_name[0], want)
    np.testing.assert_allclose(twice[0], twice[1])


def test_runs_are_prepared_once(net):
    x, w, b, y = net
    xv = np.ones((2, 3), np.float32)
    with tf.Session() as sess:
        for fetches in ({"y": y, "w": [w]}, [y, [w, b]], (y, w), y, [w.op]):
            sess.run(fetches, {x: xv})
            known = len(sess._plans)
            sess.run(fetches, {x: xv})
            assert len(sess._plans) == known, fetches


def test_bad_fetches():
    x = tf.placeholder(tf.float32, [2])
    with tf.Session() as sess:
        with pytest.raises(TypeError, match="invalid type"):
            sess.run(None)
        with pytest.raises(TypeError, match="invalid type"):
            sess.run([x, 3])
        with pytest.raises(KeyError, match="nothing:0"):
            sess.run("nothing:0")
    other = tf.Graph()
    with other.as_default():
        z = tf.constant(1.0)
    with tf.Session() as sess, pytest.raises(ValueError, match="another graph"):
        sess.run(z)


def test_fetched_values_are_copies_that_outlive_the_next_run(net):
    x, w, b, y = net
    with tf.Session() as sess:
        first = sess.run(y, {x: np.ones((2, 3), np.float32)})
        kept = first.copy()
        second = sess.run(y, {x: np.full((2, 3), 2.0, np.float32)})
        assert first.flags.owndata and second.flags.owndata
    np.testing.assert_array_equal(first, kept)
    assert not np.array_equal(first, second)


def test_feeds_float32_arrays_in_place_and_converts_the_rest(net):
    x, w, b, y = net
    xv = np.ones((2, 3), np.float32)
    with tf.Session() as sess:
        sess.run(y, {x: xv})
        addresses = {key[0] for key in sess._handle.headers}
        assert xv.ctypes.data in addresses     # the library read xv where it is
        for value in (xv.astype(np.float64), xv.tolist(), np.asfortranarray(np.ones((2, 3))),
                      np.ones((3, 2), np.float32).T, 1 + np.zeros((2, 3), np.int64)):
            np.testing.assert_allclose(sess.run(y, {x: value}), sess.run(y, {x: xv}))


def test_a_read_only_array_is_fed_too(net):
    x, w, b, y = net
    xv = np.ones((2, 3), np.float32)
    xv.flags.writeable = False
    with tf.Session() as sess:
        np.testing.assert_allclose(sess.run(y, {x: xv})[0], [6.5, 8.5])


def test_default_sessions(net):
    x, w, b, y = net
    xv = np.ones((1, 3), np.float32)
    with pytest.raises(ValueError, match="no default session"):
        y.eval({x: xv})
    sess = tf.Session()
    with sess.as_default():
        assert tf.get_default_session() is sess
        np.testing.assert_allclose(y.eval({x: xv}), [[6.5, 8.5]])
    assert tf.get_default_session() is None
    np.testing.assert_allclose(y.eval(feed_dict={x: xv}, session=sess), [[6.5, 8.5]])
    sess.close()
    with pytest.raises(RuntimeError, match="closed Session"):
        sess.run(y, {x: xv})

    inter = tf.InteractiveSession()
    assert tf.get_default_session() is inter
    tf.assign(w, tf.zeros([3, 2])).op.run()
    np.testing.assert_allclose(y.eval({x: xv}), [[0.5, -0.5]])
    inter.close()
    assert tf.get_default_session() is None


def test_with_session_closes_it():
    c = tf.constant(1.0)
    with tf.Session() as sess:
        assert sess.run(c) == 1.0
    with pytest.raises(RuntimeError, match="closed Session"):
        sess.run(c)


def test_initializer_resets_changed_variables_only():
    v = tf.Variable(tf.zeros([3]))
    r = tf.Variable(tf.truncated_normal([4]))
    init = tf.global_variables_initializer()
    step = tf.assign(v, v + 1)
    with tf.Session() as sess:
        first_r = sess.run(r)
        sess.run(init)                       # nothing changed: values kept
        np.testing.assert_array_equal(sess.run(r), first_r)
        sess.run(step)
        sess.run(step)
        np.testing.assert_array_equal(sess.run(v), [2, 2, 2])
        sess.run(init)                       # v changed: initialised again
        np.testing.assert_array_equal(sess.run(v), [0, 0, 0])
        np.testing.assert_array_equal(sess.run(r), first_r)
        sess.run(step)
        sess.run(v.initializer)
        np.testing.assert_array_equal(sess.run(v), [0, 0, 0])
        assert sess.run(tf.group(tf.global_variables_initializer(),
                                 tf.local_variables_initializer())) is None
        # only the listed variables: the others keep their values
        sess.run([step, tf.assign(r, r * 2)])
        sess.run(tf.variables_initializer([v]))
        np.testing.assert_array_equal(sess.run(v), [0, 0, 0])
        np.testing.assert_array_equal(sess.run(r), first_r * 2)
        # grouped with an op: initialised, then the op runs
        sess.run(tf.group(tf.global_variables_initializer(), step.op))
        np.testing.assert_array_equal(sess.run(v), [1, 1, 1])
        np.testing.assert_array_equal(sess.run(r), first_r)


def test_assignments_see_the_values_from_before_the_run():
    a = tf.Variable([1.0])
    b = tf.Variable([10.0])
    swap = [tf.assign(a, b), tf.assign(b, a)]
    with tf.Session() as sess:
        new_a, new_b = sess.run(swap)       # each assign gives its new value
        assert (new_a, new_b) == (10.0, 1.0)
        np.testing.assert_array_equal(sess.run([a, b]), [[10.0], [1.0]])
        inc = a.assign_add(5.0)
        assert sess.run(inc) == 15.0
        sess.run(a.assign_sub([2.0]))
        assert sess.run(a) == 13.0


def manual_step():
    x = tf.placeholder(tf.float32, [None, 4])
    w = tf.Variable(tf.truncated_normal([4, 3]))
    d = tf.matmul(tf.transpose(x), tf.sigmoid(tf.matmul(x, w)))
    return x, w, [tf.assign(w, tf.subtract(w, tf.multiply(tf.constant(0.5), d)))]


def test_a_dropped_result_runs_the_same_step():
    """A run whose value is dropped (a statement of its own) takes the same
    step as one whose value is used."""
    xv = np.random.default_rng(3).random((5, 4), dtype=np.float32)
    x, w, step = manual_step()
    with tf.Session() as used, tf.Session() as dropped:
        for _ in range(3):
            values = used.run(step, feed_dict={x: xv})
            dropped.run(step, feed_dict={x: xv})
        np.testing.assert_allclose(used.run(w), dropped.run(w), rtol=1e-6)
        np.testing.assert_allclose(values[0], used.run(w))


def test_which_calls_drop_their_value():
    seen = []

    def probe():
        seen.append(session_module._result_unused(sys._getframe(1)))
        return 0

    def statement():
        probe()

    def assignment():
        value = probe()
        return value

    def returned():
        return probe()

    def in_a_loop():
        for _ in range(2):
            probe()
    for f in (statement, assignment, returned, in_a_loop):
        f()
    assert seen == [True, False, False, True, True]


def test_a_mutated_fetch_list_is_prepared_again():
    a, b = tf.constant(1.0), tf.constant(2.0)
    fetches = [a]
    with tf.Session() as sess:
        assert sess.run(fetches) == [1.0]
        fetches.append(b)
        assert sess.run(fetches) == [1.0, 2.0]
        fetches[0] = b
        assert sess.run(fetches) == [2.0, 2.0]


def test_load_writes_a_variable(net):
    x, w, b, y = net
    with tf.Session() as sess:
        b.load([1.0, 2.0], sess)
        np.testing.assert_array_equal(sess.run(b), [1.0, 2.0])
        with pytest.raises(ValueError, match="shape"):
            b.load([1.0, 2.0, 3.0], sess)


def test_seed_and_threads():
    def draw(seed, threads):
        tf.reset_default_graph()
        tf.set_random_seed(seed)
        v = tf.Variable(tf.truncated_normal([50, 40]))
        m = tf.matmul(v, tf.transpose(v))
        config = tf.ConfigProto(intra_op_parallelism_threads=threads)
        with tf.Session(config=config) as sess:
            return sess.run([v, m])
    one, two, other = draw(5, 1), draw(5, 2), draw(6, 1)
    np.testing.assert_array_equal(one[0], two[0])
    np.testing.assert_array_equal(one[1], two[1])
    assert not np.array_equal(one[0], other[0])
    assert np.abs(one[0]).max() <= 2.0      # truncated at two stddev


def test_tensor_properties(net):
    x, w, b, y = net
    assert x.name == "x:0" and x.op.name == "x" and x.op.type == "placeholder"
    assert x.dtype == tf.float32 and x.shape.as_list() == [None, 3]
    assert str(x.get_shape()) == "(?, 3)" and x.shape[1].value == 3 and x.shape[0].value is None
    assert y.name == "y:0" and y.graph is tf.get_default_graph()
    assert [t.name for t in y.op.inputs] == ["matmul:0", "b:0"]
    assert tf.get_default_graph().get_tensor_by_name("w:0") is w
    assert tf.global_variables() == [w, b] and tf.trainable_variables() == [w, b]
    frozen = tf.Variable(1.0, trainable=False)
    assert tf.trainable_variables() == [w, b] and frozen in tf.global_variables()
    with tf.name_scope("layer"):
        z = tf.exp(x, name="z")
        u = tf.exp(x)
    assert z.name == "layer/z:0" and u.name == "layer/exp:0"
    assert isinstance(ctypes.c_void_p(y._ptr).value, int)
