"""Buffer reuse: liveness analysis over the execution order assigns every computed array a
buffer (`buffer=k` in the listing), reusing a buffer once the value in it is dead, or even the
buffer of an input that dies at this very node (in place). The session preallocates the buffers
once, so after the first run a step allocates (almost) nothing.

Only values of a known shape from kernels that accept `out=` get buffers; views keep the value
they look at alive; graph outputs are never reused (the session copies them out)."""
from __future__ import annotations

import numpy as np

from ..graph import Graph
from ..ops import OPS
from ..rewrite import Rewriter, schedule
from .fuse_elementwise import inplace_positions


def _wants_buffer(n) -> bool:
    d = OPS[n.op]
    return d.out and not d.stateful and None not in n.shape and n.dtype.kind != "V"


def buffer_reuse(graph: Graph) -> Graph:
    order = schedule(graph)
    index = {n: k for k, n in enumerate(order)}
    end = len(order)
    last = {n: index[n] for n in order}
    for n in order:
        for i in n.inputs:
            last[i] = max(last[i], index[n])
    for o in graph.outputs:
        last[o] = end
    for n in reversed(order):  # a view keeps what it looks at alive as long as itself
        if OPS[n.op].view:
            for i in n.inputs:
                last[i] = max(last[i], last[n])
    owner: dict = {}   # node -> buffer id
    spec: list = []    # buffer id -> (shape, dtype)
    free: dict = {}    # (shape, dtype) -> [buffer ids]
    dying: dict = {}   # step -> nodes whose value dies there
    for n, k in last.items():
        dying.setdefault(k, []).append(n)
    for n in order:
        k = index[n]
        if _wants_buffer(n):
            key = (n.shape, n.dtype)
            buf = None
            for pos in inplace_positions(n):
                i = n.inputs[pos]
                if i in owner and last[i] == k and spec[owner[i]] == key and i in dying.get(k, ()):
                    buf = owner[i]
                    dying[k].remove(i)  # its buffer passes on to n instead of being freed
                    break
            if buf is None:
                pool = free.get(key)
                if pool:
                    buf = pool.pop()
                else:
                    buf = len(spec)
                    spec.append(key)
            owner[n] = buf
        for d in dying.get(k, ()):
            if d in owner and d is not n:
                free.setdefault(spec[owner[d]], []).append(owner[d])
    rw = Rewriter(graph)
    for n in order:
        attrs = {a: v for a, v in n.attrs.items() if a != "buffer"}
        if n in owner:
            attrs["buffer"] = owner[n]
        rw.copy(n, attrs=attrs)
    new = rw.finish()
    new.buffer_specs = spec
    return new


def allocate_buffers(graph: Graph) -> dict:
    """node -> its preallocated output array, one array per buffer id."""
    arrays = {}
    out = {}
    for n in graph.nodes:
        b = n.attrs.get("buffer")
        if b is not None:
            if b not in arrays:
                arrays[b] = np.empty(n.shape, dtype=n.dtype)
            out[n] = arrays[b]
    return out
