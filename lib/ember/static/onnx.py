"""Export a forward graph to ONNX (opset 17), the exchange format other runtimes read.

    ember.static.onnx.export(traced_or_graph_or_outputs, "model.onnx", session=sess)

Variables and constants become initializers; each ember op becomes one or a few ONNX nodes
(fused nodes are written back out as their parts). Training graphs (assign, gradients' helper
ops) have no ONNX form and are refused with the op named.
"""
from __future__ import annotations

import numpy as np

from .graph import Graph, GraphError

OPSET = 17
_SIMPLE = {"add": "Add", "sub": "Sub", "mul": "Mul", "div": "Div", "pow": "Pow",
           "maximum": "Max", "minimum": "Min", "neg": "Neg", "exp": "Exp", "log": "Log",
           "sqrt": "Sqrt", "abs": "Abs", "tanh": "Tanh", "sigmoid": "Sigmoid", "relu": "Relu",
           "identity": "Identity", "stop_gradient": "Identity", "greater": "Greater",
           "less": "Less", "equal": "Equal", "where": "Where", "sign": "Sign",
           "logical_not": "Not", "logical_and": "And", "logical_or": "Or",
           "greater_equal": "GreaterOrEqual", "less_equal": "LessOrEqual"}


def _source(obj, session):
    """(graph, state) from a TracedFunction, a Graph, or output node(s) plus a session."""
    if hasattr(obj, "graph") and hasattr(obj, "state") and isinstance(obj.graph, Graph):
        return obj.graph, obj.state
    if isinstance(obj, Graph):
        return obj, getattr(obj, "initial_state", None) or {}
    from .rewrite import extract
    outs = list(obj) if isinstance(obj, (list, tuple)) else [obj]
    graph, _ = extract(outs[0].graph, outs, {})
    graph.inputs = [n for n in graph.nodes if n.op == "placeholder"]
    return graph, (session._rt.state if session is not None else {})


