"""How ops enter the graph.

`Op` is ember's own op base: forward and backward on raw arrays, side by side, in one class.
`Function` is PyTorch's user-facing API (`forward(ctx, ...)`, `backward(ctx, ...)`, `apply`), for
students writing their own differentiable functions on tensors.
"""
from __future__ import annotations

from numpy import asarray as _np_asarray, generic as _np_generic, ndarray as _ndarray

from ..errors import AutogradError, DeviceError, DTypeError
from ..tensor import Tensor
from .grad_mode import _state, no_grad
from ..backend import is_array
from .node import AccumulateGrad, Node, _sequence


class Op(Node):
    """A built-in differentiable op. Subclasses define `forward(*arrays, **attrs)` -> array and
    `backward(grad)` -> one array (or None) per input; `saves` lists the inputs whose values
    backward reads (they are checked for in-place edits); `saves_output` likewise for the result.
    `reads_for` maps a saved input to the one input whose gradient reads it (Mul reads `a` only
    for b's gradient): it is saved only when that gradient is wanted, so in `y = x * c` with a
    constant c, x is not saved and may be edited in place before backward, as in PyTorch.
    """

    saves: tuple = ()
    reads_for: dict = {}
    saves_output = False
    differentiable = True
    # `saves` split by `reads_for` once per class, so that apply() pays nothing for reads_for
    _saves_always: tuple = ()  # inputs saved whenever they are tensors
    _saves_if: tuple = ()      # (input, reader): saved only when input `reader` needs a gradient

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._saves_always = tuple(i for i in cls.saves if i not in cls.reads_for)
        cls._saves_if = tuple((i, cls.reads_for[i]) for i in cls.saves if i in cls.reads_for)

    def forward(self, *arrays, **attrs):
        raise NotImplementedError

    # ---- for vjp (create_graph=True): what forward kept, as tensors in the graph ----
    def saved_input(self, i: int, value):
        """Input i (whose value forward kept) as a tensor whose gradient flows where input i's
        did; a Python number stays a number."""
        if value.__class__ is not _ndarray and not is_array(value):
            return value
        nxt = self.next_functions[i][0]
        if nxt.__class__ is AccumulateGrad and nxt.variable._data is value:
            return nxt.variable
        return Tensor._make(value, _device_of(value), nxt)

    def saved_output(self, value) -> Tensor:
        """The output (kept by forward) as a tensor made by this node, as PyTorch re-creates
        saved outputs: differentiating through it runs this node's backward."""
        return Tensor._make(value, _device_of(value), self)

    def const(self, array) -> Tensor:
        """An array backward computed from saved values, as a constant of the recorded graph."""
        return Tensor._make(array, _device_of(array))

    @classmethod
    def apply(cls, *inputs, **attrs) -> Tensor:
        """Run the op on tensors (or plain Python numbers, which are constants) and, when grad
        is enabled and some input requires it, record the node that will run its backward."""
        grad_mode = _state.enabled and cls.differentiable
        recording = False
        device = None
        arrays, edges = [], []
        for t in inputs:
            if t.__class__ is Tensor or isinstance(t, Tensor):  # the first test is the cheap one
                if t._device is not device:
                    if device is not None:
                        raise _mixed_devices(cls, device, t._device)
                    device = t._device
                arrays.append(t._data)
                if grad_mode and t._requires_grad:
                    recording = True
                    edges.append((t._grad_fn or t._grad_node(), 0))
                    continue
            else:
                arrays.append(t)
            edges.append(_NO_EDGE)
        node = cls()
        out = node.forward(*arrays, **attrs) if attrs else node.forward(*arrays)
        if out.__class__ is not _ndarray and isinstance(out, _np_generic):
            out = _np_asarray(out)  # numpy reductions return scalars; keep 0-d arrays
        if not recording:
            return Tensor._make(out, device)
        result = Tensor._make(out, device, node)
        node.next_functions = tuple(edges)
        node.output_shape = out.shape
        node.output_dtype = out.dtype
        node._seq = next(_sequence)
        if cls.saves:
            saved = []
            for i in cls._saves_always:
                t = inputs[i]
                if isinstance(t, Tensor):
                    saved.append((t._vc, t._vc[0], i))
            if cls._saves_if:
                for i, reader in cls._saves_if:
                    t = inputs[i]
                    # not when only the gradient of an input that needs none would read it
                    if edges[reader] is not _NO_EDGE and isinstance(t, Tensor):
                        saved.append((t._vc, t._vc[0], i))
            node._saved_versions = saved
        if cls.saves_output:
            node._saved_versions = [*node._saved_versions, (result._vc, 0, -1)]
        return result


