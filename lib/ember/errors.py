"""Errors that teach: each names the op and what was wrong with its inputs.

Each is also the builtin Python code expects (a shape error is a ValueError) and, where PyTorch
raises RuntimeError for the same mistake, a RuntimeError too: `except RuntimeError` written for
PyTorch catches it.
"""


class EmberError(Exception):
    """Base class of ember's errors."""


class ShapeError(EmberError, ValueError, RuntimeError):
    """Shapes that do not fit an op (broadcasting, matmul inner dimensions, reshape sizes)."""


class ViewError(ShapeError):
    """A view that the tensor's memory layout can't give without a copy (use reshape)."""


class DTypeError(EmberError, TypeError, RuntimeError):
    """A dtype an op cannot take (e.g. gradients of integer tensors)."""


class DeviceError(EmberError, RuntimeError):
    """An unknown device, a device that is not available, or tensors on two devices in one op."""


class AutogradError(EmberError, RuntimeError):
    """Misuse of autograd: backward twice, in-place edits of saved tensors, non-scalar outputs."""


class ArgumentError(EmberError, ValueError, RuntimeError):
    """An argument outside what an op accepts (e.g. clamp with neither min nor max)."""


class IndexBoundsError(EmberError, IndexError, RuntimeError):
    """An index tensor with a value outside the dimension it indexes (gather, scatter, ...)."""


class DivisionByZeroError(EmberError, ZeroDivisionError, RuntimeError):
    """Integer division by zero (PyTorch raises RuntimeError('ZeroDivisionError'))."""
