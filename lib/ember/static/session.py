"""`Session`: where a graph gets values. `run(fetches, feed_dict)` computes only what the fetches
need, from the fed values and the Variables this session holds."""
from __future__ import annotations

import numpy as np

from ..errors import DTypeError, ShapeError
from .graph import Graph, Node, get_default_graph, known_rank
from .ops import show_shape
from .ops.state import FailedPreconditionError
from .rewrite import extract
from .runtime import Plan, Runtime


class Session:
    """Runs a graph. Compiles one plan per (fetches, fed nodes and their shapes): the fetched
    subgraph, specialized to the fed shapes and, with `optimize=True`, optimized by
    `ember.static.passes` (fusion, buffer reuse...) before it runs for the first time."""

    _stack: list = []

    def __init__(self, target: str = "", graph: Graph | None = None, config=None,
                 optimize: bool = True):
        self.graph = graph if graph is not None else get_default_graph()
        self.optimize = optimize
        saved = getattr(self.graph, "initial_state", None)  # weights of a loaded graph
        self._rt = Runtime({k: v.copy() for k, v in saved.items()} if saved else None)
        self._plans: dict = {}
        self._closed = False

    # ---- context manager ----------------------------------------------------------------------
    def __enter__(self):
        Session._stack.append(self)
        return self

    def __exit__(self, *exc):
        Session._stack.remove(self)
        self.close()

    def close(self):
        self._closed = True
        self._plans.clear()

    def as_default(self):
        return _DefaultSession(self)

    @classmethod
    def _current(cls) -> "Session":
        if not cls._stack:
            raise FailedPreconditionError("no default session: use `with tf.Session() as sess:` "
                                          "or pass session=")
        return cls._stack[-1]

    # ---- running ------------------------------------------------------------------------------
    def run(self, fetches, feed_dict: dict | None = None):
        """Values of `fetches` (a node, or a list/tuple/dict of them; ops like `group` give None)."""
        if self._closed:
            raise RuntimeError("this Session is closed")
        if isinstance(fetches, Node) and type(feed_dict) is dict:  # the training-loop fast path
            feeds = {}
            for k, v in feed_dict.items():
                if type(v) is not np.ndarray or not isinstance(k, Node) or v.dtype != k.dtype \
                        or not _fits(v.shape, k.shape):
                    break
                feeds[k] = v
            else:
                key = ((id(fetches),), tuple((id(n), a.shape, a.dtype) for n, a in feeds.items()))
                entry = self._plans.get(key)
                if entry is not None:
                    plan, fed = entry
                    return _result(plan.run([feeds[n] for n in fed])[0])
        flat, rebuild = _flatten(fetches)
        for n in flat:
            if n.graph is not self.graph:
                raise ValueError(f"can't fetch '{n.name}': it belongs to another graph than this "
                                 f"session's")
        feeds = {}
        for k, v in (feed_dict or {}).items():
            node = k._as_graph_node() if hasattr(k, "_as_graph_node") else k
            if not isinstance(node, Node):
                raise TypeError(f"feed_dict keys must be graph nodes (placeholders), got "
                                f"{type(k).__name__} {k!r}")
            feeds[node] = _check_feed(node, v)
        key = (tuple(map(id, flat)), tuple((id(n), a.shape, a.dtype) for n, a in feeds.items()))
        entry = self._plans.get(key)
        if entry is None:
            entry = self._plans[key] = self._compile(flat, feeds)
        plan, fed = entry
        values = plan.run([feeds[n] for n in fed])
        return rebuild([_result(v) for v in values])

    def _compile(self, fetches: list, feeds: dict):
        graph, fed = extract(self.graph, fetches, {n: (a.shape, a.dtype) for n, a in feeds.items()})
        for n in graph.nodes:
            if n.op == "placeholder" and n not in graph.inputs:
                want = ", ".join(f"'{f.name}'" for f in fetches)
                raise FailedPreconditionError(
                    f"placeholder '{n.name}' (shape {show_shape(n.shape)}, {n.dtype.name}) must be "
                    f"fed to compute {want}: session.run(..., feed_dict={{{n.name}: value}})")
        buffers = None
        if self.optimize:
            from . import passes
            graph = passes.optimize(graph)
            buffers = passes.allocate_buffers(graph)
        return Plan(self._rt, graph, buffers), fed

    def compiled_graph(self, fetches, feed_dict: dict | None = None) -> Graph:
        """The graph this session runs for these fetches and feeds (after optimization)."""
        self.run(fetches, feed_dict)
        flat, _ = _flatten(fetches)
        feeds = {k: _check_feed(k, v) for k, v in (feed_dict or {}).items()}
        key = (tuple(map(id, flat)), tuple((id(n), a.shape, a.dtype) for n, a in feeds.items()))
        return self._plans[key][0].graph

    def compiled_code(self, fetches, feed_dict: dict | None = None) -> str:
        """The Python this session generated to run these fetches: one line per node."""
        graph = self.compiled_graph(fetches, feed_dict)
        return next(p.code for p, _ in self._plans.values() if p.graph is graph)

    @property
    def variable_values(self) -> dict:
        """Variable name -> current value (a copy)."""
        return {k: v.copy() for k, v in self._rt.state.items()}


