"""What `jit.script`'s rewritten code calls at each `if`, `while`, `for ... in range` and
`a if c else b`: decide in Python when the condition is a Python value, or build a `cond` /
`while_loop` node (its branches or body traced into subgraphs) when it is a traced tensor."""
from __future__ import annotations

import inspect

import numpy as np

from ..static import graph as sg
from ..static.control_flow import _align, _merge
from ..static.ops import as_node, constant, emit
from ..tensor import Tensor


_NUMBER = (int, float, bool, np.number)


class _Undefined:
    def __repr__(self):
        return "<undefined variable>"


UNDEFINED = _Undefined()


class UndefinedVariable:
    """A variable assigned in only one branch of a compiled if: using it later is an error."""

    def __init__(self, name: str, line: int, which: str):
        self.name, self.line, self.which = name, _where(line), which

    def _fail(self, *args):
        raise _error(self.line, f"{_shown(self.name)} is assigned only in the {self.which} "
                                f"branch of this if on a tensor, and used after it; give it a "
                                f"value in both branches (or before the if)")

    def __repr__(self):
        return (f"<{_shown(self.name)}: assigned only in the {self.which} branch of the if at "
                f"{self.line}>")

    __getattr__ = __bool__ = __iter__ = __len__ = __getitem__ = __call__ = _fail
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = _fail
    __rtruediv__ = __matmul__ = __rmatmul__ = __pow__ = __neg__ = __lt__ = __gt__ = _fail
    __le__ = __ge__ = __array__ = __float__ = __int__ = _fail


def _undefined(v) -> bool:
    return v is UNDEFINED or isinstance(v, UndefinedVariable)


def ld(thunk):
    """A variable's value, or UNDEFINED where it has none yet."""
    try:
        return thunk()
    except NameError:
        return UNDEFINED


def _tracer():
    from .trace import _active
    return _active[-1] if _active else None


def _traced(x):
    tr = _tracer()
    return tr is not None and not tr.paused and isinstance(x, Tensor) and tr.traced(x) is not None


def _where(line) -> str:
    """'file, line N': the file is that of the nearest rewritten frame (whose globals hold
    `_ember_jit`), the scripted function's."""
    if isinstance(line, str):
        return line
    frame = inspect.currentframe()
    while frame is not None and "_ember_jit" not in frame.f_globals:
        frame = frame.f_back
    return f"line {line}" if frame is None else f"{frame.f_code.co_filename}, line {line}"


def _error(line, msg: str):
    from .script import ScriptError
    return ScriptError(f"jit.script: {_where(line)}: {msg}")


def _shown(name: str) -> str:
    """A variable's name as the student wrote it (early returns are folded into one)."""
    return "the returned value" if name == "_ember_return" else f"'{name}'"


def _pred(test, line: int) -> sg.Node:
    tr = _tracer()
    if test.numel() != 1:
        raise _error(line, f"the condition is a tensor of shape {tuple(test.shape)}; an if/while "
                           f"on a tensor needs one element (use .any(), .all() or .sum())")
    node = tr.traced(test)
    with tr.graph.as_default():
        if node.dtype.kind != "b":
            node = emit("not_equal", (node, constant(np.zeros((), node.dtype))), {})
        if node.shape != ():
            node = emit("reshape", (node,), {"shape": ()})
    return node


def _truth(x) -> bool:
    return bool(x._data) if isinstance(x, Tensor) else bool(x)


def _fresh(t: Tensor) -> Tensor:
    return Tensor._make(np.array(t._data, copy=True), t._device)


def _trace_into(sub: sg.Graph, fn, args):
    tr = _tracer()
    outer, tr.graph = tr.graph, sub
    try:
        with sub.as_default(), np.errstate(all="ignore"):
            return fn(*args)
    finally:
        tr.graph = outer


def _merge_outputs(line, names, outs_a, outs_b):
    """Per variable: ('tensor', dtype) or ('python', value); numbers meeting tensors become
    constants of the tensor's dtype in their branch."""
    kinds = []
    for k, name in enumerate(names or [f"value {i}" for i in range(len(outs_a))]):
        a, b = outs_a[k], outs_b[k]
        if _undefined(a) and _undefined(b):
            kinds.append(("python", UNDEFINED))
        elif _undefined(a) or _undefined(b):
            kinds.append(("python", UndefinedVariable(name, line, "false" if _undefined(a)
                                                      else "true")))
        elif isinstance(a, Tensor) or isinstance(b, Tensor):
            ta = a if isinstance(a, Tensor) else None
            dtype = (ta if ta is not None else b)._data.dtype
            for o in (a, b):
                if isinstance(o, Tensor) and o._data.dtype != dtype:
                    raise _error(line, f"{_shown(name)} is {a._data.dtype} in one branch and "
                                       f"{b._data.dtype} in the other")
                if not isinstance(o, (Tensor, int, float, bool, np.number)):
                    raise _error(line, f"{_shown(name)} is a tensor in one branch and a "
                                       f"{type(o).__name__} in the other")
            kinds.append(("tensor", dtype))
        elif isinstance(a, _NUMBER) and isinstance(b, _NUMBER) and not (
                type(a) is type(b) and a == b):   # two numbers: a 0-d tensor chosen at run time
            kind = {np.dtype(type(a)).kind, np.dtype(type(b)).kind}
            kinds.append(("tensor", np.dtype(bool) if kind == {"b"} else np.dtype(np.int64)
                          if kind <= {"b", "i"} else np.dtype(np.float32)))
        else:
            if a is not b and not (isinstance(a, (int, float, str, bool)) and a == b):
                raise _error(line, f"{_shown(name)} gets different Python values in the branches "
                                   f"of an if on a tensor ({a!r}, {b!r}); make it a tensor")
            kinds.append(("python", a))
    return kinds


