"""What a run needs, prepared once per (fetch structure, feed keys): the C
arrays of fetches, targets and feeds, how to rebuild the fetch structure
from the fetched values, and the conversions of fed and fetched values.
"""
import collections.abc
import ctypes

import numpy as np

from gradflow import _lib, errors
from gradflow._lib import lib
from gradflow.framework import Operation, Tensor
from gradflow.variables import Initializer

_F32 = np.dtype(np.float32)
_ndarray = np.ndarray
_c_float = ctypes.c_float
_MAX_SHAPE_SETS = 64
_NESTED = object()   # marks a part of a structure that is not a single fetch


class RunPlan:
    """One prepared run: see the module's comment."""

    def __init__(self, graph, fetches, feeds, values_unused=False):
        self._graph = graph
        self._values_unused = values_unused
        self._fetched = []       # tensors, each once, in order
        self._position = {}      # tensor -> index in _fetched
        self._targets = []       # nodes run for their effect, each once
        self.initializers = []
        self.build = self._structure(fetches)

        self.n_fetches = len(self._fetched)
        self.n_targets = len(self._targets)
        self.fetch_array = (ctypes.c_void_p * max(self.n_fetches, 1))(
            *[t._ptr for t in self._fetched])
        self.target_array = (ctypes.c_void_p * max(self.n_targets, 1))(*self._targets)
        self.outs = (ctypes.c_void_p * max(self.n_fetches, 1))()
        self.fetches_addr = ctypes.addressof(self.fetch_array)
        self.targets_addr = ctypes.addressof(self.target_array)
        self.outs_addr = ctypes.addressof(self.outs)

        self.feeds = [_feed_entry(graph, key) for key in feeds]
        # placeholder_with_default's not in feed_dict are fed their default
        fed = {entry[3] for entry in self.feeds}
        self.defaults = [(t._default, t.dtype.code, t) for t in graph._defaulted if t not in fed]
        self.n_feeds = len(self.feeds) + len(self.defaults)
        # gf_feed is { gf_node *node; const gf_tensor *value; }: node, value, ...
        self.feed_slots = (ctypes.c_void_p * max(2 * self.n_feeds, 2))()
        placeholders = [entry[3] for entry in self.feeds] + [t for _, _, t in self.defaults]
        for i, t in enumerate(placeholders):
            self.feed_slots[2 * i] = t._ptr
        self.feeds_addr = ctypes.addressof(self.feed_slots)

        self.empty = not self.n_fetches and not self.n_targets
        self.assigned = _assigned_variables(self._fetched, self._targets)
        self.recorded = -1       # the session epoch when assigned was last recorded
        self._meta = {}
        # For a caller that drops the result: fetched assignments run as
        # targets, which lets the library update the variables in place.
        self.unused_plan = self
        if not values_unused and any(_is_assign(t._ptr) for t in self._fetched):
            self.unused_plan = RunPlan(graph, fetches, feeds, values_unused=True)

    # -- the fetch structure ---------------------------------------------------

    def _structure(self, fetch):
        """A function rebuilding fetch's structure from the fetched values."""
        if isinstance(fetch, (list, tuple)):
            parts = [self._structure(f) for f in fetch]
            cls = type(fetch)
            if cls is list or cls is tuple:
                leaves = [getattr(p, "index", _NESTED) for p in parts]
                if not any(i is _NESTED for i in leaves):    # flat: tensors and operations
                    if cls is list:
                        return lambda v: [None if i is None else v[i] for i in leaves]
                    return lambda v: tuple(None if i is None else v[i] for i in leaves)
                if cls is list:
                    return lambda v: [p(v) for p in parts]
                return lambda v: tuple(p(v) for p in parts)
            if hasattr(cls, "_fields"):     # a namedtuple
                return lambda v: cls(*[p(v) for p in parts])
            return lambda v: cls([p(v) for p in parts])
        if isinstance(fetch, collections.abc.Mapping):
            keys = list(fetch)
            parts = [self._structure(fetch[k]) for k in keys]
            cls = type(fetch)
            return lambda v: cls(zip(keys, [p(v) for p in parts]))
        return _Leaf(self._leaf(fetch))

    def _leaf(self, fetch):
        """Registers one fetch; its index among the fetched values, or None."""
        if isinstance(fetch, str):
            fetch = (self._graph.get_tensor_by_name(fetch) if ":" in fetch
                     else self._graph.get_operation_by_name(fetch))
        if isinstance(fetch, (Tensor, Operation)) and fetch.graph is not self._graph:
            raise ValueError(f"Fetch {fetch!r} belongs to another graph than the session's")
        if isinstance(fetch, Initializer):
            self.initializers.append(fetch)
            self._targets.extend(t for t in fetch.targets if t not in self._targets)
            return None
        if isinstance(fetch, Operation):
            if fetch.node() not in self._targets:
                self._targets.append(fetch.node())
            return None
        if isinstance(fetch, Tensor):
            if self._values_unused and _is_assign(fetch._ptr):
                return self._leaf(fetch.op)
            if fetch not in self._position:
                self._position[fetch] = len(self._fetched)
                self._fetched.append(fetch)
            return self._position[fetch]
        raise TypeError(f"Fetch argument {fetch!r} has invalid type {type(fetch)}, must be a "
                        "string, a Tensor or an Operation (or lists, tuples and dicts of them)")

    # -- fetched values --------------------------------------------------------

    def out_meta(self, fed_shapes):
        """(shape, count, NumPy type) of each fetched value; the shapes follow
        from the fed shapes, so they are asked of the library once per set."""
        meta = self._meta.get(fed_shapes)
        if meta is None:
            if len(self._meta) >= _MAX_SHAPE_SETS:
                self._meta.clear()
            meta = []
            for i, t in enumerate(self._fetched):
                shape = _lib.shape_tuple(lib.gf_tensor_shape(self.outs[i]))
                meta.append((shape, int(np.prod(shape)), t.dtype.as_numpy_dtype))
            self._meta[fed_shapes] = meta
        return meta


