"""Every differentiable op of ember, one family a module; each module's METHODS become Tensor
methods here, so `x.relu()` and `ember.relu(x)` are the same function."""
from ..tensor import Tensor
from . import (compare, conversion, elementwise, fill, index, linalg, matmul, reduce, scatter,
               shape)

for _module in (elementwise, reduce, shape, matmul, index, scatter, compare, fill,
                conversion, linalg):
    for _name, _fn in _module.METHODS.items():
        setattr(Tensor, _name, _fn)
