"""Caffe's network definitions built into an ember Module.

A Caffe net is a list of layers wired by named blobs: each layer reads its `bottom` blobs and
writes its `top` blobs (`bottom == top` computes in place, as ReLU usually does). Data layers
(`Input`, `Data`, `HDF5Data`, `MemoryData`) only name the blobs fed to `forward`; loss layers
(`SoftmaxWithLoss`, `EuclideanLoss`, `SigmoidCrossEntropyLoss`) make the blobs a Solver
minimizes. `include { phase: TRAIN }` keeps a layer in one phase. Old-style `layers { type:
INNER_PRODUCT }` definitions are read too.

Differences from Caffe, on purpose: an omitted `weight_filler` is Xavier (Caffe's default, all
zeros, can't train a hidden layer), and blobs are ember tensors (`net.blobs["fc1"]`).
"""
from __future__ import annotations

import difflib
import math

from .. import nn
from ..autograd.grad_mode import no_grad
from ..nn import functional as F
from ..tensor import Tensor
from .prototxt import as_list
from .sequential import ConfigError

V1_TYPES = {"DATA": "Data", "HDF5_DATA": "HDF5Data", "MEMORY_DATA": "MemoryData",
            "INNER_PRODUCT": "InnerProduct", "CONVOLUTION": "Convolution", "POOLING": "Pooling",
            "RELU": "ReLU", "SIGMOID": "Sigmoid", "TANH": "TanH", "DROPOUT": "Dropout",
            "SOFTMAX": "Softmax", "SOFTMAX_LOSS": "SoftmaxWithLoss", "FLATTEN": "Flatten",
            "EUCLIDEAN_LOSS": "EuclideanLoss", "ACCURACY": "Accuracy", "CONCAT": "Concat",
            "ELTWISE": "Eltwise", "SIGMOID_CROSS_ENTROPY_LOSS": "SigmoidCrossEntropyLoss"}
DATA_LAYERS = {"Input", "Data", "HDF5Data", "MemoryData", "DummyData"}
LOSS_LAYERS = {"SoftmaxWithLoss", "EuclideanLoss", "SigmoidCrossEntropyLoss"}


def _fill(t: Tensor, filler: dict | None, where: str, default: str) -> None:
    filler = filler or {"type": default}
    kind = filler.get("type", "constant")
    with no_grad():
        if kind == "constant":
            nn.init.constant_(t, float(filler.get("value", 0.0)))
        elif kind == "gaussian":
            nn.init.normal_(t, float(filler.get("mean", 0.0)), float(filler.get("std", 1.0)))
        elif kind == "uniform":
            nn.init.uniform_(t, float(filler.get("min", 0.0)), float(filler.get("max", 1.0)))
        elif kind == "xavier":       # Caffe's xavier: uniform with variance 1 / fan_in
            fan_in = math.prod(t.shape[1:]) if t.ndim > 1 else t.shape[0]
            bound = math.sqrt(3.0 / fan_in)
            nn.init.uniform_(t, -bound, bound)
        elif kind == "msra":
            fan_in = math.prod(t.shape[1:]) if t.ndim > 1 else t.shape[0]
            nn.init.normal_(t, 0.0, math.sqrt(2.0 / fan_in))
        else:
            raise ConfigError(f"{where}: unknown filler type {kind!r} (constant, gaussian, "
                              f"uniform, xavier, msra)")


def _pair(p: dict, name: str, default):
    """Caffe's kernel_size / kernel_h + kernel_w style of giving a square or a rectangle."""
    if f"{name}_h" in p or f"{name}_w" in p:
        return int(p.get(f"{name}_h", default)), int(p.get(f"{name}_w", default))
    v = as_list(p.get(name, default))
    return (int(v[0]), int(v[-1])) if v else (default, default)


class _Layer(nn.Module):
    """One Caffe layer: `forward(*bottom tensors) -> top tensors (a tuple)`."""

    def __init__(self, spec: dict, where: str, bottoms=()):
        super().__init__()
        self.spec, self.where = spec, where

    def param(self, key: str) -> dict:
        p = self.spec.get(key, {})
        if not isinstance(p, dict):
            raise ConfigError(f"{self.where}: '{key}' must be a block {{ ... }}")
        return p


class InnerProduct(_Layer):
    """Caffe's fully connected layer: nn.Linear over the flattened bottom."""

    def __init__(self, spec, where, bottoms):
        super().__init__(spec, where, bottoms)
        p = self.param("inner_product_param")
        num_output = _needs(p, "num_output", "inner_product_param", where)
        in_features = math.prod(bottoms[0].shape[1:])
        self.fc = nn.Linear(in_features, num_output, bias=p.get("bias_term", True))
        _fill(self.fc.weight, p.get("weight_filler"), where, "xavier")
        if self.fc.bias is not None:
            _fill(self.fc.bias, p.get("bias_filler"), where, "constant")

    def forward(self, x):
        return (self.fc(x.reshape(x.shape[0], -1)),)


