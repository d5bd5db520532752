"""tf.nn: activations, softmax and cross-entropy, dropout, convolution and
pooling. Images are NHWC ([batch, height, width, channels]) and filters
[height, width, in, out], as in TensorFlow."""
import numbers

from gradflow._lib import lib
from gradflow.framework import Tensor, binary, convert_to_tensor, unary
from gradflow.ops import (abs, add, exp, log, multiply, negative, one_hot, reduce_sum, square,
                          subtract)
from gradflow.ops import sigmoid, tanh

_PADDING = {"SAME": 0, "VALID": 1}
__all__ = ["relu", "sigmoid", "tanh", "softmax", "log_softmax", "softmax_cross_entropy_with_logits",
           "softmax_cross_entropy_with_logits_v2", "sparse_softmax_cross_entropy_with_logits",
           "sigmoid_cross_entropy_with_logits",
           "l2_loss", "bias_add", "dropout", "conv2d", "max_pool", "avg_pool"]


def relu(features, name=None):
    return unary(lib.gf_relu, features, name)


def softmax(logits, axis=None, name=None, dim=None):
    _last_axis_only(logits, axis if axis is not None else dim, "softmax")
    return unary(lib.gf_softmax, logits, name)


def log_softmax(logits, axis=None, name=None, dim=None):
    _last_axis_only(logits, axis if axis is not None else dim, "log_softmax")
    return unary(lib.gf_log_softmax, logits, name)


def softmax_cross_entropy_with_logits(_sentinel=None, labels=None, logits=None, dim=-1,
                                      name=None, axis=None):
    """-sum(labels * log_softmax(logits)) along the last axis, one loss per
    row (computed by log-sum-exp: finite for any finite logits)."""
    if _sentinel is not None or labels is None or logits is None:
        raise ValueError("softmax_cross_entropy_with_logits takes named arguments only: "
                         "labels=..., logits=...")
    _last_axis_only(logits, axis if axis is not None else dim, "softmax_cross_entropy_with_logits")
    return binary(lib.gf_softmax_cross_entropy_with_logits, labels, logits, name)


softmax_cross_entropy_with_logits_v2 = softmax_cross_entropy_with_logits


def sparse_softmax_cross_entropy_with_logits(_sentinel=None, labels=None, logits=None, name=None):
    """The cross-entropy of class indices (int32 labels) against logits."""
    if _sentinel is not None or labels is None or logits is None:
        raise ValueError("sparse_softmax_cross_entropy_with_logits takes named arguments only: "
                         "labels=..., logits=...")
    logits = convert_to_tensor(logits)
    classes = logits.shape.as_list()[-1] if logits.shape.ndims else None
    if classes is None:
        raise ValueError(f"sparse_softmax_cross_entropy_with_logits: the number of classes "
                         f"(the last dimension of {logits.name}) must be known")
    return softmax_cross_entropy_with_logits(labels=one_hot(labels, classes), logits=logits,
                                             name=name)


def sigmoid_cross_entropy_with_logits(_sentinel=None, labels=None, logits=None, name=None):
    """The logistic loss of each element, computed as
    max(x, 0) - x * z + log(1 + exp(-|x|)): finite for any finite logits."""
    if _sentinel is not None or labels is None or logits is None:
        raise ValueError("sigmoid_cross_entropy_with_logits takes named arguments only: "
                         "labels=..., logits=...")
    x = convert_to_tensor(logits)
    softplus = log(add(exp(negative(abs(x))), 1.0))
    return add(subtract(relu(x), multiply(x, labels)), softplus, name=name)


def l2_loss(t, name=None):
    """sum(t ** 2) / 2."""
    return multiply(reduce_sum(square(t)), 0.5, name=name)


def bias_add(value, bias, data_format=None, name=None):
    return add(value, bias, name=name)


