"""Listening to the backward pass through the public hook API.

`GradRecorder.attach(nodes)` registers `node.register_hook(fn(grad_inputs, grad_outputs))` on
autograd nodes and keeps, for each node, the gradient that reached it (grad_outputs[0]) and every
call in the order the engine made them. `detach()` removes the hooks again.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class HookCall:
    node: object                  # the autograd Node that ran
    grad_inputs: tuple            # gradients it sent to each input (Tensors or None)
    grad_outputs: tuple           # gradient it received (the upstream gradient)


class GradRecorder:
    def __init__(self, on_call=None):
        self.grads: dict = {}            # node -> upstream gradient (latest backward)
        self.calls: list = []            # HookCall, in engine order
        self.on_call = on_call
        self._handles: list = []

    def attach(self, nodes):
        for node in nodes:
            if not hasattr(node, "register_hook"):
                continue
            self._handles.append(node.register_hook(self._hook_for(node)))
        return self

    def _hook_for(self, node):
        def hook(grad_inputs, grad_outputs):
            grad_inputs, grad_outputs = tuple(grad_inputs or ()), tuple(grad_outputs or ())
            if grad_outputs:
                self.grads[node] = grad_outputs[0]
            self.calls.append(HookCall(node, grad_inputs, grad_outputs))
            if self.on_call is not None:
                self.on_call(node)
        return hook

    def detach(self):
        for h in self._handles:
            remove = getattr(h, "remove", None)
            if remove is not None:
                remove()
        self._handles.clear()

    def clear(self):
        self.grads.clear()
        self.calls.clear()
