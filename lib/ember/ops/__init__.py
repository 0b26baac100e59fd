"""Every differentiable op of ember, one family a module; each module's METHODS become Tensor
methods here, so `x.relu()` and `ember.relu(x)` are the same function."""
from .. import creation as _creation
from ..tensor import Tensor
from . import (compare, conversion, elementwise, fill, index, linalg, matmul, reduce, scatter,
               shape, sort)

for _module in (elementwise, reduce, shape, matmul, index, scatter, compare, fill,
                conversion, linalg, sort):
    for _name, _fn in _module.METHODS.items():
        setattr(Tensor, _name, _fn)
for _name, _fn in _creation.METHODS.items():
    setattr(Tensor, _name, _fn)