def dropout(x, keep_prob=None, noise_shape=None, seed=None, name=None, rate=None):
    """Keeps each element with probability keep_prob (a number, or a float32
    scalar tensor such as a placeholder fed at each run), scaled by
    1/keep_prob; drops it otherwise. Masks come from the session seed, the
    mask's place in the graph and seed."""
    if noise_shape is not None:
        raise ValueError("dropout: gradflow draws one mask element per element (no noise_shape)")
    if (keep_prob is None) == (rate is None):
        raise ValueError("dropout: give exactly one of keep_prob and rate")
    seed = int(seed or 0)
    if keep_prob is None:
        keep_prob = 1 - rate if isinstance(rate, numbers.Real) else 1 - convert_to_tensor(rate)
    if isinstance(keep_prob, Tensor):
        return binary(lambda p, q: lib.gf_dropout_keep(p, q, seed), x, keep_prob, name)
    kp = float(keep_prob)
    return unary(lambda p: lib.gf_dropout(p, kp, seed), x, name)


def conv2d(input, filter=None, strides=None, padding=None, use_cudnn_on_gpu=True,
           data_format="NHWC", dilations=None, name=None, filters=None):
    """2-D cross-correlation of input [batch, h, w, in] with filter
    [kh, kw, in, out]; strides [1, sh, sw, 1], padding 'SAME' or 'VALID'."""
    filter = filter if filter is not None else filters
    _nhwc(data_format, "conv2d")
    if dilations not in (None, 1, [1, 1, 1, 1], (1, 1, 1, 1)):
        raise ValueError("conv2d: gradflow has no dilated convolution")
    sh, sw = _spatial(strides, "strides", "conv2d")
    pad = _padding(padding, "conv2d")
    return binary(lambda p, q: lib.gf_conv2d(p, q, sh, sw, pad), input, filter, name)


def max_pool(value, ksize, strides, padding, data_format="NHWC", name=None, input=None):
    """The maximum of each ksize window, per channel."""
    return _pool(lib.gf_max_pool, "max_pool", value if value is not None else input, ksize,
                 strides, padding, data_format, name)


def avg_pool(value, ksize, strides, padding, data_format="NHWC", name=None, input=None):
    """The mean of each ksize window (with SAME, padding is not counted)."""
    return _pool(lib.gf_avg_pool, "avg_pool", value if value is not None else input, ksize,
                 strides, padding, data_format, name)


def _pool(fn, what, x, ksize, strides, padding, data_format, name):
    _nhwc(data_format, what)
    kh, kw = _spatial(ksize, "ksize", what)
    sh, sw = _spatial(strides, "strides", what)
    pad = _padding(padding, what)
    return unary(lambda p: fn(p, kh, kw, sh, sw, pad), x, name)


def _spatial(values, what, op):
    """(h, w) from TensorFlow's [1, h, w, 1], [h, w] or a single number."""
    if values is None:
        raise ValueError(f"{op}: {what} is required")
    if isinstance(values, numbers.Integral):
        return int(values), int(values)
    values = [int(v) for v in values]
    if len(values) == 4:
        if values[0] != 1 or values[3] != 1:
            raise ValueError(f"{op}: {what} {values}: the batch and channel entries must be 1")
        return values[1], values[2]
    if len(values) == 2:
        return values[0], values[1]
    if len(values) == 1:
        return values[0], values[0]
    raise ValueError(f"{op}: {what} {values}: expected 1, 2 or 4 entries")


def _padding(padding, op):
    if isinstance(padding, bytes):
        padding = padding.decode()
    if padding not in _PADDING:
        raise ValueError(f"{op}: padding {padding!r}: expected 'SAME' or 'VALID'")
    return _PADDING[padding]


def _nhwc(data_format, op):
    if data_format not in (None, "NHWC"):
        raise ValueError(f"{op}: data_format {data_format!r}: gradflow images are NHWC")


def _last_axis_only(logits, axis, what):
    if axis in (None, -1):
        return
    ndims = convert_to_tensor(logits).shape.ndims
    if axis != ndims - 1:
        raise ValueError(f"{what}: axis {axis}: gradflow works along the last axis only")

