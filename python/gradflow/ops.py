"""The math, array and state ops, by their TensorFlow 1 names.

Binary ops broadcast with NumPy's rules; an operand that is not a tensor
(a Python number or list, a NumPy array) becomes a constant of the other
operand's dtype.
"""
import ctypes
import numbers

import numpy as np

from gradflow import _lib, dtypes
from gradflow._lib import lib
from gradflow.framework import (DEFAULT_SEED, Operation, Tensor, binary, constant,
                                convert_to_tensor, get_default_graph, graph_of, infer_dtype,
                                unary)
from gradflow.variables import Initializer, Variable

# -- sources ----------------------------------------------------------------


def placeholder(dtype, shape=None, name=None):
    """A value fed at run time (tf.placeholder). None dimensions are open;
    a placeholder without a shape is a scalar (gradflow needs each rank when
    the graph is built)."""
    graph = get_default_graph()
    dt = dtypes.as_dtype(dtype)
    dims = _shape_list(shape) if shape is not None else []
    ptr = graph.build(lib.gf_placeholder, graph._ptr, None, dt.code, _lib.make_shape(dims),
                      name=name or "Placeholder")
    return graph.tensor(ptr)


def placeholder_with_default(input, shape, name=None):
    """A placeholder fed input (a value of the given shape) by every run
    that does not feed it; its dtype is input's."""
    value = np.asarray(input)
    dims = _shape_list(shape)
    if len(dims) != value.ndim or any(d not in (None, n) for d, n in zip(dims, value.shape)):
        raise ValueError(f"placeholder_with_default: a default of shape {list(value.shape)} "
                         f"for shape {dims}")
    dt = infer_dtype(value)
    t = placeholder(dt, dims, name=name or "PlaceholderWithDefault")
    t._default = np.asarray(value, dt.as_numpy_dtype).astype(np.float32, order="C")
    t.graph._defaulted.append(t)
    return t


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=dtypes.float32, seed=None, name=None):
    """Normal(mean, stddev) values, those beyond two stddev drawn again. The
    draws come from the session's seed and the node's place in the graph
    (an op-level seed is not used)."""
    _float_only(dtype, "truncated_normal")
    graph = get_default_graph()
    ptr = graph.build(lib.gf_truncated_normal, graph._ptr, _lib.make_shape(_shape_list(shape)),
                      float(mean), float(stddev), name=name)
    return graph.tensor(ptr)


def random_normal(shape, mean=0.0, stddev=1.0, dtype=dtypes.float32, seed=None, name=None):
    """Normal(mean, stddev) values, drawn once when the node is built (by
    NumPy, seeded from the graph's seed, seed and the node's place in the
    graph) and kept as a constant: initializers run again give the same
    values. truncated_normal draws in the library, at each run."""
    return _drawn(shape, dtype, seed, name, lambda rng, dims: rng.normal(mean, stddev, dims))


def random_uniform(shape, minval=0, maxval=None, dtype=dtypes.float32, seed=None, name=None):
    """Uniform values in [minval, maxval) (maxval default 1), drawn once when
    the node is built, as random_normal's."""
    high = 1.0 if maxval is None else maxval
    return _drawn(shape, dtype, seed, name, lambda rng, dims: rng.uniform(minval, high, dims))


def _drawn(shape, dtype, seed, name, draw):
    _float_only(dtype, "random values")
    graph = get_default_graph()
    dims = _shape_list(shape)
    if None in dims:
        raise ValueError(f"random values of shape {dims}: the shape must be fully known")
    graph_seed = DEFAULT_SEED if graph.seed is None else graph.seed
    rng = np.random.default_rng([graph_seed, int(seed or 0), lib.gf_graph_node_count(graph._ptr)])
    return constant(draw(rng, dims), dtype=dtypes.float32, name=name or "Const", graph=graph)


def zeros(shape, dtype=dtypes.float32, name=None):
    graph = get_default_graph()
    dt = dtypes.as_dtype(dtype)
    ptr = graph.build(lib.gf_zeros, graph._ptr, _lib.make_shape(_shape_list(shape)),
                      name=None if dt is not dtypes.float32 else name)
    t = graph.tensor(ptr)
    return t if dt is dtypes.float32 else cast(t, dt, name=name)


