"""Exceptions, as TensorFlow 1 names them (tf.errors).

Errors found while a graph is built (shapes that do not fit, bad
arguments) raise ValueError at the call that made them, carrying the
library's message. Errors of a run raise an OpError subclass:

- InvalidArgumentError: a missing feed, a fed shape or dtype that the
  placeholder refuses (these are also ValueError, as TensorFlow 1 raised
  ValueError for a fed shape that does not fit), a shape that turns out
  wrong with the fed shapes, a NaN or infinity caught by check_numerics;
- NotFoundError: a checkpoint that cannot be opened, read or written;
- DataLossError: a checkpoint whose contents are corrupt or truncated;
- FailedPreconditionError: a session used in the wrong state;
- ResourceExhaustedError: out of memory.
"""
from gradflow import _lib

OK = 0
INVALID_ARGUMENT = 3
NOT_FOUND = 5
RESOURCE_EXHAUSTED = 8
FAILED_PRECONDITION = 9
ABORTED = 10
DATA_LOSS = 15


class OpError(Exception):
    """A failed run, restore or save; message is the library's text."""

    def __init__(self, node_def, op, message, error_code=None):
        super().__init__(message)
        self.node_def = node_def
        self.op = op
        self.message = message
        self.error_code = error_code

    def __str__(self):
        return self.message


class InvalidArgumentError(OpError):
    def __init__(self, node_def, op, message):
        super().__init__(node_def, op, message, INVALID_ARGUMENT)


class NotFoundError(OpError):
    def __init__(self, node_def, op, message):
        super().__init__(node_def, op, message, NOT_FOUND)


class ResourceExhaustedError(OpError):
    def __init__(self, node_def, op, message):
        super().__init__(node_def, op, message, RESOURCE_EXHAUSTED)


class FailedPreconditionError(OpError):
    def __init__(self, node_def, op, message):
        super().__init__(node_def, op, message, FAILED_PRECONDITION)


class DataLossError(OpError):
    def __init__(self, node_def, op, message):
        super().__init__(node_def, op, message, DATA_LOSS)


class AbortedError(OpError):
    def __init__(self, node_def, op, message):
        super().__init__(node_def, op, message, ABORTED)


class FeedError(InvalidArgumentError, ValueError):
    """A feed the placeholder refuses, or a placeholder left unfed."""


_RUN_ERRORS = {
    _lib.ERR_ARG: InvalidArgumentError,
    _lib.ERR_SHAPE: InvalidArgumentError,
    _lib.ERR_FEED: FeedError,
    _lib.ERR_NOMEM: ResourceExhaustedError,
    _lib.ERR_IO: NotFoundError,
    _lib.ERR_FORMAT: DataLossError,
    _lib.ERR_STATE: FailedPreconditionError,
    _lib.ERR_NUMERIC: InvalidArgumentError,
    _lib.ERR_GROUP: AbortedError,
}


def run_error(code, message):
    """The exception for a failed run (or save, restore) with this gf_status."""
    return _RUN_ERRORS.get(code, OpError)(None, None, message)


def build_error(code, message):
    """The exception for a failed graph constructor with this gf_status."""
    if code == _lib.ERR_NOMEM:
        return MemoryError(message)
    return ValueError(message)
