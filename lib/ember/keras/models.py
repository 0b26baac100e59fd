"""`Sequential`: Keras's model, a stack of layers with compile / fit / evaluate / predict.
It is an ember nn.Module: the layers' weights are Parameters, `state_dict()` and `ember.save`
work, and `fit` is ember.keras.fit, the same loop that trains any module."""
from __future__ import annotations

import re
import warnings

import numpy as np

from .. import nn, optim
from ..autograd.grad_mode import no_grad
from ..tensor import Tensor
from . import losses as _losses, optimizers as _optimizers
from .layers.core import Layer
from .training import History, _metric, evaluate as _evaluate, fit as _fit, split_validation


def _tensor(a, name: str, floating: bool = True) -> Tensor:
    """Keras takes numpy arrays (float inputs become float32, its default float type)."""
    from .. import from_numpy
    if isinstance(a, Tensor):
        return a
    arr = np.asarray(a)
    if arr.dtype.kind == "f" or (floating and arr.dtype.kind in "iub"):
        arr = arr.astype(np.float32)
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"{name}: expected a numeric array, got dtype {arr.dtype}")
    return from_numpy(np.ascontiguousarray(arr))


class Sequential(nn.Module):
    """Layers applied in order: `Sequential([Dense(...), ...])` or `model.add(layer)`."""

    def __init__(self, layers=None, name: str | None = None):
        super().__init__()
        self.name = name
        self._size = None           # output size of the last layer, when known
        self._compiled = None
        for layer in layers or []:
            self.add(layer)

    def add(self, layer: nn.Module) -> None:
        """Append a layer; a Keras layer learns its input size from the layer before it."""
        if not isinstance(layer, nn.Module):
            raise TypeError(f"Sequential.add takes a layer (an ember Module), got "
                            f"{type(layer).__name__}")
        if isinstance(layer, Layer):
            if self._size is not None:
                layer.build(self._size)
            self._size = layer.output_size(self._size)
        else:
            self._size = None
        self.add_module(str(len(self._modules)), layer)

    @property
    def layers(self) -> list:
        return list(self.children())

    def forward(self, x: Tensor) -> Tensor:
        for layer in self.children():
            x = layer(x)
        return x

    # ---- training -------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=(), **unused) -> None:
        """Choose the loss (a Keras name or function(y_true, y_pred)), the optimizer (a name,
        a keras.optimizers object or an ember optimizer) and metrics ('accuracy')."""
        if loss is None:
            raise ValueError("compile: give a loss, e.g. loss='mean_squared_error'")
        fn = _losses.get(loss)
        for m in metrics:
            _metric(m)   # an unknown metric fails now
        self._compiled = {"optimizer": _optimizers.get(optimizer), "built": None,
                          "loss": lambda out, target: fn(target, out), "metrics": list(metrics)}

    def _optimizer(self) -> optim.Optimizer:
        c = self._compiled
        if c["built"] is None:
            opt = c["optimizer"]
            c["built"] = opt if isinstance(opt, optim.Optimizer) else opt.build(self.parameters())
        return c["built"]

    def _check(self, what: str):
        if self._compiled is None:
            raise RuntimeError(f"call model.compile(loss=..., optimizer=...) before {what}")

    def _build_from(self, x: Tensor) -> None:
        """Make any weights still missing (layers without input_dim) from one sample."""
        if any(isinstance(m, Layer) and getattr(m, "built", True) is False for m in self.modules()):
            with no_grad():
                self(x[:1])

    def fit(self, x=None, y=None, batch_size: int = 32, epochs: int = 1, verbose: int = 1,
            callbacks=None, validation_split: float = 0.0, validation_data=None,
            shuffle: bool = True, nb_epoch: int | None = None, seed: int | None = None,
            plot=None) -> History:
        """Train on x, y (numpy arrays or tensors) for `epochs` (Keras 1: `nb_epoch`); returns a
        History whose `history['loss']` has the mean loss of each epoch."""
        from ..random import Generator
        from ..utils.data import DataLoader, TensorDataset
        self._check("fit")
        if nb_epoch is not None:
            warnings.warn("fit(nb_epoch=...) is Keras 1's name; Keras 2 calls it epochs=",
                          FutureWarning, stacklevel=2)
            epochs = nb_epoch
        x, y = _tensor(x, "x"), _tensor(y, "y", floating=False)
        if len(x) != len(y):
            raise ValueError(f"fit: x has {len(x)} samples but y has {len(y)}")
        self._build_from(x)
        data = TensorDataset(x, y)
        gen = Generator().manual_seed(seed) if seed is not None else None
        val_loader = None
        if validation_data is not None:
            vx, vy = validation_data
            val_loader = DataLoader(TensorDataset(_tensor(vx, "x"), _tensor(vy, "y", False)),
                                    batch_size=batch_size)
        elif validation_split:
            data, val = split_validation(data, validation_split)
            val_loader = DataLoader(val, batch_size=batch_size)
        loader = DataLoader(data, batch_size=batch_size, shuffle=shuffle, generator=gen)
        return _fit(self, loader, self._compiled["loss"], self._optimizer(), epochs, val_loader,
                    metrics=self._compiled["metrics"], callbacks=callbacks, plot=plot,
                    progress=verbose > 0)

    def evaluate(self, x, y, batch_size: int = 32, verbose: int = 1):
        """The mean loss on x, y (a list [loss, metric...] when compiled with metrics)."""
        from ..utils.data import DataLoader, TensorDataset
        self._check("evaluate")
        x, y = _tensor(x, "x"), _tensor(y, "y", floating=False)
        logs = _evaluate(self, DataLoader(TensorDataset(x, y), batch_size=batch_size),
                         self._compiled["loss"], self._compiled["metrics"])
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size: int | None = None, verbose: int = 0) -> np.ndarray:
        """The outputs for x, as a numpy array (in eval mode, without a graph)."""
        x = _tensor(x, "x")
        was = self.training
        self.eval()
        with no_grad():
            out = self(x).numpy()
        self.train(was)
        return out

    # ---- weights ---------------------------------------------------------------------------
    def get_weights(self) -> list:
        """Copies of the weights as numpy arrays, in layer order (kernel, bias, ...)."""
        return [p.detach().numpy().copy() for p in self.parameters()]

    def set_weights(self, weights) -> None:
        """Overwrite the weights from numpy arrays of the shapes get_weights gives."""
        params = list(self.parameters())
        if len(weights) != len(params):
            raise ValueError(f"set_weights: the model has {len(params)} weight arrays, got "
                             f"{len(weights)}")
        with no_grad():
            for p, w in zip(params, weights):
                if tuple(p.shape) != np.shape(w):
                    raise ValueError(f"set_weights: shape {np.shape(w)} for a weight of shape "
                                     f"{tuple(p.shape)}")
                p.copy_(_tensor(w, "weights").to(p.dtype))

    def save_weights(self, path) -> None:
        from ..serialization import save
        save(self.state_dict(), path)

    def load_weights(self, path) -> None:
        from ..serialization import load
        self.load_state_dict(load(path))

    def summary(self) -> str:
        """A Keras-style table of the layers, their output sizes and parameter counts (printed
        and returned)."""
        rows, total, seen = [], 0, {}
        for layer in self.children():
            n = sum(p.numel() for p in layer.parameters())
            total += n
            out = getattr(layer, "units", None)
            kind = type(layer).__name__
            base = re.sub(r"(?<!^)(?=[A-Z])", "_", kind).lower()     # Keras's names: dense, dense_1
            count = seen[base] = seen.get(base, -1) + 1
            name = base if count == 0 else f"{base}_{count}"
            rows.append((f"{name} ({kind})", f"(None, {out})" if out else "", str(n)))
        width = max([len(r[0]) for r in rows] + [20])
        lines = [f"{'Layer (type)':<{width}}  {'Output Shape':<14}  Param #"]
        lines += [f"{a:<{width}}  {b:<14}  {c}" for a, b, c in rows]
        lines.append(f"Total params: {total}")
        text = "\n".join(lines)
        print(text)
        return text