def ones(shape, dtype=dtypes.float32, name=None):
    return constant(1, dtype=dtype, shape=_shape_list(shape), name=name or "Const")


def _shape_list(shape):
    if isinstance(shape, Tensor):
        raise TypeError("gradflow shapes are lists of ints, not tensors")
    if isinstance(shape, numbers.Integral):
        return [int(shape)]
    return [None if d is None else int(d) for d in shape]


def _float_only(dtype, what):
    if dtypes.as_dtype(dtype) is not dtypes.float32:
        raise TypeError(f"{what}: gradflow makes float32 values only")


# -- elementwise --------------------------------------------------------------


def add(x, y, name=None):
    return binary(lib.gf_add, x, y, name)


def subtract(x, y, name=None):
    return binary(lib.gf_sub, x, y, name)


def multiply(x, y, name=None):
    return binary(lib.gf_mul, x, y, name)


def div(x, y, name=None):
    return binary(lib.gf_div, x, y, name)


def maximum(x, y, name=None):
    return binary(lib.gf_maximum, x, y, name)


def minimum(x, y, name=None):
    return negative(maximum(negative(x), negative(y)), name=name)


def negative(x, name=None):
    return unary(lib.gf_neg, x, name)


def exp(x, name=None):
    return unary(lib.gf_exp, x, name)


def log(x, name=None):
    return unary(lib.gf_log, x, name)


def sqrt(x, name=None):
    return unary(lib.gf_sqrt, x, name)


def square(x, name=None):
    return unary(lib.gf_square, x, name)


def abs(x, name=None):
    """|x|, built as relu(x) + relu(-x) (gradient 0 at 0, as TensorFlow)."""
    x = convert_to_tensor(x)
    return add(unary(lib.gf_relu, x), unary(lib.gf_relu, negative(x)), name=name)


def sigmoid(x, name=None):
    return unary(lib.gf_sigmoid, x, name)


def tanh(x, name=None):
    return unary(lib.gf_tanh, x, name)


def pow(x, y, name=None):
    """x ** y for a number y: square, sqrt and whole powers exactly, others
    as exp(y * log(x)) (for x > 0)."""
    if isinstance(y, Tensor) or not isinstance(y, numbers.Real):
        raise TypeError("gradflow's pow takes a number as the exponent")
    x = convert_to_tensor(x)
    if y == 2:
        return square(x, name=name)
    if y == 0.5:
        return sqrt(x, name=name)
    if y == int(y) and 1 <= y <= 16:
        result, base, k = None, x, int(y)
        while k:
            if k & 1:
                result = base if result is None else multiply(result, base)
            k >>= 1
            if k:
                base = square(base)
        return result
    return exp(multiply(log(x), float(y)), name=name)


def add_n(inputs, name=None):
    inputs = list(inputs)
    total = inputs[0]
    for x in inputs[1:]:
        total = add(total, x)
    return total if name is None else identity(total, name=name)


def identity(x, name=None):
    """x under another node name (a reshape to its own shape)."""
    x = convert_to_tensor(x)
    dims = x.shape.as_list()
    if dims.count(None) > 1:
        return add(x, 0, name=name) if x.dtype is dtypes.float32 else x
    return reshape(x, [-1 if d is None else d for d in dims], name=name or "Identity")


def equal(x, y, name=None):
    return binary(lib.gf_equal, x, y, name)


def cast(x, dtype, name=None):
    code = dtypes.as_dtype(dtype).code
    return unary(lambda p: lib.gf_cast(p, code), x, name)


def check_numerics(tensor, message, name=None):
    msg = message.encode()
    return unary(lambda p: lib.gf_check_numerics(p, msg), tensor, name)


# -- matrices, reductions, layout ---------------------------------------------


