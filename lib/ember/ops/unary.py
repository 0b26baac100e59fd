"""Unary elementwise ops: the functions of neural nets, each with its backward (and vjp, the
backward recorded for create_graph); their public functions and in-place methods."""
from __future__ import annotations

from ..autograd.function import Op
from ..backend import array_module_of as _xp
from ..errors import ArgumentError, DTypeError
from ..tensor import Tensor
from .dispatch import inplace, to_tensor


class Neg(Op):
    rule = "grad_x = -grad"

    def forward(self, x):
        return -x

    def backward(self, grad):
        return (-grad,)

    vjp = backward  # the same code works on Tensors (recorded)


class Exp(Op):
    rule = "grad_x = grad * exp(x)"
    saves_output = True

    def forward(self, x):
        self.out = _xp(x).exp(x)
        return self.out

    def backward(self, grad):
        return (grad * self.out,)

    def vjp(self, grad):
        return (grad * self.saved_output(self.out),)


class Log(Op):
    rule = "grad_x = grad / x"
    saves = (0,)

    def forward(self, x):
        self.x = x
        return _xp(x).log(x)

    def backward(self, grad):
        return (grad / self.x,)

    def vjp(self, grad):
        return (grad / self.saved_input(0, self.x),)


class Sqrt(Op):
    rule = "grad_x = grad / (2 * sqrt(x))"
    saves_output = True

    def forward(self, x):
        self.out = _xp(x).sqrt(x)
        return self.out

    def backward(self, grad):
        return (grad / (2 * self.out),)

    def vjp(self, grad):
        return (grad / (2 * self.saved_output(self.out)),)


class Abs(Op):
    rule = "grad_x = grad * sign(x)"
    saves = (0,)

    def forward(self, x):
        self.x = x
        return _xp(x).abs(x)

    def backward(self, grad):
        return (grad * _xp(self.x).sign(self.x),)

    def vjp(self, grad):
        return (grad * self.const(_xp(self.x).sign(self.x)),)


class Tanh(Op):
    rule = "grad_x = grad * (1 - tanh(x)**2)"
    saves_output = True

    def forward(self, x):
        self.out = _xp(x).tanh(x)
        return self.out

    def backward(self, grad):
        return (grad * (1 - self.out * self.out),)

    def vjp(self, grad):
        out = self.saved_output(self.out)
        return (grad * (1 - out * out),)


class Sigmoid(Op):
    rule = "grad_x = grad * s * (1 - s), s = sigmoid(x)"
    saves_output = True

    def forward(self, x):
        xp = _xp(x)
        # exp of a non-positive number never overflows, whatever the sign of x
        e = xp.exp(-xp.abs(x))
        self.out = xp.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)
        return self.out

    def backward(self, grad):
        return (grad * self.out * (1 - self.out),)

    def vjp(self, grad):
        out = self.saved_output(self.out)
        return (grad * out * (1 - out),)


class Relu(Op):
    rule = "grad_x = grad * (x > 0)"
    saves_output = True

    def forward(self, x):
        self.out = _xp(x).maximum(x, 0)
        return self.out

    def backward(self, grad):
        # a mask of 0s and 1s in grad's dtype: numpy multiplies float by bool much more slowly
        return (grad * (self.out > 0).astype(grad.dtype),)

    def vjp(self, grad):
        return (grad * self.const((self.out > 0).astype(self.out.dtype)),)


class Clamp(Op):
    rule = "grad_x = grad where min <= x <= max, else 0"
    saves = (0,)

    def forward(self, x, min=None, max=None):
        self.x, self.lo, self.hi = x, min, max
        xp = _xp(x)
        if max is None:
            return xp.maximum(x, min)
        return xp.minimum(x, max) if min is None else xp.clip(x, min, max)

    def backward(self, grad):
        x, mask = self.x, None
        if self.lo is not None:
            mask = x >= self.lo
        if self.hi is not None:
            mask = (x <= self.hi) if mask is None else mask & (x <= self.hi)
        return (grad if mask is None else grad * mask.astype(grad.dtype),)  # as in Relu

    def vjp(self, grad):
        return (grad * self.const(self.backward(_xp(self.x).ones_like(self.x))[0]),)


class Sin(Op):
    rule = "grad_x = grad * cos(x)"
    saves = (0,)

    def forward(self, x):
        self.x = x
        return _xp(x).sin(x)

    def backward(self, grad):
        return (grad * _xp(self.x).cos(self.x),)

    def vjp(self, grad):
        return (grad * self.saved_input(0, self.x).cos(),)


class Cos(Op):
    rule = "grad_x = -grad * sin(x)"
    saves = (0,)

    def forward(self, x):
        self.x = x
        return _xp(x).cos(x)

    def backward(self, grad):
        return (-grad * _xp(self.x).sin(self.x),)

    def vjp(self, grad):
        return (-grad * self.saved_input(0, self.x).sin(),)


