"""Elementwise fusion: a chain like `2 * (y_pred - y)` becomes one `fused_elementwise` node whose
steps all write into one buffer: no temporaries, one node to dispatch instead of several.

A node is absorbed into its consumer when it is that consumer's only producer-to-be-fused: it has
exactly one user, the same (known) shape and dtype, and the consumer's kernel may overwrite that
input while computing (see `OpDef.inplace`)."""
from __future__ import annotations

from ..graph import Graph
from ..ops import OPS
from ..rewrite import Rewriter, users


def fusable(n) -> bool:
    d = OPS[n.op]
    return d.elementwise and d.out and not d.stateful and None not in n.shape and n.op != "const"


def inplace_positions(n) -> tuple:
    """Input positions of `n` whose memory its kernel may reuse for its output."""
    if n.op == "fused_elementwise":
        program = n.attrs["program"]
        first, later = program[0], program[1:]
        used_later = {a for _, args, _ in later for a in args if isinstance(a, int)}
        allowed = OPS[first[0]].inplace
        return tuple(a for k, a in enumerate(first[1]) if isinstance(a, int) and a not in used_later
                     and (allowed is None or k in allowed))
    allowed = OPS[n.op].inplace
    return tuple(range(len(n.inputs))) if allowed is None else allowed


def _absorbed(graph: Graph) -> dict:
    """producer -> the consumer it is fused into."""
    uses = users(graph)
    outs = set(graph.outputs)
    into = {}
    for e in graph.nodes:
        if not fusable(e):
            continue
        for k in inplace_positions(e):
            i = e.inputs[k]
            if fusable(i) and i not in outs and uses[i] == [e] and i.shape == e.shape \
                    and i.dtype == e.dtype and i.op != "fused_elementwise":
                into[i] = e
                break
    return into


def fuse_elementwise(graph: Graph) -> Graph:
    into = _absorbed(graph)
    acc_of = {e: i for i, e in into.items()}
    rw = Rewriter(graph)
    programs: dict = {}
    for n in graph.nodes:
        if not fusable(n) or (n not in into and n not in acc_of):
            rw.copy(n)
            continue
        program, ext = programs.pop(acc_of[n]) if n in acc_of else ([], [])
        args = []
        for i in n.inputs:
            if n in acc_of and i is acc_of[n] and "acc" not in args:
                args.append("acc")
            elif i.op == "const" and i.attrs["value"].size == 1:
                args.append(("const", i.attrs["value"]))
            else:
                new = rw[i]
                if new not in ext:
                    ext.append(new)
                args.append(ext.index(new))
        attrs = {k: v for k, v in n.attrs.items() if k != "buffer"}
        if n.op == "fused_elementwise":
            raise AssertionError("fused nodes are not fused again")
        program = program + [(n.op, tuple(args), attrs)]
        if n in into:
            programs[n] = (program, ext)
            continue
        rw.map[n] = rw.emit("fused_elementwise", ext, {"program": program, "shape": n.shape,
                                                        "dtype": n.dtype}, n.name)
    return rw.finish()
