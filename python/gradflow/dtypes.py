"""The three dtypes of gradflow tensors: float32, int32 and bool.

The library stores every element as a float (int32 as exact integers,
bool as 0 and 1); the dtype is a tag that ops check. Fetched values come
back as NumPy arrays of the tensor's dtype.
"""
import builtins

import numpy as np


class DType:
    """A tensor's element type (tf.float32, tf.int32, tf.bool)."""
    __slots__ = ("name", "code", "as_numpy_dtype")

    def __init__(self, name, code, numpy_type):
        self.name = name
        self.code = code          # the gf_dtype value
        self.as_numpy_dtype = numpy_type

    @property
    def is_floating(self):
        return self.code == 0

    @property
    def is_integer(self):
        return self.code == 1

    @property
    def is_bool(self):
        return self.code == 2

    @property
    def base_dtype(self):
        return self

    def __repr__(self):
        return f"tf.{self.name}"

    def __eq__(self, other):
        if isinstance(other, DType):
            return self is other
        try:
            return self is as_dtype(other)
        except TypeError:
            return False

    def __hash__(self):
        return self.code


float32 = DType("float32", 0, np.float32)
int32 = DType("int32", 1, np.int32)
bool = DType("bool", 2, np.bool_)

BY_CODE = (float32, int32, bool)

_NAMES = {"float32": float32, "float": float32, "int32": int32, "int": int32, "bool": bool}
_NUMPY = {np.dtype(np.float32): float32, np.dtype(np.int32): int32, np.dtype(np.bool_): bool}


def as_dtype(value):
    """A DType from a DType, a name ("float32", "float", "int32", "bool"), a
    NumPy dtype or type, or float, int or bool."""
    if isinstance(value, DType):
        return value
    if isinstance(value, str):
        if value in _NAMES:
            return _NAMES[value]
    elif value is builtins.float:
        return float32
    elif value is builtins.int:
        return int32
    elif value is builtins.bool:
        return bool
    else:
        try:
            found = _NUMPY.get(np.dtype(value))
        except TypeError:
            found = None
        if found is not None:
            return found
    raise TypeError(f"dtype {value!r}: gradflow tensors are float32, int32 or bool")
