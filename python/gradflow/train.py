"""tf.train: the optimizers and Saver.

minimize builds the gradients and the updates in the graph, as one
operation to run. Saver writes and reads gradflow checkpoints
(docs/checkpoint-format.md): every variable of the session's graph,
optimizer slots included, written atomically.
"""
import ctypes
import numbers
import os
import re
import tempfile

from gradflow import ops
from gradflow._lib import lib
from gradflow.framework import Tensor, convert_to_tensor
from gradflow.variables import Variable
from gradflow.session import Session


class Optimizer:
    """The base of the optimizers: minimize, compute_gradients."""

    def __init__(self, use_locking, name):
        self._name = name
        self._c = {}   # graph -> its gf_optimizer for this object

    def _optimizer(self, graph):
        opt = self._c.get(graph)
        if opt is None:
            with graph._lock:
                opt = self._make(graph._ptr)
                graph.check()
            self._c[graph] = opt
        return opt

    def _make(self, graph_ptr):
        raise NotImplementedError

    def minimize(self, loss, global_step=None, var_list=None, gate_gradients=1,
                 aggregation_method=None, colocate_gradients_with_ops=False, name=None,
                 grad_loss=None):
        """One operation that moves every variable of var_list (default: every
        trainable variable loss depends on) one step down loss's gradient (the
        gradient of its sum when it is not a scalar); with global_step, it
        also adds 1 to that variable."""
        if grad_loss is not None:
            raise ValueError("minimize: gradflow has no grad_loss")
        loss = convert_to_tensor(loss)
        graph = loss.graph
        opt = self._optimizer(graph)
        variables = list(var_list) if var_list is not None else []
        arr = (ctypes.c_void_p * max(len(variables), 1))(*[v._ptr for v in variables])
        node = graph.build(lib.gf_minimize, opt, loss._ptr, arr if variables else None,
                           len(variables), name=None if global_step is not None else name)
        if global_step is not None:
            step = ops.assign_add(global_step, 1)
            node = graph.build(lib.gf_group, node, step._ptr, name=name)
        return graph.operation(node)

    def compute_gradients(self, loss, var_list=None, gate_gradients=1, aggregation_method=None,
                          colocate_gradients_with_ops=False, grad_loss=None):
        """[(gradient, variable)] for var_list (default: the trainable
        variables); the gradient is None where loss does not depend on it."""
        loss = convert_to_tensor(loss)
        variables = list(var_list) if var_list is not None else \
            loss.graph.get_collection("trainable_variables")
        return list(zip(ops.gradients(loss, variables), variables))

    def apply_gradients(self, grads_and_vars, global_step=None, name=None):
        raise NotImplementedError(
            f"{type(self).__name__}.apply_gradients: gradflow's {self._name} updates come from "
            "minimize() only (GradientDescentOptimizer also applies given gradients)")

    def get_name(self):
        return self._name


def _rate(value, what):
    if isinstance(value, Tensor) or not isinstance(value, numbers.Real):
        raise TypeError(f"{what}: gradflow's optimizers take a fixed number, not {value!r}")
    return float(value)


class GradientDescentOptimizer(Optimizer):
    """var -= learning_rate * gradient."""

    def __init__(self, learning_rate, use_locking=False, name="GradientDescent"):
        super().__init__(use_locking, name)
        self._lr = _rate(learning_rate, "learning_rate")

    def _make(self, graph_ptr):
        return lib.gf_gradient_descent(graph_ptr, self._lr)

    def apply_gradients(self, grads_and_vars, global_step=None, name=None):
        """One operation assigning var - learning_rate * grad to each var."""
        updates = [ops.assign(v, v - self._lr * g) for g, v in grads_and_vars if g is not None]
        if not updates:
            raise ValueError("No gradients provided for any variable")
        if global_step is not None:
            updates.append(ops.assign_add(global_step, 1))
        return ops.group(*updates, name=name)


class MomentumOptimizer(Optimizer):
    """accum = momentum * accum + gradient; var -= learning_rate * accum."""

    def __init__(self, learning_rate, momentum, use_locking=False, name="Momentum",
                 use_nesterov=False):
        super().__init__(use_locking, name)
        if use_nesterov:
            raise ValueError("MomentumOptimizer: gradflow has no Nesterov momentum")
        self._lr = _rate(learning_rate, "learning_rate")
        self._momentum = _rate(momentum, "momentum")

    def _make(self, graph_ptr):
        return lib.gf_momentum(graph_ptr, self._lr, self._momentum)


