"""TensorFlow 1's API on gradflow: `import gradflow.compat.v1 as tf`.

The names a TensorFlow 1 program uses for graphs, sessions, the math and
neural-network ops, gradients, optimizers and checkpoints; docs/python.md
lists them and what differs. A name TensorFlow has and gradflow lacks
raises an AttributeError that says so.
"""
import types

from gradflow import dtypes, errors, nn, train
from gradflow.dtypes import DType, as_dtype, bool, float32, int32
from gradflow.framework import (Graph, Operation, Tensor, constant, convert_to_tensor,
                                get_default_graph, get_default_session, reset_default_graph,
                                set_random_seed)
from gradflow.ops import (abs, add, add_n, argmax, assign, assign_add, assign_sub, cast,
                          check_numerics, concat, div, equal, exp, gather,
                          global_variables_initializer, gradients, group, identity,
                          initialize_all_variables, local_variables_initializer, log, matmul,
                          maximum, minimum, multiply, negative, no_op, one_hot, ones, placeholder,
                          placeholder_with_default, pow, random_normal, random_uniform,
                          reduce_mean, reduce_sum, reshape, sigmoid, sqrt, square, subtract, tanh,
                          transpose, truncated_normal, variables_initializer, zeros)
from gradflow.session import ConfigProto, InteractiveSession, Session
from gradflow.shapes import Dimension, TensorShape
from gradflow.variables import Variable, global_variables, trainable_variables

divide = truediv = realdiv = div
sub, mul, neg = subtract, multiply, negative


def name_scope(name, default_name=None, values=None):
    """Prefixes the names of the nodes built inside with name/."""
    return get_default_graph().name_scope(name or default_name)


def get_collection(key, scope=None):
    return get_default_graph().get_collection(key, scope)


class GraphKeys:
    GLOBAL_VARIABLES = VARIABLES = "variables"
    TRAINABLE_VARIABLES = "trainable_variables"


def _namespace(name, **members):
    module = types.ModuleType(f"{__name__}.{name}")
    module.__dict__.update(members)
    return module


random = _namespace("random", truncated_normal=truncated_normal, normal=random_normal,
                    uniform=random_uniform, set_random_seed=set_random_seed)
math = _namespace("math", add=add, subtract=subtract, multiply=multiply, divide=div,
                  negative=negative, exp=exp, log=log, sqrt=sqrt, square=square, abs=abs,
                  sigmoid=sigmoid, tanh=tanh, maximum=maximum, minimum=minimum, pow=pow,
                  equal=equal, argmax=argmax, reduce_sum=reduce_sum, reduce_mean=reduce_mean,
                  add_n=add_n)
debugging = _namespace("debugging", check_numerics=check_numerics)
linalg = _namespace("linalg", matmul=matmul, transpose=transpose)


__all__ = ["abs", "add", "add_n", "argmax", "as_dtype", "assign", "assign_add", "assign_sub",
           "bool", "cast", "check_numerics", "concat", "ConfigProto", "constant",
           "convert_to_tensor", "debugging", "Dimension", "div", "divide", "DType", "dtypes",
           "equal", "errors", "exp", "float32", "gather", "get_collection", "get_default_graph",
           "get_default_session", "global_variables", "global_variables_initializer", "gradients",
           "Graph", "GraphKeys", "group", "identity", "initialize_all_variables", "int32",
           "InteractiveSession", "linalg", "local_variables_initializer", "log", "math", "matmul",
           "maximum", "minimum", "mul", "multiply", "name_scope", "neg", "negative", "nn", "no_op",
           "one_hot", "ones", "Operation", "placeholder", "placeholder_with_default", "pow",
           "random", "random_normal", "random_uniform", "realdiv", "reduce_mean", "reduce_sum",
           "reset_default_graph", "reshape", "Session", "set_random_seed", "sigmoid", "sqrt",
           "square", "sub", "subtract", "tanh", "Tensor", "TensorShape", "train",
           "trainable_variables", "transpose", "truediv", "truncated_normal", "Variable",
           "variables_initializer", "zeros"]


def __getattr__(name):
    raise AttributeError(f"gradflow.compat.v1 has no '{name}': gradflow does not implement "
                         "that part of TensorFlow 1 (docs/python.md lists what it has)")