def _node_in(sub: sg.Graph, value, dtype) -> sg.Node:
    tr = _tracer()
    if isinstance(value, Tensor):
        return as_node(tr.node_of(value), sub)
    with sub.as_default():
        return constant(np.asarray(value, dtype=dtype))


def _outputs(node: sg.Node, n: int, tr) -> list:
    if n == 1:
        return [node]
    with tr.graph.as_default():
        return [emit("tuple_get", (node,), {"index": i}, f"{node.name}/out{i}") for i in range(n)]


def if_stmt(test, true_fn, false_fn, values, names, line):
    if not _traced(test):
        return true_fn(*values) if _truth(test) else false_fn(*values)
    return _cond(test, lambda: true_fn(*values), lambda: false_fn(*values), names, line, True)


def if_exp(test, true_fn, false_fn, line):
    if not _traced(test):
        return true_fn() if _truth(test) else false_fn()
    return _cond(test, lambda: (true_fn(),), lambda: (false_fn(),), ("value",), line, False)[0]


def _cond(test, true_fn, false_fn, names, line, stmt):
    tr = _tracer()
    pred = _pred(test, line)
    taken = _truth(test)
    tg, fg = sg.Graph(parent=tr.graph), sg.Graph(parent=tr.graph)
    outs_t = tuple(_trace_into(tg, true_fn, ()))
    outs_f = tuple(_trace_into(fg, false_fn, ()))
    kinds = _merge_outputs(line, list(names), outs_t, outs_f)
    tensor_ix = [k for k, (kind, _) in enumerate(kinds) if kind == "tensor"]
    result = [value for _, value in kinds]     # the Python values (equal in both branches)
    if not tensor_ix:
        return tuple(result)
    tg.outputs = [_node_in(tg, outs_t[k], kinds[k][1]) for k in tensor_ix]
    fg.outputs = [_node_in(fg, outs_f[k], kinds[k][1]) for k in tensor_ix]
    specs = []
    for k, a, b in zip(tensor_ix, tg.outputs, fg.outputs):
        if a.ndim != b.ndim:
            raise _error(line, f"{_shown(names[k])} has rank {a.ndim} in one branch and "
                                f"{b.ndim} in the other")
        specs.append((_merge(a.shape, b.shape, "cond"), a.dtype))
    captured = _align([tg, fg], 0)
    with tr.graph.as_default():
        node = emit("cond", (pred, *captured), {"branches": (tg, fg), "out_specs": tuple(specs)},
                    None)
    for k, out in zip(tensor_ix, _outputs(node, len(tensor_ix), tr)):
        value = (outs_t if taken else outs_f)[k]
        t = _fresh(value) if isinstance(value, Tensor) else \
            Tensor._make(np.asarray(value, dtype=kinds[k][1]))
        tr.bind(t, out)
        result[k] = t
    return tuple(result)


def while_stmt(cond_fn, body_fn, values, names, line):
    tr = _tracer()
    test = cond_fn(*values)
    if not _traced(test):
        while _truth(test):
            values = body_fn(*values)
            test = cond_fn(*values)
        return values
    return _loop(cond_fn, body_fn, list(values), names, line)


def for_range(args, body_fn, values, names, line):
    if not any(_traced(a) for a in args):
        ints = [int(a._data) if isinstance(a, Tensor) else a for a in args]
        for i in range(*ints):
            values = body_fn(i, *values)
        return values
    start, stop, step = (0, args[0], 1) if len(args) == 1 else (*args, 1)[:3]
    if not isinstance(step, int) or step == 0:
        raise _error(line, "range(...) on a tensor needs a nonzero Python int step")
    if not isinstance(start, Tensor):
        start = Tensor._make(np.asarray(start, dtype=np.int64))
    more = (lambda i: i < stop) if step > 0 else (lambda i: i > stop)
    out = _loop(lambda i, *v: more(i), lambda i, *v: (i + step, *body_fn(i, *v)),
                [start, *values], ("range index", *names), line)
    return out[1:]


