"""Caffe's solver: training settings as data. A solver prototxt names the net and how to train it:

    net: "two_layer.prototxt"
    base_lr: 0.01   lr_policy: "step"   gamma: 0.1   stepsize: 1000
    momentum: 0.9   weight_decay: 0.0005   type: "SGD"
    max_iter: 5000  display: 100   snapshot: 1000   snapshot_prefix: "snapshots/two_layer"

`Solver(path).solve()` trains with Caffe's update rules (SGD, Nesterov, AdaGrad, RMSProp, Adam),
learning rate policies and L2/L1 weight decay, feeding the data layers from `data=` arrays or
from their `source` files (.npz with one array per top blob, or Caffe's .txt list of files), and
saves snapshots with `ember.save` (`<prefix>_iter_<n>.ember`). Also from the command line:
`python -m ember.config train --solver solver.prototxt`.
"""
from __future__ import annotations

import difflib
import math
import os

import numpy as np

from ..autograd.grad_mode import no_grad
from .caffe import CaffeNet
from .prototxt import as_list
from .sequential import ConfigError

_OLD_TYPES = {"SGD": "SGD", "NESTEROV": "Nesterov", "ADAGRAD": "AdaGrad", "RMSPROP": "RMSProp",
              "ADAM": "Adam"}


def learning_rate(s: dict, it: int) -> float:
    """Caffe's lr_policy at iteration `it`."""
    base, policy = float(s.get("base_lr", 0.01)), s.get("lr_policy", "fixed")
    gamma, power = float(s.get("gamma", 1.0)), float(s.get("power", 1.0))
    if policy == "fixed":
        return base
    if policy == "step":
        return base * gamma ** (it // int(s["stepsize"]))
    if policy == "exp":
        return base * gamma ** it
    if policy == "inv":
        return base * (1 + gamma * it) ** -power
    if policy == "multistep":
        return base * gamma ** sum(it >= int(v) for v in as_list(s.get("stepvalue")))
    if policy == "poly":
        return base * (1 - it / int(s["max_iter"])) ** power
    if policy == "sigmoid":
        return base / (1 + math.exp(-gamma * (it - int(s["stepsize"]))))
    raise ConfigError(f"solver: unknown lr_policy {policy!r} (fixed, step, exp, inv, multistep, "
                      f"poly, sigmoid)")


def _load_source(path: str) -> dict:
    if path.endswith(".npz"):
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    if path.endswith((".h5", ".hdf5")):
        try:
            import h5py
        except ImportError:
            raise ConfigError(f"{path}: reading HDF5 needs h5py (pip install h5py); or save the "
                              f"arrays with numpy.savez") from None
        with h5py.File(path, "r") as f:
            return {k: np.asarray(f[k]) for k in f.keys()}
    if path.endswith(".txt"):   # Caffe's HDF5Data source: one data file a line
        parts = []
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    name = line.strip()
                    parts.append(_load_source(name if os.path.isabs(name) else
                                              os.path.join(os.path.dirname(path), name)))
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    raise ConfigError(f"{path}: data sources are .npz, .h5/.hdf5 or .txt lists of them")


# caffe.proto's SolverParameter: any other key is a typo (Caffe refuses the file too)
SOLVER_FIELDS = {
    "net", "net_param", "train_net", "test_net", "train_net_param", "test_net_param",
    "train_state", "test_state", "test_iter", "test_interval", "test_compute_loss",
    "test_initialization", "base_lr", "display", "average_loss", "max_iter", "iter_size",
    "lr_policy", "gamma", "power", "momentum", "weight_decay", "regularization_type", "stepsize",
    "stepvalue", "clip_gradients", "snapshot", "snapshot_prefix", "snapshot_diff",
    "snapshot_format", "solver_mode", "device_id", "random_seed", "type", "delta", "momentum2",
    "rms_decay", "debug_info", "snapshot_after_train", "solver_type", "layer_wise_reduce",
    "weights"}


class Solver:
    """Trains a CaffeNet with a solver definition (a dict, or a solver prototxt/YAML/JSON)."""

    def __init__(self, solver, net=None, data: dict | None = None, verbose: bool = False):
        from . import build_model, load_config
        base = "."
        if isinstance(solver, (str, os.PathLike)):
            base = os.path.dirname(os.fspath(solver)) or "."
            solver = load_config(solver)
        self.settings, self.base, self.verbose = dict(solver), base, verbose
        s = self.settings
        for key in s:
            if key not in SOLVER_FIELDS:
                close = difflib.get_close_matches(str(key), SOLVER_FIELDS, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else " (not a Caffe solver field)"
                raise ConfigError(f"solver: unknown setting {key!r}{hint}")
        kind = s.get("type", _OLD_TYPES.get(s.get("solver_type", "SGD"), "SGD"))
        if kind not in ("SGD", "Nesterov", "AdaGrad", "RMSProp", "Adam"):
            raise ConfigError(f"solver: type {kind!r} is not supported (SGD, Nesterov, AdaGrad, "
                              f"RMSProp, Adam)")
        self.kind = kind
        if "random_seed" in s:
            from ..random import manual_seed
            manual_seed(int(s["random_seed"]))
        if net is None:
            spec = s.get("net_param") or s.get("train_net_param") or s.get("net") or \
                s.get("train_net")
            if spec is None:
                raise ConfigError("solver: name the network with net: \"file.prototxt\" (or "
                                  "net_param { ... })")
            net = self._path(spec) if isinstance(spec, str) else spec
        self.net = net if isinstance(net, CaffeNet) else build_model(net, phase="TRAIN")
        self.data = {k: np.asarray(v) for k, v in (data or self._sources()).items()}
        self.iter, self.history = 0, []
        self._state: dict = {}
        self._cursor, self._order = 0, None

    def _path(self, p: str) -> str:
        return p if os.path.isabs(p) or os.path.exists(p) else os.path.join(self.base, p)

    def _sources(self) -> dict:
        out = {}
        for layer in self.net.data_layers:
            for key in ("data_param", "hdf5_data_param", "memory_data_param"):
                src = layer.get(key, {}).get("source") if isinstance(layer.get(key), dict) else None
                if src:
                    arrays = _load_source(self._path(src))
                    for top in as_list(layer.get("top")):
                        if top not in arrays:
                            raise ConfigError(f"{src}: no array named '{top}' (has "
                                              f"{sorted(arrays)})")
                        out[top] = arrays[top]
        return out

    def _batch_size(self, n: int) -> int:
        for layer in self.net.data_layers:
            for key in ("data_param", "hdf5_data_param", "memory_data_param"):
                p = layer.get(key)
                if isinstance(p, dict) and "batch_size" in p:
                    return int(p["batch_size"])
            if layer["type"] == "Input":
                shapes = self.net.input_shapes
                tops = [t for t in as_list(layer.get("top")) if t in shapes and shapes[t]]
                if tops:
                    return int(shapes[tops[0]][0])
        return n

    def _shuffle(self) -> bool:
        return any(isinstance(layer.get(k), dict) and layer[k].get("shuffle")
                   for layer in self.net.data_layers for k in ("data_param", "hdf5_data_param"))

    def next_batch(self) -> dict:
        """The next minibatch of every input blob, in order (shuffled each pass with
        `shuffle: true`), wrapping around at the end as Caffe's data layers do."""
        from .. import from_numpy
        missing = [b for b in self.net.inputs if b not in self.data]
        if missing:
            raise ConfigError(f"solver: no data for input blob(s) {missing}: pass data={{...}} or "
                              f"give the data layer a source")
        n = len(next(iter(self.data.values())))
        bs = min(self._batch_size(n), n)
        if self._order is None or self._cursor + bs > n:
            self._order = np.random.permutation(n) if self._shuffle() else np.arange(n)
            self._cursor = 0
        idx = self._order[self._cursor:self._cursor + bs]
        self._cursor += bs
        batch = {}
        for k, v in self.data.items():
            a = v[idx]
            batch[k] = from_numpy(np.ascontiguousarray(a.astype(np.float32) if a.dtype.kind == "f"
                                                       else a))
        return batch

    def step(self, iters: int = 1) -> float:
        """Run `iters` training iterations; returns the last loss."""
        s = self.settings
        losses = self.net.losses
        if not losses:
            raise ConfigError("solver: the net has no loss layer (SoftmaxWithLoss, EuclideanLoss, "
                              "SigmoidCrossEntropyLoss) to minimize")
        value = float("nan")
        for _ in range(iters):
            self.net.train()
            outs = self.net(**self.next_batch())
            loss = sum(outs[name] for name in losses if name in outs)
            self.net.zero_grad()
            loss.backward()
            self._update(learning_rate(s, self.iter))
            value = loss.item()
            self.history.append(value)
            self.iter += 1
            display = int(s.get("display", 0))
            if self.verbose and display and self.iter % display == 0:
                print(f"Iteration {self.iter}, loss = {value:.6g}, lr = "
                      f"{learning_rate(s, self.iter):.6g}")
            snap = int(s.get("snapshot", 0))
            if snap and self.iter % snap == 0:
                self.snapshot()
        return value

    def solve(self) -> list:
        """Train up to max_iter (snapshotting at the end when snapshot_prefix is set); returns
        the loss of every iteration."""
        max_iter = int(self.settings.get("max_iter", 0))
        if max_iter <= 0:
            raise ConfigError("solver: set max_iter (the number of iterations to train)")
        self.step(max_iter - self.iter)
        if self.settings.get("snapshot_prefix") and self.settings.get("snapshot_after_train", True):
            self.snapshot()
        return self.history

    def snapshot(self) -> str:
        from ..serialization import save
        prefix = self.settings.get("snapshot_prefix")
        if not prefix:
            raise ConfigError("solver: snapshot needs snapshot_prefix")
        path = f"{prefix if os.path.isabs(prefix) else self._path(prefix)}_iter_{self.iter}.ember"
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        save(self.net.state_dict(), path)
        return path

    def restore(self, path) -> None:
        from ..serialization import load
        self.net.load_state_dict(load(path))

    def _update(self, lr: float) -> None:
        """Caffe's update rules, on the gradient plus weight decay."""
        s, kind = self.settings, self.kind
        wd, mom = float(s.get("weight_decay", 0.0)), float(s.get("momentum", 0.0))
        delta = float(s.get("delta", 1e-8))
        clip = float(s.get("clip_gradients", -1))
        params = [p for p in self.net.parameters() if p.grad is not None]
        with no_grad():
            if clip > 0:
                norm = math.sqrt(sum(float((p.grad * p.grad).sum().item()) for p in params))
                if norm > clip:
                    for p in params:
                        p.grad.mul_(clip / norm)
            t = self.iter + 1
            for p in params:
                g = p.grad
                if wd:
                    g = g + (p.sign() if s.get("regularization_type") == "L1" else p) * wd
                st = self._state.setdefault(id(p), {})
                if kind in ("SGD", "Nesterov"):
                    v = st.get("v")
                    prev = v if v is not None else g * 0
                    v = prev * mom + g * lr
                    st["v"] = v
                    p.sub_(v if kind == "SGD" else v * (1 + mom) - prev * mom)
                elif kind == "AdaGrad":
                    h = st.get("h", g * 0) + g * g
                    st["h"] = h
                    p.sub_(g * lr / (h.sqrt() + delta))
                elif kind == "RMSProp":
                    decay = float(s.get("rms_decay", 0.99))
                    h = st.get("h", g * 0) * decay + g * g * (1 - decay)
                    st["h"] = h
                    p.sub_(g * lr / (h.sqrt() + delta))
                else:
                    b1, b2 = mom or 0.9, float(s.get("momentum2", 0.999))
                    m = st.get("m", g * 0) * b1 + g * (1 - b1)
                    v2 = st.get("v", g * 0) * b2 + g * g * (1 - b2)
                    st["m"], st["v"] = m, v2
                    corr = math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
                    p.sub_(m * (lr * corr) / (v2.sqrt() + delta))
