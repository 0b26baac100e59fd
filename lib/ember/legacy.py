"""PyTorch's legacy tensor types (`torch.FloatTensor`, `torch.cuda.FloatTensor`), which the lecture
uses as `x.type(dtype)`. Each is a dtype plus a device; calling one makes a tensor."""
from __future__ import annotations

from .backend import Device
from .dtypes import DType, float32, float64, int64


class LegacyTensorType:
    def __init__(self, name: str, dtype: DType, device: str):
        self.__name__ = name
        self.dtype = dtype
        self.device = Device(device)

    def __call__(self, *data_or_size):
        from .creation import tensor, zeros
        if len(data_or_size) == 1 and not isinstance(data_or_size[0], int):
            return tensor(data_or_size[0], dtype=self.dtype, device=self.device)
        return zeros(*data_or_size, dtype=self.dtype, device=self.device)

    def __repr__(self):
        prefix = "ember.cuda." if self.device.type == "cuda" else "ember."
        return f"<class '{prefix}{self.__name__}'>"


FloatTensor = LegacyTensorType("FloatTensor", float32, "cpu")
DoubleTensor = LegacyTensorType("DoubleTensor", float64, "cpu")
LongTensor = LegacyTensorType("LongTensor", int64, "cpu")
CudaFloatTensor = LegacyTensorType("FloatTensor", float32, "cuda")
CudaDoubleTensor = LegacyTensorType("DoubleTensor", float64, "cuda")
CudaLongTensor = LegacyTensorType("LongTensor", int64, "cuda")
