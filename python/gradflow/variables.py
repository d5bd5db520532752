"""Variables (tf.Variable) and the initializers that give them their
initial values."""
from gradflow import dtypes
from gradflow._lib import lib
from gradflow.framework import (Operation, Tensor, convert_to_tensor, get_default_graph,
                                session_for, unary)


class Variable(Tensor):
    """A trainable state (tf.Variable): a float32 tensor whose value lives in
    each session, given by initial_value (a tensor that needs no feed, with a
    fully known shape, or a Python number, list or NumPy array)."""

    def __init__(self, initial_value=None, trainable=True, collections=None, validate_shape=True,
                 caching_device=None, name=None, variable_def=None, dtype=None):
        if initial_value is None:
            raise ValueError("initial_value must be specified")
        if variable_def is not None:
            raise ValueError("gradflow variables are not made from a VariableDef")
        if callable(initial_value):
            initial_value = initial_value()
        graph = initial_value.graph if isinstance(initial_value, Tensor) else get_default_graph()
        init = initial_value if isinstance(initial_value, Tensor) else \
            convert_to_tensor(initial_value, dtype=dtypes.float32, graph=graph)
        if init.dtype is not dtypes.float32:
            init = unary(lambda p: lib.gf_cast(p, dtypes.float32.code), init)
        ptr = graph.build(lib.gf_variable, graph._ptr, None, init._ptr, name=name or "Variable")
        if not trainable:
            lib.gf_set_trainable(ptr, 0)
        super().__init__(graph, ptr)
        self._initial_value = init
        self._trainable = bool(trainable)
        graph._tensors[ptr] = self
        graph._variables.append(self)

    @property
    def trainable(self):
        return self._trainable

    @property
    def initial_value(self):
        return self._initial_value

    @property
    def initializer(self):
        return Initializer(self._graph, [self], self.op.name + "/Assign")

    def value(self):
        return self

    def read_value(self):
        return self

    def assign(self, value, use_locking=None, name=None, read_value=True):
        from gradflow import ops
        return ops.assign(self, value, name=name)

    def assign_add(self, delta, use_locking=None, name=None, read_value=True):
        from gradflow import ops
        return ops.assign_add(self, delta, name=name)

    def assign_sub(self, delta, use_locking=None, name=None, read_value=True):
        from gradflow import ops
        return ops.assign_sub(self, delta, name=name)

    def load(self, value, session=None):
        """Writes value into this variable in session (or the default one)."""
        session_for(self, session, "load").load_variable(self, value)

    def __repr__(self):
        return f"<tf.Variable '{self.name}' shape={self.shape} dtype={self._dtype.name}_ref>"


def global_variables(scope=None):
    return get_default_graph().get_collection("variables", scope)


def trainable_variables(scope=None):
    return get_default_graph().get_collection("trainable_variables", scope)


class Initializer(Operation):
    """What TensorFlow's initializers do: gives variables their initial
    values (variables None: every variable of the graph, the optimizers'
    slots included), then runs targets (nodes it was grouped with). A session
    initialises every variable when it starts (and one made later when a run
    first needs it), so in a session that has not changed them since, this
    has nothing to do; otherwise the changed ones get again the values they
    were initialised with. With no variables and no targets it is a no-op
    (tf.no_op, tf.local_variables_initializer)."""

    def __init__(self, graph, variables, name, targets=()):
        super().__init__(graph, None)
        self.variables = None if variables is None else list(variables)
        self.targets = tuple(targets)
        self._name = name

    def variable_nodes(self):
        """The variables' nodes."""
        if self.variables is None:
            return self._graph.variable_nodes()
        return [v._ptr for v in self.variables]

    @property
    def name(self):
        return self._name

    @property
    def type(self):
        return "NoOp"

    @property
    def inputs(self):
        return []

    @property
    def outputs(self):
        return []

    def node(self):
        raise ValueError(f"'{self._name}' is an initializer: it has no node of its own")

    def __repr__(self):
        return f"<tf.Operation '{self._name}' type=NoOp>"