def matmul(a, b, transpose_a=False, transpose_b=False, adjoint_a=False, adjoint_b=False,
           a_is_sparse=False, b_is_sparse=False, name=None):
    ta, tb = int(bool(transpose_a or adjoint_a)), int(bool(transpose_b or adjoint_b))
    if not ta and not tb:
        return binary(lib.gf_matmul, a, b, name)
    return binary(lambda p, q: lib.gf_matmul_t(p, q, ta, tb), a, b, name)


def transpose(a, perm=None, name="transpose", conjugate=False):
    name = None if name == "transpose" else name
    if perm is None:
        return unary(lib.gf_transpose, a, name)
    perm = [int(p) for p in perm]
    arr = (ctypes.c_int * len(perm))(*perm)
    x = convert_to_tensor(a)
    if len(perm) != x.shape.ndims:
        raise ValueError(f"transpose: perm {perm} has {len(perm)} entries, "
                         f"{x.name} has rank {x.shape.ndims}")
    return unary(lambda p: lib.gf_transpose_perm(p, arr), x, name)


def _reduce(fn, x, axis, keepdims, name):
    x = convert_to_tensor(x)
    if axis is None:
        axes, n = None, 0
    else:
        axis = [int(axis)] if isinstance(axis, numbers.Integral) else [int(a) for a in axis]
        if not axis:   # reducing over no axis changes nothing
            return x
        axes, n = (ctypes.c_int * len(axis))(*axis), len(axis)
    keep = int(bool(keepdims))
    return unary(lambda p: fn(p, axes, n, keep), x, name)


def reduce_sum(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None,
               keep_dims=None):
    axis = axis if axis is not None else reduction_indices
    return _reduce(lib.gf_reduce_sum, input_tensor, axis, keepdims or keep_dims, name)


def reduce_mean(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None,
                keep_dims=None):
    axis = axis if axis is not None else reduction_indices
    return _reduce(lib.gf_reduce_mean, input_tensor, axis, keepdims or keep_dims, name)


def argmax(input, axis=None, name=None, dimension=None, output_type=dtypes.int32):
    axis = axis if axis is not None else (dimension if dimension is not None else 0)
    if dtypes.as_dtype(output_type) is not dtypes.int32:
        raise TypeError("argmax: gradflow gives int32 indices")
    return unary(lambda p: lib.gf_argmax(p, int(axis)), input, name)


def reshape(tensor, shape, name=None):
    dims = _shape_list(shape)
    s = _lib.make_shape([-1 if d is None else d for d in dims])
    return unary(lambda p: lib.gf_reshape(p, s), tensor, name)


def concat(values, axis, name="concat"):
    values = [convert_to_tensor(v) for v in values]
    if len(values) == 1:
        return values[0]
    joined = values[0]
    for v in values[1:]:
        joined = binary(lambda p, q: lib.gf_concat(p, q, int(axis)), joined, v)
    return joined if name == "concat" else identity(joined, name=name)


def slice_rows(x, start=None, stop=None, name=None):
    """Rows start..stop-1 of x (x[start:stop]); the bounds must be known."""
    x = convert_to_tensor(x)
    rows = x.shape.as_list()[0] if x.shape.ndims else None
    start = 0 if start is None else int(start)
    if stop is None:
        if rows is None:
            raise ValueError(f"{x.name}[{start}:]: the number of rows is not known")
        stop = rows
    if start < 0 or stop < 0:
        if rows is None:
            raise ValueError(f"{x.name}: negative row bounds need a known number of rows")
        start, stop = (start + rows if start < 0 else start), (stop + rows if stop < 0 else stop)
    count = max(int(stop) - start, 0)
    return unary(lambda p: lib.gf_slice_rows(p, start, count), x, name)


def gather(params, indices, validate_indices=None, name=None, axis=0):
    if axis != 0:
        raise ValueError("gather: gradflow gathers rows (axis 0) only")
    graph = graph_of(params, indices)
    indices = convert_to_tensor(indices, dtype=dtypes.int32, graph=graph)
    return binary(lib.gf_gather_rows, params, indices, name)


