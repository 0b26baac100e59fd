"""Errors that teach: each names the op and what was wrong with its inputs."""


class EmberError(Exception):
    """Base class of ember's errors."""


class ShapeError(EmberError, ValueError):
    """Shapes that do not fit an op (broadcasting, matmul inner dimensions, reshape sizes)."""


class DTypeError(EmberError, TypeError):
    """A dtype an op cannot take (e.g. gradients of integer tensors)."""


class DeviceError(EmberError, RuntimeError):
    """An unknown device, a device that is not available, or tensors on two devices in one op."""


class AutogradError(EmberError, RuntimeError):
    """Misuse of autograd: backward twice, in-place edits of saved tensors, non-scalar outputs."""
