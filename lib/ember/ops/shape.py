"""Ops that rearrange elements without changing them: views, transposes, joins."""
from __future__ import annotations

import math

from ..autograd.function import Op
from ..errors import ArgumentError, IndexBoundsError, ShapeError, ViewError
from ..tensor import Tensor, _wrap_dim
from .views import as_view


class Reshape(Op):
    rule = "grad_x = grad reshaped to x's shape"

    def forward(self, x, shape):
        self.in_shape = x.shape
        return x.reshape(shape)

    def backward(self, grad):
        return (grad.reshape(self.in_shape),)

    vjp = backward  # Tensor.reshape takes the same shape


class Permute(Op):
    rule = "grad_x = grad permuted back"

    def forward(self, x, dims):
        self.dims = dims
        self.inverse = [0] * len(dims)
        for i, d in enumerate(dims):
            self.inverse[d] = i
        return x.transpose(dims)

    def backward(self, grad):
        return (grad.transpose(self.inverse),)

    def vjp(self, grad):
        return (grad.permute(self.inverse),)


class Expand(Op):
    rule = "grad_x = grad summed over the expanded dimensions"
    read_only_view = True  # many elements share one memory location: can't be written to

    def forward(self, x, shape):
        from ..backend import array_module_of
        return array_module_of(x).broadcast_to(x, shape)

    def backward(self, grad):
        return (grad,)  # the engine sums it back to x's shape

    vjp = backward


class Cat(Op):
    rule = "grad_i = the slice of grad that input i filled"

    def forward(self, *xs, dim=0):
        from ..backend import array_module_of
        self.dim, self.sizes = dim, [x.shape[dim] for x in xs]
        return array_module_of(xs[0]).concatenate(xs, axis=dim)

    def backward(self, grad):
        out, start = [], 0
        for i, n in enumerate(self.sizes):
            sl = [slice(None)] * grad.ndim
            sl[self.dim] = slice(start, start + n)
            out.append(grad[tuple(sl)] if self.needs(i) else None)
            start += n
        return tuple(out)

    vjp = backward  # the same slicing, recorded when grad is a Tensor


def _shape_arg(shape) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return tuple(int(s) for s in shape)


def _check_shape(x: Tensor, shape: tuple, op: str) -> None:
    known = math.prod(s for s in shape if s != -1)
    if shape.count(-1) > 1 or (-1 not in shape and known != x.numel()) or \
            (-1 in shape and (known == 0 or x.numel() % known)):
        raise ShapeError(f"{op}: shape {list(shape)} is invalid for a tensor of "
                         f"{x.numel()} elements with shape {tuple(x.shape)}")


def _viewable(data, shape: tuple) -> bool:
    """Whether `data` can take `shape` without a copy (numpy's stride rule is PyTorch's)."""
    if data.flags.c_contiguous:
        return True
    v = data.view()
    try:
        v.shape = shape
    except AttributeError:
        return False
    return True


def reshape(x: Tensor, *shape) -> Tensor:
    """Same elements, new shape (one dimension may be -1: inferred). A view when the strides
    allow it, else a copy (as PyTorch: writes to a copy don't reach x)."""
    shape = _shape_arg(shape)
    _check_shape(x, shape, "reshape")
    if shape == x._data.shape:
        return x
    out = Reshape.apply(x, shape=shape)
    return as_view(out, x, (Reshape, {"shape": shape})) if _viewable(x._data, shape) else out


def view(x: Tensor, *shape) -> Tensor:
    """Same memory, new shape: like reshape, but refuses (as PyTorch) when that needs a copy."""
    shape = _shape_arg(shape)
    _check_shape(x, shape, "view")
    if shape == x._data.shape:
        return x
    if not _viewable(x._data, shape):
        raise ViewError(f"view size is not compatible with input tensor's size and stride (at "
                        f"least one dimension spans across two contiguous subspaces): a tensor of "
                        f"shape {tuple(x.shape)} that is not contiguous (e.g. after transpose or "
                        f"slicing columns) can't be viewed as {list(shape)}. Use .reshape(...) "
                        f"instead, or .contiguous().view(...)")
    return as_view(Reshape.apply(x, shape=shape), x, (Reshape, {"shape": shape}))


def view_as(x: Tensor, other: Tensor) -> Tensor:
    return reshape(x, tuple(other.shape))


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    if x.ndim == 0:
        return reshape(x, 1)
    s, e = _wrap_dim(start_dim, x.ndim, "flatten"), _wrap_dim(end_dim, x.ndim, "flatten")
    shape = x._data.shape
    return reshape(x, shape[:s] + (math.prod(shape[s:e + 1]),) + shape[e + 1:])


