"""Nodes of the backward graph: what `tensor.grad_fn` holds.

A Node remembers, for one op applied in the forward pass, where each input's gradient must go
(`next_functions`) and what its backward needs. The engine walks these nodes from the output.
"""
from __future__ import annotations

from itertools import count

from ..errors import AutogradError

_sequence = count()  # creation order: a node is always newer than the nodes it sends grads to


class Node:
    """One step of the backward pass. Subclasses: `Op` (built-in ops), `BackwardCFunction`
    (user `autograd.Function`s) and `AccumulateGrad` (leaves).

    Graph fields live in slots; what backward needs (the values a subclass saves, the versions
    they were saved at, hooks) lives in `__dict__`, so freeing a node after backward is one
    `__dict__.clear()`. Fields most nodes never set are class defaults, not written per node.
    """

    __slots__ = ("next_functions", "output_shape", "output_dtype", "_seq", "_metadata",
                 "__dict__", "__weakref__")
    rule: str = ""  # the local gradient rule, for teaching widgets
    # next_functions: ((Node | None, output_index), ...), one per input
    # output_shape, output_dtype (numpy's): what the engine shapes and casts incoming grads to
    # _saved_versions: ((version_counter, version_at_save, input index or -1 for the output), ...)
    _saved_versions: tuple = ()
    _freed = False      # set once backward has dropped the saved values
    _hooks = None       # list of register_hook functions
    _pre_hooks = None   # Tensor.register_hook functions (and RetainGrads) of the tensor this
                        # node made, or of the leaf (AccumulateGrad)

    def _init_graph(self, next_functions=(), output_shape=(), output_dtype=None):
        self.next_functions = next_functions
        self.output_shape = output_shape
        self.output_dtype = output_dtype
        self._seq = next(_sequence)

    @classmethod
    def _backward_name(cls) -> str:
        return f"{cls.__name__}Backward0"

    def name(self) -> str:
        return self._backward_name()

    @property
    def metadata(self) -> dict:
        """Free-form notes about this node (kept after backward frees its saved values)."""
        md = getattr(self, "_metadata", None)
        if md is None:
            md = self._metadata = {}
        return md

    def register_hook(self, fn):
        """Call `fn(grad_inputs, grad_outputs)` (tuples of Tensors or None) when this node runs."""
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(fn)
        return _RemovableHandle(self._hooks, fn)

    def backward(self, grad):
        raise NotImplementedError

    def vjp(self, grad):
        """backward recorded in the graph (create_graph=True): a Tensor in, one Tensor (or None)
        per input out, computed with ember's differentiable ops."""
        from .higher import no_vjp
        raise no_vjp(self)

    def needs(self, i: int) -> bool:
        """Whether input `i` wants a gradient (backward may skip computing the others)."""
        return self.next_functions[i][0] is not None

    def _check_versions(self):
        """Raise if a tensor that backward reads was modified in place after it was saved."""
        for counter, version, which in self._saved_versions:
            if counter[0] != version:
                what = "its output" if which == -1 else f"saved input {which}"
                raise AutogradError(
                    f"one of the tensors needed for gradient computation has been modified by an "
                    f"in-place operation: {what} of {self.name()} is at version {counter[0]}; "
                    f"expected version {version} instead. Compute it out of place (e.g. `x = x + 1` "
                    f"instead of `x += 1`) or clone() it before the in-place op.")

    def _release(self):
        """Drop what backward needed, so memory goes back once the pass is over."""
        self.__dict__.clear()
        self._freed = True

    def __repr__(self):
        return f"<{self.name()} object at {id(self):#x}>"


class AccumulateGrad(Node):
    """The node of a leaf tensor that requires grad: backward adds the gradient into `.grad`."""

    __slots__ = ("variable",)
    rule = "leaf.grad += grad"

    def __init__(self, variable):
        self.next_functions = ()
        self._seq = next(_sequence)
        self.variable = variable

    @property
    def output_shape(self) -> tuple:
        return self.variable._data.shape

    @property
    def output_dtype(self):
        return self.variable._data.dtype

    def name(self) -> str:
        return "AccumulateGrad"

    def _release(self):
        pass


class RetainGrad:
    """The tensor hook of retain_grad(): stores the gradient in the tensor's .grad."""

    __slots__ = ("ref",)

    def __init__(self, ref):
        self.ref = ref


class _RemovableHandle:
    def __init__(self, hooks: list, fn):
        self.hooks, self.fn = hooks, fn

    def remove(self):
        if self.fn in self.hooks:
            self.hooks.remove(self.fn)


def ensure_not_freed(node: Node):
    if node._freed:
        raise AutogradError(
            f"Trying to backward through the graph a second time (at {node.name()}): its saved "
            f"values were freed after the first backward. Call .backward(retain_graph=True) the "
            f"first time if you need to backward twice, or recompute the forward pass.")
