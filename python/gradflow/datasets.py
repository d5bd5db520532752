"""MNIST-style IDX folders read as TensorFlow 1's
tensorflow.examples.tutorials.mnist.input_data read them, through the
library's dataset API (gf_mnist_load, gf_dataset_next_batch): images
scaled to [0, 1], one row of 784 per image, labels one-hot (or class
indices), the first 5000 training images set aside for validation when
the training file holds 60,000, and TensorFlow's next_batch (shuffled at
every epoch; a batch that crosses an epoch's end takes the rest of the old
epoch and the start of the new one).
"""
import collections
import ctypes

import numpy as np

from gradflow import _lib, dtypes
from gradflow._lib import lib
from gradflow.framework import DEFAULT_SEED

Datasets = collections.namedtuple("Datasets", ["train", "validation", "test"])

_next_batch = lib.gf_dataset_next_batch
_tensor_data = lib.gf_tensor_data


class _MnistHandle:
    """Owns the gf_mnist; every DataSet and array view of it keeps it alive."""
    __slots__ = ("ptr", "_free", "__weakref__")

    def __init__(self, ptr):
        self.ptr = ptr
        self._free = lib.gf_mnist_free

    def __del__(self):
        if self.ptr:
            self._free(self.ptr)
            self.ptr = None


def _view(owner, tensor, shape=None):
    """A NumPy float32 array over a tensor the dataset owns (no copy)."""
    dims = _lib.shape_tuple(lib.gf_tensor_shape(tensor))
    count = int(np.prod(dims))
    if not count:
        return np.zeros(shape or dims, np.float32)
    buf = (ctypes.c_float * count).from_address(_tensor_data(tensor))
    buf.owner = owner   # the array's base is buf; buf keeps the dataset alive
    return np.frombuffer(buf, np.float32).reshape(shape or dims)


def _row_width(tensor):
    """The number of elements per example of a [n, ...] tensor."""
    dims = _lib.shape_tuple(lib.gf_tensor_shape(tensor))
    return int(np.prod(dims[1:]))


class DataSet:
    """One split: images, labels, num_examples, epochs_completed and
    next_batch, as TensorFlow 1's DataSet."""

    def __init__(self, owner, ptr, one_hot, reshape):
        self._owner = owner
        self._ptr = ptr
        self._one_hot = one_hot
        self._n = lib.gf_dataset_count(ptr)
        self._reshape = reshape
        self._images = self._labels = None
        self._out = (ctypes.c_void_p * 2)()
        self._out_addr = (ctypes.addressof(self._out),
                          ctypes.addressof(self._out) + ctypes.sizeof(ctypes.c_void_p))
        self._widths = tuple(_row_width(get(ptr)) for get in (lib.gf_dataset_images,
                                                               lib.gf_dataset_labels))
        self._views = {}           # (address, n, width) -> array over a lent batch
        self._cursor = 0           # next_batch(shuffle=False)
        self._sequential_epochs = 0

    @property
    def num_examples(self):
        return self._n

    @property
    def epochs_completed(self):
        return lib.gf_dataset_epochs(self._ptr) + self._sequential_epochs

    @property
    def images(self):
        """All images in file order, [n, 784] float32 in [0, 1] (or
        [n, 28, 28, 1] with reshape=False). A view of the dataset's memory."""
        if self._images is None:
            self._images = self._image_rows(_view(self._owner, lib.gf_dataset_images(self._ptr)))
        return self._images

    @property
    def labels(self):
        """All labels, one-hot [n, 10] float32 or class indices [n] uint8."""
        if self._labels is None:
            self._labels = self._label_rows(_view(self._owner, lib.gf_dataset_labels(self._ptr)))
        return self._labels

    def next_batch(self, batch_size, fake_data=False, shuffle=True):
        """(images, labels) of the next batch_size examples: new arrays, which
        later batches do not change."""
        if fake_data:
            raise ValueError("next_batch: gradflow has no fake data")
        if not shuffle:
            return self._sequential_batch(int(batch_size))
        if _next_batch(self._ptr, batch_size, *self._out_addr):
            raise ValueError(_lib.text(lib.gf_dataset_error(self._ptr)))
        images = self._batch_view(self._out[0], batch_size, self._widths[0]).copy()
        labels = self._batch_view(self._out[1], batch_size, self._widths[1]).copy()
        return self._image_rows(images), self._label_rows(labels)

    def _batch_view(self, tensor, n, width):
        """A view of a batch tensor [n, width] the dataset lends until its next
        call (kept: the dataset reuses its batch memory while n stays)."""
        data = _tensor_data(tensor)
        view = self._views.get((data, n, width))
        if view is None:
            if len(self._views) > 8:
                self._views.clear()
            buf = (ctypes.c_float * (n * width)).from_address(data)
            view = self._views[(data, n, width)] = np.frombuffer(buf, np.float32).reshape(n, width)
        return view

    def _sequential_batch(self, n):
        if not 1 <= n <= self._n:
            raise ValueError(f"next_batch: batch size {n} out of range: the dataset has "
                             f"{self._n} examples")
        start, stop = self._cursor, self._cursor + n
        images, labels = self.images, self.labels
        if stop <= self._n:
            self._cursor = stop % self._n
            self._sequential_epochs += stop == self._n
            return images[start:stop].copy(), labels[start:stop].copy()
        self._sequential_epochs += 1
        self._cursor = stop - self._n
        return (np.concatenate([images[start:], images[:self._cursor]]),
                np.concatenate([labels[start:], labels[:self._cursor]]))

    def _image_rows(self, rows):
        if self._reshape:
            return rows
        side = int(round(rows.shape[1] ** 0.5))
        if side * side != rows.shape[1]:
            raise ValueError(f"reshape=False: images of {rows.shape[1]} pixels are not square")
        return rows.reshape(len(rows), side, side, 1)

    def _label_rows(self, rows):
        return rows if self._one_hot else np.argmax(rows, axis=1).astype(np.uint8)


def read_data_sets(train_dir, fake_data=False, one_hot=False, dtype=dtypes.float32,
                   reshape=True, validation_size=None, seed=None, source_url=None):
    """The train, validation and test splits of the IDX files in train_dir
    (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz,
    t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz; gzipped or not).
    Nothing is downloaded: scripts/get-mnist fills a folder. validation_size
    None sets 5000 aside when the training file holds 60,000 images, none
    otherwise; seed (default 1) seeds the shuffling."""
    if fake_data:
        raise ValueError("read_data_sets: gradflow has no fake data")
    if dtypes.as_dtype(dtype) is not dtypes.float32:
        raise TypeError("read_data_sets: gradflow reads images as float32 in [0, 1]")
    options = _lib.MnistOptions()
    options.seed = DEFAULT_SEED if seed is None else int(seed)
    options.validation_size = -1 if validation_size is None else int(validation_size)
    options.classes = 0
    out = ctypes.POINTER(_lib.Mnist)()
    err = _lib.Error()
    code = lib.gf_mnist_load(str(train_dir).encode(), ctypes.byref(options), ctypes.byref(out),
                             ctypes.byref(err))
    if code:
        message = (f"{_lib.text(err.message)}\n(scripts/get-mnist {train_dir} fills the folder "
                   "with MNIST, or link a folder that holds it)")
        raise (OSError if code == _lib.ERR_IO else ValueError)(message)
    owner = _MnistHandle(out)
    m = out.contents
    return Datasets(*(DataSet(owner, split, one_hot, reshape)
                      for split in (m.train, m.validation, m.test)))
