"""ember.nn.functional (import it as F): the stateless functions behind the layers.

Each checks its inputs (errors name the function, the shapes and the fix), then runs one op from
`ember.nn.ops` or a few of ember's tensor ops.
"""
from __future__ import annotations

import warnings

from .. import backend
from ..errors import DeviceError, DTypeError, ShapeError
from ..ops.elementwise import relu as _relu, relu_ as _relu_, sigmoid, tanh
from ..random import get_rng
from ..tensor import Tensor
from .ops.activation import LeakyRelu, LogSoftmax, Softmax
from .ops.conv import Convolution, out_size
from .ops.embedding import Embedding
from .ops.linear import Addmm, Mm
from .ops.norm import BatchNorm
from .ops.pad import ConstantPadNd, IndexPad, pad_index
from .ops.pool import (AdaptiveAvgPool2d, AvgPool2d, MaxPool2d, max_pool2d_indices,
                       pool_out_size)

__all__ = ["linear", "relu", "leaky_relu", "sigmoid", "tanh", "softmax", "log_softmax", "dropout",
           "batch_norm", "conv2d", "max_pool2d", "max_pool2d_with_indices", "avg_pool2d",
           "adaptive_avg_pool2d", "embedding", "mse_loss", "l1_loss",
           "cross_entropy", "nll_loss", "binary_cross_entropy_with_logits",
           "binary_cross_entropy", "one_hot", "pad"]


def _cast(dtype) -> str:
    """The method that converts to `dtype`: .float(), .double(), .half() or .to(dtype)."""
    name = str(dtype).rsplit(".", 1)[-1]
    return {"float32": ".float()", "float64": ".double()",
            "float16": ".half()"}.get(name, f".to({dtype})")


def _same(fn: str, a: Tensor, b: Tensor, a_name: str, b_name: str) -> None:
    """Raise unless a and b share a dtype and a device (numpy would silently promote)."""
    if a._data.dtype != b._data.dtype:
        fix = f"Convert the {a_name} (x{_cast(b.dtype)})"
        if a._data.dtype.kind == "f":             # a model can't hold integer weights
            fix += f" or the model (model{_cast(a.dtype)})"
        raise DTypeError(f"{fn}: {a_name} is {a.dtype} but {b_name} is {b.dtype}; they must "
                         f"match. {fix}.")
    if a._device is not b._device:
        raise DeviceError(f"{fn}: {a_name} is on {a.device} but {b_name} is on {b.device}; move "
                          f"them to one device (x.to(device) or model.to(device))")


# ---- linear and activations -----------------------------------------------------------------
def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = input @ weight.T + bias, with weight of shape (out_features, in_features)."""
    x, w = input, weight
    if x._data.dtype is not w._data.dtype or x._device is not w._device:
        _same("linear", x, w, "input", "weight")
    if x._data.ndim == 0 or x._data.shape[-1] != w._data.shape[-1]:
        raise ShapeError(f"linear: input of shape {tuple(x.shape)} can't be multiplied by a "
                         f"weight of shape {tuple(w.shape)} (out_features, in_features): the "
                         f"last dimension of the input must be {w._data.shape[-1]}")
    if bias is None:
        return Mm.apply(x, w)
    return Addmm.apply(x, w, bias)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    return _relu_(input) if inplace else _relu(input)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    return LeakyRelu.apply(input, negative_slope=negative_slope)


def _softmax_dim(x: Tensor, dim, fn: str) -> int:
    if dim is None:
        warnings.warn(f"Implicit dimension choice for {fn} has been deprecated. Change the call "
                      f"to include dim=X as an argument.", stacklevel=3)
        return 0 if x.ndim in (0, 1, 3) else 1
    if not -max(x.ndim, 1) <= dim < max(x.ndim, 1):
        raise IndexError(f"{fn}: dim {dim} is out of range for a tensor of shape {tuple(x.shape)}")
    return dim


def softmax(input: Tensor, dim: int | None = None, dtype=None) -> Tensor:
    """exp(x) / sum(exp(x)) along dim, computed with the maximum subtracted (never overflows)."""
    x = input if dtype is None else input.to(dtype)
    return Softmax.apply(x, dim=_softmax_dim(x, dim, "softmax"))


def log_softmax(input: Tensor, dim: int | None = None, dtype=None) -> Tensor:
    """x - logsumexp(x) along dim: finite even where softmax rounds to 0."""
    x = input if dtype is None else input.to(dtype)
    return LogSoftmax.apply(x, dim=_softmax_dim(x, dim, "log_softmax"))


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability p and scale the rest by 1/(1-p) (inverted dropout),
    so nothing needs rescaling at test time. Uses ember's global generator (manual_seed)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    keep = get_rng().random(input._data.shape) >= p
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    mask = Tensor._make(backend.to_device((keep * scale).astype(input._data.dtype), input._device),
                        input._device)
    return input.mul_(mask) if inplace else input * mask


# ---- normalization ----------------------------------------------------------------------------
def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalize each channel (dim 1) to zero mean and unit variance, then scale and shift.

    training=True uses the batch's statistics and folds them into the running ones:
    running = (1 - momentum) * running + momentum * batch (the variance unbiased)."""
    x = input
    if x.ndim < 2:
        raise ShapeError(f"batch_norm: expected an input with at least 2 dimensions (N, C, ...), "
                         f"got shape {tuple(x.shape)}")
    c = x._data.shape[1]
    for name, t in (("weight", weight), ("bias", bias), ("running_mean", running_mean),
                    ("running_var", running_var)):
        if t is not None and tuple(t.shape) != (c,):
            raise ShapeError(f"batch_norm: {name} has shape {tuple(t.shape)} but the input "
                             f"of shape {tuple(x.shape)} has {c} channels (dim 1)")
    n = x._data.size // c
    if training and n <= 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input size "
                         f"{tuple(x.shape)}")
    if not training and (running_mean is None or running_var is None):
        raise ValueError("batch_norm: running_mean and running_var are needed when not training")
    rm = None if running_mean is None else running_mean._data
    rv = None if running_var is None else running_var._data
    out = BatchNorm.apply(x, weight, bias, running_mean=rm, running_var=rv, training=training,
                          momentum=momentum, eps=eps)
    if training and running_mean is not None:
        running_mean._vc[0] += 1
        running_var._vc[0] += 1
    return out


