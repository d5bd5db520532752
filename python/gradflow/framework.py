"""Graphs, tensors and operations: what a TensorFlow 1 program builds
before it runs anything (variables are in variables.py, the ops in ops.py
and nn.py).

Every constructor calls the library and then checks the graph's sticky
error, so that a mistake raises ValueError at the line that made it,
with the library's message; the error is then cleared (the nodes built
before it stay usable), as TensorFlow's graph stays usable after a
ValueError.
"""
import contextlib
import threading

import numpy as np

from gradflow import _lib, dtypes
from gradflow._lib import lib
from gradflow.errors import build_error
from gradflow.shapes import TensorShape

_graph_status = lib.gf_graph_status
DEFAULT_SEED = 1  # the seed of gradflow's C examples and `gradflow train`


# ---------------------------------------------------------------------------
# Default graph and default session

_graph_stack = []      # graphs made default by `with g.as_default():`
_session_stack = []    # sessions made default by `with sess:` or InteractiveSession
_global_graph = None


def get_default_graph():
    """The graph new nodes go into (tf.get_default_graph)."""
    global _global_graph
    if _graph_stack:
        return _graph_stack[-1]
    if _global_graph is None:
        _global_graph = Graph()
    return _global_graph


def reset_default_graph():
    """Replaces the global default graph by an empty one (its sessions stay
    valid on the old graph)."""
    global _global_graph
    if _graph_stack:
        raise AssertionError("Do not use tf.reset_default_graph() to clear nested graphs: "
                             "it is called inside a `with graph.as_default()` block")
    _global_graph = Graph()


def get_default_session():
    """The innermost session made default, or None (tf.get_default_session)."""
    return _session_stack[-1] if _session_stack else None


def set_random_seed(seed):
    """Sets the default graph's seed: the seed of the sessions started on it
    (tf.set_random_seed). Without one, sessions use seed 1, as gradflow's C
    examples."""
    get_default_graph().seed = int(seed)


# ---------------------------------------------------------------------------
# Graph


class _GraphHandle:
    """Owns a gf_graph; sessions keep a reference so that it outlives them."""
    __slots__ = ("ptr", "_free")

    def __init__(self):
        self.ptr = lib.gf_graph_new()
        if not self.ptr:
            raise MemoryError("gradflow: out of memory for a graph")
        self._free = lib.gf_graph_free

    def __del__(self):
        if self.ptr:
            self._free(self.ptr)
            self.ptr = None


class Graph:
    """A dataflow graph (tf.Graph), over a gf_graph."""

    def __init__(self):
        self._handle = _GraphHandle()
        self._ptr = self._handle.ptr
        self._lock = threading.RLock()
        self._tensors = {}      # node pointer -> Tensor (or Variable)
        self._operations = {}   # node pointer -> Operation
        self._variables = []    # in creation order
        self._defaulted = []    # placeholders with a default value
        self._variable_nodes = ((), 0)  # every variable node, and the node count it is of
        self._scope = ""
        self._finalized = False
        self.seed = None

    # -- building ---------------------------------------------------------

    def build(self, fn, *args, name=None):
        """Calls constructor fn(*args), raises the graph's error if it failed,
        names the new node (in the current name scope) and returns it."""
        with self._lock:
            if self._finalized:
                raise RuntimeError("Graph is finalized and cannot be modified.")
            ptr = fn(*args)
            self.check()
            if name or self._scope:
                name = name or _lib.text(lib.gf_node_op(ptr))
                lib.gf_name(ptr, (self._scope + name).encode())
            return ptr

    def check(self):
        """Raises (and clears) the error a constructor left on the graph."""
        code = _graph_status(self._ptr)
        if code:
            message = _lib.text(lib.gf_graph_error(self._ptr))
            lib.gf_graph_clear_error(self._ptr)
            raise build_error(code, message)

    def scoped(self, name):
        """name in the current name scope."""
        return self._scope + name

    def tensor(self, ptr):
        """The Tensor of node ptr (one object per node)."""
        t = self._tensors.get(ptr)
        if t is None:
            t = self._tensors[ptr] = Tensor(self, ptr)
        return t

    def operation(self, ptr):
        """The Operation of node ptr (one object per node)."""
        op = self._operations.get(ptr)
        if op is None:
            op = self._operations[ptr] = Operation(self, ptr)
        return op

    def variable_nodes(self):
        """Every variable node of the graph, those the library made (the
        optimizers' slots) included."""
        nodes, count = self._variable_nodes
        now = lib.gf_graph_node_count(self._ptr)
        if count != now:
            found = [lib.gf_graph_node(self._ptr, i) for i in range(count, now)]
            nodes += tuple(p for p in found if lib.gf_node_op(p) == b"variable")
            self._variable_nodes = (nodes, now)
        return nodes

    # -- TensorFlow's Graph API ---------------------------------------------

    @contextlib.contextmanager
    def as_default(self):
        _graph_stack.append(self)
        try:
            yield self
        finally:
            _graph_stack.remove(self)

    @contextlib.contextmanager
    def name_scope(self, name):
        saved = self._scope
        if name:
            self._scope = name if name.endswith("/") else f"{saved}{name}/"
        try:
            yield self._scope
        finally:
            self._scope = saved

    def get_tensor_by_name(self, name):
        node, _, index = name.partition(":")
        if index not in ("", "0"):
            raise KeyError(f"The name '{name}' refers to a Tensor which does not exist: "
                           "gradflow nodes have one output, ':0'")
        return self.tensor(self._find(node, name))

    def get_operation_by_name(self, name):
        return self.operation(self._find(name, name))

    def _find(self, node, name):
        ptr = lib.gf_graph_find(self._ptr, node.encode())
        if not ptr:
            raise KeyError(f"The name '{name}' refers to a node which does not exist in the graph")
        return ptr

    def get_collection(self, key, scope=None):
        if key in ("variables", "global_variables"):
            found = list(self._variables)
        elif key == "trainable_variables":
            found = [v for v in self._variables if v.trainable]
        else:
            found = []
        return [v for v in found if scope is None or v.name.startswith(scope)]

    def finalize(self):
        self._finalized = True

    @property
    def finalized(self):
        return self._finalized