_NO_EDGE = (None, 0)


def _mixed_devices(cls, a, b) -> DeviceError:
    """One op, tensors on two devices: the one check every op shares (ops never check devices)."""
    name = cls.__name__.lower()
    return DeviceError(f"{name}: expected all tensors on the same device, but found tensors on "
                       f"{a} and {b}; move them to one device first (x.to(device), "
                       f"model.to(device))")


class FunctionCtx:
    """The `ctx` of a custom Function: save tensors in forward, read them in backward."""

    def __init__(self):
        self.saved_tensors_ = ()
        self.needs_input_grad = ()

    def save_for_backward(self, *tensors):
        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward takes tensors (or None), got "
                                f"{type(t).__name__}; store other values as ctx attributes")
        self.saved_tensors_ = tensors
        self._saved_versions = tuple((t._vc, t._vc[0], i)
                                     for i, t in enumerate(tensors) if t is not None)

    @property
    def saved_tensors(self) -> tuple:
        return self.saved_tensors_

    def mark_non_differentiable(self, *tensors):
        """Outputs (e.g. indices) that get no gradient: they come back not requiring grad, and
        backward receives zeros for them."""
        self._non_differentiable = tensors

    def set_materialize_grads(self, value: bool):
        """Whether backward receives zeros (True, the default) or None for unused outputs."""
        self._materialize = bool(value)


class BackwardCFunction(Node, FunctionCtx):
    """The node of one call of a custom Function; it is also the `ctx` its methods receive.
    With several outputs each has its own `_OutputSlot` node that hands its gradient over here."""

    fn_class = None
    _slots = None          # with several outputs: the gradient of each (None until it arrives)
    _out_meta = ()         # with several outputs: (shape, numpy dtype) of each
    _materialize = True

    def name(self) -> str:
        return f"{self.fn_class.__name__}Backward"

    def _grad_outputs(self, grad, make):
        """The gradients backward receives: one per output, zeros (or None) for unused ones."""
        if self._slots is None:
            return (make(grad),)
        slots, self._slots = self._slots, [None] * len(self._slots)
        out = []
        for g, (shape, dtype) in zip(slots, self._out_meta):
            if g is None and self._materialize:
                g = _zeros(shape, dtype, self._device)
            out.append(None if g is None else make(g))
        return tuple(out)

    def backward(self, grad):
        grads_out = self._grad_outputs(grad, lambda g: Tensor._make(g, self._device))
        with no_grad():
            grads = self.fn_class.backward(self, *grads_out)
        return self._check_grads(grads, lambda g: g._data)

    def vjp(self, grad):
        """Recorded backward: the user's backward runs on tensors with grad enabled."""
        grads_out = self._grad_outputs(grad, lambda g: g if isinstance(g, Tensor)
                                       else Tensor._make(g, self._device))
        grads = self.fn_class.backward(self, *grads_out)
        return self._check_grads(grads, lambda g: g)

    def _check_grads(self, grads, unwrap):
        if not isinstance(grads, tuple):
            grads = (grads,)
        n = len(self.next_functions)
        if len(grads) < n:
            raise AutogradError(
                f"{self.fn_class.__name__}.backward returned {len(grads)} gradient(s) but forward "
                f"took {n} input(s); return one gradient (or None) per forward input")
        out = []
        for i, g in enumerate(grads[:n]):
            if g is None or self.next_functions[i][0] is None:
                out.append(None)
                continue
            if not isinstance(g, Tensor):
                raise TypeError(f"{self.fn_class.__name__}.backward must return Tensors or None, "
                                f"got {type(g).__name__} for input {i}")
            out.append(unwrap(g))
        return tuple(out)


