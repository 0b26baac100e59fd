"""Fused kernels, made only by the fusion passes: several ops in one node, run in one buffer.

* `fused_elementwise`: a chain of elementwise ops; every step writes into the same `out` buffer,
  so an n-op chain makes no temporaries (numpy ufuncs accept `out=` aliasing an input).
* `matmul_bias_relu` / `matmul_bias`: `relu(a @ w + b)` / `a @ w + b` written into one buffer.
"""
from __future__ import annotations

from functools import partial

import numpy as np

from . import OPS, op
from .matmul import _matmul_spec, _t


def _fused_spec(nodes, attrs):
    return tuple(attrs["shape"]), attrs["dtype"]


@op("fused_elementwise", _fused_spec, out=True, elementwise=True)
def fused_elementwise(*inputs, program, shape, dtype, out=None):
    """Run `program`: steps `(op, args, attrs)`, each arg an input index (int), "acc" (the running
    result) or a ("const", value) pair."""
    acc = out
    for opname, args, attrs in program:
        vals = [acc if a == "acc" else a[1] if isinstance(a, tuple) else inputs[a] for a in args]
        acc = OPS[opname].fn(*vals, out=acc, **attrs)
    return acc


@fused_elementwise.compiler
def _(node, rt, out=None):
    """Write the program out as one Python function of straight ufunc calls into `out`."""
    env = {"out": out}
    params = ", ".join(f"i{k}" for k in range(len(node.inputs)))
    lines = [f"def fused({params}):", "    acc = out"]
    for s, (opname, args, attrs) in enumerate(node.attrs["program"]):
        d = OPS[opname]
        env[f"f{s}"] = getattr(np, d.ufunc) if d.ufunc and not attrs else partial(d.fn, **attrs)
        names = []
        for j, a in enumerate(args):
            if isinstance(a, tuple):
                env[f"c{s}_{j}"] = a[1]
                names.append(f"c{s}_{j}")
            else:
                names.append("acc" if a == "acc" else f"i{a}")
        lines.append(f"    acc = f{s}({', '.join(names)}, out=acc)")
    lines.append("    return acc")
    exec(compile("\n".join(lines), f"<fused {node.name}>", "exec"), env)
    return env["fused"]


def program_text(program) -> str:
    """A fused program as one expression, e.g. `mul(sub(%0, %1), 2.0)`."""
    expr = "?"
    for opname, args, _ in program:
        parts = [expr if a == "acc" else f"{float(a[1]):.6g}" if isinstance(a, tuple) and a[1].size == 1
                 else "const" if isinstance(a, tuple) else f"%{a}" for a in args]
        expr = f"{opname}({', '.join(parts)})"
    return expr


def _mba_spec(nodes, attrs):
    return _matmul_spec(nodes[:2], attrs)


@op("matmul_bias_relu", _mba_spec, out=True)
def matmul_bias_relu(a, w, *bias, transpose_a=False, transpose_b=False, relu=True, out=None):
    out = np.matmul(_t(a, transpose_a), _t(w, transpose_b), out=out)
    if bias:
        np.add(out, bias[0], out=out)
    if relu:
        np.maximum(out, 0, out=out)
    return out


@op("matmul_bias", _mba_spec, out=True)
def matmul_bias(a, w, *bias, transpose_a=False, transpose_b=False, out=None):
    """a @ w + b in one buffer (matmul_bias_relu without the ReLU)."""
    return matmul_bias_relu.fn(a, w, *bias, transpose_a=transpose_a, transpose_b=transpose_b,
                               relu=False, out=out)
