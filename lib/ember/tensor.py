"""The Tensor: an array of the backend plus what autograd needs to know about it.

Operators and math methods (`+`, `@`, `sum`, `relu`, ...) are defined with their ops in `ember.ops`
and installed on the class there; this file holds the data and the autograd bookkeeping.
"""
from __future__ import annotations

import numpy as np

from . import backend
from .backend import CPU, Device
from .dtypes import DEFAULT_FLOAT, DType, as_dtype, from_numpy_dtype
from .errors import AutogradError, DTypeError, ShapeError


_new_object = object.__new__  # a tensor without __init__; bound once, as the lookup costs


class Tensor:
    """A multi-dimensional array that can record the ops applied to it for backprop."""

    __slots__ = ("_data", "_device", "_requires_grad", "_grad", "_grad_fn", "_vc", "__dict__",
                 "__weakref__")
    _accum = None           # the AccumulateGrad node of a leaf, made on first use
    _base = None            # the tensor this one is a view of
    _view_steps = ()        # how it was made from _base: ((op class, attrs), ...) (ops/views.py)
    _views = None           # weakrefs to views of this tensor while it is in the graph
    _multi_view = None      # (function, output index) for the outputs of unbind/split/chunk
    _no_grad_view = False   # a view made under no_grad of a tensor that requires grad
    _retains_grad = False
    from .numpy_ufunc import array_ufunc as __array_ufunc__  # ndarray + Tensor -> Tensor; np.exp(t)

    def __init__(self, data=None, *, dtype=None, device=None, requires_grad: bool = False):
        from .creation import _as_array
        if data is None:
            data = []
        dev = Device(device) if device is not None else CPU
        arr = _as_array(data, as_dtype(dtype) if dtype is not None else DEFAULT_FLOAT, dev)
        self._data = arr
        self._device = dev
        self._requires_grad = False
        self._grad = None
        self._grad_fn = None
        self._vc = [0]
        if requires_grad:
            self.requires_grad_(True)

    @staticmethod
    def _make(data, device: Device = CPU, grad_fn=None) -> "Tensor":
        """Wrap an array without copying or checking (ember-internal fast path; a staticmethod,
        as a classmethod would make a bound method on every call)."""
        t = _new_object(Tensor)
        t._data = data
        t._device = device
        t._requires_grad = grad_fn is not None
        t._grad = None
        t._grad_fn = grad_fn
        t._vc = [0]
        return t

    # ---- what a tensor is --------------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return Size(self._data.shape)

    @property
    def dtype(self) -> DType:
        return from_numpy_dtype(self._data.dtype)

    @property
    def device(self) -> Device:
        return self._device

    @property
    def is_cuda(self) -> bool:
        return self._device.type == "cuda"

    @property
    def xp(self):
        """The array module (numpy or cupy) holding this tensor's data."""
        return backend.get_array_module(self._device)

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    def size(self, dim: int | None = None):
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_wrap_dim(dim, self.ndim, "size")]

    def numel(self) -> int:
        return int(self._data.size)

    def element_size(self) -> int:
        return self._data.itemsize

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind == "f"

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    # ---- autograd attributes -----------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool):
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        if self._grad_fn is not None:
            if not requires_grad:
                raise AutogradError(
                    "you can only change requires_grad of leaf tensors; this one was made by "
                    f"{self._grad_fn.name()}. Use .detach() to get a tensor that does not require grad.")
            return self
        if requires_grad and self._data.dtype.kind != "f":
            raise DTypeError(f"only tensors of floating point dtype can require gradients, this one "
                             f"is {self.dtype}; make it with dtype=ember.float32 or call .float() first")
        self._requires_grad = bool(requires_grad)
        return self

    @property
    def grad(self) -> "Tensor | None":
        if self._grad is None and self._grad_fn is not None and not self._retains_grad:
            import warnings
            warnings.warn("The .grad of a non-leaf tensor is not kept by backward(); call "
                          ".retain_grad() on it before backward() if you need it", UserWarning,
                          stacklevel=2)
        return self._grad

    @grad.setter
    def grad(self, value: "Tensor | None"):
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad must be a Tensor or None, got {type(value).__name__}")
            if value.shape != self.shape:
                raise ShapeError(f"assigned grad has shape {tuple(value.shape)} but the tensor has "
                                 f"shape {tuple(self.shape)}")
        self._grad = value

    @property
    def grad_fn(self):
        return self._grad_fn

    @property
    def is_leaf(self) -> bool:
        return self._grad_fn is None

    def _grad_node(self):
        """Where this tensor's gradient goes: its grad_fn, its AccumulateGrad, or nowhere."""
        if self._grad_fn is not None:
            return self._grad_fn
        if self._requires_grad:
            if self._accum is None:
                from .autograd.node import AccumulateGrad
                self._accum = AccumulateGrad(self)
            return self._accum
        return None

    def retain_grad(self) -> None:
        """Keep `.grad` for this non-leaf tensor after backward (leaves always keep theirs)."""
        if self._grad_fn is None:
            if not self._requires_grad:
                raise AutogradError("can't retain_grad on a tensor that does not require grad")
            return
        import weakref
        from .autograd.node import RetainGrad
        node = self._grad_fn
        if node._pre_hooks is None:
            node._pre_hooks = []
        node._pre_hooks.append(RetainGrad(weakref.ref(self)))
        self._retains_grad = True

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    def register_hook(self, hook):
        """Call `hook(grad)` each time this tensor's gradient is computed; a tensor it returns
        replaces the gradient (for a leaf, before it is added into `.grad`). Returns a handle
        whose `.remove()` unregisters it."""
        if not self._requires_grad:
            raise AutogradError("cannot register a hook on a tensor that doesn't require gradient")
        node = self._grad_node()
        if node._pre_hooks is None:
            node._pre_hooks = []
        node._pre_hooks.append(hook)
        from .autograd.node import _RemovableHandle
        return _RemovableHandle(node._pre_hooks, hook)

    def backward(self, gradient: "Tensor | None" = None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs=None) -> None:
        """Compute d(self)/d(leaf) for every leaf that requires grad, adding into `leaf.grad`."""
        _engine.backward(self, gradient, retain_graph=retain_graph, create_graph=create_graph,
                         inputs=inputs)

    def detach(self) -> "Tensor":
        """The same data, cut out of the graph (shares memory and version counter)."""
        t = Tensor._make(self._data, self._device)
        t._vc = self._vc
        return t

    def detach_(self) -> "Tensor":
        self._grad_fn = None
        self._requires_grad = False
        return self

    @property
    def data(self) -> "Tensor":
        """The same data as a tensor outside autograd; in-place edits through it are not tracked."""
        return Tensor._make(self._data, self._device)

    @data.setter
    def data(self, value: "Tensor"):
        if not isinstance(value, Tensor):
            raise TypeError(f"tensor.data must be set to a Tensor, got {type(value).__name__}")
        self._data = value._data
        self._device = value._device

    def _bump(self):
        self._vc[0] += 1

    @property
    def _version(self) -> int:
        return self._vc[0]

    # ---- leaving ember -----------------------------------------------------------------------
    def item(self):
        if self._data.size != 1:
            raise ShapeError(f"item() needs a tensor with exactly one element, this one has "
                             f"{self._data.size} (shape {tuple(self.shape)}); index it or reduce it "
                             f"first, e.g. t.sum().item() or t[0].item()")
        backend.raise_pending()
        return self._data.reshape(()).item()

    def numpy(self, *, force: bool = False) -> np.ndarray:
        if self._requires_grad and not force:
            raise AutogradError("can't call numpy() on a tensor that requires grad: "
                                "use tensor.detach().numpy()")
        if self._device.type != "cpu":
            if not force:
                raise backend.DeviceError(f"can't convert a {self._device} tensor to numpy: "
                                          f"use tensor.cpu().numpy() to copy it to the host first")
            return backend.to_numpy(self._data)
        return self._data

    def tolist(self):
        return backend.to_numpy(self._data).tolist()

    def __array__(self, dtype=None, copy=None):
        arr = backend.to_numpy(self._data)
        return arr if dtype is None else arr.astype(dtype)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self._data.dtype.kind not in "iub":
            raise TypeError(f"only integer tensors of a single element can be used as an index, "
                            f"got {self.dtype}")
        return int(self.item())

    def __bool__(self):
        if self._data.size != 1:
            raise ShapeError(f"the truth value of a tensor with {self._data.size} elements is "
                             f"ambiguous; to test whether a tensor is there (`if w.grad:`), write "
                             f"`if w.grad is not None:`; to test its values, use .any() or .all()")
        return bool(self._data.reshape(()).item())

    __hash__ = object.__hash__

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    # ---- devices and dtypes ------------------------------------------------------------------
    def to(self, *args, dtype=None, device=None, copy: bool = False, non_blocking: bool = False):
        """`t.to('cuda')`, `t.to(ember.float64)`, `t.to(other_tensor)`, `t.to('cpu', ember.float64)`."""
        device, dtype = parse_to_args(args, device, dtype)
        from .ops.conversion import to_device, to_dtype
        out = self
        if dtype is not None and as_dtype(dtype).np != self._data.dtype:
            out = to_dtype(out, as_dtype(dtype))
        if device is not None and Device(device) != self._device:
            out = to_device(out, Device(device))
        if copy and out is self:
            out = self.clone()
        return out

    def cuda(self, device=None) -> "Tensor":
        return self.to(Device("cuda", device if isinstance(device, int) else None)
                       if not isinstance(device, (str, Device)) else device)

    def cpu(self) -> "Tensor":
        return self.to("cpu")

    def type(self, dtype=None):
        """`t.type()` names the type; `t.type(ember.float64)` or the lecture's
        `t.type(ember.cuda.FloatTensor)` converts."""
        if dtype is None:
            return f"ember.{self.dtype.name}"
        device = getattr(dtype, "device", None)
        if device is not None:  # a legacy type such as ember.cuda.FloatTensor
            return self.to(device, dtype.dtype)
        return self.to(dtype)

    def float(self):
        return self.to(dtype=as_dtype("float32"))

    def double(self):
        return self.to(dtype=as_dtype("float64"))

    def long(self):
        return self.to(dtype=as_dtype("int64"))

    def int(self):
        return self.to(dtype=as_dtype("int32"))

    def bool(self):
        return self.to(dtype=as_dtype("bool"))

    def half(self):
        return self.to(dtype=as_dtype("float16"))

    def __repr__(self):
        from ._format import format_tensor
        return format_tensor(self)

    def __deepcopy__(self, memo):
        t = Tensor._make(self._data.copy(), self._device)
        t._requires_grad = self._requires_grad
        if self._grad is not None:
            t._grad = self._grad.__deepcopy__(memo)
        memo[id(self)] = t
        return t

    def __reduce__(self):
        raise TypeError("ember tensors are not pickled; save them with ember.save(obj, path)")


