"""Elementwise math: arithmetic with broadcasting, its public functions and in-place methods, and
the Tensor methods of all elementwise ops (the unary ones live in unary.py)."""
from __future__ import annotations

import math
import operator

from ..autograd.function import Op
from ..autograd.grad_mode import _state
from ..tensor import Tensor
from ..errors import ArgumentError, DivisionByZeroError, DTypeError
from ..backend import array_module_of as _xp
from .dispatch import apply_binary, inplace
from .unary import (_IN_PLACE, abs, ceil, clamp, clamp_, clamp_max, clamp_min, cos,  # noqa: F401
                    exp, expm1, floor, log, log1p, neg, relu, relu_, round, sigmoid, sign, sin,
                    sqrt, tanh, trunc)


# ---- binary ------------------------------------------------------------------------------------
class Add(Op):
    rule = "grad_a = grad ; grad_b = grad"
    ufunc = "add"

    def forward(self, a, b):
        return a + b

    def backward(self, grad):
        return grad, grad

    vjp = backward  # the same code works on Tensors (recorded)


class Sub(Op):
    rule = "grad_a = grad ; grad_b = -grad"
    ufunc = "subtract"

    def forward(self, a, b):
        return a - b

    def backward(self, grad):
        return grad, (None if self.next_functions[1][0] is None else -grad)

    vjp = backward


class Mul(Op):
    rule = "grad_a = grad * b ; grad_b = grad * a"
    ufunc = "multiply"
    saves = (0, 1)
    reads_for = {0: 1, 1: 0}

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, grad):
        (to_a, _), (to_b, _) = self.next_functions  # needs(0), needs(1) without two calls
        return (None if to_a is None else grad * self.b, None if to_b is None else grad * self.a)

    def vjp(self, grad):
        a, b = self.saved_input(0, self.a), self.saved_input(1, self.b)
        return (grad * b if self.needs(0) else None, grad * a if self.needs(1) else None)


class Div(Op):
    rule = "grad_a = grad / b ; grad_b = -grad * a / b**2"
    ufunc = "true_divide"
    saves = (0, 1)
    reads_for = {0: 1}

    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, grad):
        (to_a, _), (to_b, _) = self.next_functions
        return (None if to_a is None else grad / self.b,
                None if to_b is None else -grad * self.a / (self.b * self.b))

    def vjp(self, grad):
        a, b = self.saved_input(0, self.a), self.saved_input(1, self.b)
        return (grad / b if self.needs(0) else None,
                -grad * a / (b * b) if self.needs(1) else None)


class Pow(Op):
    rule = "grad_a = grad * b * a**(b-1) ; grad_b = grad * a**b * log(a)"
    saves = (0, 1)

    def forward(self, a, b):
        self.a, self.b = a, b
        return a ** b

    def backward(self, grad):
        a, b = self.a, self.b
        (to_a, _), (to_b, _) = self.next_functions
        ga = gb = None
        if to_a is not None:
            if type(b) in (int, float):
                # x**2, the common case: a + a is exactly 2a, and cheaper than a number times an
                # array; x**0 is constant, its gradient 0 even at x = 0 (not 0 * inf)
                ga = grad * (a + a) if b == 2 else grad * b * a ** (b - 1) if b else grad * 0
            else:
                xp = _xp(a, b)
                with xp.errstate(divide="ignore", invalid="ignore"):
                    ga = xp.where(b == 0, 0, grad * b * a ** (b - 1))
        if to_b is not None:
            xp = _xp(a, b)
            with xp.errstate(divide="ignore", invalid="ignore"):
                gb = grad * a ** b * xp.where(a > 0, xp.log(xp.where(a > 0, a, 1)), 0)
        return ga, gb

    def vjp(self, grad):
        a, b = self.saved_input(0, self.a), self.saved_input(1, self.b)
        ga = gb = None
        if self.needs(0):
            if type(self.b) in (int, float):
                ga = grad * b * a ** (b - 1) if b else grad * 0
            else:
                ga = grad * b * a ** (b - 1) * self.const((self.b != 0).astype(self.a.dtype))
        if self.needs(1):
            if not isinstance(a, Tensor):  # a number to a tensor power: 2.0 ** x
                gb = grad * a ** b * (math.log(a) if a > 0 else 0.0)
            else:
                from .index import where
                gb = grad * a ** b * where(self.const(self.a > 0), a, 1.0).log()
        return ga, gb


