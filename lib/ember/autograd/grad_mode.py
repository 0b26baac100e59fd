"""Switching gradient recording off and on: `no_grad`, `enable_grad`, `set_grad_enabled`."""
from __future__ import annotations

import functools


class _State:
    enabled = True


_state = _State()


def is_grad_enabled() -> bool:
    return _state.enabled


class set_grad_enabled:
    """Context manager (and decorator) that sets gradient recording to `mode`."""

    def __init__(self, mode: bool = True):
        self.mode = bool(mode)
        self.prev = _state.enabled
        _state.enabled = self.mode  # like PyTorch, also works as a plain function call

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _state.enabled = self.prev
        return False


class _GradMode:
    mode = True

    def __enter__(self):
        self.prev = _state.enabled
        _state.enabled = self.mode
        return self

    def __exit__(self, *exc):
        _state.enabled = self.prev
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with type(self)():
                return fn(*args, **kwargs)
        return wrapper


class no_grad(_GradMode):
    """Ops inside do not record a graph: for parameter updates and evaluation.

    >>> with ember.no_grad():
    ...     w -= lr * w.grad
    """
    mode = False


class enable_grad(_GradMode):
    """Turns recording back on inside a `no_grad` block."""
    mode = True