from .autograd import engine as _engine  # noqa: E402  (the engine needs Tensor defined first)


class Size(tuple):
    """A tensor's shape: a tuple that prints as `ember.Size([2, 3])`."""

    def __repr__(self):
        return f"ember.Size({list(self)})"

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n


_DTYPE_NAMES = {"float32", "float64", "int64", "int32", "bool", "float16", "uint8", "float",
                "double", "long", "int", "half"}


def parse_to_args(args: tuple, device=None, dtype=None) -> tuple:
    """(device, dtype) from the positional arguments of `Tensor.to` and `Module.to`, as PyTorch
    reads them: a tensor gives both, an int is a CUDA device index, a string is a dtype name or
    a device, anything else a dtype."""
    for a in args:
        if isinstance(a, Tensor):
            device, dtype = a.device, a.dtype
        elif isinstance(a, int) and not isinstance(a, bool):
            device = Device("cuda", a)
        elif isinstance(a, (Device, str)) and not (isinstance(a, str) and a in _DTYPE_NAMES):
            device = a
        else:
            dtype = a
    return device, dtype


def _wrap_dim(dim: int, ndim: int, op: str) -> int:
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"{op}: dimension {dim} is out of range for a tensor with {ndim} "
                         f"dimension(s) (expected -{n} to {n - 1})")
    return dim % n if ndim else 0
