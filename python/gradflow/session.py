"""Sessions (tf.Session, tf.InteractiveSession): running fetches with a
feed dict.

A run is prepared once per (fetch structure, feed keys) and kept: the
C arrays of fetches, targets and feeds, and how to rebuild the fetch
structure from the values. A repeated run then converts the fed arrays
(none when they are C-contiguous float32: the library reads their memory
where it is), makes one C call and copies out the fetched values.
"""
import ctypes
import dis
import sys

import numpy as np

from gradflow import _lib, errors, framework
from gradflow._fetch import RunPlan, copy_out, feed_array, freeze, wrap_feed
from gradflow._lib import lib

_run = lib.gf_session_run
_session_error = lib.gf_session_error
_tensor_data = lib.gf_tensor_data
_MAX_PLANS = 256
_MAX_HEADERS = 64
_NO_FEEDS = {}


class ConfigProto:
    """Session settings; gradflow reads intra_op_parallelism_threads (the
    threads its large kernels may use) and ignores the rest."""

    def __init__(self, intra_op_parallelism_threads=0, **others):
        self.intra_op_parallelism_threads = intra_op_parallelism_threads
        self.__dict__.update(others)


class _SessionHandle:
    """Owns a gf_session and the tensor headers that wrap fed memory; keeps
    the graph alive until the session is freed."""
    __slots__ = ("ptr", "graph_handle", "headers", "_free", "_free_tensor")

    def __init__(self, graph_handle, options):
        self.graph_handle = graph_handle
        self.headers = {}   # (address, shape, dtype code) -> gf_tensor over that memory
        self._free = lib.gf_session_free
        self._free_tensor = lib.gf_tensor_free
        self.ptr = lib.gf_session_new(graph_handle.ptr, ctypes.byref(options))
        if not self.ptr:
            raise MemoryError("gradflow: out of memory for a session")

    def drop_headers(self):
        for h in self.headers.values():
            self._free_tensor(h)
        self.headers.clear()

    def close(self):
        if self.ptr:
            self.drop_headers()
            self._free(self.ptr)
            self.ptr = None

    def __del__(self):
        self.close()


