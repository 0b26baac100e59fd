"""The `Optimizer` base class: parameter groups, per-parameter state, zero_grad and state_dict.

Subclasses implement `_update(p, grad, state, group)`: one parameter's update on raw arrays, in
place, under no_grad. The base class walks the groups, skips parameters without a gradient, and
bumps each updated parameter's version counter (as PyTorch's in-place updates do).
"""
from __future__ import annotations

import copy
from collections import defaultdict
from typing import Any, Callable, Iterable

import numpy as _np

from .. import backend
from ..autograd.grad_mode import no_grad
from ..tensor import Tensor


class _Required:
    def __repr__(self):
        return "<required parameter>"


required = _Required()


class Optimizer:
    """Holds `param_groups` (a list of dicts, each with 'params' and its options) and `state`.

    `params` is an iterable of tensors, or of dicts such as `{'params': model.fc.parameters(),
    'lr': 1e-3}` whose missing options are filled from `defaults`.
    """

    def __init__(self, params: Iterable, defaults: dict):
        self.defaults = dict(defaults)
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict] = []
        if isinstance(params, Tensor):
            raise TypeError(f"{type(self).__name__}: params must be an iterable of tensors or "
                            f"dicts, got a single Tensor; pass [tensor] or model.parameters()")
        groups = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__} got an empty parameter list; did the model "
                             f"register its parameters (e.g. as ember.nn.Parameter)? A generator from "
                             f"model.parameters() is used up after one pass (call it again, or list() it), "
                             f"and layers kept in a plain Python list are not registered: use nn.ModuleList")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)

    def add_param_group(self, param_group: dict) -> None:
        """Add a group (e.g. layers unfrozen while fine-tuning) with its own options."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, got {type(param_group).__name__}")
        group = dict(param_group)
        params = group["params"]
        group["params"] = [params] if isinstance(params, Tensor) else list(params)
        for i, p in enumerate(group["params"]):
            if not isinstance(p, Tensor):
                raise TypeError(f"{type(self).__name__}: parameter {i} of the group is a "
                                f"{type(p).__name__}, expected an ember Tensor")
            if not p.is_leaf:
                raise ValueError(f"{type(self).__name__} can't optimize a non-leaf tensor (made by "
                                 f"{p.grad_fn.name()}); optimize the leaves it was computed from")
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(f"{type(self).__name__}: parameter group didn't specify a value "
                                 f"of required option {name!r}")
            group.setdefault(name, default)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in group["params"]):
            raise ValueError("some parameters appear in more than one parameter group")
        if len({id(p) for p in group["params"]}) != len(group["params"]):
            raise ValueError("a parameter group lists the same tensor twice")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's `.grad` (to None by default, which also saves memory)."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad._data[...] = 0
                    p.grad._vc[0] += 1

    def step(self, closure: Callable[[], Any] | None = None):
        """Update every parameter that has a gradient; `closure` re-evaluates the loss first."""
        loss = None
        if closure is not None:
            from ..autograd.grad_mode import enable_grad
            with enable_grad():
                loss = closure()
        update, state = self._update, self.state
        with no_grad():
            for group in self.param_groups:
                maximize = group.get("maximize", False)
                for p in group["params"]:
                    g = p._grad  # not .grad: the property's checks cost more than this update
                    if g is None:
                        continue
                    grad = -g._data if maximize else g._data
                    update(p, grad, state[p], group)
                    p._vc[0] += 1
        return loss

    def _update(self, p: Tensor, grad, state: dict, group: dict) -> None:
        raise NotImplementedError

    @staticmethod
    def _zeros_like(p: Tensor) -> Tensor:
        """A zero tensor shaped like `p`, on p's device: state entries are Tensors, as in PyTorch
        (`_update` works on their `._data` arrays in place)."""
        return Tensor._make(backend.array_module_of(p._data).zeros_like(p._data), p._device)

    @staticmethod
    def _new_step() -> Tensor:
        """A step counter as PyTorch keeps it: a 0-d float32 tensor on the CPU."""
        return Tensor._make(_np.zeros((), dtype=_np.float32))

    @staticmethod
    def _count_step(state: dict) -> float:
        """Add 1 to state['step'] (a tensor, or a number from an old state_dict) and return it
        (a whole float: int() would cost as much as the rest)."""
        step = state["step"]
        if step.__class__ is not Tensor:
            step = state["step"] = Tensor._make(_np.asarray(step, dtype=_np.float32))
        a = step._data
        t = a.item() + 1.0
        a[()] = t  # not `a += 1`: a ufunc on a 0-d array costs ~15x more
        return t

    # ---- saving and restoring ----------------------------------------------------------------
    def state_dict(self) -> dict:
        """`{'state': {index: {...}}, 'param_groups': [{..., 'params': [indices]}]}` as PyTorch:
        parameters are referred to by their position across all groups."""
        index, groups = {}, []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                packed["params"].append(index[id(p)])
            groups.append(packed)
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                if p in self.state and self.state[p]:
                    state[index[id(p)]] = {k: _wrap(v, p) for k, v in self.state[p].items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore groups' options and per-parameter state saved by `state_dict` (copies it)."""
        name = type(self).__name__
        try:
            saved_groups, saved_state = state_dict["param_groups"], state_dict["state"]
        except (KeyError, TypeError):
            raise ValueError(f"{name}.load_state_dict expects a dict with 'state' and "
                             f"'param_groups' (from optimizer.state_dict())") from None
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: the saved state has {len(saved_groups)} "
                             f"parameter group(s) but this optimizer has {len(self.param_groups)}")
        for i, (mine, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(mine["params"]) != len(saved["params"]):
                raise ValueError(f"{name}.load_state_dict: parameter group {i} has "
                                 f"{len(mine['params'])} parameters but the saved group has "
                                 f"{len(saved['params'])}")
        by_index = {}
        for mine, saved in zip(self.param_groups, saved_groups):
            by_index.update(zip(saved["params"], mine["params"]))
        self.state = defaultdict(dict)
        for key, st in saved_state.items():
            p = by_index.get(int(key))
            if p is None:
                raise ValueError(f"{name}.load_state_dict: state for parameter index {key} which "
                                 f"no group lists")
            self.state[p] = {k: _unwrap(v, p, k) for k, v in st.items()}
        for mine, saved in zip(self.param_groups, saved_groups):
            params = mine["params"]
            mine.clear()
            mine.update(copy.deepcopy({k: v for k, v in saved.items() if k != "params"}))
            mine["params"] = params

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for k in sorted(group):
                if k != "params":
                    lines.append(f"    {k}: {group[k]}")
        return "\n".join(lines) + "\n)"


def _wrap(value, p: Tensor):
    """State leaves as Tensors (copies, so later steps don't change a saved state_dict)."""
    if isinstance(value, Tensor):
        return Tensor._make(value._data.copy(), value._device)
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return Tensor._make(value.copy(), p._device)
    return copy.deepcopy(value)


def _unwrap(value, p: Tensor, key: str):
    """State back as Tensors on p's device, floats cast to p's dtype (as PyTorch does); the
    step counter stays a CPU tensor."""
    if isinstance(value, Tensor):
        if key == "step":
            return Tensor._make(backend.to_numpy(value._data).astype(_np.float32))
        arr = backend.to_device(value._data, p._device)
        if arr.dtype.kind == "f":
            arr = arr.astype(p._data.dtype)
        return Tensor._make(arr.copy(), p._device)
    return copy.deepcopy(value)
