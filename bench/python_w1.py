#!/usr/bin/python3
"""python_w1.py — the article's training loop (784-30-10 sigmoid network,
batch 10) from Python: gradflow's Python package against the same step
written in plain NumPy, and the cost of one sess.run over the C call.

    GRADFLOW_LIB=build/libgradflow.so PYTHONPATH=python \\
        /usr/bin/python3 bench/python_w1.py [--data data/mnist] [--rounds 9] [--steps 2000]

The machine may be shared and its speed drift: each round runs --steps
steps of every workload in bursts of --burst steps, the workloads taking
turns burst by burst. Each round gives a workload's mean time per step and
that of its fastest burst (which leaves out most of what other processes
cost); the tables give the median and the range over the rounds of each,
and of NumPy's time over gradflow's. Before timing, it checks that the
NumPy steps and gradflow's move the weights alike from the same start.

- autodiff, manual: the article's loop, batch = next_batch(10) then
  sess.run(step, feed_dict=...), the step derived by GradientDescentOptimizer
  (0.1) or written by hand (eta 0.5); NumPy: the same next_batch and the
  same step in NumPy (float32).
- step only: the same without next_batch (one batch fed again and again).
- sess.run overhead: sess.run([step], feed_dict={a_0: xs, y: ys}) (two
  fed arrays, a list of targets) minus the C call, timed as a direct ctypes
  call of gf_session_run with the arrays sess.run prepared, less the cost of
  calling a C function through ctypes (gf_session_run on a NULL session).
"""
import argparse
import statistics
import sys
import time

import numpy as np

import gradflow.compat.v1 as tf
from gradflow._lib import lib
from gradflow.examples.tutorials.mnist import input_data


def build(mnist_seed, data):
    """The article's graph; returns what the loops need."""
    tf.reset_default_graph()
    mnist = input_data.read_data_sets(data, one_hot=True, seed=mnist_seed)
    a_0 = tf.placeholder(tf.float32, [None, 784])
    y = tf.placeholder(tf.float32, [None, 10])
    w_1 = tf.Variable(tf.truncated_normal([784, 30]))
    b_1 = tf.Variable(tf.truncated_normal([1, 30]))
    w_2 = tf.Variable(tf.truncated_normal([30, 10]))
    b_2 = tf.Variable(tf.truncated_normal([1, 10]))

    def sigma(x):
        return tf.div(tf.constant(1.0), tf.add(tf.constant(1.0), tf.exp(tf.negative(x))))

    def sigmaprime(x):
        return tf.multiply(sigma(x), tf.subtract(tf.constant(1.0), sigma(x)))
    z_1 = tf.add(tf.matmul(a_0, w_1), b_1)
    a_1 = sigma(z_1)
    z_2 = tf.add(tf.matmul(a_1, w_2), b_2)
    diff = tf.subtract(sigma(z_2), y)
    d_z_2 = tf.multiply(diff, sigmaprime(z_2))
    d_z_1 = tf.multiply(tf.matmul(d_z_2, tf.transpose(w_2)), sigmaprime(z_1))
    eta = tf.constant(0.5)
    manual = [
        tf.assign(w_1, tf.subtract(w_1, tf.multiply(eta, tf.matmul(tf.transpose(a_0), d_z_1)))),
        tf.assign(b_1, tf.subtract(b_1, tf.multiply(eta, tf.reduce_mean(d_z_1, axis=[0])))),
        tf.assign(w_2, tf.subtract(w_2, tf.multiply(eta, tf.matmul(tf.transpose(a_1), d_z_2)))),
        tf.assign(b_2, tf.subtract(b_2, tf.multiply(eta, tf.reduce_mean(d_z_2, axis=[0])))),
    ]
    autodiff = tf.train.GradientDescentOptimizer(0.1).minimize(tf.multiply(diff, diff))
    return mnist, a_0, y, [w_1, b_1, w_2, b_2], manual, autodiff


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def numpy_step(x, y, w1, b1, w2, b2, manual):
    """One step of the article's network in NumPy, updating the weights in
    place: the hand-written step (eta 0.5, biases by the batch mean) or the
    gradient of sum((a2 - y)^2) with rate 0.1."""
    a1 = sigmoid(x @ w1 + b1)
    a2 = sigmoid(a1 @ w2 + b2)
    d_z2 = (a2 - y) * a2 * (1 - a2)
    d_z1 = (d_z2 @ w2.T) * a1 * (1 - a1)
    if manual:
        w1 -= np.float32(0.5) * (x.T @ d_z1)
        b1 -= np.float32(0.5) * d_z1.mean(0, keepdims=True)
        w2 -= np.float32(0.5) * (a1.T @ d_z2)
        b2 -= np.float32(0.5) * d_z2.mean(0, keepdims=True)
    else:
        d_z2 *= np.float32(2)
        d_z1 *= np.float32(2)
        w1 -= np.float32(0.1) * (x.T @ d_z1)
        b1 -= np.float32(0.1) * d_z1.sum(0, keepdims=True)
        w2 -= np.float32(0.1) * (a1.T @ d_z2)
        b2 -= np.float32(0.1) * d_z2.sum(0, keepdims=True)


