"""Parameter: a tensor that a Module registers as one of its learnable weights."""
from __future__ import annotations

from ..errors import DTypeError
from ..tensor import Tensor


class Parameter(Tensor):
    """A Tensor that requires grad and that `Module.__setattr__` registers, so it shows up in
    `module.parameters()` (what an optimizer updates) and in `module.state_dict()`.

    It shares memory (and the in-place version counter) with the tensor it wraps, like PyTorch.
    """

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True):
        if data is None:
            from ..creation import empty
            data = empty(0)
        elif not isinstance(data, Tensor):
            raise TypeError(f"Parameter(data) takes a Tensor, got {type(data).__name__}; "
                            f"wrap it first: nn.Parameter(ember.tensor(data))")
        if requires_grad and data._data.dtype.kind != "f":
            raise DTypeError(f"Parameter: only floating point tensors can require gradients, got "
                             f"{data.dtype}; convert it first (data.float()) or pass "
                             f"requires_grad=False")
        self._data = data._data
        self._device = data._device
        self._requires_grad = bool(requires_grad)
        self._grad = None
        self._grad_fn = None
        self._vc = data._vc

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        p = Parameter(Tensor._make(self._data.copy(), self._device), self._requires_grad)
        if self._grad is not None:
            p._grad = self._grad.__deepcopy__(memo)
        memo[id(self)] = p
        return p