class Maximum(Op):
    rule = "grad goes to the larger input (split evenly on ties)"
    saves = (0, 1)

    def forward(self, a, b):
        self.a, self.b = a, b
        return _xp(a, b).maximum(a, b)

    def backward(self, grad):
        return _split(grad, self.a > self.b, self.a == self.b, self)

    def vjp(self, grad):
        share = self.const((self.a > self.b) + 0.5 * (self.a == self.b))
        return (grad * share if self.needs(0) else None, grad * (1 - share) if self.needs(1) else None)


class Minimum(Op):
    rule = "grad goes to the smaller input (split evenly on ties)"
    saves = (0, 1)

    def forward(self, a, b):
        self.a, self.b = a, b
        return _xp(a, b).minimum(a, b)

    def backward(self, grad):
        return _split(grad, self.a < self.b, self.a == self.b, self)

    def vjp(self, grad):
        share = self.const((self.a < self.b) + 0.5 * (self.a == self.b))
        return (grad * share if self.needs(0) else None, grad * (1 - share) if self.needs(1) else None)


class Remainder(Op):
    rule = "grad_a = grad ; grad_b = -grad * floor(a / b)"
    ufunc = "remainder"
    saves = (0, 1)

    def forward(self, a, b):
        self.a, self.b = a, b
        return _xp(a, b).remainder(a, b)  # Python's sign convention, as torch.remainder

    def backward(self, grad):
        gb = -grad * _xp(self.a, self.b).floor_divide(self.a, self.b) if self.needs(1) else None
        return grad, gb

    def vjp(self, grad):
        quotient = _xp(self.a, self.b).floor_divide(self.a, self.b)
        return grad, (-grad * self.const(quotient) if self.needs(1) else None)


def _split(grad, wins, ties, node):
    share = wins + 0.5 * ties
    ga = grad * share if node.needs(0) else None
    gb = grad * (1.0 - share) if node.needs(1) else None
    return ga, gb


# ---- public functions --------------------------------------------------------------------------
def add(a, b, *, alpha=1) -> Tensor:
    return apply_binary(Add, a, b if alpha == 1 else b * alpha, "add")


def sub(a, b, *, alpha=1) -> Tensor:
    return apply_binary(Sub, a, b if alpha == 1 else b * alpha, "sub")


def mul(a, b) -> Tensor:
    return apply_binary(Mul, a, b, "mul")


def _not_float(x) -> bool:
    return isinstance(x, Tensor) and x._data.dtype.kind != "f"


def div(a, b, *, rounding_mode: str | None = None) -> Tensor:
    """a / b; integers divide to the default float dtype, as in PyTorch (int64 / 2 -> float32).
    rounding_mode='floor' is floor_divide, 'trunc' rounds toward zero."""
    if rounding_mode is not None:
        if rounding_mode == "floor":
            return floor_divide(a, b)
        if rounding_mode == "trunc":
            q = floor_divide(a, b)
            return q + ((q < 0) & (remainder(a, b) != 0)).to(q.dtype)
        raise ArgumentError(f"div: rounding_mode must be None, 'floor' or 'trunc', got "
                            f"{rounding_mode!r}")
    if _not_float(a) or _not_float(b):
        from .conversion import to_dtype
        from .dispatch import binary_operands
        from ..dtypes import DEFAULT_FLOAT
        a, b = binary_operands(a, b, "div")
        if a._data.dtype.kind != "f":
            a, b = to_dtype(a, DEFAULT_FLOAT), to_dtype(b, DEFAULT_FLOAT)
    return apply_binary(Div, a, b, "div")


def pow(a, b) -> Tensor:
    return apply_binary(Pow, a, b, "pow")


def _check_int_divisor(b: Tensor, op: str):
    """Integers can't be divided by 0 (floats give inf or nan): PyTorch raises, so does ember."""
    if not b._data.all():
        raise DivisionByZeroError(f"ZeroDivisionError: {op} of integer tensors by 0 (only "
                                  f"floating point division gives inf); check the divisor")