class Log1p(Op):
    rule = "grad_x = grad / (1 + x)"
    saves = (0,)

    def forward(self, x):
        self.x = x
        return _xp(x).log1p(x)

    def backward(self, grad):
        return (grad / (1 + self.x),)

    def vjp(self, grad):
        return (grad / (1 + self.saved_input(0, self.x)),)


class Expm1(Op):
    rule = "grad_x = grad * (expm1(x) + 1)"
    saves_output = True

    def forward(self, x):
        self.out = _xp(x).expm1(x)
        return self.out

    def backward(self, grad):
        return (grad * (self.out + 1),)

    def vjp(self, grad):
        return (grad * (self.saved_output(self.out) + 1),)


class _Stepwise(Op):
    """A piecewise-constant function (sign, floor, ceil, round, trunc): its gradient is 0."""
    rule = "grad_x = 0 (piecewise constant)"
    fn = ""

    def forward(self, x):
        return getattr(_xp(x), self.fn)(x)

    def backward(self, grad):
        return (grad * 0,)

    vjp = backward


class Sign(_Stepwise):
    rule = "grad_x = 0 (sign is piecewise constant)"
    fn = "sign"


class Floor(_Stepwise):
    fn = "floor"


class Ceil(_Stepwise):
    fn = "ceil"


class Round(_Stepwise):
    fn = "round"  # halves to even, as PyTorch


class Trunc(_Stepwise):
    fn = "trunc"


# ---- public functions and in-place methods ---------------------------------------------------
def _unary(op_cls):
    if op_cls in (Neg, Abs, Sign, Relu):  # integers stay integers
        def fn(x: Tensor) -> Tensor:
            return op_cls.apply(x if isinstance(x, Tensor) else to_tensor(x))
    else:
        def fn(x: Tensor) -> Tensor:
            if not isinstance(x, Tensor):
                x = to_tensor(x)
            if x._data.dtype.kind != "f":  # as PyTorch: integers give the default float dtype
                from ..dtypes import DEFAULT_FLOAT
                from .conversion import to_dtype
                x = to_dtype(x, DEFAULT_FLOAT)
            return op_cls.apply(x)
    fn.__name__ = op_cls.__name__.lower()
    fn.__doc__ = f"{op_cls.__name__} elementwise. Backward: {op_cls.rule}"
    return fn


neg, exp, log, sqrt, abs, tanh, sigmoid, relu, sin, cos, sign, log1p, expm1 = (
    _unary(c) for c in (Neg, Exp, Log, Sqrt, Abs, Tanh, Sigmoid, Relu, Sin, Cos, Sign, Log1p, Expm1))


def _stepwise(op_cls):
    def fn(x: Tensor) -> Tensor:
        x = x if isinstance(x, Tensor) else to_tensor(x)
        if x._data.dtype.kind != "f":
            return x.clone()  # integers are whole already (a copy, as PyTorch)
        return op_cls.apply(x)
    fn.__name__ = op_cls.__name__.lower()
    fn.__doc__ = f"{op_cls.__name__} elementwise; its gradient is 0 (piecewise constant)."
    return fn


floor, ceil, round, trunc = (_stepwise(c) for c in (Floor, Ceil, Round, Trunc))


def clamp_min(x: Tensor, min) -> Tensor:
    return clamp(x, min=min)


def clamp_max(x: Tensor, max) -> Tensor:
    return clamp(x, max=max)


def clamp(x: Tensor, min=None, max=None) -> Tensor:
    """Limit values to [min, max]; `x.clamp(min=0)` is ReLU."""
    if min is None and max is None:
        raise ArgumentError("clamp: at least one of min and max must be given")
    return Clamp.apply(x, min=min, max=max)


def clamp_(x: Tensor, min=None, max=None) -> Tensor:
    return inplace(x, Clamp, (), "clamp_", min=min, max=max)


def relu_(x: Tensor) -> Tensor:
    return inplace(x, Relu, (), "relu_")


def _unary_(op_cls, name):
    def method(self: Tensor) -> Tensor:
        if self._data.dtype.kind != "f" and op_cls not in (Neg, Abs, Sign):
            raise DTypeError(f"{name}: result type float can't be cast to the tensor's dtype "
                             f"{self.dtype} in place; use the out-of-place {name[:-1]}() or "
                             f"convert first with .float()")
        return inplace(self, op_cls, (), name)
    method.__name__ = name
    return method


_IN_PLACE = {f"{c.__name__.lower()}_": _unary_(c, f"{c.__name__.lower()}_") for c in
             (Neg, Exp, Log, Sqrt, Abs, Tanh, Sigmoid, Sin, Cos, Sign, Log1p, Expm1, Floor, Ceil,
              Round, Trunc)}
