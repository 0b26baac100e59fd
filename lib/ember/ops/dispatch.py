"""What every op's public function shares: turning Python numbers into tensors, type promotion,
device checks, view bookkeeping and the in-place protocol."""
from __future__ import annotations

from ..autograd.grad_mode import _state
from ..dtypes import as_dtype, from_numpy_dtype, promote_types, result_type
from ..errors import AutogradError, DeviceError, DTypeError, ShapeError
from ..tensor import Tensor
from .views import check_view_inplace, no_grad_view_error, refresh_views, write_through_view

_SCALARS = (int, float, bool)


def scalar_tensor(value, like: Tensor, dtype=None) -> Tensor:
    dt = dtype or result_type(from_numpy_dtype(like._data.dtype), value)
    return Tensor._make(like.xp.asarray(value, dtype=dt.np), like._device)


def to_tensor(x, like: Tensor | None = None) -> Tensor:
    if isinstance(x, Tensor):
        return x
    if like is not None and isinstance(x, _SCALARS):
        return scalar_tensor(x, like)
    from ..creation import tensor
    return tensor(x, device=like.device if like is not None else None)


def binary_operands(a, b, op: str) -> tuple[Tensor, Tensor]:
    """Two tensors of one device and one dtype (PyTorch's promotion), from tensors or numbers."""
    if op == "sub" and (_is_bool(a) or _is_bool(b)):
        raise bool_sub_error()
    if not isinstance(a, Tensor):
        if not isinstance(b, Tensor):
            raise TypeError(f"{op}: expected at least one tensor, got {type(a).__name__} and "
                            f"{type(b).__name__}")
        a = to_tensor(a, b)
    elif not isinstance(b, Tensor):
        b = to_tensor(b, a)
    if a._device is not b._device:
        raise DeviceError(f"{op}: expected all tensors on the same device, but found one on "
                          f"{a._device} and one on {b._device}; move one with .to(device)")
    if a._data.dtype != b._data.dtype:
        from .conversion import to_dtype
        dt = operand_dtype(a, b)
        a, b = to_dtype(a, dt), to_dtype(b, dt)
    return a, b


_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}


def operand_dtype(a: Tensor, b: Tensor):
    """PyTorch's result type of two tensors: a 0-d tensor (like a Python number) only lifts the
    category of a tensor with dimensions (float32 * float64 0-d -> float32, int64 * float64
    0-d -> float64); otherwise the wider type wins."""
    da, db = from_numpy_dtype(a._data.dtype), from_numpy_dtype(b._data.dtype)
    za, zb = a._data.ndim == 0, b._data.ndim == 0
    if za != zb:
        dim_t, zero_t = (db, da) if za else (da, db)
        return zero_t if _CATEGORY[zero_t.np.kind] > _CATEGORY[dim_t.np.kind] else dim_t
    return promote_types(da, db)


def _is_bool(x) -> bool:
    return x.__class__ is bool or (isinstance(x, Tensor) and x._data.dtype.kind == "b")


def bool_sub_error() -> DTypeError:
    return DTypeError("Subtraction, the `-` operator, with a bool tensor is not supported. If you "
                      "are trying to invert a mask, use the `~` or `logical_not()` operator "
                      "instead (or convert it first, e.g. mask.float())")


def broadcast_error(op: str, *tensors) -> ShapeError:
    shapes = " and ".join(str(tuple(t.shape)) for t in tensors)
    return ShapeError(f"{op}: shapes {shapes} can't be broadcast together. Trailing dimensions "
                      f"must be equal or 1 (e.g. (64, 10) with (10,) or (64, 1)); check for a "
                      f"missing transpose, reshape or keepdim=True")


def _weak_scalar(t: Tensor, x) -> bool:
    """A Python number numpy combines with t exactly as PyTorch would (keeping t's dtype)."""
    kind = t._data.dtype.kind
    return (type(x) is float and kind == "f") or (type(x) is int and kind in "fiu")