# ---- convolution and pooling ------------------------------------------------------------------
def _pair(v, name: str, fn: str) -> tuple[int, int]:
    if isinstance(v, int):
        return (v, v)
    v = tuple(v)
    if len(v) != 2:
        raise ValueError(f"{fn}: {name} must be an int or a pair of ints, got {v}")
    return v


def _image_input(x: Tensor, fn: str) -> tuple[Tensor, bool]:
    if x.ndim == 3:
        return x.unsqueeze(0), True
    if x.ndim != 4:
        raise ShapeError(f"{fn}: expected a 4-d input (N, C, H, W) or 3-d (C, H, W), got shape "
                         f"{tuple(x.shape)}")
    return x, False


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """2-d cross-correlation (what deep learning calls convolution) via im2col + one matmul."""
    x, unbatched = _image_input(input, "conv2d")
    w = weight
    _same("conv2d", x, w, "input", "weight")
    if w.ndim != 4:
        raise ShapeError(f"conv2d: weight must be 4-d (out_channels, in_channels, kH, kW), got "
                         f"shape {tuple(w.shape)}")
    if not isinstance(groups, int) or groups < 1:
        raise ValueError(f"conv2d: non-positive groups is not supported, got groups={groups}")
    if x._data.shape[1] != w._data.shape[1] * groups:
        g = f"groups={groups}, " if groups != 1 else ""
        raise ShapeError(f"conv2d: Given {g}weight of size {list(w.shape)}, expected input"
                         f"{list(x.shape)} to have {w._data.shape[1] * groups} channels, but got "
                         f"{x._data.shape[1]} channels instead" + (
                             f" (the weight's dim 1 times groups must match the input's dim 1)"
                             if groups != 1 else " (dim 1 of both must match)"))
    if w._data.shape[0] % groups:
        raise ShapeError(f"conv2d: Given groups={groups}, expected weight to be divisible by "
                         f"{groups} at dimension 0, but got weight of size {list(w.shape)} "
                         f"instead")
    stride, dilation = _pair(stride, "stride", "conv2d"), _pair(dilation, "dilation", "conv2d")
    k = w._data.shape[2:]
    if padding == "valid":
        padding = 0
    elif padding == "same":
        if stride != (1, 1):
            raise RuntimeError("padding='same' is not supported for strided convolutions")
        total = [d * (kk - 1) for d, kk in zip(dilation, k)]
        padding = (total[0] // 2, total[1] // 2)
        if any(t % 2 for t in total):  # an even kernel: the extra row/column goes after
            x = pad(x, (0, total[1] % 2, 0, total[0] % 2))
    elif isinstance(padding, str):
        raise ValueError(f"Invalid padding string '{padding}', should be one of "
                         f"['valid', 'same']")
    padding = _pair(padding, "padding", "conv2d")
    h, wd = x._data.shape[2:]
    if min(out_size(h, k[0], stride[0], padding[0], dilation[0]),
           out_size(wd, k[1], stride[1], padding[1], dilation[1])) <= 0:
        raise ShapeError(f"conv2d: kernel {k[0]}x{k[1]} (dilation {dilation}) is larger than the "
                         f"padded input {h + 2 * padding[0]}x{wd + 2 * padding[1]}")
    args = (x, w) if bias is None else (x, w, bias)
    extra = {"groups": groups} if groups != 1 else {}
    out = Convolution.apply(*args, stride=stride, padding=padding, dilation=dilation, **extra)
    return out.squeeze(0) if unbatched else out


def _pool_args(x, kernel_size, stride, padding, fn, dilation=(1, 1), ceil_mode=False):
    k = _pair(kernel_size, "kernel_size", fn)
    s = k if stride is None or stride == [] else _pair(stride, "stride", fn)
    p = _pair(padding, "padding", fn)
    for pp, kk, d in zip(p, k, dilation):
        if pp > (d * (kk - 1) + 1) // 2:
            raise ValueError(f"{fn}: pad should be at most half of effective kernel size, but got "
                             f"pad={pp}, kernel_size={kk} and dilation={d}")
    h, w = x._data.shape[2:]
    out = [pool_out_size(n, kk, ss, pp, d, ceil_mode)
           for n, kk, ss, pp, d in zip((h, w), k, s, p, dilation)]
    if min(out) <= 0:
        raise ShapeError(f"{fn}: Given input size: ({x._data.shape[1]}x{h}x{w}). Calculated "
                         f"output size: ({x._data.shape[1]}x{out[0]}x{out[1]}). Output size is "
                         f"too small (kernel {k[0]}x{k[1]}, stride {s}, padding {p})")
    return k, s, p


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """The maximum of each kernel_size window (stride defaults to kernel_size). With
    return_indices, also where each maximum is (an index into the flattened H * W plane)."""
    x, unbatched = _image_input(input, "max_pool2d")
    d = _pair(dilation, "dilation", "max_pool2d")
    k, s, p = _pool_args(x, kernel_size, stride, padding, "max_pool2d", d, ceil_mode)
    extra = {"ceil_mode": True} if ceil_mode else {}
    out = MaxPool2d.apply(x, kernel_size=k, stride=s, padding=p, dilation=d, **extra)
    out = out.squeeze(0) if unbatched else out
    if not return_indices:
        return out
    idx = Tensor._make(max_pool2d_indices(x._data, k, s, p, d, ceil_mode), x._device)
    return out, idx.squeeze(0) if unbatched else idx


def max_pool2d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode: bool = False, return_indices: bool = True
                            ) -> tuple[Tensor, Tensor]:
    """max_pool2d that also returns each maximum's flat index within its input plane."""
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override=None) -> Tensor:
    """The mean of each kernel_size window (stride defaults to kernel_size). Zero padding
    counts toward the mean unless count_include_pad=False; divisor_override fixes the divisor."""
    x, unbatched = _image_input(input, "avg_pool2d")
    k, s, p = _pool_args(x, kernel_size, stride, padding, "avg_pool2d", (1, 1), ceil_mode)
    if divisor_override is not None and (isinstance(divisor_override, bool)
                                         or int(divisor_override) != divisor_override
                                         or divisor_override == 0):
        raise RuntimeError(f"avg_pool2d: divisor must be not zero (an int), got "
                           f"{divisor_override!r}")
    extra = {}
    if ceil_mode:
        extra["ceil_mode"] = True
    if not count_include_pad:
        extra["count_include_pad"] = False
    if divisor_override is not None:
        extra["divisor_override"] = int(divisor_override)
    out = AvgPool2d.apply(x, kernel_size=k, stride=s, padding=p, **extra)
    return out.squeeze(0) if unbatched else out


