"""The one switch between array libraries: numpy on the CPU, CuPy on CUDA devices.

Ops never import numpy or cupy themselves; they ask `get_array_module` for the module that owns
their data, so one definition of each op serves every device.
"""
from __future__ import annotations

import numpy as np

from .errors import DeviceError

_CUPY_HINT = ("install CuPy built for your CUDA version on a machine with an NVIDIA GPU: "
              "`pip install cupy-cuda12x` (CUDA 12) or `pip install cupy-cuda13x` (CUDA 13); "
              "`nvidia-smi` shows the CUDA version")


class Device:
    """Where a tensor's data lives: `Device('cpu')` or `Device('cuda', 0)`.

    Devices are interned (one object per place), so ops compare them with `is`.
    """

    __slots__ = ("type", "index")
    _interned: dict = {}

    def __new__(cls, type: "str | Device" = "cpu", index: int | None = None):
        if isinstance(type, Device):
            if index is None or index == type.index:
                return type
            type = type.type
        if not isinstance(type, str):
            raise DeviceError(f"device must be a string like 'cpu' or 'cuda:0', got {type!r}")
        key = (type, index)
        dev = cls._interned.get(key)
        if dev is not None:
            return dev
        name = type
        if ":" in type:
            name, _, idx = type.partition(":")
            if not idx.isdigit():
                raise DeviceError(f"bad device index in {type!r}; expected e.g. 'cuda:0'")
            index = int(idx)
        if name not in ("cpu", "cuda"):
            raise DeviceError(f"unknown device {type!r}: ember knows 'cpu' and 'cuda' (e.g. 'cuda:0')")
        if name == "cuda" and index is None:
            index = 0
        if name == "cpu":
            index = None
        dev = cls._interned.get((name, index))
        if dev is None:
            dev = object.__new__(cls)
            object.__setattr__(dev, "type", name)
            object.__setattr__(dev, "index", index)
            cls._interned[(name, index)] = dev
        cls._interned[key] = dev
        return dev

    def __eq__(self, other):
        if isinstance(other, str):
            try:
                other = Device(other)
            except DeviceError:
                return False
        return self is other

    def __hash__(self):
        return hash((self.type, self.index))

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __reduce__(self):
        return (Device, (str(self),))


CPU = Device("cpu")
_cupy = None        # the cupy module once a CUDA device has been asked for
_gpu_count = 0


def _load_cupy():
    """Import CuPy on first use of a CUDA device, with an error that says how to get it.

    CuPy is never imported before a CUDA device is requested, so CPU-only use costs nothing.
    """
    global _cupy, _gpu_count
    if _cupy is None:
        try:
            import cupy
        except ImportError as e:
            raise DeviceError(f"a CUDA device was requested but CuPy is not installed. To run on the CPU, "
                              f"use device='cpu' (pick it with `'cuda' if ember.cuda.is_available() else "
                              f"'cpu'`); to use an NVIDIA GPU, {_CUPY_HINT}") from e
        try:
            n = cupy.cuda.runtime.getDeviceCount()
        except Exception as e:  # CUDA driver missing or broken
            raise DeviceError(f"a CUDA device was requested but no usable GPU was found ({e}). To run on "
                              f"the CPU, use device='cpu' (check ember.cuda.is_available() first); "
                              f"{_CUPY_HINT}") from e
        if n == 0:
            raise DeviceError(f"a CUDA device was requested but no GPU is visible. To run on the CPU, use "
                              f"device='cpu' (check ember.cuda.is_available() first); {_CUPY_HINT}")
        _cupy, _gpu_count = cupy, n
    return _cupy


def cuda_is_available() -> bool:
    """True when CuPy imports and sees at least one GPU. Never raises."""
    try:
        _load_cupy()
        return True
    except DeviceError:
        return False


def cuda_device_count() -> int:
    return _gpu_count if cuda_is_available() else 0


def get_array_module(device: Device | str | None = None):
    """The array module (numpy or cupy) that holds data for `device`."""
    if device is None or device is CPU:
        return np
    device = Device(device)
    if device.type == "cpu":
        return np
    cp = _cupy if _cupy is not None else _load_cupy()
    if device.index >= _gpu_count:
        raise DeviceError(f"{device} was requested but this machine has {_gpu_count} GPU(s) "
                          f"(cuda:0 to cuda:{_gpu_count - 1})")
    return cp


def is_array(a) -> bool:
    """True for a numpy array or (once CuPy is loaded) a CuPy array."""
    return isinstance(a, np.ndarray) or (_cupy is not None and isinstance(a, _cupy.ndarray))


def device_of(array) -> Device:
    """The device of a raw array."""
    if isinstance(array, np.ndarray):
        return CPU
    dev = getattr(array, "device", None)
    if _cupy is not None and isinstance(array, _cupy.ndarray):
        return Device("cuda", dev.id)
    return CPU


def array_module_of(*arrays):
    """The module (numpy or cupy) of the first array among `arrays` (numbers count as numpy)."""
    for a in arrays:
        if isinstance(a, np.ndarray):
            return np
        if hasattr(a, "__cuda_array_interface__"):
            return _load_cupy()
    return np


def to_device(array, device: Device):
    """Copy an array to `device` (no copy when it is already there)."""
    src = device_of(array)
    if src == device:
        return array
    if device.type == "cpu":
        return to_numpy(array)
    cp = get_array_module(device)
    with cp.cuda.Device(device.index):
        return cp.asarray(array)


def to_numpy(array) -> np.ndarray:
    if isinstance(array, np.ndarray):
        return array
    raise_pending()
    return array.get()


_pending: list = []  # (0-d bool array on a GPU, error factory): checks not yet read back


def check(failed, make_error) -> None:
    """Raise `make_error()` when the 0-d boolean array `failed` is true.

    On the CPU this happens at once. On a GPU, reading the flag would make the host wait for
    every queued kernel, so the check is queued instead (like PyTorch's device-side asserts) and
    raised at the next point where the host waits anyway: `item()`, `.cpu()`, `synchronize()`.
    """
    if isinstance(failed, (np.ndarray, np.bool_, bool)):
        if failed:
            raise make_error()
        return
    _pending.append((failed, make_error))
    if len(_pending) >= 64:  # a loop that never syncs still hears of its errors
        raise_pending()


def raise_pending() -> None:
    """Read back the queued GPU checks (one copy for all of them) and raise the first failure."""
    if not _pending:
        return
    checks = _pending[:]
    _pending.clear()
    flags = _cupy.stack([f.reshape(()) for f, _ in checks]).get()
    for failed, (_, make_error) in zip(flags, checks):
        if failed:
            raise make_error()


def index_add(xp, target, index, values) -> None:
    """target[index] += values, adding repeated indices up (add.at; CuPy < 13: scatter_add)."""
    if xp is np or hasattr(xp.add, "at"):
        xp.add.at(target, index, values)
    else:
        import cupyx
        cupyx.scatter_add(target, index, values)
