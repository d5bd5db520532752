"""Static shapes as the graph infers them (tf.TensorShape, tf.Dimension):
open dimensions are None."""
import numpy as np


class Dimension:
    """One dimension of a static shape: an int, or None when open."""
    __slots__ = ("value",)

    def __init__(self, value):
        self.value = None if value is None else int(value)

    def __int__(self):
        if self.value is None:
            raise TypeError("the dimension is open (?)")
        return self.value

    __index__ = __int__

    def __eq__(self, other):
        other = other.value if isinstance(other, Dimension) else other
        if self.value is None or other is None:
            return None
        return self.value == other

    def __hash__(self):
        return hash(self.value)

    def __repr__(self):
        return f"Dimension({self.value})"

    def __str__(self):
        return "?" if self.value is None else str(self.value)


class TensorShape:
    """A static shape as the graph inferred it (open dimensions are None)."""
    __slots__ = ("_dims",)

    def __init__(self, dims):
        self._dims = tuple(None if d is None or d == -1 else int(d) for d in dims)

    @property
    def dims(self):
        return [Dimension(d) for d in self._dims]

    @property
    def ndims(self):
        return len(self._dims)

    rank = ndims

    def as_list(self):
        return list(self._dims)

    def is_fully_defined(self):
        return None not in self._dims

    def num_elements(self):
        return int(np.prod(self._dims)) if self.is_fully_defined() else None

    def is_compatible_with(self, other):
        other = other._dims if isinstance(other, TensorShape) else tuple(other)
        return len(other) == len(self._dims) and all(
            a is None or b is None or a == b for a, b in zip(self._dims, other))

    def __len__(self):
        return len(self._dims)

    def __iter__(self):
        return iter(self.dims)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return TensorShape(self._dims[i])
        return Dimension(self._dims[i])

    def __eq__(self, other):
        if isinstance(other, TensorShape):
            return self._dims == other._dims
        if isinstance(other, (list, tuple)):
            return list(self._dims) == list(other)
        return NotImplemented

    def __hash__(self):
        return hash(self._dims)

    def __repr__(self):
        return f"TensorShape({self.dims!r})"

    def __str__(self):
        inner = ", ".join("?" if d is None else str(d) for d in self._dims)
        return f"({inner},)" if len(self._dims) == 1 else f"({inner})"
