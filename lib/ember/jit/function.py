"""`TracedFunction`: a graph made by `jit.trace` or `jit.script`, callable like the code it came
from. A call runs the graph in a Session and, when gradients are wanted, records one autograd node
whose backward runs the graph's symbolic gradient (`ember.static.gradients`), so `.backward()`
reaches the inputs and the module's parameters, which the graph reads live (as in PyTorch, a traced
module shares its parameters with the module)."""
from __future__ import annotations

import numpy as np

from ..autograd.function import Op
from ..autograd.grad_mode import is_grad_enabled
from ..static import graph as sg
from ..tensor import Tensor


class TracedFunction:
    """A traced graph you can call like the function it came from. `graph` is the IR; the
    weights live in `state` (Variable name -> array)."""

    def __init__(self, graph: sg.Graph, state: dict, frozen: list, many: bool,
                 optimize: bool = True, params: dict | None = None):
        self.graph = graph
        self._state = dict(state)
        self.params = dict(params or {})     # Variable name -> live parameter tensor
        self.frozen_branches = list(frozen)
        self._many = many
        self._optimize = optimize
        self._session = None
        self._backward = None
        self.example_shapes = None          # set by trace: the shapes it was recorded at

    @property
    def state(self) -> dict:
        """Variable name -> its value now (a parameter's current array)."""
        return {**self._state, **{k: p._data for k, p in self.params.items()}}

    def _sess(self):
        if self._session is None:
            from ..static.session import Session
            self.graph.initial_state = self._state
            self._session = Session(graph=self.graph, optimize=self._optimize)
        self._session._rt.state.update({k: p._data for k, p in self.params.items()})
        return self._session

    def _feeds(self, inputs) -> dict:
        if len(inputs) != len(self.graph.inputs):
            raise TypeError(f"traced function takes {len(self.graph.inputs)} input(s), got "
                            f"{len(inputs)}")
        return {p: (x._data if isinstance(x, Tensor) else x)
                for p, x in zip(self.graph.inputs, inputs)}

    def run(self, *inputs) -> list:
        """The graph's outputs as arrays (no autograd)."""
        outs = self._sess().run(list(self.graph.outputs), self._feeds(inputs))
        return [np.asarray(o) for o in outs]

    def __call__(self, *inputs):
        params = list(self.params.values())
        wants = is_grad_enabled() and any(isinstance(t, Tensor) and t.requires_grad
                                          for t in (*inputs, *params)) \
            and any(o.dtype.kind == "f" for o in self.graph.outputs)
        if not wants:
            outs = [Tensor._make(o) for o in self.run(*inputs)]
        else:
            flat = _GraphCall.apply(*inputs, *params, fn=self, n_inputs=len(inputs))
            outs, k = [], 0
            for o in self._last_outputs:
                if o.dtype.kind == "f":
                    outs.append(flat[k:k + o.size].reshape(o.shape) if self._n_float > 1 else flat)
                    k += o.size
                else:
                    outs.append(Tensor._make(o))
        return tuple(outs) if self._many else outs[0]

    # ---- backward: the graph's symbolic gradient, built once ------------------------------------
    def _gradient_session(self):
        if self._backward is None:
            self._backward = _build_backward(self)
        return self._backward

    def _run_backward(self, arrays, n_inputs: int, grads: list) -> tuple:
        sess, seeds, targets = self._gradient_session()
        sess._rt.state.update({k: p._data for k, p in self.params.items()})
        feeds = {p: a for p, a in zip(sess.graph.inputs, arrays[:n_inputs])}
        feeds.update(zip(seeds, grads))
        fetch = [g for g in targets if g is not None]
        values = iter(sess.run(fetch, feeds)) if fetch else iter(())
        return tuple(np.asarray(next(values)) if g is not None else None for g in targets)

    # ---- reading ----------------------------------------------------------------------------
    @property
    def num_nodes(self) -> int:
        return self.graph.num_nodes

    def listing(self) -> str:
        text = self.graph.listing()
        for msg in self.frozen_branches:
            text += f"\n  # frozen at trace time: {msg}"
        return text

    def __str__(self):
        return self.listing()

    def __repr__(self):
        return f"<ember.jit.TracedFunction: {self.graph.num_nodes} nodes>"

    def _repr_pretty_(self, p, cycle):
        p.text(self.listing())

    def optimized_graph(self, verbose: bool = False, shapes=None) -> sg.Graph:
        """The graph a call runs: specialized to `shapes` (one per input; default: the example
        inputs' shapes) and optimized by ember.static.passes."""
        from ..static import passes
        from ..static.rewrite import extract
        shapes = shapes if shapes is not None else self.example_shapes
        graph = self.graph
        if shapes is not None:
            graph, _ = extract(graph, list(graph.outputs),
                               {p: (tuple(s), p.dtype) for p, s in zip(graph.inputs, shapes)})
        return passes.optimize(graph, verbose=verbose)

    def save(self, path) -> None:
        from ..static.serialize import save_graph
        save_graph(path, self.graph, self.state)


class _GraphCall(Op):
    """One call of a traced graph as one autograd node: forward runs the graph, backward its
    gradient graph. Several floating point outputs travel as one flat array (sliced after)."""

    def forward(self, *arrays, fn, n_inputs):
        self.fn, self.n_inputs, self.arrays = fn, n_inputs, arrays
        outs = fn.run(*arrays[:n_inputs])
        fn._last_outputs = outs
        floats = [o for o in outs if o.dtype.kind == "f"]
        fn._n_float = len(floats)
        self.shapes = [o.shape for o in floats]
        if not floats:
            raise TypeError("this traced function returns no floating point tensor: nothing to "
                            "differentiate")
        if len(floats) == 1:
            return floats[0]
        if len({o.dtype for o in floats}) > 1:
            raise TypeError("a traced function whose outputs have different float dtypes can't "
                            "be differentiated")
        return np.concatenate([o.ravel() for o in floats])

    def backward(self, grad):
        grads, k = [], 0
        for shape in self.shapes:
            size = int(np.prod(shape))
            grads.append(grad.reshape(shape) if len(self.shapes) == 1 else
                         grad[k:k + size].reshape(shape))
            k += size
        return self.fn._run_backward(self.arrays, self.n_inputs, grads)


def _build_backward(fn: TracedFunction):
    """A copy of the graph plus its gradient: (session, seed placeholders, one gradient node per
    forward input and parameter, None where the output does not depend on it, as in PyTorch)."""
    from ..static.autodiff import gradients
    from ..static.ops import emit
    from ..static.rewrite import Rewriter
    from ..static.session import Session
    rw = Rewriter(fn.graph)
    for n in fn.graph.nodes:
        rw.copy(n)
    g = rw.finish()
    with g.as_default():
        outs = [o for o in g.outputs if o.dtype.kind == "f"]
        seeds = [emit("placeholder", (), {"shape": o.shape, "dtype": o.dtype}, "grad_output")
                 for o in outs]
        top_vars = {n.attrs["var"]: n for n in g.nodes if n.op == "variable"}
        xs = list(g.inputs) + [top_vars.get(name) for name in fn.params]
        wanted = [x for x in xs if x is not None and x.dtype.kind == "f"]
        grads = dict(zip(wanted, gradients(outs, wanted, grad_ys=seeds))) if wanted else {}
        targets = [grads.get(x) if x is not None else None for x in xs]  # None: not used
    g.initial_state = fn._state
    return Session(graph=g), seeds, targets
