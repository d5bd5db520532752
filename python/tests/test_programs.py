"""TensorFlow 1 programs in the styles of its tutorials, beyond the
article's: each trains on the digits and must learn."""
import numpy as np

import gradflow.compat.v1 as tf
from gradflow.examples.tutorials.mnist import input_data


def test_softmax_regression_in_the_beginners_style(mnist_dir):
    mnist = input_data.read_data_sets(mnist_dir, one_hot=True)
    x = tf.placeholder(tf.float32, [None, 784])
    W = tf.Variable(tf.zeros([784, 10]))
    b = tf.Variable(tf.zeros([10]))
    y = tf.nn.softmax(tf.matmul(x, W) + b)
    y_ = tf.placeholder(tf.float32, [None, 10])
    cross_entropy = tf.reduce_mean(-tf.reduce_sum(y_ * tf.log(y + 1e-9), reduction_indices=[1]))
    train_step = tf.train.GradientDescentOptimizer(0.5).minimize(cross_entropy)
    sess = tf.InteractiveSession()
    tf.global_variables_initializer().run()
    for _ in range(300):
        batch_xs, batch_ys = mnist.train.next_batch(100)
        sess.run(train_step, feed_dict={x: batch_xs, y_: batch_ys})
    correct_prediction = tf.equal(tf.argmax(y, 1), tf.argmax(y_, 1))
    accuracy = tf.reduce_mean(tf.cast(correct_prediction, tf.float32))
    result = sess.run(accuracy, feed_dict={x: mnist.test.images, y_: mnist.test.labels})
    sess.close()
    assert result > 0.85


def test_two_layers_with_scopes_saver_and_a_global_step(mnist_dir, tmp_path):
    mnist = input_data.read_data_sets(mnist_dir, one_hot=True)
    tf.set_random_seed(42)
    with tf.name_scope("input"):
        x = tf.placeholder(tf.float32, [None, 784], name="x")
        labels = tf.placeholder(tf.float32, [None, 10], name="labels")
    weights = {"h1": tf.Variable(tf.random_normal([784, 64], stddev=0.05), name="h1"),
               "out": tf.Variable(tf.random_normal([64, 10], stddev=0.05), name="out")}
    biases = {"h1": tf.Variable(tf.zeros([64]), name="b1"),
              "out": tf.Variable(tf.zeros([10]), name="bout")}
    keep_prob = tf.placeholder_with_default(1.0, shape=())
    layer = tf.nn.dropout(tf.nn.relu(tf.add(tf.matmul(x, weights["h1"]), biases["h1"])),
                          keep_prob)
    logits = tf.matmul(layer, weights["out"]) + biases["out"]
    loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(logits=logits,
                                                                     labels=labels))
    global_step = tf.Variable(0, name="global_step", trainable=False)
    train_op = tf.train.AdamOptimizer(learning_rate=0.01).minimize(loss, global_step=global_step)
    accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, 1), tf.argmax(labels, 1)),
                                      tf.float32))
    saver = tf.train.Saver()
    test = {x: mnist.test.images, labels: mnist.test.labels}
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        losses = []
        for step in range(1, 201):
            batch_x, batch_y = mnist.train.next_batch(64)
            _, l = sess.run([train_op, loss], feed_dict={x: batch_x, labels: batch_y,
                                                         keep_prob: 0.8})
            losses.append(l)
        assert x.name == "input/x:0"
        assert sess.run(global_step) == 200
        trained = sess.run(accuracy, feed_dict=test)
        path = saver.save(sess, str(tmp_path / "mlp"), global_step=global_step)
    assert np.mean(losses[-20:]) < np.mean(losses[:20]) / 3
    assert trained > 0.85
    with tf.Session() as sess:
        assert sess.run(accuracy, feed_dict=test) < 0.5      # fresh weights
        saver.restore(sess, tf.train.latest_checkpoint(str(tmp_path)))
        assert sess.run(accuracy, feed_dict=test) == trained
    assert path.endswith("mlp-200")