def _adaptive_size(x: Tensor, output_size, fn: str) -> tuple[int, int]:
    size = (output_size, output_size) if isinstance(output_size, int) or output_size is None \
        else tuple(output_size)
    if len(size) != 2:
        raise ValueError(f"{fn}: output_size must be 2 (an int or a pair), got {output_size}")
    size = tuple(x._data.shape[-2 + i] if v is None else int(v) for i, v in enumerate(size))
    if min(size) < 0 or (min(size) == 0 and x._data.size):
        raise ValueError(f"{fn}: output_size must be positive, got {output_size}")
    return size


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Average pooling to a fixed (H_out, W_out), whatever the input's size: window i covers
    rows floor(i * H / H_out) to ceil((i + 1) * H / H_out). None keeps that dimension."""
    if input.ndim not in (3, 4):
        raise ShapeError(f"adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got "
                         f"{list(input.shape)}")
    size = _adaptive_size(input, output_size, "adaptive_avg_pool2d")
    x, unbatched = _image_input(input, "adaptive_avg_pool2d")
    out = AdaptiveAvgPool2d.apply(x, output_size=size)
    return out.squeeze(0) if unbatched else out


def pad(input: Tensor, pad: tuple, mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad the last len(pad)//2 dimensions: pad = (left, right, top, bottom, ...) as PyTorch.
    mode 'constant' fills with value; 'reflect' mirrors the input (without repeating the edge),
    'replicate' repeats the edge, 'circular' wraps around."""
    if mode not in ("constant", "reflect", "replicate", "circular"):
        raise NotImplementedError(f"pad: mode {mode!r} is not supported (constant, reflect, "
                                  f"replicate or circular)")
    if len(pad) % 2 or len(pad) // 2 > input.ndim or any(p < 0 for p in pad):
        raise ValueError(f"pad: expected an even number of non-negative widths for at most "
                         f"{input.ndim} dimensions, got {tuple(pad)}")
    if mode == "constant":
        widths = [(0, 0)] * input.ndim
        for i in range(len(pad) // 2):
            widths[input.ndim - 1 - i] = (int(pad[2 * i]), int(pad[2 * i + 1]))
        return ConstantPadNd.apply(input, widths=tuple(widths), value=value or 0.0)
    if value:
        raise ValueError(f'Padding mode "{mode}" doesn\'t take in value argument.')
    k = len(pad) // 2
    if k not in (1, 2, 3) or input.ndim not in (k + 1, k + 2):
        raise NotImplementedError(
            f"Padding size {len(pad)} is not supported for {input.ndim}D input tensor. "
            f"Supported combinations for non-constant padding: 2D or 3D input with padding size "
            f"2, 3D or 4D with 4, 4D or 5D with 6")
    indices = []
    for i in range(k):
        axis, lo, hi = input.ndim - 1 - i, int(pad[2 * i]), int(pad[2 * i + 1])
        n = input.shape[axis]
        if mode == "reflect" and (lo >= n or hi >= n):
            raise ValueError(f"pad: Padding size should be less than the corresponding input "
                             f"dimension, but got: padding ({lo}, {hi}) at dimension {axis} of "
                             f"input {list(input.shape)} (mode 'reflect')")
        if mode == "circular" and (lo > n or hi > n):
            raise ValueError(f"pad: Padding value causes wrapping around more than once: padding "
                             f"({lo}, {hi}) at dimension {axis} of input {list(input.shape)}")
        if lo or hi:
            indices.append((axis, pad_index(n, lo, hi, mode, input.xp)))
    return IndexPad.apply(input, indices=tuple(indices))


# ---- lookup ---------------------------------------------------------------------------------
def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None, max_norm=None,
              norm_type: float = 2.0, scale_grad_by_freq: bool = False,
              sparse: bool = False) -> Tensor:
    """Row input[...] of weight for every index: output shape input.shape + (embedding_dim,)."""
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding: max_norm, scale_grad_by_freq and sparse are not "
                                  "supported")
    idx = input._data if isinstance(input, Tensor) else backend.get_array_module(weight.device).asarray(input)
    if idx.dtype.kind not in "iu":
        raise DTypeError(f"embedding: indices must be integers (ember.int64), got {idx.dtype}; "
                         f"use indices.long()")
    rows = weight._data.shape[0]
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= rows):
        bad = int(idx.max()) if int(idx.max()) >= rows else int(idx.min())
        raise IndexError(f"embedding: index {bad} is out of range for a table of {rows} rows "
                         f"(valid 0..{rows - 1})")
    if padding_idx is not None and padding_idx < 0:
        padding_idx += rows
    return Embedding.apply(weight, index=idx, padding_idx=padding_idx)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 tensor of shape tensor.shape + (num_classes,) with a 1 at each index."""
    idx = tensor._data
    if idx.dtype.kind not in "iu":
        raise DTypeError(f"one_hot: expects an integer (ember.int64) tensor of class indices, "
                         f"got {tensor.dtype}")
    if num_classes == -1:
        num_classes = int(idx.max()) + 1 if idx.size else 0
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= num_classes):
        raise IndexError(f"one_hot: class values must be in 0..{num_classes - 1}, got values from "
                         f"{int(idx.min())} to {int(idx.max())}")
    xp = tensor.xp
    out = (idx[..., None] == xp.arange(num_classes)).astype("int64")
    return Tensor._make(out, tensor._device)


from .loss_functions import (binary_cross_entropy, binary_cross_entropy_with_logits,  # noqa: E402
                             cross_entropy, l1_loss, mse_loss, nll_loss)