class Session:
    """Runs parts of a graph (tf.Session). Variables get their initial
    values when the session starts (and, for variables made later, when a
    run first needs them); global_variables_initializer() may still be run,
    as TensorFlow programs do. The seed of random initializers, dropout and
    shuffling comes from tf.set_random_seed on the graph (default 1)."""

    def __init__(self, target="", graph=None, config=None):
        self._graph = graph or framework.get_default_graph()
        options = _lib.SessionOptions()
        seed = self._graph.seed
        options.seed = framework.DEFAULT_SEED if seed is None else seed
        options.threads = int(getattr(config, "intra_op_parallelism_threads", 0) or 0)
        self._options = options
        self._handle = _SessionHandle(self._graph._handle, options)
        # The library lets nothing add nodes to a graph while a session runs
        # on it: runs and building take the graph's lock.
        self._lock = self._graph._lock
        self._plans = {}
        self._modified = set()   # variable nodes changed since they were initialised
        self._epoch = 0          # counts re-initialisations (see RunPlan.recorded)
        self._default_contexts = []
        code = lib.gf_session_status(self._handle.ptr)
        if code:
            message = _lib.text(_session_error(self._handle.ptr))
            self._handle.close()
            raise errors.run_error(code, message)

    @property
    def graph(self):
        return self._graph

    @property
    def sess_str(self):
        return ""

    # -- running ------------------------------------------------------------

    def run(self, fetches, feed_dict=None, options=None, run_metadata=None):
        """Values of fetches (a tensor, an operation, a tensor name, or
        lists, tuples, namedtuples and dicts of them, nested), in the same
        structure, as NumPy arrays (NumPy scalars for rank 0; None for
        operations). feed_dict maps placeholders (or their names) to values."""
        feeds = feed_dict or _NO_FEEDS
        try:
            plan = self._plans[(type(fetches), tuple(fetches) if type(fetches) is list else fetches,
                                tuple(feeds))]
        except (KeyError, TypeError):
            plan = self._plan_for(fetches, feeds)
        unused = plan.n_fetches and _result_unused(sys._getframe(1))
        if unused:
            plan = plan.unused_plan
        with self._lock:
            if not self._handle.ptr:
                raise RuntimeError("Attempted to use a closed Session.")
            if plan.initializers:
                self._initialize(plan.initializers)
            handle = self._handle
            if plan.empty:
                return plan.build(())
            if len(handle.headers) > _MAX_HEADERS:
                handle.drop_headers()
            headers = handle.headers
            slots = plan.feed_slots
            kept = []     # converted copies of fed values, alive through the call
            shapes = []
            for i, (key, code, np_type, node) in enumerate(plan.feeds):
                arr = feed_array(feeds[key], code, np_type, kept)
                shape = arr.shape
                hkey = (_address(arr), shape, code)
                h = headers.get(hkey)
                if h is None:
                    h = headers[hkey] = wrap_feed(hkey, node)
                slots[2 * i + 1] = h
                shapes.append(shape)
            if plan.defaults:
                self._feed_defaults(plan)
            code = _run(handle.ptr, plan.feeds_addr, plan.n_feeds, plan.fetches_addr,
                        plan.n_fetches, plan.targets_addr, plan.n_targets, plan.outs_addr)
            if code:
                raise errors.run_error(code, _lib.text(_session_error(handle.ptr)))
            if plan.recorded != self._epoch:
                self._modified |= plan.assigned
                plan.recorded = self._epoch
            if unused:
                return None
            if not plan.n_fetches:
                return plan.build(())
            outs = plan.outs
            meta = plan.out_meta(tuple(shapes))
            values = [copy_out(_tensor_data(outs[i]), *meta[i]) for i in range(plan.n_fetches)]
        return plan.build(values)

    def _feed_defaults(self, plan):
        """Points the feed slots after feed_dict's at the defaults of the
        placeholders made by placeholder_with_default that it leaves out."""
        headers, first = self._handle.headers, len(plan.feeds)
        for i, (arr, code, node) in enumerate(plan.defaults, first):
            hkey = (arr.ctypes.data, arr.shape, code)
            h = headers.get(hkey)
            if h is None:
                h = headers[hkey] = wrap_feed(hkey, node)
            plan.feed_slots[2 * i + 1] = h

    def _plan_for(self, fetches, feeds):
        """The plan for a structure run's fast key did not find: found by the
        structure's frozen key (a dict, lists inside), or made."""
        key = (freeze(fetches), tuple(feeds))
        with self._lock:
            plan = self._plans.get(key)
            if plan is None:
                plan = RunPlan(self._graph, fetches, feeds)
                if len(self._plans) >= _MAX_PLANS:
                    self._plans.clear()
                self._plans[key] = plan
            try:
                fast = (type(fetches), tuple(fetches) if type(fetches) is list else fetches,
                        tuple(feeds))
                self._plans[fast] = plan
            except TypeError:   # unhashable: a dict, or lists inside
                pass
        return plan

    def _initialize(self, initializers):
        """Gives the variables of initializers that were changed since their
        initialisation their initial values again, by starting the C session
        afresh (every variable initialised with the same seed, so to the same
        values) and copying over the changed variables that keep their values.
        The random streams (dropout) start afresh too."""
        stale = set()
        for init in initializers:
            stale.update(p for p in init.variable_nodes() if p in self._modified)
        if not stale:
            return
        old = self._handle
        fresh = _SessionHandle(self._graph._handle, self._options)
        code = lib.gf_session_status(fresh.ptr)
        if code:
            message = _lib.text(_session_error(fresh.ptr))
            fresh.close()
            raise errors.run_error(code, message)
        kept = self._modified - stale
        for node in kept:
            src, dst = (lib.gf_session_variable(h.ptr, node) for h in (old, fresh))
            if not src or not dst:
                fresh.close()
                raise errors.run_error(_lib.ERR_STATE, _lib.text(_session_error(fresh.ptr)))
            ctypes.memmove(_tensor_data(dst), _tensor_data(src),
                           4 * lib.gf_tensor_count(src))
        self._handle = fresh
        old.close()
        self._modified = kept
        self._epoch += 1

    def load_variable(self, var, value):
        """Writes value (shaped like var) into var's storage in this session."""
        with self._lock:
            handle = self._live_handle()
            t = lib.gf_session_variable(handle.ptr, var._ptr)
            if not t:
                raise errors.run_error(_lib.ERR_ARG, _lib.text(_session_error(handle.ptr)))
            arr = np.asarray(value).astype(np.float32, order="C")
            want = tuple(var.shape.as_list())
            if arr.shape != want:
                raise ValueError(f"load: value of shape {arr.shape} for variable {var.name} "
                                 f"of shape {want}")
            ctypes.memmove(_tensor_data(t), arr.ctypes.data, arr.nbytes)
            self._modified.add(var._ptr)

    def save_variables(self, path):
        """Writes every variable to path (gf_session_save, atomically)."""
        with self._lock:
            code = lib.gf_session_save(self._live_handle().ptr, path.encode())
            if code:
                raise errors.run_error(code, _lib.text(_session_error(self._handle.ptr)))

    def restore_variables(self, path):
        """Sets every variable from path (gf_session_restore: all or none)."""
        with self._lock:
            code = lib.gf_session_restore(self._live_handle().ptr, path.encode())
            if code:
                raise errors.run_error(code, _lib.text(_session_error(self._handle.ptr)))
            self._modified.update(self._graph.variable_nodes())

    def _live_handle(self):
        if not self._handle.ptr:
            raise RuntimeError("Attempted to use a closed Session.")
        return self._handle

    # -- lifetime and default session -----------------------------------------

    def close(self):
        with self._lock:
            self._plans.clear()
            self._handle.close()

    def as_default(self):
        return _DefaultSession(self)

    def __enter__(self):
        context = _DefaultSession(self)
        self._default_contexts.append(context)
        context.__enter__()
        return self

    def __exit__(self, exc_type, exc, tb):
        self._default_contexts.pop().__exit__(exc_type, exc, tb)
        self.close()

    def __del__(self):
        handle = getattr(self, "_handle", None)
        if handle is not None:
            handle.close()


