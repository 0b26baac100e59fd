"""The loss functions of ember.nn.functional: inputs checked here, math in `nn.ops.loss`."""
from __future__ import annotations

import warnings

from .. import backend
from ..errors import DTypeError, ShapeError
from ..tensor import Tensor
from .ops.activation import LogSoftmax
from .ops.loss import BinaryCrossEntropy, BinaryCrossEntropyWithLogits, MseLoss, NllLoss

_REDUCTIONS = ("mean", "sum", "none")


def _reduction(fn: str, reduction: str, size_average=None, reduce=None) -> str:
    if size_average is not None or reduce is not None:  # PyTorch's legacy arguments
        legacy = "none" if reduce is False else "sum" if size_average is False else "mean"
        import warnings
        warnings.warn(f"{fn}: size_average and reduce are deprecated (as in PyTorch); use "
                      f"reduction={legacy!r} instead", DeprecationWarning, stacklevel=3)
        return legacy
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{fn}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    return reduction


def _float_target(fn: str, input: Tensor, target) -> Tensor:
    if not isinstance(target, Tensor):
        raise TypeError(f"{fn}: target must be a Tensor, got {type(target).__name__}")
    if input._data.dtype.kind != "f":
        raise DTypeError(f"{fn}: input must be floating point, got {input.dtype}; use .float()")
    if target._data.dtype != input._data.dtype:
        target = target.to(input.dtype)
    return target


def _warn_broadcast(fn: str, input: Tensor, target: Tensor) -> None:
    if target.shape != input.shape:
        warnings.warn(f"{fn}: using a target size {tuple(target.shape)} that is different to "
                      f"the input size {tuple(input.shape)}. This will likely lead to incorrect "
                      f"results due to broadcasting; reshape one of them so the sizes match.",
                      stacklevel=3)


def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
             reduction: str = "mean") -> Tensor:
    """Mean (or sum) of (input - target) ** 2."""
    reduction = _reduction("mse_loss", reduction, size_average, reduce)
    if target.__class__ is not Tensor or target._data.dtype is not input._data.dtype:
        target = _float_target("mse_loss", input, target)
    if target._data.shape != input._data.shape:
        _warn_broadcast("mse_loss", input, target)
    return MseLoss.apply(input, target, reduction=reduction)


def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
            reduction: str = "mean") -> Tensor:
    """Mean (or sum) of |input - target|."""
    reduction = _reduction("l1_loss", reduction, size_average, reduce)
    target = _float_target("l1_loss", input, target)
    _warn_broadcast("l1_loss", input, target)
    loss = (input - target).abs()
    return loss.mean() if reduction == "mean" else loss.sum() if reduction == "sum" else loss


def _check_class_target(fn: str, input: Tensor, target: Tensor, ignore_index: int) -> None:
    n_classes = input._data.shape[1]
    expected = input._data.shape[:1] + input._data.shape[2:]
    if target._data.dtype.kind not in "iu":
        raise DTypeError(
            f"{fn}: target must hold class indices as integers (ember.int64), got "
            f"{target.dtype} of shape {tuple(target.shape)}. Use target.long() for class "
            f"indices of shape {expected}" + (f", or give class probabilities of shape "
                                             f"{tuple(input.shape)}" if fn == "cross_entropy" else ""))
    if target._data.shape != expected:
        raise ShapeError(f"{fn}: input of shape {tuple(input.shape)} (batch, classes, ...) needs a "
                         f"target of class indices of shape {expected}, got "
                         f"{tuple(target.shape)}")
    t = target._data

    def error():
        valid = backend.to_numpy(t)
        valid = valid[valid != ignore_index]
        bad = valid.max() if valid.max() >= n_classes else valid.min()
        return IndexError(f"{fn}: target holds class index {bad}, but the input has "
                          f"{n_classes} classes (valid indices 0..{n_classes - 1})")
    # one reduction and no host round trip: on a GPU the check is read back later (backend.check)
    backend.check((((t < 0) | (t >= n_classes)) & (t != ignore_index)).any(), error)