def apply_binary(op_cls, a, b, name: str) -> Tensor:
    """Apply a two-input op after PyTorch's promotion, skipped when the operands are ready as they
    are: two tensors of one device and dtype, or a tensor and a number that keeps its dtype
    (the number stays a constant of the op)."""
    if isinstance(a, Tensor):
        if isinstance(b, Tensor):
            ready = a._device is b._device and a._data.dtype == b._data.dtype
        else:  # _weak_scalar(a, b), written out: `x * 2` and `x ** 2` are this common
            kind = a._data.dtype.kind
            ready = (b.__class__ is float and kind == "f") or (b.__class__ is int and kind in "fiu")
    else:
        ready = isinstance(b, Tensor) and _weak_scalar(b, a)
    if not ready:
        a, b = binary_operands(a, b, name)
    try:
        return op_cls.apply(a, b)
    except ValueError as e:
        if "broadcast" in str(e):
            raise broadcast_error(name, a, b) from None
        raise
    except TypeError:
        if name == "sub" and _is_bool(a):
            raise bool_sub_error() from None
        raise


def check_inplace(t: Tensor, name: str, recording: bool) -> None:
    if t._no_grad_view and _state.enabled:
        raise no_grad_view_error(name)
    if not recording:
        return
    if t._grad_fn is None and t._requires_grad:
        raise AutogradError(
            f"a leaf tensor that requires grad is being used in an in-place operation ({name}). "
            f"Update parameters inside `with ember.no_grad():`, or use an out-of-place op.")
    if t._base is not None:
        check_view_inplace(t, name)


def commit_inplace(t: Tensor, result: Tensor, name: str) -> None:
    """t takes result's values (in its own memory) and result's place in the graph."""
    _store(t, result._data, name)
    if t._base is not None:
        write_through_view(t, result)
    else:
        t._grad_fn = result._grad_fn
        t._requires_grad = True
        if t._views:
            refresh_views(t)


def inplace(t: Tensor, op_cls, others: tuple, name: str, **attrs) -> Tensor:
    """Run `op_cls` in place on `t`: record it in the graph when needed, bump t's version."""
    others = tuple(o if isinstance(o, Tensor) else to_tensor(o, t) for o in others)
    for o in others:
        if o._device != t._device:
            raise DeviceError(f"{name}: expected all tensors on the same device, but found one on "
                              f"{t._device} and one on {o._device}")
    recording = _state.enabled and (t._requires_grad or any(o._requires_grad for o in others))
    check_inplace(t, name, recording)
    arrays = [o._data for o in others]
    try:
        if recording:
            src = t
            if 0 in op_cls.saves and (0 not in op_cls.reads_for or
                                      others[op_cls.reads_for[0] - 1]._requires_grad):
                # backward reads t's old value: keep a copy of it
                src = Tensor._make(t._data.copy(), t._device, t._grad_fn)
                src._requires_grad = t._requires_grad
                src._accum = t._accum
            commit_inplace(t, op_cls.apply(src, *others, **attrs), name)
        elif getattr(op_cls, "ufunc", None) is not None:
            getattr(t.xp, op_cls.ufunc)(t._data, *arrays, out=t._data)
        else:
            _store(t, op_cls().forward(t._data, *arrays, **attrs), name)
    except ValueError as e:
        if "broadcast" in str(e):
            raise ShapeError(f"{name}: the result of shape broadcast from {tuple(t.shape)} and "
                             f"{[tuple(o.shape) for o in others]} doesn't fit the tensor's own "
                             f"shape {tuple(t.shape)}; in-place ops can't change a tensor's shape") from None
        raise
    except TypeError as e:
        if "cast" in str(e):
            raise DTypeError(f"{name}: result type can't be cast to the tensor's dtype "
                             f"{from_numpy_dtype(t._data.dtype)} in place; use an out-of-place op "
                             f"or convert the tensor first (e.g. .float())") from None
        raise
    t._vc[0] += 1
    return t


def _store(t: Tensor, result, name: str):
    if result.shape != t._data.shape:
        t.xp.broadcast_to(result, t._data.shape)  # raises the broadcast ValueError if it can't
        if t.xp.broadcast_shapes(result.shape, t._data.shape) != t._data.shape:
            raise ValueError("broadcast")
    if result.dtype != t._data.dtype and not t.xp.can_cast(result.dtype, t._data.dtype, "same_kind"):
        raise TypeError("cast")
    t._data[...] = result
