"""`ember.cuda`: is a GPU there, how many, and waiting for it."""
from . import backend
from .legacy import CudaDoubleTensor as DoubleTensor, CudaFloatTensor as FloatTensor
from .legacy import CudaLongTensor as LongTensor


def is_available() -> bool:
    """True when CuPy is installed and sees an NVIDIA GPU."""
    return backend.cuda_is_available()


def device_count() -> int:
    return backend.cuda_device_count()


def synchronize(device=None) -> None:
    """Wait until every queued GPU kernel has finished (needed for honest timing)."""
    if is_available():
        backend.get_array_module("cuda").cuda.Device().synchronize()
        backend.raise_pending()


def get_device_name(device=0) -> str:
    cp = backend.get_array_module("cuda")
    return cp.cuda.runtime.getDeviceProperties(int(device) if not isinstance(device, str) else 0)["name"].decode()
