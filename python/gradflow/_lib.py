"""Loading libgradflow.so and declaring the C functions the package calls.

The library is looked for, in this order:

1. ``GRADFLOW_LIB``: the path of the library (or of a folder holding it);
   when set, nothing else is tried;
2. next to the package: ``gradflow/libgradflow.so`` (a copy placed there);
3. in a built checkout, when the package is run from ``python/`` of the
   source tree (``PYTHONPATH=python``): ``build/libgradflow.so``;
4. where ``make install`` put it, when ``make install`` installed this
   package too (``gradflow/_installed.py`` names the folder);
5. the dynamic loader's own search for ``libgradflow.so.N`` (the loader's
   cache that ``make install`` refreshes with ldconfig, LD_LIBRARY_PATH).

The structures below mirror include/gradflow.h field for field
(python/tests/test_binding.py compares them with the header).
"""
import ctypes
import os
from ctypes import (POINTER, Structure, c_char, c_char_p, c_float, c_int, c_int64,
                    c_uint, c_uint64, c_void_p)

# libgradflow.so.N: N is GF_VERSION_MAJOR of include/gradflow.h.
SONAME = "libgradflow.so.0"
MAX_RANK = 4
ANY = -1

# gf_status codes, in the header's order.
(OK, ERR_ARG, ERR_SHAPE, ERR_FEED, ERR_NOMEM, ERR_IO, ERR_FORMAT, ERR_STATE, ERR_NUMERIC,
 ERR_GROUP) = range(10)


class Shape(Structure):
    """gf_shape: rank and up to four dimensions (-1 for an open one)."""
    _fields_ = [("rank", c_int), ("dim", c_int64 * MAX_RANK)]


class Error(Structure):
    """gf_error: the report of a function without a handle."""
    _fields_ = [("code", c_int), ("message", c_char * 512)]


class SessionOptions(Structure):
    """gf_session_options (group: a gf_process_group *, always NULL here)."""
    _fields_ = [("seed", c_uint64), ("threads", c_int), ("disable", c_uint),
                ("check_numerics", c_int), ("group", c_void_p)]


class Mnist(Structure):
    """gf_mnist: the three splits read by gf_mnist_load."""
    _fields_ = [("train", c_void_p), ("validation", c_void_p), ("test", c_void_p),
                ("is_subset", c_int)]


class MnistOptions(Structure):
    """gf_mnist_options."""
    _fields_ = [("seed", c_uint64), ("validation_size", c_int), ("classes", c_int)]


_P = c_void_p
_UNARY = (_P, [_P])
_BINARY = (_P, [_P, _P])
_POOL = (_P, [_P, c_int, c_int, c_int, c_int, c_int])