class Convolution(_Layer):
    """nn.Conv2d from convolution_param (kernel_size, stride, pad, group, num_output)."""

    def __init__(self, spec, where, bottoms):
        super().__init__(spec, where, bottoms)
        p = self.param("convolution_param")
        num_output = _needs(p, "num_output", "convolution_param", where)
        self.conv = nn.Conv2d(bottoms[0].shape[1], num_output, _pair(p, "kernel", 1)
                              if "kernel_size" not in p else _pair(p, "kernel_size", 1),
                              stride=_pair(p, "stride", 1), padding=_pair(p, "pad", 0),
                              groups=int(p.get("group", 1)), bias=p.get("bias_term", True))
        _fill(self.conv.weight, p.get("weight_filler"), where, "xavier")
        if self.conv.bias is not None:
            _fill(self.conv.bias, p.get("bias_filler"), where, "constant")

    def forward(self, x):
        return (self.conv(x),)


class Pooling(_Layer):
    """MAX or AVE pooling, with Caffe's rounded-up output size."""

    def __init__(self, spec, where, bottoms):
        super().__init__(spec, where, bottoms)
        p = self.param("pooling_param")
        self.kind = p.get("pool", "MAX")
        if self.kind not in ("MAX", "AVE"):
            raise ConfigError(f"{where}: pool {self.kind!r} is not supported (MAX, AVE)")
        self.kernel = (tuple(bottoms[0].shape[2:]) if p.get("global_pooling")
                       else _pair(p, "kernel_size", 1))
        self.stride, self.pad = _pair(p, "stride", 1), _pair(p, "pad", 0)

    def forward(self, x):
        # Caffe rounds the output size up (ceil), PyTorch down: ceil_mode keeps Caffe's sizes
        if self.kind == "MAX":
            return (F.max_pool2d(x, self.kernel, self.stride, self.pad, ceil_mode=True),)
        return (F.avg_pool2d(x, self.kernel, self.stride, self.pad, ceil_mode=True),)


class Activation(_Layer):
    """One-input, one-output layers without weights: ReLU, Sigmoid, TanH, Softmax, Flatten."""

    FNS = {"ReLU": None, "Sigmoid": lambda x: x.sigmoid(), "TanH": lambda x: x.tanh(),
           "Softmax": lambda x: F.softmax(x, dim=1), "Flatten": lambda x: x.reshape(x.shape[0], -1)}

    def __init__(self, spec, where, bottoms):
        super().__init__(spec, where, bottoms)
        self.kind = spec["type"]
        self.slope = float(self.param("relu_param").get("negative_slope", 0.0))

    def forward(self, x):
        if self.kind == "ReLU":
            return (F.leaky_relu(x, self.slope) if self.slope else F.relu(x),)
        return (self.FNS[self.kind](x),)


class Dropout(_Layer):
    """nn.Dropout with p = dropout_param.dropout_ratio."""

    def __init__(self, spec, where, bottoms):
        super().__init__(spec, where, bottoms)
        self.drop = nn.Dropout(float(self.param("dropout_param").get("dropout_ratio", 0.5)))

    def forward(self, x):
        return (self.drop(x),)


class Concat(_Layer):
    """The bottoms joined along concat_param.axis (channels by default)."""

    def forward(self, *xs):
        from .. import cat
        return (cat(list(xs), dim=int(self.param("concat_param").get("axis", 1))),)


class Eltwise(_Layer):
    """The bottoms combined elementwise: SUM (with coeff), PROD or MAX."""

    def forward(self, *xs):
        p = self.param("eltwise_param")
        op = p.get("operation", "SUM")
        coeff = [float(c) for c in as_list(p.get("coeff"))] or [1.0] * len(xs)
        out = xs[0] * coeff[0] if op == "SUM" else xs[0]
        for c, x in zip(coeff[1:], xs[1:]):
            out = out + x * c if op == "SUM" else out * x if op == "PROD" else out.maximum(x)
        return (out,)


class Loss(_Layer):
    """Caffe's losses, normalized as Caffe does: SoftmaxWithLoss and SigmoidCrossEntropyLoss
    by the batch (a mean), EuclideanLoss as sum((a - b)^2) / (2 N)."""

    def forward(self, a, b):
        kind, w = self.spec["type"], float(as_list(self.spec.get("loss_weight", 1.0))[0])
        if kind == "SoftmaxWithLoss":
            loss = F.cross_entropy(a.reshape(a.shape[0], -1), b.reshape(-1).long())
        elif kind == "EuclideanLoss":
            loss = (a - b.reshape(a.shape)).pow(2).sum() / (2 * a.shape[0])
        else:
            loss = F.binary_cross_entropy_with_logits(a, b.reshape(a.shape).to(a.dtype),
                                                      reduction="sum") / a.shape[0]
        return (loss * w if w != 1.0 else loss,)