def one_hot(indices, depth, on_value=None, off_value=None, axis=None, dtype=None, name=None):
    if on_value not in (None, 1) or off_value not in (None, 0) or axis not in (None, -1):
        raise ValueError("one_hot: gradflow makes 1/0 vectors along the last axis only")
    graph = graph_of(indices)
    indices = convert_to_tensor(indices, dtype=dtypes.int32, graph=graph)
    return unary(lambda p: lib.gf_one_hot(p, int(depth)), indices, name)


# -- state ------------------------------------------------------------------


def assign(ref, value, validate_shape=None, use_locking=None, name=None):
    """ref := value when run; its value is the new one. Every read in a run
    sees the variables as they were when it began; the assignments of a run
    take effect together at its end."""
    if not isinstance(ref, Variable):
        raise TypeError(f"assign: {ref!r} is not a variable")
    return binary(lib.gf_assign, ref, value, name)


def assign_add(ref, value, use_locking=None, name=None):
    return assign(ref, add(ref, value), name=name)


def assign_sub(ref, value, use_locking=None, name=None):
    return assign(ref, subtract(ref, value), name=name)


def group(*inputs, name=None):
    """One operation that runs every input (tf.group)."""
    flat = []
    for x in inputs:
        flat.extend(x if isinstance(x, (list, tuple)) else [x])
    graph = graph_of(*flat)
    inits = [x for x in flat if isinstance(x, Initializer)]
    ptrs = [x.node() if isinstance(x, Operation) else convert_to_tensor(x)._ptr
            for x in flat if not isinstance(x, Initializer)]
    if inits:
        lists = [x.variables for x in inits]
        variables = None if None in lists else dict.fromkeys(v for vs in lists for v in vs)
        targets = ptrs + [t for x in inits for t in x.targets]
        return Initializer(graph, variables, name or "group_deps", targets)
    node = ptrs[0]
    for p in ptrs[1:]:
        node = graph.build(lib.gf_group, node, p)
    if name:
        lib.gf_name(node, graph.scoped(name).encode())
    return graph.operation(node)


def no_op(name=None):
    return Initializer(get_default_graph(), [], name or "NoOp")


def global_variables_initializer():
    """Gives every variable of the default graph, the optimizers' slots
    included, its initial value (see Initializer: in a session that has not
    changed them, nothing to do)."""
    return Initializer(get_default_graph(), None, "init")


def variables_initializer(var_list, name="init"):
    return Initializer(get_default_graph(), list(var_list), name)


def local_variables_initializer():
    return Initializer(get_default_graph(), [], "init_1")


initialize_all_variables = global_variables_initializer


# -- gradients --------------------------------------------------------------


def gradients(ys, xs, grad_ys=None, name="gradients", colocate_gradients_with_ops=False,
              gate_gradients=False, aggregation_method=None, stop_gradients=None):
    """d(sum of ys)/dx for each x in xs (tf.gradients): a list with None
    where no y depends on x."""
    ys = [convert_to_tensor(y) for y in (ys if isinstance(ys, (list, tuple)) else [ys])]
    xs = [convert_to_tensor(x) for x in (xs if isinstance(xs, (list, tuple)) else [xs])]
    graph = graph_of(*ys)
    arr_ys = (ctypes.c_void_p * len(ys))(*[y._ptr for y in ys])
    arr_xs = (ctypes.c_void_p * len(xs))(*[x._ptr for x in xs])
    arr_gy = None
    if grad_ys is not None:
        grad_ys = grad_ys if isinstance(grad_ys, (list, tuple)) else [grad_ys]
        if len(grad_ys) != len(ys):
            raise ValueError(f"gradients: {len(grad_ys)} grad_ys for {len(ys)} ys")
        arr_gy = (ctypes.c_void_p * len(ys))(
            *[None if g is None else convert_to_tensor(g, graph=graph)._ptr for g in grad_ys])
    out = (ctypes.c_void_p * len(xs))()
    with graph._lock:
        lib.gf_gradients(graph._ptr, arr_ys, len(ys), arr_xs, len(xs), arr_gy, out)
        graph.check()
    return [graph.tensor(p) if p else None for p in out]

