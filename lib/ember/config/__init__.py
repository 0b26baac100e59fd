"""Networks as data, not code, the way Caffe defines them: a config file is read, built into an
ember Module, trained and saved like any other.

Two formats, each readable from JSON, YAML (with PyYAML) or, for Caffe's, prototxt:

* a list of `ember.nn` layers (`{"layers": [{"type": "Linear", "in_features": 64, ...}, ...]}`),
  built into an `nn.Sequential` (see `ember.config.sequential`);
* Caffe's network definition (`layer { name: "fc1" type: "InnerProduct" bottom: "data"
  top: "fc1" ... }`), a graph of named blobs, built into a `CaffeNet` and trained by a
  `Solver` read from Caffe's solver prototxt (see `ember.config.caffe`, `ember.config.solver`),
  also from the command line: `python -m ember.config train --solver solver.prototxt`.

    net = ember.config.build_model("lenet.prototxt")       # or a dict, or a .yaml / .json file
    out = net(data=x, label=y)                              # a dict of the net's output blobs
    out["loss"].backward()
"""
from __future__ import annotations

import json
import os

from .prototxt import PrototxtError, dumps as to_prototxt, loads as parse_prototxt
from .sequential import ConfigError, build_sequential, layer_types, to_config

PROTOTXT = (".prototxt", ".pbtxt", ".pt", ".txt")


def load_config(path: str | os.PathLike) -> dict:
    """Read a config file: prototxt (.prototxt/.pbtxt), YAML (.yaml/.yml, with PyYAML) or JSON."""
    path = os.fspath(path)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if path.endswith(PROTOTXT):
        try:
            return parse_prototxt(text, path)
        except PrototxtError as e:
            raise ConfigError(str(e)) from None
    if path.endswith((".yaml", ".yml")):
        try:
            import yaml
        except ImportError:
            raise ConfigError(f"{path}: reading YAML needs PyYAML (pip install pyyaml); or write "
                              f"the config as JSON") from None
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise ConfigError(f"{path}: not valid YAML: {e}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(f"{path}: not valid JSON: {e.msg} at line {e.lineno}, column "
                          f"{e.colno}") from None


def is_caffe(config) -> bool:
    """A Caffe net definition: `layer` entries, or layers wired by `bottom`/`top` blobs."""
    if not isinstance(config, dict):
        return False
    if "layer" in config:
        return True
    layers = config.get("layers")
    layers = layers if isinstance(layers, list) else [layers]
    return any(isinstance(s, dict) and ("top" in s or "bottom" in s) for s in layers)


def build_model(config: dict | list | str | os.PathLike, **kwargs):
    """A Module from a config (a dict, a list of layers, or a file): an `nn.Sequential` for a
    list of ember.nn layers, a `CaffeNet` for a Caffe net definition (kwargs go to CaffeNet:
    `phase`, `input_shapes`)."""
    source = "config"
    if isinstance(config, (str, os.PathLike)):
        source = os.fspath(config)
        config = load_config(config)
    if is_caffe(config):
        from .caffe import CaffeNet
        return CaffeNet(config, source=source, **kwargs)
    if kwargs:
        raise TypeError(f"build_model: {sorted(kwargs)} apply to Caffe net definitions only")
    return build_sequential(config, source)


def __getattr__(name):
    if name in ("CaffeNet", "Solver"):
        from . import caffe, solver
        return {"CaffeNet": caffe.CaffeNet, "Solver": solver.Solver}[name]
    raise AttributeError(f"module 'ember.config' has no attribute {name!r}")


__all__ = ["build_model", "load_config", "to_config", "layer_types", "ConfigError", "CaffeNet",
           "Solver", "parse_prototxt", "to_prototxt", "PrototxtError", "is_caffe"]
