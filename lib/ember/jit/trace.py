"""Tracing: run eager code once on example inputs, recording every op into an ember.static graph.

Recording works like torch.jit.trace: while tracing, `Op.apply` (the one door through which every
built-in op enters ember's autograd) and the comparison operators are wrapped so each call also
emits the matching static node. Python control flow is not recorded: an `if` on a tensor runs
once, at trace time, and the branch it took is frozen into the graph (with a TracerWarning).
"""
from __future__ import annotations

import contextlib
import warnings

import numpy as np

from ..autograd.function import Op
from ..tensor import Tensor
from ..static import graph as sg
from ..static.ops import constant, emit
from .convert import convert


class TracerWarning(UserWarning):
    """The trace may not generalize: a Python decision depended on the traced data."""


class _Tracer:
    def __init__(self, graph: sg.Graph, names: dict):
        self.root = self.graph = graph      # `graph`: where ops go now (a branch or loop body)
        self.nodes: dict[int, tuple] = {}   # id(array) -> (node, version counter, version)
        self.keep: list = []                # keeps traced arrays alive so ids stay unique
        self.names = names                  # id(parameter array) -> parameter name
        self.state: dict = {}
        self.params: dict = {}              # Variable name -> the live parameter tensor
        self.frozen: list[str] = []
        self.paused = False                 # jit.script runs some Python without recording
        self.on_decision = None             # jit.script: a Python decision on a traced tensor

    def bind(self, t: Tensor, node: sg.Node) -> None:
        self.nodes[id(t._data)] = (node, t._vc, t._vc[0])
        self.keep.append(t._data)

    def traced(self, t: Tensor) -> sg.Node | None:
        entry = self.nodes.get(id(t._data))
        if entry is None:
            return None
        node, vc, version = entry
        if vc[0] != version:
            raise RuntimeError(f"jit.trace: the tensor of '{node.name}' was modified in place "
                               f"after it was computed; tracing supports out-of-place ops only")
        return node

    def node_of(self, x) -> sg.Node | object:
        """The graph node for an op input: traced tensors, parameters (as Variables), constants.
        New Variables and constants go to the outermost graph (branches capture them)."""
        if not isinstance(x, Tensor):
            return x
        node = self.traced(x)
        if node is not None:
            return node
        value = np.array(x._data, copy=True)
        with self.root.as_default():
            if id(x._data) in self.names or x.requires_grad:
                name = self.root.unique_name(self.names.get(id(x._data), "param"))
                node = self.root.add(sg.Node(self.root, "variable", (), {
                    "var": name, "shape": value.shape, "dtype": value.dtype}, value.shape,
                    value.dtype, name))
                self.state[name] = value
                self.params[name] = x
            else:
                node = constant(value)
        self.bind(x, node)
        return node

    def record(self, cls, inputs, attrs, out: Tensor) -> None:
        if self.paused:
            return
        cond = attrs.get("cond")
        if isinstance(cond, np.ndarray) and id(cond) in self.nodes:   # where(x > 0, ...)
            attrs = dict(attrs, cond=self.nodes[id(cond)][0])
        with self.graph.as_default():
            node = convert(cls.__name__, [self.node_of(i) for i in inputs], attrs, out)
        self.bind(out, node)

    def frozen_branch(self, t: Tensor, what: str) -> None:
        if self.paused:
            return
        node = self.traced(t)
        if node is None:
            return
        if self.on_decision is not None:
            self.on_decision(node, what)
        value = t._data.reshape(()).item() if t._data.size == 1 else "?"
        msg = (f"a Python {what} read the value of traced tensor '{node.name}' ({value!r}): the "
               f"trace froze the path taken (and any value computed in Python from it) for this "
               f"input and will reuse it for every input. "
               f"Use ember.static.cond / where for data-dependent choices, or ember.jit.script.")
        self.frozen.append(msg)
        warnings.warn(msg, TracerWarning, stacklevel=3)


    def frozen_random(self) -> None:
        """Random numbers drawn while tracing (dropout's mask, randn noise) become constants."""
        if self.paused or any(m.startswith("random numbers") for m in self.frozen):
            return
        msg = ("random numbers were drawn while tracing (dropout in training mode, randn...): "
               "the trace holds this one draw as a constant, the same at every call and for "
               "this input's shape only. Trace in eval mode (model.eval()), or draw the noise "
               "outside and pass it in as an input.")
        self.frozen.append(msg)
        warnings.warn(msg, TracerWarning, stacklevel=_outside_ember())


def _outside_ember() -> int:
    """The stacklevel of the nearest caller outside the ember package (the user's line)."""
    import inspect
    import os
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    frame, level = inspect.currentframe().f_back, 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(root):
        frame, level = frame.f_back, level + 1
    return level


class _DrawWarner:
    """Stands in for the global numpy Generator while tracing: any draw is reported."""

    def __init__(self, rng, tracer: _Tracer):
        self._rng, self._tracer = rng, tracer

    def __getattr__(self, name):
        self._tracer.frozen_random()
        return getattr(self._rng, name)


_active: list = []   # the tracer running now (jit.script's control flow reaches it here)


_COMPARE = {"__gt__": "greater", "__ge__": "greater_equal", "__lt__": "less",
            "__le__": "less_equal", "__eq__": "equal", "__ne__": "not_equal"}


