"""Models from a config file, the way Caffe defines networks in a prototxt: data, not code.

    {"name": "digits-mlp",
     "input_shape": [64],
     "layers": [{"type": "Linear", "in_features": 64, "out_features": 32},
                {"type": "ReLU"},
                {"type": "Dropout", "p": 0.1, "name": "drop"},
                {"type": "Linear", "in_features": 32, "out_features": 10}]}

`build_sequential(dict)` (what `ember.config.build_model` calls for this format) turns it into
an `nn.Sequential`: each layer's "type" names an `ember.nn` layer, its other keys are that
layer's constructor arguments, and an optional "name" names it in the Sequential (and in
state_dict keys). With "input_shape" (one sample, without the
batch dimension) a zero batch is run through the layers, so a shape mismatch is reported at the
layer that causes it.
"""
from __future__ import annotations

import difflib
import inspect
from collections import OrderedDict

from .. import nn
from ..autograd.grad_mode import no_grad

_NOT_LAYERS = {"Module", "Sequential", "ModuleList", "ModuleDict", "Parameter"}


def layer_types() -> dict:
    """The ember.nn layers a config may name: public nn.Module subclasses but containers, losses."""
    return {name: obj for name, obj in vars(nn).items()
            if isinstance(obj, type) and issubclass(obj, nn.Module) and not name.startswith("_")
            and name not in _NOT_LAYERS and not name.endswith("Loss")}


class ConfigError(ValueError):
    """A config that can't be built; the message names the layer index and the key."""


def build_sequential(config, source: str = "config") -> nn.Sequential:
    """An nn.Sequential from a config dict or a list of layer dicts."""
    if isinstance(config, list):
        config = {"layers": config}
    if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
        raise ConfigError(f"{source}: expected a dict with a 'layers' list (or a list of layers), "
                          f"got {type(config).__name__}")
    unknown = set(config) - {"name", "layers", "input_shape", "description"}
    if unknown:
        raise ConfigError(f"{source}: unknown top-level key(s) {sorted(unknown)}; allowed: name, "
                          f"layers, input_shape, description")
    types = layer_types()
    layers = OrderedDict()
    for i, spec in enumerate(config["layers"]):
        name, layer = _build_layer(i, spec, types, source)
        if name in layers:
            raise ConfigError(f"{source}: layer {i}: name {name!r} is already used by another "
                              f"layer")
        layers[name if name is not None else str(i)] = layer
    model = nn.Sequential(layers)
    if "input_shape" in config:
        _check_shapes(model, config["input_shape"], source)
    return model


def _build_layer(i: int, spec, types: dict, source: str):
    where = f"{source}: layer {i}"
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: expected a dict like {{\"type\": \"Linear\", ...}}, got "
                          f"{spec!r}")
    if "type" not in spec:
        raise ConfigError(f"{where}: missing key 'type' (the ember.nn layer, e.g. \"Linear\"); "
                          f"keys given: {sorted(spec)}")
    kind = spec["type"]
    if kind not in types:
        close = difflib.get_close_matches(str(kind), types, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(sorted(types))}"
        raise ConfigError(f"{where}: unknown layer type {kind!r}{hint}")
    cls = types[kind]
    kwargs = {k: v for k, v in spec.items() if k not in ("type", "name")}
    params = inspect.signature(cls).parameters
    takes_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
    allowed = [n for n, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    for key in kwargs:
        if key not in allowed and not takes_any:
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ConfigError(f"{where} ({kind}): unknown key {key!r}; {hint}{kind} takes "
                              f"{', '.join(allowed) or 'no arguments'}")
    missing = [n for n in allowed if params[n].default is inspect.Parameter.empty
               and n not in kwargs]
    if missing:
        raise ConfigError(f"{where} ({kind}): missing required key(s) {missing}")
    try:
        layer = cls(**kwargs)
    except Exception as e:
        raise ConfigError(f"{where} ({kind}): {type(e).__name__}: {e}") from e
    name = spec.get("name")
    if name is not None and (not isinstance(name, str) or not name or "." in name):
        raise ConfigError(f"{where} ({kind}): 'name' must be a non-empty string without '.', got "
                          f"{name!r}")
    return name, layer


def _check_shapes(model: nn.Sequential, input_shape, source: str) -> None:
    from ..creation import zeros
    if not isinstance(input_shape, (list, tuple)) or not all(isinstance(s, int) and s > 0
                                                            for s in input_shape):
        raise ConfigError(f"{source}: input_shape must be a list of positive integers (one "
                          f"sample, without the batch dimension), got {input_shape!r}")
    x = zeros(2, *input_shape)
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            for i, (name, layer) in enumerate(model.named_children()):
                try:
                    x = layer(x)
                except Exception as e:
                    raise ConfigError(f"{source}: layer {i} ({type(layer).__name__} {name!r}) "
                                      f"can't take its input of shape {tuple(x.shape)} (batch of "
                                      f"2): {e}") from e
    finally:
        model.train(was_training)


def to_config(model: nn.Sequential) -> dict:
    """The config of a Sequential of simple layers (each layer's constructor arguments are read
    back from attributes of the same name)."""
    layers = []
    for name, layer in model.named_children():
        spec = {"type": type(layer).__name__}
        if not name.isdigit():
            spec["name"] = name
        for pname, p in inspect.signature(type(layer)).parameters.items():
            if p.kind not in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
                continue
            value = getattr(layer, pname, p.default)
            if pname == "bias":
                value = getattr(layer, "bias", None) is not None
            if value is inspect.Parameter.empty:
                raise ConfigError(f"to_config: can't read argument {pname!r} of layer {name} "
                                  f"({type(layer).__name__})")
            if value != p.default:
                spec[pname] = list(value) if isinstance(value, tuple) else value
        layers.append(spec)
    return {"layers": layers}