# name: (restype, argtypes), for every function of gradflow.h the package uses.
PROTOTYPES = {
    "gf_status_string": (c_char_p, [c_int]),
    "gf_tensor_wrap": (_P, [c_int, Shape, _P, _P]),
    "gf_tensor_free": (None, [_P]),
    "gf_tensor_shape": (Shape, [_P]),
    "gf_tensor_dtype": (c_int, [_P]),
    "gf_tensor_data": (_P, [_P]),
    "gf_tensor_count": (c_int64, [_P]),
    "gf_graph_new": (_P, []),
    "gf_graph_free": (None, [_P]),
    "gf_graph_status": (c_int, [_P]),
    "gf_graph_error": (c_char_p, [_P]),
    "gf_graph_clear_error": (c_int, [_P]),
    "gf_graph_find": (_P, [_P, c_char_p]),
    "gf_graph_node_count": (c_int, [_P]),
    "gf_graph_node": (_P, [_P, c_int]),
    "gf_node_name": (c_char_p, [_P]),
    "gf_node_op": (c_char_p, [_P]),
    "gf_node_shape": (Shape, [_P]),
    "gf_node_dtype": (c_int, [_P]),
    "gf_node_input_count": (c_int, [_P]),
    "gf_node_input": (_P, [_P, c_int]),
    "gf_name": (_P, [_P, c_char_p]),
    "gf_placeholder": (_P, [_P, c_char_p, c_int, Shape]),
    "gf_scalar": (_P, [_P, c_float]),
    "gf_constant": (_P, [_P, Shape, _P]),
    "gf_truncated_normal": (_P, [_P, Shape, c_float, c_float]),
    "gf_zeros": (_P, [_P, Shape]),
    "gf_variable": (_P, [_P, c_char_p, _P]),
    "gf_set_trainable": (_P, [_P, c_int]),
    "gf_add": _BINARY, "gf_sub": _BINARY, "gf_mul": _BINARY, "gf_div": _BINARY,
    "gf_maximum": _BINARY, "gf_equal": _BINARY, "gf_assign": _BINARY, "gf_group": _BINARY,
    "gf_matmul": _BINARY, "gf_gather_rows": _BINARY,
    "gf_softmax_cross_entropy_with_logits": _BINARY,
    "gf_neg": _UNARY, "gf_exp": _UNARY, "gf_sigmoid": _UNARY, "gf_sqrt": _UNARY,
    "gf_relu": _UNARY, "gf_tanh": _UNARY, "gf_log": _UNARY, "gf_square": _UNARY,
    "gf_softmax": _UNARY, "gf_log_softmax": _UNARY, "gf_transpose": _UNARY,
    "gf_matmul_t": (_P, [_P, _P, c_int, c_int]),
    "gf_transpose_perm": (_P, [_P, _P]),
    "gf_reduce_sum": (_P, [_P, _P, c_int, c_int]),
    "gf_reduce_mean": (_P, [_P, _P, c_int, c_int]),
    "gf_argmax": (_P, [_P, c_int]),
    "gf_cast": (_P, [_P, c_int]),
    "gf_check_numerics": (_P, [_P, c_char_p]),
    "gf_reshape": (_P, [_P, Shape]),
    "gf_concat": (_P, [_P, _P, c_int]),
    "gf_slice_rows": (_P, [_P, c_int64, c_int64]),
    "gf_one_hot": (_P, [_P, c_int]),
    "gf_dropout": (_P, [_P, c_float, c_uint64]),
    "gf_dropout_keep": (_P, [_P, _P, c_uint64]),
    "gf_conv2d": (_P, [_P, _P, c_int, c_int, c_int]),
    "gf_max_pool": _POOL,
    "gf_avg_pool": _POOL,
    "gf_gradients": (c_int, [_P, _P, c_int, _P, c_int, _P, _P]),
    "gf_gradient_descent": (_P, [_P, c_float]),
    "gf_momentum": (_P, [_P, c_float, c_float]),
    "gf_adam": (_P, [_P, c_float, c_float, c_float, c_float]),
    "gf_minimize": (_P, [_P, _P, _P, c_int]),
    "gf_session_new": (_P, [_P, POINTER(SessionOptions)]),
    "gf_session_free": (None, [_P]),
    "gf_session_status": (c_int, [_P]),
    "gf_session_error": (c_char_p, [_P]),
    "gf_session_run": (c_int, [_P, _P, c_int, _P, c_int, _P, c_int, _P]),
    "gf_session_variable": (_P, [_P, _P]),
    "gf_session_save": (c_int, [_P, c_char_p]),
    "gf_session_restore": (c_int, [_P, c_char_p]),
    "gf_mnist_load": (c_int, [c_char_p, POINTER(MnistOptions), POINTER(POINTER(Mnist)),
                              POINTER(Error)]),
    "gf_mnist_free": (None, [POINTER(Mnist)]),
    "gf_dataset_count": (c_int64, [_P]),
    "gf_dataset_images": (_P, [_P]),
    "gf_dataset_labels": (_P, [_P]),
    "gf_dataset_next_batch": (c_int, [_P, c_int64, _P, _P]),
    "gf_dataset_epochs": (c_int64, [_P]),
    "gf_dataset_error": (c_char_p, [_P]),
}


def _candidates():
    """(path, where) pairs to try, in order."""
    env = os.environ.get("GRADFLOW_LIB")
    if env:
        path = os.path.join(env, "libgradflow.so") if os.path.isdir(env) else env
        return [(path, "GRADFLOW_LIB")]
    here = os.path.dirname(os.path.abspath(__file__))
    found = [(os.path.join(here, "libgradflow.so"), "next to the package")]
    checkout = os.path.dirname(os.path.dirname(here))
    if os.path.isfile(os.path.join(checkout, "include", "gradflow.h")):
        found.append((os.path.join(checkout, "build", "libgradflow.so"), "the checkout's build"))
    try:
        from gradflow._installed import LIBDIR
        found.append((os.path.join(LIBDIR, SONAME), "where make install put it"))
    except ImportError:
        pass
    found.append((SONAME, "the dynamic loader's search path"))
    return found


def _load():
    tried = []
    for path, where in _candidates():
        if os.sep in path and not os.path.exists(path):
            tried.append(f"{path} ({where}): no such file")
            continue
        try:
            lib = ctypes.CDLL(path)
        except OSError as e:
            tried.append(f"{path} ({where}): {e}")
            continue
        missing = [name for name in PROTOTYPES if not hasattr(lib, name)]
        if missing:
            tried.append(f"{path} ({where}): too old, it lacks {', '.join(missing[:3])}")
            continue
        return lib, path
    raise ImportError("gradflow: cannot load libgradflow.so; tried\n  " + "\n  ".join(tried) +
                      "\nBuild it (make all), install it (make install), or set GRADFLOW_LIB "
                      "to its path.")


lib, path = _load()
for _name, (_restype, _argtypes) in PROTOTYPES.items():
    _fn = getattr(lib, _name)
    _fn.restype = _restype
    _fn.argtypes = _argtypes


def make_shape(dims):
    """A gf_shape from a sequence of dimensions (None or -1: open)."""
    dims = [ANY if d is None else int(d) for d in dims]
    if len(dims) > MAX_RANK:
        raise ValueError(f"shape {dims}: gradflow tensors have rank {MAX_RANK} at most")
    s = Shape()
    s.rank = len(dims)
    for i, d in enumerate(dims):
        s.dim[i] = d
    return s


def shape_tuple(s):
    """A gf_shape as a tuple, None for open dimensions."""
    return tuple(None if d == ANY else d for d in s.dim[:s.rank])


def text(b):
    """A C string returned by the library, as str."""
    return b.decode("utf-8", "replace") if b else ""
