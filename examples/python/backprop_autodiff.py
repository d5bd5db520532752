import gradflow.compat.v1 as tf
from gradflow.examples.tutorials.mnist import input_data
mnist = input_data.read_data_sets("MNIST_data/", one_hot=True)

# Setup: inputs and states
a_0 = tf.placeholder(tf.float32, [None, 784])
y   = tf.placeholder(tf.float32, [None, 10])
middle = 30
w_1 = tf.Variable(tf.truncated_normal([784, middle]))
b_1 = tf.Variable(tf.truncated_normal([1, middle]))
w_2 = tf.Variable(tf.truncated_normal([middle, 10]))
b_2 = tf.Variable(tf.truncated_normal([1, 10]))

# The sigmoid function, written out from primitive ops on purpose
def sigma(x):
    return tf.div(tf.constant(1.0),
                  tf.add(tf.constant(1.0), tf.exp(tf.negative(x))))

# Forward propagation (b_1, b_2 broadcast over the batch)
z_1 = tf.add(tf.matmul(a_0, w_1), b_1)
a_1 = sigma(z_1)
z_2 = tf.add(tf.matmul(a_1, w_2), b_2)
a_2 = sigma(z_2)

# Difference
diff = tf.subtract(a_2, y)

# Automatic differentiation: cost is a [batch,10] matrix, not a scalar: its
# gradient is that of the sum of its elements.
cost = tf.multiply(diff, diff)
step = tf.train.GradientDescentOptimizer(0.1).minimize(cost)

# Accuracy: how many of the fed images are classified right
acct_mat = tf.equal(tf.argmax(a_2, 1), tf.argmax(y, 1))
acct_res = tf.reduce_sum(tf.cast(acct_mat, tf.float32))

# Running and testing: mini-batches of 10; every 1000 mini-batches, test on
# the first 1000 images of the test set and print the count of correct ones.
sess = tf.InteractiveSession()
sess.run(tf.global_variables_initializer())
for i in range(10000):
    batch_xs, batch_ys = mnist.train.next_batch(10)
    sess.run(step, feed_dict={a_0: batch_xs, y: batch_ys})
    if i % 1000 == 0:
        res = sess.run(acct_res, feed_dict={a_0: mnist.test.images[:1000],
                                            y: mnist.test.labels[:1000]})
        print(res)
