"""input_data.read_data_sets on IDX folders, with TensorFlow 1's next_batch."""
import gzip
import os

import numpy as np
import pytest

from gradflow.examples.tutorials.mnist import input_data


def idx_labels(path):
    with gzip.open(path) as f:
        return np.frombuffer(f.read()[8:], np.uint8)


def test_splits_images_and_labels(mnist_dir):
    mnist = input_data.read_data_sets(mnist_dir, one_hot=True)
    train_labels = idx_labels(os.path.join(mnist_dir, "train-labels-idx1-ubyte.gz"))
    test_labels = idx_labels(os.path.join(mnist_dir, "t10k-labels-idx1-ubyte.gz"))
    # 5000 set aside for validation only from a 60,000-image training file
    held = 5000 if len(train_labels) == 60000 else 0
    assert mnist.validation.num_examples == held
    assert mnist.train.num_examples == len(train_labels) - held
    assert mnist.test.num_examples == len(test_labels)
    images, labels = mnist.test.images, mnist.test.labels
    assert images.shape == (len(test_labels), 784) and images.dtype == np.float32
    assert labels.shape == (len(test_labels), 10) and labels.dtype == np.float32
    assert images.min() == 0.0 and images.max() == 1.0
    np.testing.assert_array_equal(labels.argmax(1), test_labels)
    np.testing.assert_array_equal(labels.sum(1), 1.0)
    np.testing.assert_array_equal(mnist.train.labels.argmax(1), train_labels[held:])
    first = mnist.test.images[:1000]
    assert first.shape == (min(1000, len(test_labels)), 784)


def test_class_indices_and_image_shape(mnist_dir):
    mnist = input_data.read_data_sets(mnist_dir, one_hot=False, reshape=False)
    assert mnist.test.labels.dtype == np.uint8 and mnist.test.labels.ndim == 1
    assert mnist.test.images.shape[1:] == (28, 28, 1)
    xs, ys = mnist.train.next_batch(7)
    assert xs.shape == (7, 28, 28, 1) and ys.shape == (7,) and ys.dtype == np.uint8


def test_next_batch_follows_tensorflow(mnist_dir):
    """Shuffled per epoch; a batch crossing an epoch's end takes the rest of
    the old epoch and the start of the new one; no example is skipped."""
    train = input_data.read_data_sets(mnist_dir, one_hot=True).train
    n = train.num_examples
    size = 7 if n % 7 else 11
    seen = []
    while len(seen) < n:
        xs, ys = train.next_batch(size)
        assert xs.shape == (size, 784) and ys.shape == (size, 10)
        seen.extend(map(bytes, np.concatenate([xs, ys], 1)))
    assert train.epochs_completed == 1
    in_file_order = list(map(bytes, np.concatenate([train.images, train.labels], 1)))
    first_epoch = seen[:n]
    assert sorted(first_epoch) == sorted(in_file_order)   # each example once
    assert first_epoch != in_file_order                   # shuffled


def test_batches_are_new_arrays_and_the_seed_fixes_them(mnist_dir):
    a = input_data.read_data_sets(mnist_dir, one_hot=True, seed=3).train
    b = input_data.read_data_sets(mnist_dir, one_hot=True, seed=3).train
    c = input_data.read_data_sets(mnist_dir, one_hot=True, seed=4).train
    xa, ya = a.next_batch(10)
    kept = xa.copy()
    a.next_batch(10)
    np.testing.assert_array_equal(xa, kept)        # later batches do not change it
    xb, yb = b.next_batch(10)
    np.testing.assert_array_equal(xa, xb)
    np.testing.assert_array_equal(ya, yb)
    assert not np.array_equal(xa, c.next_batch(10)[0])


def test_sequential_batches(mnist_dir):
    train = input_data.read_data_sets(mnist_dir, one_hot=True).train
    xs, ys = train.next_batch(5, shuffle=False)
    np.testing.assert_array_equal(xs, train.images[:5])
    np.testing.assert_array_equal(train.next_batch(5, shuffle=False)[1], train.labels[5:10])


def test_errors(tmp_path, mnist_dir):
    with pytest.raises(OSError, match="get-mnist"):
        input_data.read_data_sets(str(tmp_path / "nothing"), one_hot=True)
    (tmp_path / "bad").mkdir()
    for name in os.listdir(mnist_dir):
        (tmp_path / "bad" / name).write_bytes(b"not an IDX file")
    with pytest.raises(ValueError):
        input_data.read_data_sets(str(tmp_path / "bad"), one_hot=True)
    train = input_data.read_data_sets(mnist_dir, one_hot=True).train
    with pytest.raises(ValueError, match="batch size"):
        train.next_batch(0)


def test_arrays_outlive_the_datasets(mnist_dir):
    images = input_data.read_data_sets(mnist_dir, one_hot=True).test.images
    import gc
    gc.collect()
    assert images.sum() > 0 and images.max() == 1.0
