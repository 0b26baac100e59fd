"""numpy ufuncs given a Tensor (`Tensor.__array_ufunc__`).

numpy's operators defer to Tensor's own (`ndarray + t`, `ndarray < t` give Tensors, recorded by
autograd). Any other ufunc (`np.exp(t)`) computes in numpy and returns a Tensor, as PyTorch does,
unless the tensor requires grad: numpy can't record it, so that is an error that says what to write.
"""
from __future__ import annotations

_OPS = {"add": "add", "subtract": "sub", "multiply": "mul", "true_divide": "truediv", "divide": "truediv",
        "floor_divide": "floordiv", "remainder": "mod", "power": "pow", "matmul": "matmul"}
_COMPARE = {"equal": ("eq", "eq"), "not_equal": ("ne", "ne"), "less": ("lt", "gt"),
            "less_equal": ("le", "ge"), "greater": ("gt", "lt"), "greater_equal": ("ge", "le")}


def array_ufunc(self, ufunc, method, *inputs, **kwargs):
    from .errors import AutogradError
    from .tensor import Tensor
    name = ufunc.__name__
    if method == "__call__" and len(inputs) == 2 and set(kwargs) <= {"out"}:
        a, b = inputs
        if name in _OPS:
            op = getattr(a, f"__{_OPS[name]}__") if isinstance(a, Tensor) else getattr(b, f"__r{_OPS[name]}__", None)
            return NotImplemented if op is None else op(b if isinstance(a, Tensor) else a)
        if name in _COMPARE:
            op, reflected = _COMPARE[name]
            return getattr(a, f"__{op}__")(b) if isinstance(a, Tensor) else getattr(b, f"__{reflected}__")(a)
    tensors = [x for x in inputs if isinstance(x, Tensor)]
    if any(t.requires_grad for t in tensors) or "out" in kwargs:
        call = f"np.{name}()" if method == "__call__" else f"np.{name}.{method}()"
        raise AutogradError(f"{call} got a tensor that requires grad: numpy can't record it for backward. "
                            f"Use ember's own op (ember.{name}(t) or t.{name}()) to stay in the graph, or "
                            f"t.detach().numpy() for a plain numpy array")
    arrays = [x.numpy() if isinstance(x, Tensor) else x for x in inputs]
    result = getattr(ufunc, method)(*arrays, **kwargs)
    from .creation import tensor
    wrap = lambda r: tensor(r) if hasattr(r, "dtype") else r
    return tuple(wrap(r) for r in result) if isinstance(result, tuple) else wrap(result)