class InteractiveSession(Session):
    """A Session that installs itself as the default (for `node.eval()` in notebooks)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        Session._stack.append(self)

    def close(self):
        if self in Session._stack:
            Session._stack.remove(self)
        super().close()


class _DefaultSession:
    def __init__(self, sess):
        self.sess = sess

    def __enter__(self):
        Session._stack.append(self.sess)
        return self.sess

    def __exit__(self, *exc):
        Session._stack.remove(self.sess)


def _flatten(fetches):
    """A flat list of nodes and a function putting their values back in the fetches' structure."""
    if hasattr(fetches, "_as_graph_node"):
        fetches = fetches._as_graph_node()
    if isinstance(fetches, Node):
        return [fetches], lambda vals: vals[0]
    if isinstance(fetches, dict):
        keys = list(fetches)
        parts = [_flatten(fetches[k]) for k in keys]
    elif isinstance(fetches, (list, tuple)):
        keys = None
        parts = [_flatten(f) for f in fetches]
    else:
        raise TypeError(f"can't fetch a {type(fetches).__name__}: fetch graph nodes, or lists, "
                        f"tuples or dicts of them")
    flat = [n for p in parts for n in p[0]]
    sizes = [len(p[0]) for p in parts]

    def rebuild(vals):
        out, i = [], 0
        for (_, rb), s in zip(parts, sizes):
            out.append(rb(vals[i:i + s]))
            i += s
        if keys is not None:
            return dict(zip(keys, out))
        return type(fetches)(out) if isinstance(fetches, tuple) else out
    return flat, rebuild


def _fits(shape, spec) -> bool:
    if not known_rank(spec):
        return True
    return len(shape) == len(spec) and all(d is None or d == s for d, s in zip(spec, shape))


def _check_feed(node: Node, value) -> np.ndarray:
    arr = value if isinstance(value, np.ndarray) else np.asarray(
        value.numpy() if hasattr(value, "numpy") and not isinstance(value, (list, tuple)) else value)
    want = node.dtype
    kind = arr.dtype.kind
    ok = (want.kind == "f" and kind in "fiub") or (want.kind in "iu" and kind in "iub") or \
        (want.kind == "b" and kind == "b")
    if not ok:
        raise DTypeError(f"feed for '{node.name}': got an array of dtype {arr.dtype.name} but the "
                         f"{node.op} has dtype {want.name}; convert it with .astype(np.{want.name})")
    if known_rank(node.shape) and len(arr.shape) != len(node.shape) or any(d is not None and d != s
                                                for d, s in zip(node.shape, arr.shape)):
        raise ShapeError(f"feed for '{node.name}': got an array of shape {show_shape(arr.shape)} but "
                         f"the {node.op} has shape {show_shape(node.shape)} (None matches any size)")
    return arr if arr.dtype == want else arr.astype(want)


def _result(v):
    if v is None or not isinstance(v, (np.ndarray, np.generic)):
        return v
    if isinstance(v, np.generic) or v.ndim == 0:
        return v[()] if isinstance(v, np.ndarray) else v
    return v.copy()