def for_each(iterable, body_fn, values, names, line):
    """`for item in iterable`: a loop over the rows of a traced tensor (however many at run
    time), or plain Python iteration over anything else."""
    if not _traced(iterable):
        for item in iterable:
            values = body_fn(item, *values)
        return values
    if iterable.ndim == 0:
        raise _error(line, "iteration over a 0-d tensor")
    tr = _tracer()
    rows = Tensor._make(np.asarray(iterable.shape[0], dtype=np.int64))
    with tr.graph.as_default():
        tr.bind(rows, emit("dim_size", (tr.traced(iterable),), {"axis": 0}))
    return for_range((rows,), lambda i, *v: body_fn(iterable[i], *v), values, names, line)


def promote(v):
    """A Python number as a 0-d tensor (bool, int64 or float32); anything else as it is."""
    if isinstance(v, (bool, np.bool_)):
        return Tensor._make(np.asarray(bool(v)))
    if isinstance(v, (int, np.integer)):
        return Tensor._make(np.asarray(v, dtype=np.int64))
    if isinstance(v, (float, np.floating)):
        return Tensor._make(np.asarray(v, dtype=np.float32))
    return v


def _loop(cond_fn, body_fn, values, names, line):
    tr = _tracer()
    values = [promote(v) for v in values]
    ix = [k for k, v in enumerate(values) if isinstance(v, Tensor)]
    init = [tr.node_of(values[k]) for k in ix]
    cg, bg = sg.Graph(parent=tr.graph), sg.Graph(parent=tr.graph)

    def placeholders(sub):
        args = list(values)
        phs = []
        for k, node in zip(ix, init):
            ph = emit("placeholder", (), {"shape": node.shape, "dtype": node.dtype}, f"arg{k}", sub)
            t = _fresh(values[k])
            tr.bind(t, ph)
            args[k] = t
            phs.append(ph)
        sub.inputs = phs
        return args
    c_args = placeholders(cg)
    test = _trace_into(cg, cond_fn, c_args)
    with cg.as_default():
        cg.outputs = [_pred(test, line) if isinstance(test, Tensor)
                      and tr.traced(test) is not None else constant(np.asarray(_truth(test)))]
    b_args = placeholders(bg)
    outs = list(_trace_into(bg, body_fn, b_args))
    body_outs = []
    for k, v in zip(ix, init):
        o = outs[k]
        name = names[k] if k < len(names) else f"value {k}"
        if not isinstance(o, (Tensor, int, float, bool, np.number)):
            raise _error(line, f"the loop turns {_shown(name)} from a tensor into a "
                                f"{type(o).__name__}")
        node = _node_in(bg, o, v.dtype)
        if node.dtype != v.dtype:
            raise _error(line, f"the loop changes {_shown(name)} from {v.dtype.name} to "
                               f"{node.dtype.name}; convert it before the loop")
        if node.ndim != v.ndim:
            raise _error(line, f"the loop changes the rank of {_shown(name)} from {v.ndim} to "
                               f"{node.ndim}")
        body_outs.append(node)
    for k, v in enumerate(values):
        if k not in ix and outs[k] is not v and outs[k] is not UNDEFINED \
                and not (isinstance(v, (int, float, str)) and outs[k] == v):
            raise _error(line, f"the loop changes the Python value {_shown(names[k])}; only "
                                f"tensors and numbers can change in a loop on a tensor")
    bg.outputs = body_outs
    specs = tuple((_merge(v.shape, o.shape, "while_loop"), v.dtype)
                  for v, o in zip(init, body_outs))
    captured = _align([cg, bg], len(ix))
    with tr.graph.as_default():
        node = emit("while_loop", (*init, *captured),
                    {"cond_graph": cg, "body_graph": bg, "n_vars": len(ix), "out_specs": specs,
                     "maximum_iterations": None}, None)
    final = _eager_loop(cond_fn, body_fn, values)
    result = list(final)
    for k, out in zip(ix, _outputs(node, len(ix), tr)):
        t = _fresh(promote(final[k]))
        tr.bind(t, out)
        result[k] = t
    return tuple(result)


def _eager_loop(cond_fn, body_fn, values):
    """The loop's real values, run eagerly without recording (tracing continues from them)."""
    tr = _tracer()
    tr.paused = True
    try:
        while _truth(cond_fn(*values)):
            values = list(body_fn(*values))
    finally:
        tr.paused = False
    return values


def and_(*thunks):
    v = thunks[0]()
    for t in thunks[1:]:
        if _traced(v):
            w = t()
            v = (v.float() * (w.float() if isinstance(w, Tensor) else float(bool(w)))) != 0
        elif not _truth(v):
            return v
        else:
            v = t()
    return v


def or_(*thunks):
    v = thunks[0]()
    for t in thunks[1:]:
        if _traced(v):
            w = t()
            v = (v.float() + (w.float() if isinstance(w, Tensor) else float(bool(w)))) != 0
        elif _truth(v):
            return v
        else:
            v = t()
    return v


def not_(x):
    if _traced(x):
        return x.float() == 0
    return not x


def prune(graph: sg.Graph) -> None:
    """Drop nodes the outputs don't need (conditions evaluated while deciding), keeping inputs."""
    from ..static.rewrite import needed
    keep = needed(graph.outputs) | set(graph.inputs)
    graph.nodes = [n for n in graph.nodes if n in keep]