def squeeze(x: Tensor, dim=None) -> Tensor:
    if dim is None:
        new = tuple(s for s in x._data.shape if s != 1)
    else:
        dims = {_wrap_dim(d, x.ndim, "squeeze") for d in (dim if isinstance(dim, (tuple, list)) else (dim,))}
        new = tuple(s for i, s in enumerate(x._data.shape) if not (i in dims and s == 1))
    return reshape(x, new)


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    d = _wrap_dim(dim, x.ndim + 1, "unsqueeze")
    shape = list(x._data.shape)
    shape.insert(d, 1)
    return reshape(x, tuple(shape))


def permute(x: Tensor, *dims) -> Tensor:
    dims = _shape_arg(dims)
    if len(dims) != x.ndim or sorted(_wrap_dim(d, x.ndim, "permute") for d in dims) != list(range(x.ndim)):
        raise ShapeError(f"permute: dims {list(dims)} are not a permutation of the {x.ndim} "
                         f"dimensions of a tensor of shape {tuple(x.shape)}")
    dims = tuple(_wrap_dim(d, x.ndim, "permute") for d in dims)
    return as_view(Permute.apply(x, dims=dims), x, (Permute, {"dims": dims}))


def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor:
    dims = list(range(x.ndim))
    a, b = _wrap_dim(dim0, x.ndim, "transpose"), _wrap_dim(dim1, x.ndim, "transpose")
    dims[a], dims[b] = dims[b], dims[a]
    return permute(x, dims)


def t(x: Tensor) -> Tensor:
    """Transpose of a matrix (a 0-d or 1-d tensor is returned as is)."""
    if x.ndim > 2:
        raise ShapeError(f"t() expects a tensor with <= 2 dimensions, got shape {tuple(x.shape)}; "
                         f"use transpose(dim0, dim1) or permute")
    return x if x.ndim < 2 else transpose(x, 0, 1)


def expand(x: Tensor, *shape) -> Tensor:
    shape = _shape_arg(shape)
    full = tuple(x._data.shape[i - (len(shape) - x.ndim)] if s == -1 else s for i, s in enumerate(shape))
    try:
        return as_view(Expand.apply(x, shape=full), x, (Expand, {"shape": full}))
    except ValueError:
        raise ShapeError(f"expand: tensor of shape {tuple(x.shape)} can't be expanded to "
                         f"{list(shape)}; only dimensions of size 1 can grow") from None


def expand_as(x: Tensor, other: Tensor) -> Tensor:
    return expand(x, tuple(other.shape))


def cat(tensors, dim: int = 0) -> Tensor:
    """Join tensors along an existing dimension."""
    tensors = list(tensors)
    if not tensors:
        raise ArgumentError("cat: expected a non-empty list of tensors")
    ref = tensors[0]
    d = _wrap_dim(dim, ref.ndim, "cat")
    for i, x in enumerate(tensors):
        if x.ndim != ref.ndim or any(a != b for j, (a, b) in enumerate(zip(x.shape, ref.shape)) if j != d):
            raise ShapeError(f"cat: tensors must match in every dimension but {d}; tensor 0 has "
                             f"shape {tuple(ref.shape)} and tensor {i} has {tuple(x.shape)}")
    from .dispatch import binary_operands
    for i in range(1, len(tensors)):
        _, tensors[i] = binary_operands(ref, tensors[i], "cat")
    return Cat.apply(*tensors, dim=d)


def stack(tensors, dim: int = 0) -> Tensor:
    """Join same-shaped tensors along a new dimension."""
    tensors = list(tensors)
    if not tensors:
        raise ArgumentError("stack: expected a non-empty list of tensors")
    for i, x in enumerate(tensors):
        if x.shape != tensors[0].shape:
            raise ShapeError(f"stack: all tensors must have the same shape; tensor 0 has "
                             f"{tuple(tensors[0].shape)} and tensor {i} has {tuple(x.shape)}")
    d = _wrap_dim(dim, tensors[0].ndim + 1, "stack")
    return cat([unsqueeze(x, d) for x in tensors], d)