class Accuracy(_Layer):
    """The share of rows whose top score is the label (no gradient)."""

    def forward(self, scores, label):
        with no_grad():
            pred = scores.reshape(scores.shape[0], -1).argmax(dim=1)
            return ((pred == label.reshape(-1).long()).float().mean(),)


LAYERS = {"InnerProduct": InnerProduct, "Convolution": Convolution, "Pooling": Pooling,
          "ReLU": Activation, "Sigmoid": Activation, "TanH": Activation, "Softmax": Activation,
          "Flatten": Activation, "Dropout": Dropout, "Concat": Concat, "Eltwise": Eltwise,
          "SoftmaxWithLoss": Loss, "EuclideanLoss": Loss, "SigmoidCrossEntropyLoss": Loss,
          "Accuracy": Accuracy}


def _in_phase(spec: dict, phase: str) -> bool:
    inc, exc = as_list(spec.get("include")), as_list(spec.get("exclude"))
    if inc and not any(i.get("phase", phase) == phase for i in inc):
        return False
    return not any(e.get("phase") == phase for e in exc)


def _input_shapes(net: dict, layers: list, given: dict) -> dict:
    """Blob -> full shape (with the batch) of the net's inputs: `input_shapes=`, Input layers'
    `input_param { shape { dim: ... } }`, and old-style `input:` / `input_dim:` fields."""
    shapes = {k: tuple(v) for k, v in (given or {}).items()}
    old = as_list(net.get("input"))
    if old:
        dims = [int(d) for d in as_list(net.get("input_dim"))]
        blocks = [[int(d) for d in as_list(s.get("dim"))] for s in as_list(net.get("input_shape"))]
        for i, name in enumerate(old):
            shapes.setdefault(name, tuple(blocks[i]) if blocks else tuple(dims[4 * i:4 * i + 4]))
    for spec in layers:
        if spec["type"] == "Input":
            blocks = as_list(spec.get("input_param", {}).get("shape"))
            for top, block in zip(as_list(spec.get("top")), blocks):
                shapes.setdefault(top, tuple(int(d) for d in as_list(block.get("dim"))))
    return shapes