@contextlib.contextmanager
def _recording(tracer: _Tracer):
    """Wrap Op.apply, the comparisons and the tensor -> Python conversions while tracing."""
    saved = {"apply": Op.__dict__["apply"]}
    apply = saved["apply"].__func__

    def traced_apply(cls, *inputs, **attrs):
        out = apply(cls, *inputs, **attrs)
        tracer.record(cls, inputs, attrs, out)
        return out
    Op.apply = classmethod(traced_apply)
    for name, opname in _COMPARE.items():
        saved[name] = Tensor.__dict__[name]

        def cmp(a, b, f=saved[name], opname=opname):
            out = f(a, b)
            if isinstance(out, Tensor) and not tracer.paused and any(
                    isinstance(t, Tensor) and tracer.traced(t) is not None for t in (a, b)):
                with tracer.graph.as_default():
                    node = emit(opname, (tracer.node_of(a), tracer.node_of(b)), {}, None)
                tracer.bind(out, node)
            return out
        setattr(Tensor, name, cmp)
    for name, what in (("__bool__", "if/while (bool)"), ("item", ".item()"),
                       ("__float__", "float()"), ("__int__", "int()"), ("numpy", ".numpy()"),
                       ("tolist", ".tolist()"), ("__array__", "numpy conversion")):
        saved[name] = Tensor.__dict__[name]

        def conv(t, *a, f=saved[name], what=what):
            tracer.frozen_branch(t, what)
            was, tracer.paused = tracer.paused, True    # float() calls .item(): warn once
            try:
                return f(t, *a)
            finally:
                tracer.paused = was
        setattr(Tensor, name, conv)
    saved["__getitem__"] = Tensor.__dict__["__getitem__"]

    def getitem(t, index, f=saved["__getitem__"]):
        """x[i] with a traced integer i (a loop counter): a run-time `row` node."""
        if not (isinstance(index, Tensor) and not tracer.paused and index.ndim == 0
                and index._data.dtype.kind in "iu" and tracer.traced(index) is not None):
            return f(t, index)
        tracer.paused = True
        try:
            out = f(t, index)
        finally:
            tracer.paused = False
        with tracer.graph.as_default():
            tracer.bind(out, emit("row", (tracer.node_of(t), tracer.node_of(index)), {}))
        return out
    Tensor.__getitem__ = getitem
    from ..ops import conversion
    to_dtype = conversion.to_dtype

    def traced_to_dtype(x, dtype):
        out = to_dtype(x, dtype)
        if out is not x and not tracer.paused and tracer.traced(x) is not None \
                and tracer.traced(out) is None:   # an int <-> float cast made without an op
            with tracer.graph.as_default():
                tracer.bind(out, emit("cast", (tracer.node_of(x),), {"dtype": out._data.dtype}))
        return out
    conversion.to_dtype = traced_to_dtype
    from ..random import default_generator
    real_rng = default_generator.rng
    default_generator.rng = warner = _DrawWarner(real_rng, tracer)
    _active.append(tracer)
    try:
        yield
    finally:
        _active.pop()
        if default_generator.rng is warner:       # (unless the code called manual_seed)
            default_generator.rng = real_rng
        conversion.to_dtype = to_dtype
        for name, f in saved.items():
            setattr(Op if name == "apply" else Tensor, name, f)


def trace(fn, example_inputs, check_trace: bool = True) -> "TracedFunction":
    """Run `fn(*example_inputs)` (a function or a Module) once and return its graph, callable.
    The graph keeps the example inputs' dtypes and sizes, except the first dimension (the batch):
    like PyTorch's traced modules, a trace made at batch 5 runs at batch 7 when its ops allow it.
    Calling it records one autograd node, so `.backward()` reaches the inputs and parameters."""
    return _trace(fn, example_inputs, check_trace)[0]


def _trace(fn, example_inputs, check_trace: bool = True, setup=None, module=None):
    if isinstance(example_inputs, Tensor):
        example_inputs = (example_inputs,)
    example_inputs = tuple(example_inputs)
    names = {}
    owner = module if module is not None else fn
    if hasattr(owner, "named_parameters"):
        names = {id(p._data): n for n, p in owner.named_parameters()}
    graph = sg.Graph()
    tracer = _Tracer(graph, names)
    if setup is not None:
        setup(tracer)
    with graph.as_default():
        for k, x in enumerate(example_inputs):
            if not isinstance(x, Tensor):
                raise TypeError(f"jit.trace: example inputs must be Tensors, input {k} is a "
                                f"{type(x).__name__}")
            shape = tuple(x.shape)
            ph = emit("placeholder", (), {"shape": (None, *shape[1:]) if shape else (),
                                          "dtype": x._data.dtype},
                      f"input{k}" if len(example_inputs) > 1 else "input")
            graph.inputs.append(ph)
            tracer.bind(x, ph)
    from ..autograd.grad_mode import no_grad
    with _recording(tracer), no_grad():
        result = fn(*example_inputs)
    many = isinstance(result, (tuple, list))
    outs = list(result) if many else [result]
    for o in outs:
        if not isinstance(o, Tensor):
            raise TypeError(f"jit.trace: the traced function must return Tensors, got "
                            f"{type(o).__name__}")
    graph.outputs = [tracer.node_of(o) for o in outs]
    traced = TracedFunction(graph, tracer.state, tracer.frozen, many, params=tracer.params)
    traced.example_shapes = [tuple(x.shape) for x in example_inputs]
    if check_trace:
        from ..autograd.grad_mode import no_grad
        with no_grad():
            got = traced(*example_inputs)
        for g, o in zip(got if many else [got], outs):
            if not np.allclose(g._data, o._data, rtol=1e-5, atol=1e-6, equal_nan=True):
                raise RuntimeError("jit.trace: the traced graph does not reproduce the eager "
                                   "result on the example inputs (an op ember can't trace?)")
    return traced, tracer


from .function import TracedFunction  # noqa: E402