def check_numpy_matches(data):
    """The NumPy steps move the weights as gradflow's do (float rounding)."""
    for manual in (True, False):
        mnist, a_0, y, weights, manual_step, autodiff = build(1, data)
        with tf.Session() as sess:
            mine = [w.copy() for w in sess.run(weights)]
            for _ in range(20):
                xs, ys = mnist.train.next_batch(10)
                sess.run(manual_step if manual else autodiff, feed_dict={a_0: xs, y: ys})
                numpy_step(xs, ys, *mine, manual=manual)
            for got, want in zip(sess.run(weights), mine):
                if not np.allclose(got, want, rtol=1e-3, atol=1e-4):
                    sys.exit(f"python_w1: the NumPy {'manual' if manual else 'autodiff'} step "
                             "does not match gradflow's")


def workloads(data):
    """name -> function running n steps of the workload."""
    mnist, a_0, y, weights, manual, autodiff = build(1, data)
    sess = tf.Session()
    start = [w.copy() for w in sess.run(weights)]
    xs, ys = mnist.train.next_batch(10)
    listed = [autodiff]
    sess.run(listed, feed_dict={a_0: xs, y: ys})
    plan = next(p for p in sess._plans.values() if p.n_targets == 1 and p.n_feeds == 2)
    run_c, handle = lib.gf_session_run, sess._handle.ptr

    def gradflow_loop(step):
        def run(n):
            for _ in range(n):
                batch_xs, batch_ys = mnist.train.next_batch(10)
                sess.run(step, feed_dict={a_0: batch_xs, y: batch_ys})
        return run

    def gradflow_step(step):
        def run(n):
            for _ in range(n):
                sess.run(step, feed_dict={a_0: xs, y: ys})
        return run

    def numpy_loop(is_manual, with_batches):
        w = [v.copy() for v in start]

        def run(n):
            batch_xs, batch_ys = xs, ys
            for _ in range(n):
                if with_batches:
                    batch_xs, batch_ys = mnist.train.next_batch(10)
                numpy_step(batch_xs, batch_ys, *w, manual=is_manual)
        return run

    def run_listed(n):
        for _ in range(n):
            sess.run(listed, feed_dict={a_0: xs, y: ys})

    def c_call(n):
        for _ in range(n):
            run_c(handle, plan.feeds_addr, 2, plan.fetches_addr, 0, plan.targets_addr, 1,
                  plan.outs_addr)

    def ctypes_call(n):
        for _ in range(n):
            run_c(None, None, 0, None, 0, None, 0, None)

    return {
        "autodiff loop, gradflow": gradflow_loop(autodiff),
        "autodiff loop, NumPy": numpy_loop(False, True),
        "manual loop, gradflow": gradflow_loop(manual),
        "manual loop, NumPy": numpy_loop(True, True),
        "autodiff step only, gradflow": gradflow_step(autodiff),
        "autodiff step only, NumPy": numpy_loop(False, False),
        "manual step only, gradflow": gradflow_step(manual),
        "manual step only, NumPy": numpy_loop(True, False),
        "sess.run([step], two feeds)": run_listed,
        "gf_session_run through ctypes": c_call,
        "a ctypes call (NULL session)": ctypes_call,
    }


def one_round(work, steps, burst):
    """Runs every workload steps steps, in bursts taken in turn; per
    workload, (mean µs per step, µs per step of its fastest burst)."""
    total = {name: 0.0 for name in work}
    best = {name: float("inf") for name in work}
    for _ in range(max(steps // burst, 1)):
        for name, run in work.items():
            t0 = time.perf_counter()
            run(burst)
            t = (time.perf_counter() - t0) / burst * 1e6
            total[name] += t
            best[name] = min(best[name], t)
    return {name: (total[name] / max(steps // burst, 1), best[name]) for name in work}


def show(label, values):
    print(f"{label:46s}{statistics.median(values):8.2f}  {min(values):7.2f} - {max(values):7.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="data/mnist")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--burst", type=int, default=50)
    args = parser.parse_args()
    check_numpy_matches(args.data)
    work = workloads(args.data)
    rounds = [one_round(work, args.steps, args.burst) for _ in range(args.rounds)]
    for which, title in ((0, "mean"), (1, "fastest burst")):
        print(f"\nµs per step, {title} (median and range over {args.rounds} rounds)")
        for name in work:
            show(name, [r[name][which] for r in rounds])
        show("sess.run overhead over the C call",
             [r["sess.run([step], two feeds)"][which] - r["gf_session_run through ctypes"][which]
              + r["a ctypes call (NULL session)"][which] for r in rounds])
        for kind in ("autodiff loop", "manual loop", "autodiff step only", "manual step only"):
            show("NumPy / gradflow, " + kind,
                 [r[kind + ", NumPy"][which] / r[kind + ", gradflow"][which] for r in rounds])


if __name__ == "__main__":
    main()