class InteractiveSession(Session):
    """A session that makes itself the default session (and its graph the
    default graph) until it is closed, for Tensor.eval() and
    Operation.run() without arguments."""

    def __init__(self, target="", graph=None, config=None):
        super().__init__(target, graph, config)
        self._context = _DefaultSession(self)
        self._context.__enter__()

    def close(self):
        context, self._context = getattr(self, "_context", None), None
        if context is not None:
            context.__exit__(None, None, None)
        super().close()


class _DefaultSession:
    """`with sess.as_default():` — sess, and its graph, are the defaults."""

    def __init__(self, session):
        self._session = session
        self._graph = session.graph.as_default()

    def __enter__(self):
        framework._session_stack.append(self._session)
        self._graph.__enter__()
        return self._session

    def __exit__(self, exc_type, exc, tb):
        self._graph.__exit__(exc_type, exc, tb)
        stack = framework._session_stack
        for i in range(len(stack) - 1, -1, -1):
            if stack[i] is self._session:
                del stack[i]
                break


def _result_unused(frame):
    """Whether the code in frame drops the value of the call it is making:
    the call is a statement of its own (its next instruction is POP_TOP), as
    `sess.run(step, feed_dict=...)` in a training loop. Then the run copies
    no value out and runs fetched assignments as targets; nothing else
    changes. Decided once per call site."""
    key = (frame.f_code, frame.f_lasti)
    unused = _unused_calls.get(key)
    if unused is None:
        unused = _unused_calls[key] = _next_opname(frame.f_code, frame.f_lasti) == "POP_TOP"
    return unused


def _next_opname(code, offset):
    """The instruction after the call at offset (f_lasti: the call itself or,
    from Python 3.11, the last of its inline caches)."""
    for instruction in dis.get_instructions(code):
        if instruction.offset > offset:
            return instruction.opname
    return None


_unused_calls = {}   # (code, offset of the call) -> whether its value is dropped


def _address(arr, _from_buffer=ctypes.c_char.from_buffer, _addressof=ctypes.addressof):
    """The address of a C-contiguous array's first element."""
    try:
        return _addressof(_from_buffer(arr))
    except (TypeError, ValueError):   # read-only or empty
        return arr.ctypes.data
