"""The op registry: for every op, its evaluation on arrays, its shape rule and its gradient rule
(which emits new graph nodes), side by side, one family a file.

    add = op("add", infer=broadcast, ufunc="add")(lambda a, b: a + b)
    @add.gradient
    def _(node, g, needs): ...   # -> one Node (or None) per input

`add(x, y)` then emits an `add` node into the current default graph.
"""
from __future__ import annotations

import numbers

import numpy as np

from ...errors import DTypeError, ShapeError
from ..graph import UNKNOWN, Graph, Node, get_default_graph, known_rank

OPS: dict[str, "OpDef"] = {}


class OpDef:
    """What ember knows about one op. `fn(*arrays, **attrs)` computes it; `infer(nodes, attrs)`
    gives its (shape, dtype); `grad(node, g, needs)` builds its gradient nodes; `compile(node, rt)`
    may replace `fn` with a closure bound to a runtime (state, feeds, buffers)."""

    def __init__(self, name, fn, infer, *, ufunc=None, elementwise=False, stateful=False,
                 out=False, view=False, differentiable=True, inplace=None, shape_only=()):
        self.name, self.fn, self.infer = name, fn, infer
        self.ufunc = ufunc                       # numpy ufunc name: fusable, writes into out=
        self.elementwise = elementwise or ufunc is not None
        self.stateful = stateful                 # reads/writes session state or randomness
        self.out = out or ufunc is not None      # fn accepts out= (a preallocated buffer)
        self.view = view                         # result may share memory with input 0
        self.differentiable = differentiable
        # inputs that may share memory with `out` (fn reads them before writing out); ufuncs: all
        self.inplace = tuple(inplace) if inplace is not None else (None if ufunc else ())
        self.shape_only = tuple(shape_only)      # inputs read only for their shape
        self.grad = None
        self.compile = None
        OPS[name] = self

    def gradient(self, rule):
        self.grad = rule
        return rule

    def compiler(self, fn):
        self.compile = fn
        return fn

    def __call__(self, *inputs, name: str | None = None, **attrs) -> Node:
        return emit(self.name, inputs, attrs, name)

    def __repr__(self):
        return f"<op {self.name}>"


def op(name: str, infer, **flags):
    """Decorator: register `fn` as op `name`; returns the OpDef (calling it emits a node)."""
    def register(fn):
        return OpDef(name, fn, infer, **flags)
    return register


# ---- emitting nodes ---------------------------------------------------------------------------
def emit(opname: str, inputs, attrs: dict, name: str | None = None, graph: Graph | None = None) -> Node:
    graph = graph if graph is not None else get_default_graph()
    like = next((x for x in inputs if isinstance(x, Node)), None)
    nodes = tuple(as_node(x, graph, like, state=k == 0 and opname.startswith("assign"))
                  for k, x in enumerate(inputs))
    opdef = OPS[opname]
    label = graph.unique_name(name or opname)
    try:
        shape, dtype = opdef.infer(nodes, attrs)
    except (ShapeError, DTypeError) as e:
        raise type(e)(f"{opname} '{label}': {e}") from None
    return graph.add(Node(graph, opname, nodes, attrs, shape, dtype, label))


def as_node(x, graph: Graph, like: Node | None = None, state: bool = False) -> Node:
    """A node of `graph` for x: a node of an enclosing graph is captured; numbers and arrays
    become constants (Python numbers take the dtype of the node they are combined with)."""
    if isinstance(x, Node):
        return x if x.graph is graph else graph.capture(x, state)
    if hasattr(x, "_as_graph_node"):
        return as_node(x._as_graph_node(), graph, like)
    if isinstance(x, numbers.Number) and not isinstance(x, np.ndarray) and like is not None and (
            like.dtype.kind == "f" or isinstance(x, numbers.Integral) and like.dtype.kind in "iu"):
        value = np.asarray(x, dtype=like.dtype)
    else:
        value = np.asarray(x)
        if value.dtype == np.float64 and not isinstance(x, np.ndarray):
            value = value.astype(np.float32)  # TF-1: Python floats and lists default to float32
    return emit("const", (), {"value": value}, None, graph)


def constant(value, dtype=None, shape=None, name: str | None = None) -> Node:
    """A node whose value is fixed when the graph is built."""
    array = np.asarray(value, dtype=np_dtype(dtype) if dtype is not None else None)
    if dtype is None and array.dtype == np.float64 and not isinstance(value, np.ndarray):
        array = array.astype(np.float32)  # TF-1: Python floats default to float32
    value = array
    if shape is not None:
        value = np.broadcast_to(value, tuple(shape)).copy()
    return emit("const", (), {"value": value}, name)


def np_dtype(dtype) -> np.dtype:
    """A numpy dtype from an ember dtype, a numpy dtype or a name."""
    if dtype is None:
        return np.dtype(np.float32)
    return np.dtype(getattr(dtype, "np", dtype))


# ---- shape rules shared by the families ------------------------------------------------------
def broadcast_shapes(*shapes) -> tuple:
    """numpy broadcasting where None means "unknown size" (and an unknown rank stays unknown)."""
    if not all(known_rank(s) for s in shapes):
        return UNKNOWN
    ndim = max(len(s) for s in shapes)
    out = []
    for dims in zip(*[(1,) * (ndim - len(s)) + tuple(s) for s in shapes]):
        known = {d for d in dims if d is not None and d != 1}
        if len(known) > 1:
            raise ShapeError(f"shapes {' and '.join(_show(s) for s in shapes)} can't be broadcast "
                             f"together (trailing dimensions must be equal or 1)")
        if known:
            out.append(known.pop())
        elif any(d is None for d in dims):
            out.append(None)
        else:
            out.append(1)
    return tuple(out)


def same_dtype(nodes) -> np.dtype:
    dts = {n.dtype for n in nodes}
    if len(dts) > 1:
        raise DTypeError(f"inputs have dtypes {' and '.join(sorted(d.name for d in dts))}; ember.static "
                         f"(like TF-1) does not mix dtypes silently: convert one with tf.cast(x, dtype)")
    return nodes[0].dtype


def broadcast(nodes, attrs):
    return broadcast_shapes(*[n.shape for n in nodes]), same_dtype(nodes)


def like_first(nodes, attrs):
    return nodes[0].shape, nodes[0].dtype


def require_float(node: Node, opname: str):
    if node.dtype.kind != "f":
        raise DTypeError(f"{opname} needs a floating point input, got {node.dtype.name} "
                         f"('{node.name}')")


def _show(shape) -> str:
    if not known_rank(shape):
        return "(unknown)"
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + \
        ("," if len(shape) == 1 else "") + ")"


show_shape = _show

from . import state, elementwise, matmul, reduce, shape, control, fused, bridge  # noqa: E402,F401