# ---------------------------------------------------------------------------
# Tensors and operations


class Tensor:
    """The value of a node (tf.Tensor). Arithmetic operators build nodes:
    + - * / @, unary -, with Python numbers and NumPy arrays made constants."""

    __array_priority__ = 100   # NumPy defers to our reflected operators
    __array_ufunc__ = None

    def __init__(self, graph, ptr):
        self._graph = graph
        self._ptr = ptr
        self._dtype = dtypes.BY_CODE[lib.gf_node_dtype(ptr)]

    @property
    def graph(self):
        return self._graph

    @property
    def dtype(self):
        return self._dtype

    @property
    def name(self):
        return _lib.text(lib.gf_node_name(self._ptr)) + ":0"

    @property
    def op(self):
        return self._graph.operation(self._ptr)

    @property
    def value_index(self):
        return 0

    @property
    def shape(self):
        return TensorShape(_lib.shape_tuple(lib.gf_node_shape(self._ptr)))

    def get_shape(self):
        return self.shape

    def eval(self, feed_dict=None, session=None):
        """This tensor's value in session, or in the default session."""
        return session_for(self, session, "eval").run(self, feed_dict)

    def __repr__(self):
        return f"<tf.Tensor '{self.name}' shape={self.shape} dtype={self._dtype.name}>"

    def __bool__(self):
        raise TypeError("Using a tf.Tensor as a Python bool is not allowed: its value is only "
                        "known when a session runs it")

    def __iter__(self):
        raise TypeError("Tensor objects are only iterable when eager execution is enabled; "
                        "gradflow builds graphs")

    def __getitem__(self, key):
        if isinstance(key, slice) and key.step in (None, 1):
            from gradflow import ops
            return ops.slice_rows(self, key.start, key.stop)
        raise TypeError("gradflow tensors take row slices only (x[a:b])")

    def __add__(self, other):
        return binary(lib.gf_add, self, other)

    def __radd__(self, other):
        return binary(lib.gf_add, other, self)

    def __sub__(self, other):
        return binary(lib.gf_sub, self, other)

    def __rsub__(self, other):
        return binary(lib.gf_sub, other, self)

    def __mul__(self, other):
        return binary(lib.gf_mul, self, other)

    def __rmul__(self, other):
        return binary(lib.gf_mul, other, self)

    def __truediv__(self, other):
        return binary(lib.gf_div, self, other)

    def __rtruediv__(self, other):
        return binary(lib.gf_div, other, self)

    def __matmul__(self, other):
        return binary(lib.gf_matmul, self, other)

    def __rmatmul__(self, other):
        return binary(lib.gf_matmul, other, self)

    def __neg__(self):
        return unary(lib.gf_neg, self)

    def __pow__(self, exponent):
        from gradflow import ops
        return ops.pow(self, exponent)


