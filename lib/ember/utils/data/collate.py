"""Turning a list of samples into a batch, as PyTorch's default_collate does.

Tensors, numpy arrays and numbers are stacked along a new first dimension; dicts, tuples and lists
are collated field by field (a tuple of fields comes back as a list, as in PyTorch); strings stay a
list.
"""
from __future__ import annotations

import collections.abc
import numbers

import numpy as np

from ... import backend
from ...dtypes import from_numpy_dtype
from ...tensor import Tensor

_HELP = ("default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
         "found {}. Pass collate_fn= to the DataLoader to batch other types")


def _stack(tensors: list[Tensor]) -> Tensor:
    first = tensors[0]
    for i, t in enumerate(tensors):
        if t.shape != first.shape:
            raise RuntimeError(f"default_collate: can't stack samples of different shapes: sample "
                               f"0 has shape {tuple(first.shape)}, sample {i} has "
                               f"{tuple(t.shape)}; pad them or pass a collate_fn")
        if t.device != first.device:
            raise RuntimeError(f"default_collate: samples on different devices ({first.device} "
                               f"and {t.device})")
    if any(t.requires_grad for t in tensors):
        from ...ops.shape import stack
        return stack(tensors)
    xp = backend.get_array_module(first.device)
    return Tensor._make(xp.stack([t._data for t in tensors]), first.device)


def default_collate(batch: list):
    from ...creation import tensor
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _stack(batch)
    if isinstance(elem, np.ndarray):
        if elem.dtype.kind in "OSUV":
            raise TypeError(_HELP.format(f"numpy arrays of dtype {elem.dtype}"))
        shapes = {a.shape for a in batch}
        if len(shapes) != 1:
            raise RuntimeError(f"default_collate: can't stack numpy arrays of different shapes "
                               f"{sorted(shapes)}; pad them or pass a collate_fn")
        arr = np.stack(batch)
        dtype = from_numpy_dtype(arr.dtype).np  # e.g. uint16 -> int64: a dtype ember has
        return Tensor._make(arr if arr.dtype == dtype else arr.astype(dtype))
    if isinstance(elem, np.generic):
        return tensor(np.array(batch))
    if isinstance(elem, bool):
        return tensor(batch)
    if isinstance(elem, float):
        return tensor(batch, dtype="float64")
    if isinstance(elem, numbers.Integral):
        return tensor(batch)
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, collections.abc.Mapping):
        out = {key: default_collate([d[key] for d in batch]) for key in elem}
        try:
            return type(elem)(out)
        except TypeError:
            return out
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):
        return type(elem)(*(default_collate(list(s)) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        n = len(elem)
        if any(len(s) != n for s in batch):
            raise RuntimeError("default_collate: each element in list of batch should be of equal "
                               f"size, got lengths {[len(s) for s in batch]}")
        return [default_collate(list(s)) for s in zip(*batch)]
    raise TypeError(_HELP.format(type(elem).__name__))


def default_convert(data):
    """batch_size=None: numpy arrays become tensors, containers are converted inside."""
    if isinstance(data, np.ndarray) and data.dtype.kind not in "OSUV":
        return Tensor._make(data)
    if isinstance(data, collections.abc.Mapping):
        return type(data)({k: default_convert(v) for k, v in data.items()})
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, list):
        return [default_convert(d) for d in data]
    return data