def _as_batch(fn: str, input: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    """An unbatched (C,) input with a 0-d target becomes a batch of one."""
    if input.ndim == 1:
        return input.unsqueeze(0), target.reshape(1) if target.ndim == 0 else target.unsqueeze(0)
    if input.ndim == 0:
        raise ShapeError(f"{fn}: input must have a class dimension, got a 0-d tensor")
    return input, target


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
             ignore_index: int = -100, reduce=None, reduction: str = "mean") -> Tensor:
    """-input[i, target[i]] averaged over i; input holds log-probabilities (log_softmax)."""
    reduction = _reduction("nll_loss", reduction, size_average, reduce)
    input, target = _as_batch("nll_loss", input, target)
    _check_class_target("nll_loss", input, target, ignore_index)
    w = None
    if weight is not None:
        if tuple(weight.shape) != (input._data.shape[1],):
            raise ShapeError(f"nll_loss: weight must have one entry per class, shape "
                             f"({input._data.shape[1]},), got {tuple(weight.shape)}")
        w = weight._data.astype(input._data.dtype, copy=False)
    return NllLoss.apply(input, target=target._data, weight=w, ignore_index=ignore_index,
                         reduction=reduction)


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
                  ignore_index: int = -100, reduce=None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy of raw scores (logits): nll_loss(log_softmax(input, 1), target).

    target: class indices (int64, shape (N,) for input (N, C)) or class probabilities (float,
    the shape of input). Stable for any logits: log_softmax never exponentiates a large number."""
    if label_smoothing > 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    eps = label_smoothing if label_smoothing > 0.0 else 0.0  # PyTorch ignores a negative one
    reduction = _reduction("cross_entropy", reduction, size_average, reduce)
    if not isinstance(target, Tensor):
        raise TypeError(f"cross_entropy: target must be a Tensor, got {type(target).__name__}")
    if input._data.dtype.kind != "f":
        raise DTypeError(f"cross_entropy: input (the logits) must be floating point, got "
                         f"{input.dtype}; use input.float()")
    if target._data.dtype.kind == "f":
        if target._data.shape != input._data.shape:
            raise ShapeError(
                f"cross_entropy: target is {target.dtype} of shape {tuple(target.shape)} but the "
                f"input has shape {tuple(input.shape)}. Class-index targets must be integers "
                f"(use target.long()); float targets are class probabilities and must have the "
                f"input's shape")
        logp = LogSoftmax.apply(input, dim=1 if input.ndim > 1 else 0)
        target = target.to(input.dtype)
        if eps:
            target = target * (1 - eps) + eps / input._data.shape[1 if input.ndim > 1 else 0]
        per = -(logp * target if weight is None else logp * target * _class_axis(weight, input))
        per = per.sum(1 if input.ndim > 1 else 0)
        if reduction == "mean":
            return per.sum() / (input._data.size // input._data.shape[1] if input.ndim > 1 else 1)
        return per.sum() if reduction == "sum" else per
    input, target = _as_batch("cross_entropy", input, target)
    _check_class_target("cross_entropy", input, target, ignore_index)
    logp = LogSoftmax.apply(input, dim=1)
    loss = nll_loss(logp, target, weight, ignore_index=ignore_index, reduction=reduction)
    if not eps:
        return loss
    return (1 - eps) * loss + _uniform_part(logp, target, weight, ignore_index, reduction) * (
        eps / input._data.shape[1])


def _uniform_part(logp: Tensor, target: Tensor, weight: Tensor | None, ignore_index: int,
                  reduction: str) -> Tensor:
    """Label smoothing's extra term: -sum over classes of weight[c] * logp[c] per sample,
    ignored samples zeroed, and 'mean' divided by what nll_loss divides by."""
    keep = target._data != ignore_index
    w = None if weight is None else weight.to(logp.dtype)
    per = -(logp if w is None else logp * _class_axis(w, logp)).sum(1)
    per = per * Tensor._make(keep.astype(logp._data.dtype), logp._device)
    if reduction == "none":
        return per
    if reduction == "sum":
        return per.sum()
    if w is None:
        return per.sum() / float(keep.sum())
    return per.sum() / float(w._data[target._data[keep]].sum())


def _class_axis(weight: Tensor, input: Tensor) -> Tensor:
    return weight.reshape((-1,) + (1,) * (input.ndim - 2)) if input.ndim > 1 else weight


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     size_average=None, reduce=None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """Binary cross-entropy of logits: sigmoid and log fused so large |logits| stay finite."""
    reduction = _reduction("binary_cross_entropy_with_logits", reduction, size_average, reduce)
    target = _float_target("binary_cross_entropy_with_logits", input, target)
    if target._data.shape != input._data.shape:
        raise ShapeError(f"binary_cross_entropy_with_logits: target size {tuple(target.shape)} "
                         f"must be the same as input size {tuple(input.shape)}")
    args = (input, target)
    if pos_weight is not None:
        if pos_weight._data.dtype != input._data.dtype:
            pos_weight = pos_weight.to(input.dtype)
        if pos_weight.ndim > input.ndim or any(
                p not in (1, i) for p, i in zip(pos_weight.shape[::-1], input.shape[::-1])):
            raise ShapeError(f"binary_cross_entropy_with_logits: pos_weight of shape "
                             f"{tuple(pos_weight.shape)} does not broadcast to the input of shape "
                             f"{tuple(input.shape)}; give one weight per class, shape "
                             f"({input.shape[-1]},)")
        if pos_weight.requires_grad:
            raise RuntimeError("The function 'binary_cross_entropy_with_logits' is not "
                               "differentiable with respect to argument 'pos_weight'. This input "
                               "cannot have requires_grad True.")
        args = (input, target, pos_weight._data)
    if weight is None:
        return BinaryCrossEntropyWithLogits.apply(*args, reduction=reduction)
    loss = BinaryCrossEntropyWithLogits.apply(*args, reduction="none") * weight
    return loss.mean() if reduction == "mean" else loss.sum() if reduction == "sum" else loss


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of probabilities in [0, 1] (e.g. after sigmoid); logs clamped at
    -100. Prefer binary_cross_entropy_with_logits on raw scores: it is exact where this rounds."""
    reduction = _reduction("binary_cross_entropy", reduction, size_average, reduce)
    target = _float_target("binary_cross_entropy", input, target)
    if target._data.shape != input._data.shape:
        raise ShapeError(f"binary_cross_entropy: using a target size {tuple(target.shape)} that "
                         f"is different to the input size {tuple(input.shape)}; make them match")
    d = input._data
    if d.size and (float(d.min()) < 0 or float(d.max()) > 1):
        raise ValueError(f"binary_cross_entropy: input values must be probabilities in [0, 1], "
                         f"got values from {float(d.min()):.4g} to {float(d.max()):.4g}. Apply "
                         f"sigmoid first, or use binary_cross_entropy_with_logits on raw scores")
    if weight is None:
        return BinaryCrossEntropy.apply(input, target, reduction=reduction)
    loss = BinaryCrossEntropy.apply(input, target, reduction="none") * weight
    return loss.mean() if reduction == "mean" else loss.sum() if reduction == "sum" else loss
