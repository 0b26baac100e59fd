"""Module hooks: code that runs around a module's forward, or when its gradients are computed.

    handle = model.fc.register_forward_hook(lambda m, args, out: print(out.shape))
    handle = model.fc.register_full_backward_hook(lambda m, grad_in, grad_out: ...)
    handle.remove()

Backward hooks need to know when *all* of a module's input (or output) gradients are ready.
They wrap the module's inputs and outputs in identity nodes that record each gradient and send
a dummy zero to one shared "sink" node made just before them. The engine runs newer nodes
first, and a sink is older than its identity nodes, so by the time a sink runs every gradient
of its group has arrived: the sink calls the hooks and sends the (possibly replaced) gradients
on to where the identities would have sent them.
"""
from __future__ import annotations

import warnings
import weakref
from collections import OrderedDict

from ..autograd.function import Op
from ..autograd.grad_mode import is_grad_enabled
from ..backend import array_module_of
from ..tensor import Tensor


class RemovableHandle:
    """Returned by the register_*_hook methods: `handle.remove()` unregisters the hook (also
    on leaving `with handle:`)."""

    next_id = 0

    def __init__(self, hooks: dict, *extra_dicts: dict):
        self.hooks_dict_ref = weakref.ref(hooks)
        self.extra_dict_ref = tuple(weakref.ref(d) for d in extra_dicts)
        self.id = RemovableHandle.next_id
        RemovableHandle.next_id += 1

    def remove(self) -> None:
        for ref in (self.hooks_dict_ref, *self.extra_dict_ref):
            d = ref()
            if d is not None:
                d.pop(self.id, None)

    def __enter__(self) -> "RemovableHandle":
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


def add_hook(hooks: OrderedDict, hook, prepend: bool, *extra_dicts: dict) -> RemovableHandle:
    """Register `hook` (first if prepend); its handle also clears its id from extra_dicts."""
    handle = RemovableHandle(hooks, *extra_dicts)
    hooks[handle.id] = hook
    if prepend:
        hooks.move_to_end(handle.id, last=False)
    return handle


# ---- calling a module with hooks ------------------------------------------------------------
def call_with_hooks(module, args: tuple, kwargs: dict):
    """Module.__call__ when any hook is registered: forward pre-hooks, backward wrapping of the
    inputs, forward, forward hooks, backward wrapping of the outputs (PyTorch's order)."""
    with_kwargs = module._forward_pre_hooks_with_kwargs
    for hid, hook in list(module._forward_pre_hooks.items()):
        if hid in with_kwargs:
            new = hook(module, args, kwargs)
            if new is not None:
                if not (isinstance(new, tuple) and len(new) == 2):
                    raise RuntimeError(f"forward pre-hook must return None or a tuple of "
                                       f"(new_args, new_kwargs), but got {new}.")
                args, kwargs = new
        else:
            new = hook(module, args)
            if new is not None:
                args = new if isinstance(new, tuple) else (new,)
    bw = None
    if (module._backward_hooks or module._backward_pre_hooks) and is_grad_enabled():
        bw = BackwardHook(module)
        args = bw.setup_inputs(args)
    always = module._forward_hooks_always_called
    try:
        out = module.forward(*args, **kwargs)
    except Exception:
        for hid, hook in list(module._forward_hooks.items()):
            if hid in always:
                _forward_hook(module, hid, hook, args, kwargs, None)
        raise
    for hid, hook in list(module._forward_hooks.items()):
        new = _forward_hook(module, hid, hook, args, kwargs, out)
        if new is not None:
            out = new
    return out if bw is None else bw.setup_outputs(out)


def _forward_hook(module, hid, hook, args, kwargs, out):
    if hid in module._forward_hooks_with_kwargs:
        return hook(module, args, kwargs, out)
    return hook(module, args, out)


# ---- backward hooks ---------------------------------------------------------------------------
class HookSink(Op):
    """Runs after every identity node of its group: calls the hooks, passes gradients on."""
    rule = "calls the module's backward hooks; grads pass through unchanged unless replaced"

    def forward(self, *arrays, hook=None, side="input"):
        self.hook, self.side = hook, side
        return array_module_of(arrays[0]).zeros((), dtype=arrays[0].dtype)

    def backward(self, grad):
        return self.hook.inputs_ready() if self.side == "input" else self.hook.outputs_ready()

    def vjp(self, grad):
        """create_graph=True: the same, with the gradients kept as (recorded) Tensors."""
        ready = self.hook.inputs_ready if self.side == "input" else self.hook.outputs_ready
        return ready(as_tensors=True)


class BackwardHookFunction(Op):
    """Hands a module input (or output) through unchanged; backward records its gradient.
    (PyTorch's node of the same role is also named BackwardHookFunctionBackward.)"""
    rule = "records grad for the module's backward hooks"

    def forward(self, sink, value=None, hook=None, side="input", slot=0):
        self.hook, self.side, self.slot = hook, side, slot
        self.zero = array_module_of(sink).zeros((), dtype=sink.dtype)
        return value

    def backward(self, grad):
        self.hook.grads[self.side][self.slot] = grad
        return (self.zero,)

    def vjp(self, grad):
        self.hook.grads[self.side][self.slot] = grad
        return (Tensor._make(self.zero, grad._device),)