def export(obj, path=None, session=None, opset: int = OPSET):
    """Write `obj`'s forward graph as an ONNX model to `path` (if given); returns the ModelProto."""
    import onnx
    from onnx import helper, numpy_helper
    graph, state = _source(obj, session)
    nodes, inits, names = [], [], {}
    counter = [0]

    def fresh(base):
        counter[0] += 1
        return f"{base}__{counter[0]}"

    def const(value, base="const"):
        name = fresh(base)
        inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def add(op_type, ins, out=None, **attrs):
        out = out or fresh(op_type.lower())
        nodes.append(helper.make_node(op_type, ins, [out], **attrs))
        return out

    def axes_input(axes):
        return const(np.asarray(axes, dtype=np.int64), "axes")

    def emit_op(op, ins, attrs, n, out=None):
        if op in _SIMPLE:
            return add(_SIMPLE[op], ins, out)
        if op == "square":
            return add("Mul", [ins[0], ins[0]], out)
        if op in ("matmul", "matmul_bias_relu", "matmul_bias"):
            a, b = ins[0], ins[1]
            if attrs.get("transpose_a"):
                a = add("Transpose", [a], perm=_swap_last(n.inputs[0].ndim))
            if attrs.get("transpose_b"):
                b = add("Transpose", [b], perm=_swap_last(n.inputs[1].ndim))
            relu = op == "matmul_bias_relu"
            y = add("MatMul", [a, b], None if (len(ins) > 2 or relu) else out)
            if op != "matmul" and len(ins) > 2:
                y = add("Add", [y, ins[2]], None if relu else out)
            return add("Relu", [y], out) if relu else y
        if op in ("reduce_sum", "reduce_mean", "reduce_max"):
            kind = {"reduce_sum": "ReduceSum", "reduce_mean": "ReduceMean", "reduce_max": "ReduceMax"}[op]
            keep = int(bool(attrs.get("keepdims")))
            axes = attrs.get("axis")
            if axes is None:
                axes = tuple(range(n.inputs[0].ndim))
            if kind == "ReduceSum":
                return add(kind, [ins[0], axes_input(axes)], out, keepdims=keep)
            return add(kind, [ins[0]], out, axes=list(axes), keepdims=keep)
        if op == "reshape":
            return add("Reshape", [ins[0], const(np.asarray([-1 if d is None else d for d in
                                                            attrs["shape"]], np.int64), "shape")], out)
        if op == "transpose":
            perm = attrs.get("perm") or tuple(reversed(range(n.inputs[0].ndim)))
            return add("Transpose", ins, out, perm=list(perm))
        if op == "expand_dims":
            return add("Unsqueeze", [ins[0], axes_input([attrs["axis"] % (n.inputs[0].ndim + 1)])], out)
        if op == "squeeze":
            ax = attrs.get("axis")
            extra = [] if ax is None else [axes_input(ax if isinstance(ax, (list, tuple)) else [ax])]
            return add("Squeeze", [ins[0]] + extra, out)
        if op == "cast":
            return add("Cast", ins, out, to=helper.np_dtype_to_tensor_dtype(np.dtype(attrs["dtype"])))
        if op == "conv2d":
            return _conv(add, ins, attrs, out, relu=False)
        if op == "conv2d_relu":
            return _conv(add, ins, attrs, out, relu=True)
        if op in ("max_pool2d", "avg_pool2d"):
            k, st = list(attrs["kernel_size"]), list(attrs["stride"])
            pads = list(attrs.get("padding", (0, 0))) * 2
            if op == "max_pool2d":
                return add("MaxPool", ins, out, kernel_shape=k, strides=st, pads=pads,
                           dilations=list(attrs.get("dilation", (1, 1))))
            return add("AveragePool", ins, out, kernel_shape=k, strides=st, pads=pads,
                       count_include_pad=1)
        if op in ("softmax", "log_softmax"):
            return add("Softmax" if op == "softmax" else "LogSoftmax", ins, out,
                       axis=int(attrs.get("dim", -1)))
        if op == "leaky_relu":
            return add("LeakyRelu", ins, out, alpha=float(attrs.get("negative_slope", 0.01)))
        if op == "fused_elementwise":
            acc = None
            steps = attrs["program"]
            for k, (sop, args, sattrs) in enumerate(steps):
                sins = [acc if a == "acc" else const(np.asarray(a[1])) if isinstance(a, tuple)
                        else ins[a] for a in args]
                acc = emit_op(sop, sins, sattrs, n, out if k == len(steps) - 1 else None)
            return acc
        raise GraphError(f"ONNX export: op '{op}' (node '{n.name}') has no ONNX form in ember; "
                         f"export the forward graph only (no gradients, assign or group)")

    for n in graph.nodes:
        if n.op == "placeholder":
            names[n] = n.name
            continue
        if n.op == "variable":
            key = n.attrs["var"]
            if key not in state:
                raise GraphError(f"ONNX export: Variable '{key}' has no value (initialize it first)")
            inits.append(numpy_helper.from_array(np.ascontiguousarray(state[key]), n.name))
            names[n] = n.name
            continue
        if n.op in ("const", "fill"):
            value = n.attrs["value"] if n.op == "const" else np.full(n.attrs["shape"], n.attrs["value"],
                                                                      n.attrs["dtype"])
            inits.append(numpy_helper.from_array(np.ascontiguousarray(value), n.name))
            names[n] = n.name
            continue
        names[n] = emit_op(n.op, [names[i] for i in n.inputs],
                           {k: v for k, v in n.attrs.items() if k != "buffer"}, n, n.name)

    def info(n):
        shape = [d if d is not None else f"{n.name}_dim{i}" for i, d in enumerate(n.shape)]
        return helper.make_tensor_value_info(names[n], helper.np_dtype_to_tensor_dtype(n.dtype), shape)
    outputs = []
    for k, o in enumerate(graph.outputs):
        if names[o] in [x.name for x in outputs] or o.op in ("placeholder", "variable", "const"):
            names[o] = add("Identity", [names[o]], f"output{k}")
        outputs.append(info(o))
    g = helper.make_graph(nodes, "ember", [info(i) for i in graph.inputs], outputs, inits)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="ember")
    model.ir_version = min(model.ir_version, 9)
    onnx.checker.check_model(model)
    if path is not None:
        onnx.save(model, str(path))
    return model


def _swap_last(ndim: int) -> list:
    perm = list(range(ndim))
    perm[-1], perm[-2] = perm[-2], perm[-1]
    return perm


def _conv(add, ins, attrs, out, relu):
    pads = list(attrs.get("padding", (0, 0))) * 2
    y = add("Conv", ins, None if relu else out, strides=list(attrs.get("stride", (1, 1))),
            pads=pads, dilations=list(attrs.get("dilation", (1, 1))))
    return add("Relu", [y], out) if relu else y