class Operation:
    """A node run for its effect (tf.Operation): what minimize, group and
    the initializers return. Running one gives None."""

    def __init__(self, graph, ptr):
        self._graph = graph
        self._ptr = ptr

    @property
    def graph(self):
        return self._graph

    @property
    def name(self):
        return _lib.text(lib.gf_node_name(self._ptr))

    @property
    def type(self):
        return _lib.text(lib.gf_node_op(self._ptr))

    @property
    def inputs(self):
        n = lib.gf_node_input_count(self._ptr)
        return [self._graph.tensor(lib.gf_node_input(self._ptr, i)) for i in range(n)]

    @property
    def outputs(self):
        return [self._graph.tensor(self._ptr)]

    def node(self):
        """The gf_node this operation runs."""
        return self._ptr

    def run(self, feed_dict=None, session=None):
        """Runs the operation in session, or in the default session."""
        session_for(self, session, "run").run(self, feed_dict)

    def __repr__(self):
        return f"<tf.Operation '{self.name}' type={self.type}>"


def session_for(what, session, verb):
    session = session or get_default_session()
    if session is None:
        raise ValueError(f"Cannot {verb} {what!r}: no session given and no default session "
                         "registered (use `with sess.as_default():`, pass session=sess, or "
                         "create an InteractiveSession)")
    if session.graph is not what.graph:
        raise ValueError(f"Cannot {verb} {what!r}: the session runs another graph")
    return session


# ---------------------------------------------------------------------------
# Conversions and the builders every op uses


def graph_of(*values):
    """The graph of the first tensor or operation among values, else the
    default graph."""
    for v in values:
        if isinstance(v, (Tensor, Operation)):
            return v.graph
    return get_default_graph()


def constant(value, dtype=None, shape=None, name="Const", verify_shape=False, graph=None):
    """A constant tensor of value (tf.constant); with shape, a scalar value
    fills the shape."""
    graph = graph or get_default_graph()
    arr = np.asarray(value)
    dt = dtypes.as_dtype(dtype) if dtype is not None else infer_dtype(arr)
    if shape is not None:
        shape = [int(d) for d in shape]
        if arr.size == 1:
            arr = np.full(shape, arr.reshape(()).item())
        elif arr.size == int(np.prod(shape)):
            arr = arr.reshape(shape)
        else:
            raise ValueError(f"constant: {arr.size} values cannot fill shape {shape}")
    data = arr.astype(np.float32, order="C")
    name = None if name == "Const" else name
    cast = dt is not dtypes.float32
    if data.ndim == 0:
        ptr = graph.build(lib.gf_scalar, graph._ptr, float(data), name=None if cast else name)
    else:
        ptr = graph.build(lib.gf_constant, graph._ptr, _lib.make_shape(data.shape),
                          data.ctypes.data, name=None if cast else name)
    if cast:
        ptr = graph.build(lib.gf_cast, ptr, dt.code, name=name)
    return graph.tensor(ptr)


def infer_dtype(arr):
    """The dtype a constant of NumPy array arr gets."""
    if arr.dtype == np.bool_:
        return dtypes.bool
    if np.issubdtype(arr.dtype, np.integer):
        return dtypes.int32
    if np.issubdtype(arr.dtype, np.floating):
        return dtypes.float32
    raise TypeError(f"cannot make a gradflow constant of {arr.dtype} values")


def convert_to_tensor(value, dtype=None, name=None, preferred_dtype=None, graph=None):
    """value as a Tensor: tensors as they are, anything else as a constant."""
    if isinstance(value, Tensor):
        if dtype is not None and dtypes.as_dtype(dtype) is not value.dtype:
            raise ValueError(f"Tensor conversion requested dtype {dtypes.as_dtype(dtype).name} "
                             f"for Tensor with dtype {value.dtype.name}: {value!r}")
        return value
    if isinstance(value, Operation):
        raise TypeError(f"{value!r} is an operation, not a tensor: it has no value")
    return constant(value, dtype=dtype or preferred_dtype, graph=graph)


def unary(fn, x, name=None):
    """Node fn(x) for a C constructor of one node argument."""
    x = convert_to_tensor(x)
    return x.graph.tensor(x.graph.build(fn, x._ptr, name=name))


def binary(fn, x, y, name=None):
    """Node fn(x, y) for a C constructor of two node arguments; a non-tensor
    operand becomes a constant of the other's dtype."""
    graph = graph_of(x, y)
    if not isinstance(x, Tensor):
        x = convert_to_tensor(x, preferred_dtype=_dtype_of(y), graph=graph)
    if not isinstance(y, Tensor):
        y = convert_to_tensor(y, preferred_dtype=x.dtype, graph=graph)
    return graph.tensor(graph.build(fn, x._ptr, y._ptr, name=name))


def _dtype_of(value):
    return value.dtype if isinstance(value, Tensor) else None
