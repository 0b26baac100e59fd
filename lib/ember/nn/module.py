"""Module: the base class of every layer and model.

Assigning a Parameter, a Module or a registered buffer to an attribute records it in
`_parameters`, `_modules` or `_buffers`; everything else (`parameters()`, `state_dict()`, `to()`,
`train()`, the printed tree) walks those three dicts. Registered values are also kept in the
instance `__dict__`, so reading `self.weight` costs no more than a plain attribute.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Callable, Iterator

from ..autograd.grad_mode import no_grad
from ..backend import Device
from ..dtypes import as_dtype
from ..tensor import Tensor, parse_to_args
from .hooks import RemovableHandle, add_hook, call_with_hooks
from .parameter import Parameter
from .state_dict import IncompatibleKeys, check_state_dict

__all__ = ["Module", "RemovableHandle"]


def _addindent(text: str, spaces: int) -> str:
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    return lines[0] + "\n" + "\n".join(" " * spaces + line for line in lines[1:])


class Module:
    """Base class of neural-network layers: subclass it, create layers and Parameters in
    `__init__`, compute the output in `forward`, and call the module like a function."""

    training: bool
    _has_hooks = False      # set on the instance by the first register_*_hook

    def __init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "training", True)
        set_(self, "_parameters", OrderedDict())
        set_(self, "_buffers", OrderedDict())
        set_(self, "_non_persistent_buffers_set", set())
        set_(self, "_modules", OrderedDict())
        for name in ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks",
                     "_backward_pre_hooks"):
            set_(self, name, OrderedDict())
        set_(self, "_forward_hooks_with_kwargs", OrderedDict())
        set_(self, "_forward_hooks_always_called", OrderedDict())
        set_(self, "_forward_pre_hooks_with_kwargs", OrderedDict())

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f'Module [{self._get_name()}] is missing the required "forward" '
                                  f"function: define forward(self, x) in your subclass")

    def __call__(self, *args, **kwargs):
        if not self._has_hooks:
            return self.forward(*args, **kwargs)
        return call_with_hooks(self, args, kwargs)

    def _add_hook(self, hooks, hook, prepend, *extra_dicts) -> RemovableHandle:
        object.__setattr__(self, "_has_hooks", True)   # one flag for __call__ to test, never reset
        return add_hook(hooks, hook, prepend, *extra_dicts)

    # ---- hooks (the calling side is in hooks.py) ----------------------------------------------
    def register_forward_pre_hook(self, hook: Callable, *, prepend: bool = False,
                                  with_kwargs: bool = False) -> RemovableHandle:
        """Call `hook(module, args)` before every forward; a non-None return replaces args
        (with_kwargs: `hook(module, args, kwargs)` returning (args, kwargs))."""
        handle = self._add_hook(self._forward_pre_hooks, hook, prepend,
                          self._forward_pre_hooks_with_kwargs)
        if with_kwargs:
            self._forward_pre_hooks_with_kwargs[handle.id] = True
        return handle

    def register_forward_hook(self, hook: Callable, *, prepend: bool = False,
                              with_kwargs: bool = False, always_call: bool = False
                              ) -> RemovableHandle:
        """Call `hook(module, args, output)` after every forward; a non-None return replaces
        the output (with_kwargs: `hook(module, args, kwargs, output)`). always_call: also when
        forward raises (output None)."""
        handle = self._add_hook(self._forward_hooks, hook, prepend, self._forward_hooks_with_kwargs,
                          self._forward_hooks_always_called)
        if with_kwargs:
            self._forward_hooks_with_kwargs[handle.id] = True
        if always_call:
            self._forward_hooks_always_called[handle.id] = True
        return handle

    def register_full_backward_hook(self, hook: Callable, prepend: bool = False
                                    ) -> RemovableHandle:
        """Call `hook(module, grad_input, grad_output)` once the gradients with respect to the
        module's positional inputs are computed; a non-None return (one entry per input)
        replaces grad_input. Each is a tuple, None where there is no gradient."""
        return self._add_hook(self._backward_hooks, hook, prepend)

    def register_full_backward_pre_hook(self, hook: Callable, prepend: bool = False
                                        ) -> RemovableHandle:
        """Call `hook(module, grad_output)` once the gradients with respect to the module's
        outputs are computed, before they flow into it; a non-None return replaces them."""
        return self._add_hook(self._backward_pre_hooks, hook, prepend)

    # ---- registration ------------------------------------------------------------------------
    def _check_init(self, what: str) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {what} before Module.__init__() call: call "
                                 f"super().__init__() first in {type(self).__name__}.__init__")

    def _check_name(self, name, what: str) -> None:
        if not isinstance(name, str):
            raise TypeError(f"{what} name should be a string, got {type(name).__name__}")
        if name == "" or "." in name:
            raise KeyError(f'{what} name must be non-empty and must not contain ".", got {name}')

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter (or None, a declared but absent parameter such as a missing bias)."""
        self._check_init("parameters")
        self._check_name(name, "parameter")
        if hasattr(self, name) and name not in self._parameters:
            raise KeyError(f"attribute '{name}' already exists")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{type(param).__name__}' object to parameter '{name}' "
                            f"(ember.nn.Parameter or None required); wrap a tensor as "
                            f"nn.Parameter(tensor)")
        self._parameters[name] = param
        object.__setattr__(self, name, param)

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Add a tensor that belongs to the module's state but is not learned (BatchNorm's
        running_mean); it moves with `to()` and, if persistent, is saved in `state_dict()`."""
        self._check_init("buffers")
        self._check_name(name, "buffer")
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"attribute '{name}' already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' "
                            f"(ember.Tensor or None required)")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)
        object.__setattr__(self, name, tensor)

    def add_module(self, name: str, module: "Module | None") -> None:
        self._check_init("child modules")
        self._check_name(name, "module")
        if not isinstance(module, Module) and module is not None:
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        self._modules[name] = module
        object.__setattr__(self, name, module)

    register_module = add_module

    def __setattr__(self, name: str, value) -> None:
        d = self.__dict__
        if isinstance(value, Parameter):
            self._check_init("parameters")
            if name not in d["_parameters"]:
                for table in ("_buffers", "_modules", "__dict__"):
                    (d if table == "__dict__" else d[table]).pop(name, None)
            self.register_parameter(name, value)
        elif "_parameters" in d and name in d["_parameters"]:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                                f"(ember.nn.Parameter or None expected)")
            self.register_parameter(name, value)
        elif isinstance(value, Module):
            self._check_init("child modules")
            d["_parameters"].pop(name, None)
            d["_buffers"].pop(name, None)
            d["_non_persistent_buffers_set"].discard(name)
            d["_modules"][name] = value
            object.__setattr__(self, name, value)
        elif "_modules" in d and name in d["_modules"]:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as child module '{name}' "
                                f"(ember.nn.Module or None expected)")
            d["_modules"][name] = None
            object.__setattr__(self, name, None)
        elif "_buffers" in d and name in d["_buffers"]:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' "
                                f"(ember.Tensor or None expected)")
            d["_buffers"][name] = value
            object.__setattr__(self, name, value)
        else:
            object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        for table in ("_parameters", "_buffers", "_modules"):
            self.__dict__[table].pop(name, None)
        self._non_persistent_buffers_set.discard(name)
        object.__delattr__(self, name)

    def __getattr__(self, name: str):
        # only reached when normal lookup fails
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    # ---- walking the tree --------------------------------------------------------------------
    def named_modules(self, memo: set | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, "Module"]]:
        """(name, module) for this module and every module inside it, depth first."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if self in memo:
                return
            memo.add(self)
        yield prefix, self
        for name, m in self._modules.items():
            if m is None:
                continue
            yield from m.named_modules(memo, prefix + ("." if prefix else "") + name,
                                       remove_duplicate)

    def modules(self) -> Iterator["Module"]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, "Module"]]:
        seen = set()
        for name, m in self._modules.items():
            if m is not None and m not in seen:
                seen.add(m)
                yield name, m

    def children(self) -> Iterator["Module"]:
        for _, m in self.named_children():
            yield m

    def _named_members(self, table: str, prefix: str, recurse: bool, remove_duplicate: bool):
        seen = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse \
            else [(prefix, self)]
        for mod_prefix, m in mods:
            for name, v in m.__dict__[table].items():
                if v is None or (remove_duplicate and id(v) in seen):
                    continue
                seen.add(id(v))
                yield mod_prefix + ("." if mod_prefix else "") + name, v

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        """('layer.weight', Parameter) pairs; a parameter shared by two layers appears once."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Every learnable tensor of the module and its submodules (what an optimizer updates)."""
        return iter(self._members("_parameters", recurse))

    def _members(self, table: str, recurse: bool) -> list:
        """The values of `table` in every module, depth first, without names or duplicates
        (the fast path of parameters() and buffers(), called every training step)."""
        out, seen_p, seen_m = [], set(), set()
        stack = [self]
        while stack:
            m = stack.pop()
            if m in seen_m:
                continue
            seen_m.add(m)
            for v in m.__dict__[table].values():
                if v is not None and id(v) not in seen_p:
                    seen_p.add(id(v))
                    out.append(v)
            if recurse:
                stack.extend(c for c in reversed(m._modules.values()) if c is not None)
        return out

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        return iter(self._members("_buffers", recurse))

    def get_submodule(self, target: str) -> "Module":
        mod = self
        for part in target.split(".") if target else []:
            if part not in mod._modules:
                raise AttributeError(f"{mod._get_name()} has no submodule `{part}` (in '{target}')")
            mod = mod._modules[part]
        return mod

    def get_parameter(self, target: str) -> Parameter:
        mod_path, _, name = target.rpartition(".")
        mod = self.get_submodule(mod_path)
        if name not in mod._parameters:
            raise AttributeError(f"{mod._get_name()} has no parameter `{name}`")
        return mod._parameters[name]

    # ---- state -------------------------------------------------------------------------------
    def state_dict(self, destination=None, prefix: str = "", keep_vars: bool = False) -> OrderedDict:
        """Every parameter and persistent buffer by dotted name; the tensors share memory with
        the module (detached unless keep_vars=True). Save it with ember.save."""
        if destination is None:
            destination = OrderedDict()
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = b if keep_vars else b.detach()
        for name, m in self._modules.items():
            if m is not None:
                m.state_dict(destination, prefix + name + ".", keep_vars)
        return destination

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False) -> IncompatibleKeys:
        """Copy values from `state_dict` into the parameters and buffers, in place.

        With strict=True, missing or unexpected keys are an error; a shape mismatch always is.
        Returns (missing_keys, unexpected_keys)."""
        own = self.state_dict(keep_vars=True)
        missing, unexpected = check_state_dict(own, state_dict, strict, self._get_name())
        with no_grad():
            for key, target in own.items():
                if key in state_dict:
                    target.copy_(state_dict[key])
        return IncompatibleKeys(missing, unexpected)

    # ---- modes and gradients -----------------------------------------------------------------
    def train(self, mode: bool = True) -> "Module":
        """Training mode (Dropout drops, BatchNorm uses batch statistics) for this module and
        every submodule; `train(False)` is `eval()`."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be a bool")
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self) -> "Module":
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients of every parameter (set them to None, or to zeros)."""
        for p in self._members("_parameters", True):
            if p._grad is None:
                continue
            if set_to_none:
                p._grad = None
            else:
                p._grad._data[...] = 0

    def apply(self, fn: Callable[["Module"], None]) -> "Module":
        """Call fn on every submodule (children first) and then on self; e.g. custom init."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # ---- devices and dtypes ------------------------------------------------------------------
    def _apply(self, convert: Callable[[Tensor], Tensor]) -> "Module":
        """Convert every parameter (in place: same Parameter object), gradient and buffer."""
        for m in self.modules():
            for p in m._parameters.values():
                if p is None:
                    continue
                with no_grad():
                    new = convert(p)
                    p.data = new
                    if p._grad is not None:
                        p._grad = convert(p._grad)
            for name, b in m._buffers.items():
                if b is not None:
                    with no_grad():
                        setattr(m, name, convert(b))
        return self

    def to(self, *args, **kwargs) -> "Module":
        """`model.to('cuda')`, `model.to(ember.float64)`, `model.to(device, dtype)`: moves and
        converts parameters and buffers in place (floating point ones only change dtype)."""
        device, dtype = parse_to_args(args, kwargs.get("device"), kwargs.get("dtype"))
        if dtype is not None:
            dtype = as_dtype(dtype)
            if not dtype.is_floating_point:
                raise TypeError(f"nn.Module.to only accepts floating point dtypes, got {dtype}")
        if device is not None:
            device = Device(device)

        def convert(t: Tensor) -> Tensor:
            out = t
            if dtype is not None and t.is_floating_point():
                out = out.to(dtype)
            if device is not None:
                out = out.to(device)
            return out
        return self._apply(convert)

    def cuda(self, device=None) -> "Module":
        return self.to(Device("cuda", device) if isinstance(device, int) or device is None
                       else device)

    def cpu(self) -> "Module":
        return self.to("cpu")

    def float(self) -> "Module":
        return self.to(as_dtype("float32"))

    def double(self) -> "Module":
        return self.to(as_dtype("float64"))

    def half(self) -> "Module":
        return self.to(as_dtype("float16"))

    def type(self, dst_type) -> "Module":
        device = getattr(dst_type, "device", None)  # a legacy type such as ember.cuda.FloatTensor
        if device is not None:
            return self.to(device, dst_type.dtype)
        return self.to(dst_type)

    # ---- printing ----------------------------------------------------------------------------
    def _get_name(self) -> str:
        return type(self).__name__

    def extra_repr(self) -> str:
        """The text inside the parentheses of this module's line in the printed tree."""
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({key}): " + _addindent(repr(m), 2) for key, m in self._modules.items()]
        lines = extra_lines + child_lines
        text = self._get_name() + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                text += extra_lines[0]
            else:
                text += "\n  " + "\n  ".join(lines) + "\n"
        return text + ")"

    def __dir__(self):
        return sorted(set(super().__dir__()))