def split(x: Tensor, split_size, dim: int = 0) -> tuple:
    d = _wrap_dim(dim, x.ndim, "split")
    n = x._data.shape[d]
    sizes = [split_size] * (n // split_size) + ([n % split_size] if n % split_size else []) \
        if isinstance(split_size, int) else list(split_size)
    out, start = [], 0
    for s in sizes:
        idx = [slice(None)] * x.ndim
        idx[d] = slice(start, start + s)
        out.append(x[tuple(idx)])
        start += s
    from .views import mark_multi_view
    return mark_multi_view(out, "Split")


def chunk(x: Tensor, chunks: int, dim: int = 0) -> tuple:
    n = x._data.shape[_wrap_dim(dim, x.ndim, "chunk")]
    return split(x, -(-n // chunks), dim)


class Flip(Op):
    rule = "grad_x = grad flipped back"

    def forward(self, x, dims=()):
        from ..backend import array_module_of
        self.dims = dims
        return array_module_of(x).flip(x, dims).copy() if dims else x.copy()

    def backward(self, grad):
        from ..backend import array_module_of
        return (array_module_of(grad).flip(grad, self.dims) if self.dims else grad,)

    def vjp(self, grad):
        return (Flip.apply(grad, dims=self.dims),)


def flip(x: Tensor, *dims) -> Tensor:
    """The elements in reverse order along dims (a copy, as in PyTorch)."""
    dims = _shape_arg(dims)
    return Flip.apply(x, dims=tuple(sorted({_wrap_dim(d, x.ndim, "flip") for d in dims})))


def repeat(x: Tensor, *sizes) -> Tensor:
    """x tiled sizes[i] times along dimension i (new leading dimensions when there are more
    sizes than dimensions), as torch.Tensor.repeat / numpy.tile."""
    sizes = _shape_arg(sizes)
    if len(sizes) < x.ndim:
        raise ShapeError(f"repeat: number of repeat dims ({len(sizes)}) can not be smaller than "
                         f"the number of dimensions of the tensor ({x.ndim})")
    shape = (1,) * (len(sizes) - x.ndim) + tuple(x._data.shape)
    # each dimension n repeated r times: a new axis of size r in front of it, expanded, merged
    inter = tuple(v for r, n in zip(sizes, shape) for v in (1, n))
    big = tuple(v for r, n in zip(sizes, shape) for v in (r, n))
    out = reshape(x, inter).expand(big)
    return reshape(out, tuple(r * n for r, n in zip(sizes, shape)))


def narrow(x: Tensor, dim: int, start: int, length: int) -> Tensor:
    """The view x[..., start:start + length, ...] along dim."""
    d = _wrap_dim(dim, x.ndim, "narrow")
    n = x._data.shape[d]
    start = start + n if start < 0 else start
    if not (0 <= start <= n and 0 <= length and start + length <= n):
        raise IndexBoundsError(f"narrow: start ({start}) + length ({length}) exceeds dimension {d} of "
                         f"size {n}")
    return x[(slice(None),) * d + (slice(start, start + length),)]


def select(x: Tensor, dim: int, index: int) -> Tensor:
    """The view x[..., index, ...] along dim (that dimension removed)."""
    d = _wrap_dim(dim, x.ndim, "select")
    return x[(slice(None),) * d + (index,)]


def movedim(x: Tensor, source, destination) -> Tensor:
    src = [source] if isinstance(source, int) else list(source)
    dst = [destination] if isinstance(destination, int) else list(destination)
    src = [_wrap_dim(d, x.ndim, "movedim") for d in src]
    dst = [_wrap_dim(d, x.ndim, "movedim") for d in dst]
    rest = [d for d in range(x.ndim) if d not in src]
    order = [None] * x.ndim
    for s, d in zip(src, dst):
        order[d] = s
    it = iter(rest)
    return permute(x, [o if o is not None else next(it) for o in order])


def is_contiguous(x: Tensor, memory_format=None) -> bool:
    """Whether the elements lie in memory in row-major order without gaps (as after creation)."""
    return bool(x._data.flags.c_contiguous)


def contiguous(x: Tensor, memory_format=None) -> Tensor:
    """x itself when contiguous, else a contiguous copy that stays in the graph."""
    if x._data.flags.c_contiguous:
        return x
    from .conversion import clone
    return clone(x)


METHODS = {"reshape": reshape, "view": view, "is_contiguous": is_contiguous, "flip": flip,
           "repeat": repeat, "narrow": narrow, "select": select, "movedim": movedim,
           "swapaxes": transpose, "swapdims": transpose,
           "contiguous": contiguous, "view_as": view_as, "flatten": flatten,
           "squeeze": squeeze, "unsqueeze": unsqueeze, "permute": permute,
           "transpose": transpose, "t": t, "expand": expand, "expand_as": expand_as,
           "split": split, "chunk": chunk,
           "T": property(lambda x: permute(x, tuple(reversed(range(x.ndim))))),
           "mT": property(lambda x: transpose(x, -2, -1))}