class _Leaf:
    """Picks one value (index) out of the fetched values; None for an op."""
    __slots__ = ("index",)

    def __init__(self, index):
        self.index = index

    def __call__(self, values):
        return None if self.index is None else values[self.index]


def freeze(fetch):
    """A hashable key for a fetch structure."""
    if isinstance(fetch, (list, tuple)):
        return (type(fetch),) + tuple(freeze(f) for f in fetch)
    if isinstance(fetch, collections.abc.Mapping):
        return (type(fetch),) + tuple((k, freeze(v)) for k, v in fetch.items())
    return fetch


def _feed_entry(graph, key):
    """(feed_dict key, dtype code, NumPy type, placeholder tensor)."""
    t = graph.get_tensor_by_name(key) if isinstance(key, str) else key
    if not isinstance(t, Tensor):
        raise TypeError(f"Cannot interpret feed_dict key {key!r} as a Tensor")
    if t.graph is not graph:
        raise ValueError(f"feed_dict key {t!r} belongs to another graph than the session's")
    return (key, t.dtype.code, t.dtype.as_numpy_dtype, t)


# The ops that write variables, and how many of their first inputs they
# write: assign (tf.assign), and the Adam update gf_minimize builds, which
# writes the variable and its two moments.
_WRITERS = {b"assign": 1, b"apply_adam": 3}


def _is_assign(node):
    return lib.gf_node_op(node) == b"assign"


def _assigned_variables(fetched, targets):
    """The variables (node pointers) that what runs writes."""
    seen, stack, found = set(), [t._ptr for t in fetched] + list(targets), set()
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        n = lib.gf_node_input_count(node)
        inputs = [lib.gf_node_input(node, i) for i in range(n)]
        found.update(inputs[:_WRITERS.get(lib.gf_node_op(node), 0)])
        stack.extend(inputs)
    return frozenset(found)


# -- fed values ----------------------------------------------------------------


def feed_array(value, code, np_type, kept):
    """value as a C-contiguous float32 array (the library's storage for every
    dtype): the array itself when it already is one, else a converted copy,
    appended to kept so that it lives through the run."""
    if type(value) is _ndarray and value.dtype is _F32 and code == 0:
        flags = value.flags
        if flags.c_contiguous and flags.aligned:
            return value
    if isinstance(value, (Tensor, Operation)):
        raise TypeError("The value of a feed cannot be a tf.Tensor object: feed Python numbers, "
                        "lists or NumPy arrays")
    arr = np.asarray(value, dtype=np_type).astype(np.float32, order="C", copy=False)
    kept.append(arr)
    return arr


def wrap_feed(hkey, placeholder):
    """A gf_tensor header over fed memory: hkey is (address, shape, code)."""
    address, shape, code = hkey
    err = _lib.Error()
    try:
        s = _lib.make_shape(shape)
    except ValueError:
        raise errors.FeedError(None, None, f"feed for placeholder \"{placeholder.op.name}\": "
                               f"shape {list(shape)} has rank {len(shape)}, "
                               f"expected {placeholder.shape}") from None
    h = lib.gf_tensor_wrap(code, s, address, ctypes.byref(err))
    if not h:
        raise errors.run_error(err.code, f"feed for placeholder \"{placeholder.op.name}\": "
                               f"{_lib.text(err.message)}")
    return h


# -- fetched values ------------------------------------------------------------


def copy_out(data, shape, count, np_type):
    """A fetched tensor's elements (floats at data) as a NumPy value of its
    dtype that owns its memory: a NumPy scalar for rank 0."""
    if not shape:
        value = _c_float.from_address(data).value
        return np_type(value != 0) if np_type is np.bool_ else np_type(value)
    if not count:
        return np.zeros(shape, np_type)
    flat = np.frombuffer((_c_float * count).from_address(data), np.float32)
    if np_type is np.float32:
        return flat.reshape(shape).copy()
    return flat.reshape(shape).astype(np_type)