class BackwardHook:
    """One call of a module with full backward (pre-)hooks: the gradients of its inputs and
    outputs as they arrive, by position."""

    def __init__(self, module):
        self.module = module
        self.grads = {"input": {}, "output": {}}
        self.live = {"input": [], "output": []}
        self.inputs: tuple = ()
        self.outputs: tuple = ()
        self.grad_outputs = None

    def _wrap(self, items: tuple, side: str) -> tuple:
        """Route the tensors among `items` that require grad through identities and a sink."""
        live = [i for i, t in enumerate(items) if isinstance(t, Tensor) and t.requires_grad]
        if not live:
            return items
        sink = HookSink.apply(*(items[i] for i in live), hook=self, side=side)
        self.live[side] = live
        items = list(items)
        for i in live:
            items[i] = BackwardHookFunction.apply(sink, value=items[i]._data, hook=self,
                                                  side=side, slot=i)
        return tuple(items)

    def setup_inputs(self, args: tuple) -> tuple:
        self.inputs = tuple(a if isinstance(a, Tensor) else None for a in args)
        return self._wrap(args, "input")

    def setup_outputs(self, out):
        if isinstance(out, Tensor):
            self.outputs = (out,)
            return self._wrap(self.outputs, "output")[0]
        if isinstance(out, tuple):
            self.outputs = tuple(o if isinstance(o, Tensor) else None for o in out)
            return self._wrap(out, "output")
        warnings.warn(f"For backward hooks to be called, module output should be a Tensor or a "
                      f"tuple of Tensors but received {type(out)}", stacklevel=3)
        return out

    def _collected(self, side: str, like: tuple, zeros: bool) -> tuple:
        """One Tensor (or None) per position; missing gradients of tensors are zeros if asked."""
        got, out = self.grads[side], []
        for i, t in enumerate(like):
            g = got.get(i)
            if g is None and t is not None and zeros:
                g = t.xp.zeros(t._data.shape, dtype=t._data.dtype)
            out.append(g if g is None or isinstance(g, Tensor) else Tensor._make(g, t._device))
        got.clear()
        return tuple(out)

    def outputs_ready(self, as_tensors: bool = False) -> tuple:
        """All output gradients are in: run the backward pre-hooks (which may replace them),
        and the full backward hooks too if no input needs a gradient."""
        grad_outputs = self._collected("output", self.outputs, zeros=False)
        for hook in list(self.module._backward_pre_hooks.values()):
            new = hook(self.module, grad_outputs)
            if new is not None:
                new = tuple(new) if isinstance(new, (tuple, list)) else (new,)
                if len(new) != len(grad_outputs):
                    raise RuntimeError(f"Backward pre hook returned an invalid number of "
                                       f"grad_output, got {len(new)}, but expected "
                                       f"{len(grad_outputs)}")
                grad_outputs = new
        self.grad_outputs = grad_outputs
        if not self.live["input"] and self.module._backward_hooks:
            warnings.warn("Full backward hook is firing when gradients are computed with respect "
                          "to module outputs since no inputs require gradients. See "
                          "https://docs.pytorch.org/docs/main/generated/torch.nn.Module.html"
                          "#torch.nn.Module.register_full_backward_hook for more details.",
                          stacklevel=2)
            self._call_full_hooks((None,) * len(self.inputs))
        return tuple(_unwrap(grad_outputs[i], as_tensors) for i in self.live["output"])

    def inputs_ready(self, as_tensors: bool = False) -> tuple:
        grad_inputs = self._collected("input", self.inputs, zeros=True)
        # no gradient came through the outputs (not tensors, say): the hooks don't run
        new = grad_inputs if self.grad_outputs is None else self._call_full_hooks(grad_inputs)
        return tuple(_unwrap(new[i], as_tensors) for i in self.live["input"])

    def _call_full_hooks(self, grad_inputs: tuple) -> tuple:
        grad_outputs, self.grad_outputs = self.grad_outputs, None  # ready for the next backward
        for hook in list(self.module._backward_hooks.values()):
            new = hook(self.module, grad_inputs, grad_outputs)
            if new is None:
                continue
            new = tuple(new) if isinstance(new, (tuple, list)) else (new,)
            if len(new) != len(grad_inputs):
                raise RuntimeError(f"Backward hook returned an invalid number of grad_input, got "
                                   f"{len(new)}, but expected {len(grad_inputs)}")
            grad_inputs = new
        return grad_inputs


def _unwrap(t, as_tensors: bool):
    if t is None:
        return None
    if not isinstance(t, Tensor):
        raise TypeError(f"backward hooks must return Tensors or None, got {type(t).__name__}")
    return t if as_tensors else t._data