def remainder(a, b) -> Tensor:
    """a % b with the sign of b, like Python and torch.remainder."""
    if not _not_float(a) and not _not_float(b):
        return apply_binary(Remainder, a, b, "remainder")
    from .dispatch import binary_operands
    a, b = binary_operands(a, b, "remainder")
    if a._data.dtype.kind != "f":
        _check_int_divisor(b, "remainder")
    return apply_binary(Remainder, a, b, "remainder")


def floor_divide(a, b) -> Tensor:
    """a // b rounded toward minus infinity; no gradient (it is piecewise constant)."""
    from .dispatch import binary_operands
    a, b = binary_operands(a, b, "floor_divide")
    if a._data.dtype.kind != "f":
        _check_int_divisor(b, "floor_divide")
    return Tensor._make(a.xp.floor_divide(a._data, b._data), a._device)


def maximum(a, b) -> Tensor:
    return apply_binary(Maximum, a, b, "maximum")


def minimum(a, b) -> Tensor:
    return apply_binary(Minimum, a, b, "minimum")


def rsqrt(x: Tensor) -> Tensor:
    """1 / sqrt(x)."""
    return pow(sqrt(x), -1.0)


def reciprocal(x: Tensor) -> Tensor:
    """1 / x (integers give the default float dtype, as in PyTorch)."""
    return div(1.0, x)


def square(x: Tensor) -> Tensor:
    return mul(x, x)


def rsub(a, b):
    return apply_binary(Sub, b, a, "sub")


def rdiv(a, b):
    return div(b, a)


def rpow(a, b):
    return apply_binary(Pow, b, a, "pow")


def _inplace_op(op_cls, name, array_op):
    def method(self, other, *, alpha=1):
        if alpha != 1:
            other = other * alpha
        elif (not _state.enabled and isinstance(other, Tensor) and other._device is self._device
              and other._data.dtype == self._data.dtype):
            # the parameter-update fast path: w -= lr * grad under no_grad
            array_op(self._data, other._data)
            self._vc[0] += 1
            return self
        return inplace(self, op_cls, (other,), name)

    def div_method(self, other, *, alpha=1):
        if self._data.dtype.kind != "f":
            raise DTypeError(f"{name}: result type float can't be cast to the tensor's dtype "
                             f"{self.dtype} in place (true division of integers gives floats); "
                             f"use x = x / y, x //= y, or convert first with .float()")
        return method(self, other, alpha=alpha)

    chosen = div_method if op_cls is Div else method  # the check costs add_/sub_/mul_ nothing
    chosen.__name__ = name
    return chosen


add_, sub_, mul_, div_ = (_inplace_op(c, n, f) for c, n, f in
                          ((Add, "add_", operator.iadd), (Sub, "sub_", operator.isub),
                           (Mul, "mul_", operator.imul), (Div, "div_", operator.itruediv)))


def pow_(x: Tensor, e) -> Tensor:
    return inplace(x, Pow, (e,), "pow_")


METHODS = {
    "__add__": add, "__radd__": add, "__sub__": sub, "__rsub__": rsub,
    "__mul__": mul, "__rmul__": mul, "__truediv__": div, "__rtruediv__": rdiv,
    "__pow__": pow, "__rpow__": rpow, "__mod__": remainder,
    "__rmod__": lambda a, b: remainder(b, a), "__floordiv__": floor_divide,
    "__rfloordiv__": lambda a, b: floor_divide(b, a), "remainder": remainder,
    "floor_divide": floor_divide, "__neg__": neg, "__abs__": abs,
    "__iadd__": add_, "__isub__": sub_, "__imul__": mul_, "__itruediv__": div_,
    "add": add, "sub": sub, "mul": mul, "div": div, "pow": pow, "neg": neg, "exp": exp, "log": log,
    "sqrt": sqrt, "abs": abs, "sign": sign, "tanh": tanh, "sigmoid": sigmoid, "relu": relu, "clamp": clamp,
    "clip": clamp, "sin": sin, "cos": cos, "square": square, "maximum": maximum, "minimum": minimum,
    "add_": add_, "sub_": sub_, "mul_": mul_, "div_": div_, "clamp_": clamp_, "relu_": relu_,
    "pow_": pow_, "log1p": log1p, "expm1": expm1, "floor": floor, "ceil": ceil, "round": round,
    "trunc": trunc, "rsqrt": rsqrt, "reciprocal": reciprocal, "clamp_min": clamp_min,
    "clamp_max": clamp_max, **_IN_PLACE,
}