class CaffeNet(nn.Module):
    """A Caffe net definition as a Module. `forward(**blobs)` (or the input blobs in order)
    runs the layers in order and returns a dict of the output blobs (those no layer reads);
    every blob of the last run stays in `net.blobs`."""

    def __init__(self, net: dict, phase: str = "TRAIN", input_shapes: dict | None = None,
                 source: str = "net"):
        super().__init__()
        if phase not in ("TRAIN", "TEST"):
            raise ValueError(f"phase must be 'TRAIN' or 'TEST', got {phase!r}")
        self.name, self.phase, self.definition = net.get("name", "net"), phase, net
        specs = as_list(net.get("layer")) + as_list(net.get("layers"))
        self.specs = []
        for i, spec in enumerate(specs):
            if not isinstance(spec, dict) or "type" not in spec:
                raise ConfigError(f"{source}: layer {i}: expected a block with a 'type'")
            spec = dict(spec, type=V1_TYPES.get(spec["type"], spec["type"]))
            spec.setdefault("name", f"{spec['type'].lower()}{i}")
            if _in_phase(spec, phase):
                self.specs.append(spec)
        self.source = source
        self.inputs: list = []        # the blobs forward() takes, in order
        self.data_layers = [s for s in self.specs if s["type"] in DATA_LAYERS]
        for s in self.data_layers:
            self.inputs += [t for t in as_list(s.get("top")) if t not in self.inputs]
        self.inputs += [b for b in as_list(net.get("input")) if b not in self.inputs]
        self.input_shapes = _input_shapes(net, self.specs, input_shapes)
        self.layers = nn.ModuleDict()
        self._built = False
        if all(b in self.input_shapes for b in self.inputs):
            self.build(self.input_shapes)

    def build(self, shapes: dict) -> None:
        """Make each layer's weights, running a zero batch of `shapes` through the net so every
        layer learns the size of its bottoms (Caffe's "reshape" at net set-up)."""
        if self._built:
            return
        from .. import zeros
        blobs = {}
        for b in self.inputs:
            if b not in shapes:
                raise ConfigError(f"{self.source}: the shape of input blob '{b}' is unknown; give "
                                  f"input_shapes={{'{b}': (batch, ...)}} or an Input layer shape")
            shape = (1, *tuple(shapes[b])[1:])
            blobs[b] = zeros(*shape, dtype=None) if shape else zeros(())
        for i, spec in enumerate(self.specs):
            where = f"{self.source}: layer {i} ('{spec['name']}', {spec['type']})"
            if spec["type"] in DATA_LAYERS:
                continue
            if spec["type"] not in LAYERS:
                raise ConfigError(f"{where}: unknown layer type{_suggest(spec['type'], LAYERS)}")
            bottoms = self._bottoms(spec, blobs, where)
            try:
                layer = LAYERS[spec["type"]](spec, where, bottoms)
            except ConfigError:
                raise
            except (ValueError, TypeError) as e:      # int("five"), a block where a number goes
                raise ConfigError(f"{where}: {e}") from e
            self.layers[_key(spec["name"])] = layer
            with no_grad():
                try:
                    tops = layer(*bottoms)
                except Exception as e:
                    shapes_in = ", ".join(str(tuple(b.shape)) for b in bottoms)
                    raise ConfigError(f"{where}: can't take bottoms of shape {shapes_in}: "
                                      f"{e}") from e
            self._store(spec, tops, blobs, where)
        self._built = True

    def _bottoms(self, spec, blobs, where):
        out = []
        for b in as_list(spec.get("bottom")):
            if b not in blobs:
                known = ", ".join(sorted(blobs)) or "none"
                raise ConfigError(f"{where}: bottom blob '{b}' is not made by any layer before it "
                                  f"(blobs so far: {known})")
            out.append(blobs[b])
        return out

    def _store(self, spec, tops, blobs, where):
        names = as_list(spec.get("top"))
        if len(names) != len(tops):
            raise ConfigError(f"{where}: makes {len(tops)} top blob(s), {len(names)} named")
        blobs.update(zip(names, tops))

    @property
    def outputs(self) -> list:
        """The blobs no layer reads: the net's outputs (losses, scores...)."""
        read = {b for s in self.specs for b in as_list(s.get("bottom"))
                if not (s.get("top") is not None and b in as_list(s.get("top")))}
        tops = [t for s in self.specs if s["type"] not in DATA_LAYERS
                for t in as_list(s.get("top"))]
        return [t for i, t in enumerate(tops) if t not in read and t not in tops[i + 1:]]

    @property
    def losses(self) -> list:
        return [t for s in self.specs if s["type"] in LOSS_LAYERS for t in as_list(s.get("top"))]

    def forward(self, *args, **blobs) -> dict:
        for name, x in zip(self.inputs, args):
            blobs[name] = x
        missing = [b for b in self.inputs if b not in blobs]
        if missing and any(s["type"] not in DATA_LAYERS and set(as_list(s.get("bottom"))) &
                           set(missing) for s in self.specs):
            raise TypeError(f"{self.name}: input blob(s) {missing} not given; forward takes "
                            f"{self.inputs}, got {sorted(blobs)}")
        if not self._built:
            self.build({b: tuple(x.shape) for b, x in blobs.items()})
        for i, spec in enumerate(self.specs):
            if spec["type"] in DATA_LAYERS:
                continue
            where = f"{self.source}: layer {i} ('{spec['name']}', {spec['type']})"
            bottoms = self._bottoms(spec, blobs, where)
            try:
                tops = self.layers[_key(spec["name"])](*bottoms)
            except Exception as e:
                if hasattr(e, "add_note"):          # Python 3.11+: the traceback names the layer
                    e.add_note(f"(in {where})")
                raise
            self._store(spec, tops, blobs, where)
        self.blobs = blobs
        return {t: blobs[t] for t in self.outputs if t in blobs}

    def to_prototxt(self) -> str:
        from .prototxt import dumps
        return dumps(self.definition)

    def extra_repr(self) -> str:
        return f"name={self.name!r}, phase={self.phase}, inputs={self.inputs}"


def _suggest(name: str, known) -> str:
    """'; did you mean X?' (ignoring case: Relu -> ReLU), else the list of what is known."""
    by_lower = {k.lower(): k for k in known}
    close = difflib.get_close_matches(name.lower(), by_lower, n=1)
    if close:
        return f"; did you mean {by_lower[close[0]]!r}?"
    return f"; supported: {', '.join(sorted(known))}"


def _needs(p: dict, key: str, block: str, where: str) -> int:
    """The int `key` of a param block, or an error that names a misspelled key."""
    if key not in p:
        close = difflib.get_close_matches(key, [str(k) for k in p], n=1)
        hint = f" (found {close[0]!r}: a typo?)" if close else ""
        raise ConfigError(f"{where}: {block} needs {key}{hint}")
    return int(p[key])


def _key(name: str) -> str:
    return str(name).replace(".", "_").replace("/", "_") or "layer"