def _device_of(a):
    from ..backend import device_of
    return device_of(a)


def _zeros(shape, dtype, device):
    from ..backend import get_array_module
    return get_array_module(device).zeros(shape, dtype=dtype)


class _OutputSlot(Node):
    """The grad_fn of output k of a custom Function with several outputs: it passes its gradient
    to the Function's node (which runs after every slot, being older) and sends on a token."""

    def __init__(self, owner: BackwardCFunction, k: int, out: Tensor):
        self._init_graph(((owner, 0),), out._data.shape, out._data.dtype)
        self.owner, self.k = owner, k

    def name(self) -> str:
        return self.owner.name()

    def backward(self, grad):
        self.owner._slots[self.k] = grad
        return (_token(grad),)

    def vjp(self, grad):
        self.owner._slots[self.k] = grad
        return (Tensor._make(_token(grad._data), grad._device),)


def _token(like):
    from ..backend import array_module_of
    return array_module_of(like).zeros(())


class Function:
    """Base class of custom differentiable functions, exactly as in PyTorch.

    >>> class Square(ember.autograd.Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         ctx.save_for_backward(x)
    ...         return x * x
    ...     @staticmethod
    ...     def backward(ctx, grad_y):
    ...         x, = ctx.saved_tensors
    ...         return 2 * x * grad_y
    >>> y = Square.apply(x)
    """

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("define forward(ctx, ...) as a @staticmethod")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("define backward(ctx, grad_output) as a @staticmethod")

    @classmethod
    def apply(cls, *args, **kwargs):
        node = BackwardCFunction()
        node._init_graph()
        node.fn_class = cls
        tensors = [a for a in args if isinstance(a, Tensor)]
        node.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        with no_grad():
            out = cls.forward(node, *args, **kwargs)
        several = isinstance(out, tuple)
        outs = out if several else (out,)
        # in a tuple, non-tensor outputs are passed through, as in PyTorch
        if not any(isinstance(o, Tensor) for o in outs):
            raise TypeError(f"{cls.__name__}.forward must return a Tensor (or a tuple of them), "
                            f"got {type(out).__name__}")
        if not (_state.enabled and any(node.needs_input_grad)):
            return out
        non_diff = {id(t) for t in getattr(node, "_non_differentiable", ())}
        first = next(o for o in outs if isinstance(o, Tensor))
        node._device = first._device
        node.next_functions = tuple((a._grad_node(), 0) if isinstance(a, Tensor) else (None, 0)
                                    for a in args)
        node._seq = next(_sequence)
        if not several:
            node.output_shape = out._data.shape
            node.output_dtype = out._data.dtype
            return _attach(cls, node, out, tensors, id(out) in non_diff)
        # the node itself is sent only its slots' tokens (see _OutputSlot)
        node.output_shape, node.output_dtype = (), _token(first._data).dtype
        node._slots = [None] * len(outs)
        node._out_meta = tuple((o._data.shape, o._data.dtype) if isinstance(o, Tensor) else ((), None)
                               for o in outs)
        result = []
        for k, o in enumerate(outs):
            if not isinstance(o, Tensor):
                result.append(o)
                continue
            slot = None if id(o) in non_diff else _OutputSlot(node, k, o)
            result.append(_attach(cls, slot, o, tensors, slot is None))
        return tuple(result)


def _attach(cls, node, out: Tensor, inputs, non_differentiable: bool) -> Tensor:
    """The output tensor of a Function call, recorded with grad_fn `node` (or detached)."""
    if out._grad_fn is not None or out.requires_grad or any(out is t for t in inputs):
        fresh = Tensor._make(out._data, out._device)  # a fresh result, whatever forward returned
        fresh._vc = out._vc
        out = fresh
    if non_differentiable:
        return out
    if not out.dtype.is_floating_point:
        raise DTypeError(f"{cls.__name__}.forward returned a {out.dtype} tensor; only floating "
                         f"point outputs can carry gradients (mark it with "
                         f"ctx.mark_non_differentiable)")
    out._grad_fn = node
    out._requires_grad = True
    return out