class AdamOptimizer(Optimizer):
    """Adam (Kingma and Ba), with TensorFlow's defaults and epsilon-hat form."""

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-08,
                 use_locking=False, name="Adam"):
        super().__init__(use_locking, name)
        self._args = tuple(_rate(v, what) for v, what in (
            (learning_rate, "learning_rate"), (beta1, "beta1"), (beta2, "beta2"),
            (epsilon, "epsilon")))

    def _make(self, graph_ptr):
        return lib.gf_adam(graph_ptr, *self._args)


# ---------------------------------------------------------------------------
# Saver

_STATE_FILE = "checkpoint"


class Saver:
    """Saves and restores every variable of a session (tf.train.Saver).
    save() also keeps the folder's "checkpoint" file, which
    latest_checkpoint() reads, and deletes the oldest checkpoints beyond
    max_to_keep (None or 0: keeps all)."""

    def __init__(self, var_list=None, reshape=False, sharded=False, max_to_keep=5,
                 keep_checkpoint_every_n_hours=10000.0, name=None, restore_sequentially=False,
                 saver_def=None, builder=None, defer_build=False, allow_empty=False,
                 write_version=2, pad_step_number=False, save_relative_paths=False,
                 filename=None):
        if var_list is not None:
            given = list(var_list.values()) if isinstance(var_list, dict) else list(var_list)
            graph = given[0].graph if given else None
            every = graph.get_collection("variables") if graph else []
            if any(not isinstance(v, Variable) for v in given) or \
                    {id(v) for v in given} != {id(v) for v in every}:
                raise ValueError("Saver: gradflow checkpoints hold every variable of the graph: "
                                 "give no var_list (or all the variables)")
        self._max_to_keep = max_to_keep
        self._last = []   # paths written by this saver, oldest first

    @property
    def last_checkpoints(self):
        return list(self._last)

    def save(self, sess, save_path, global_step=None, latest_filename=None,
             meta_graph_suffix="meta", write_meta_graph=True, write_state=True,
             strip_default_attrs=False, save_debug_info=False):
        """Writes the variables of sess to save_path (with "-STEP" appended
        when global_step is given); returns the path written."""
        _check_session(sess)
        if global_step is not None:
            step = sess.run(global_step) if isinstance(global_step, Tensor) else global_step
            save_path = f"{save_path}-{int(step)}"
        sess.save_variables(save_path)
        if save_path in self._last:
            self._last.remove(save_path)
        self._last.append(save_path)
        if self._max_to_keep and len(self._last) > self._max_to_keep:
            for old in self._last[:-self._max_to_keep]:
                if os.path.exists(old):
                    os.remove(old)
            self._last = self._last[-self._max_to_keep:]
        if write_state:
            _write_state(os.path.dirname(save_path), self._last,
                         latest_filename or _STATE_FILE)
        return save_path

    def restore(self, sess, save_path):
        """Sets every variable of sess from save_path: all or, on an error,
        none (NotFoundError, DataLossError, InvalidArgumentError)."""
        _check_session(sess)
        if save_path is None:
            raise ValueError("Can't load save_path when it is None.")
        sess.restore_variables(save_path)


def _check_session(sess):
    if not isinstance(sess, Session):
        raise TypeError(f"'sess' must be a Session; {sess!r}")


def _write_state(folder, paths, filename):
    """The "checkpoint" file listing paths (the last is the latest), written
    to a temporary file and renamed over the old one."""
    lines = [f'model_checkpoint_path: "{_relative(paths[-1], folder)}"']
    lines += [f'all_model_checkpoint_paths: "{_relative(p, folder)}"' for p in paths]
    fd, tmp = tempfile.mkstemp(prefix=f".{filename}.tmp-", dir=folder or ".")
    try:
        with os.fdopen(fd, "w") as f:
            f.write("\n".join(lines) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, os.path.join(folder, filename))
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _relative(path, folder):
    return os.path.relpath(path, folder or os.curdir)


def latest_checkpoint(checkpoint_dir, latest_filename=None):
    """The path of the newest checkpoint a Saver wrote in checkpoint_dir, or
    None."""
    state = os.path.join(checkpoint_dir, latest_filename or _STATE_FILE)
    try:
        with open(state) as f:
            text = f.read()
    except OSError:
        return None
    found = re.search(r'^model_checkpoint_path: "(.*)"$', text, re.M)
    if not found:
        return None
    path = found.group(1)
    return path if os.path.isabs(path) else os.path.join(checkpoint_dir, path)
