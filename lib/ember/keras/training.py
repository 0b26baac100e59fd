"""Keras-style training on ember: a `fit` loop with a progress bar, and a compile/fit wrapper.

    history = ember.keras.fit(model, train_loader, nn.CrossEntropyLoss(), opt, epochs=10,
                              val_loader=val_loader, metrics=["accuracy"])
    model = ember.keras.Model(net).compile(optimizer="adam", loss="mse")
    model.fit(x, y, epochs=20, batch_size=32)

Both return a History: a dict of per-epoch lists ('loss', 'val_loss', 'accuracy', 'lr', ...)
that also answers Keras's `history.history`. tqdm and the live plot are imported only when used.
"""
from __future__ import annotations

import math
from typing import Callable, Iterable

from .. import nn, optim
from ..autograd.grad_mode import no_grad
from ..random import Generator
from ..tensor import Tensor
from ..utils.data import DataLoader, Dataset, Subset, TensorDataset


def split_validation(data: Dataset, validation_split: float) -> tuple[Dataset, Dataset]:
    """Keras's validation_split: the *last* share of the samples, taken before any shuffling
    (so sorted data gives a validation set unlike the training set, as in Keras)."""
    if not 0.0 <= validation_split < 1.0:
        raise ValueError(f"validation_split must be in [0, 1), got {validation_split}")
    n = len(data)
    split_at = int(math.floor(n * (1.0 - validation_split)))
    return Subset(data, range(split_at)), Subset(data, range(split_at, n))


class History(dict):
    """Per-epoch numbers: `history['loss'][-1]`; `history.history` is the dict itself (Keras)."""

    @property
    def history(self) -> dict:
        return self


class StopTraining(Exception):
    """Raise from a callback (or return True) to end `fit` after the current epoch."""


class EarlyStopping:
    """Stop when `monitor` hasn't improved by more than `min_delta` for `patience` epochs."""

    def __init__(self, monitor: str = "val_loss", patience: int = 3, min_delta: float = 0.0,
                 mode: str = "min"):
        self.monitor, self.patience, self.min_delta, self.mode = monitor, patience, min_delta, mode
        self.best, self.wait = math.inf if mode == "min" else -math.inf, 0

    def __call__(self, epoch: int, logs: dict) -> bool:
        if self.monitor not in logs:
            raise KeyError(f"EarlyStopping monitors {self.monitor!r}, but fit logs only "
                           f"{sorted(logs)}; pass val_loader= to fit for 'val_*' numbers")
        value = logs[self.monitor]
        better = (value < self.best - self.min_delta if self.mode == "min"
                  else value > self.best + self.min_delta)
        if better:
            self.best, self.wait = value, 0
            return False
        self.wait += 1
        return self.wait >= self.patience


def accuracy(output: Tensor, target: Tensor) -> float:
    """Share of rows whose largest score is at the target class (or, for one output column,
    whose logit sign matches a 0/1 target)."""
    if output.ndim == 1 or output.shape[-1] == 1:
        pred = (output.reshape(-1) > 0).long()
        return (pred == target.reshape(-1).long()).float().mean().item()
    return (output.argmax(dim=-1) == target).float().mean().item()


_METRICS = {"accuracy": accuracy, "acc": accuracy}


def _metric(m) -> tuple[str, Callable]:
    if callable(m):
        return getattr(m, "__name__", "metric"), m
    if m in _METRICS:
        return "accuracy", _METRICS[m]
    raise ValueError(f"unknown metric {m!r}; use 'accuracy' or a function(output, target) -> float")


def _split(batch, device):
    if not isinstance(batch, (list, tuple)) or len(batch) != 2:
        raise TypeError(f"fit expects the loader to yield (inputs, targets) pairs, got a "
                        f"{type(batch).__name__}" + (f" of {len(batch)} items"
                                                     if isinstance(batch, (list, tuple)) else ""))
    x, y = batch
    if device is not None:
        x, y = x.to(device), y.to(device)
    return x, y


def evaluate(model: nn.Module, loader: Iterable, loss_fn: Callable, metrics=(), device=None
             ) -> dict:
    """Mean loss (and metrics) over a loader, in eval mode and without recording a graph."""
    named = [_metric(m) for m in metrics]
    total, n, sums = 0.0, 0, {name: 0.0 for name, _ in named}
    was_training = model.training
    model.eval()
    with no_grad():
        for batch in loader:
            x, y = _split(batch, device)
            out = model(x)
            k = len(x)
            total += loss_fn(out, y).item() * k
            for name, fn in named:
                sums[name] += fn(out, y) * k
            n += k
    model.train(was_training)
    if n == 0:
        raise ValueError("evaluate: the loader yielded no batches")
    return {"loss": total / n, **{name: s / n for name, s in sums.items()}}


def fit(model: nn.Module, loader: Iterable, loss_fn: Callable, optimizer: optim.Optimizer,
        epochs: int = 1, val_loader: Iterable | None = None, *, metrics: Iterable = (),
        callbacks: Iterable[Callable] | None = None, plot=None, device=None, scheduler=None,
        progress: bool = True) -> History:
    """Train for `epochs`; return the History of per-epoch means.

    * `metrics`: names ('accuracy') or functions(output, target) -> float, logged for train and
      validation ('val_accuracy').
    * `callbacks`: functions(epoch, logs) called after each epoch; return True (or raise
      StopTraining) to stop. `EarlyStopping` is one.
    * `plot`: True for a live `ember.viz.LossPlot`, or a LossPlot to draw into.
    * `scheduler`: stepped once an epoch (ReduceLROnPlateau gets val_loss, else loss).
    * `device`: where the model and each batch go.
    """
    if device is not None:
        model.to(device)
    named = [_metric(m) for m in metrics]
    callbacks = list(callbacks or [])
    plot = _make_plot(plot, bool(named))
    history = History()
    step = 0
    for epoch in range(epochs):
        model.train()
        total, n, sums = 0.0, 0, {name: 0.0 for name, _ in named}
        bar = _progress(loader, f"epoch {epoch + 1}/{epochs}", progress)
        for batch in loader:
            x, y = _split(batch, device)
            optimizer.zero_grad()
            out = model(x)
            loss = loss_fn(out, y)
            value, k = loss.item(), len(x)
            if not math.isfinite(value):
                raise FloatingPointError(f"fit: the loss became {value} in epoch {epoch + 1}, step "
                                         f"{step}; try a smaller learning rate or check the inputs")
            loss.backward()
            optimizer.step()
            total, n = total + value * k, n + k
            for name, fn in named:
                sums[name] += fn(out.detach(), y) * k
            if plot is not None:
                plot.update(step, loss=value, lr=optimizer.param_groups[0]["lr"])
            if bar is not None:
                if step % 10 == 0:
                    bar.set_postfix(loss=f"{value:.4f}", refresh=False)
                bar.update()
            step += 1
        if n == 0:
            raise ValueError("fit: the loader yielded no batches")
        logs = {"loss": total / n, **{name: s / n for name, s in sums.items()},
                "lr": optimizer.param_groups[0]["lr"]}
        if val_loader is not None:
            val = evaluate(model, val_loader, loss_fn, [m for m in metrics], device)
            logs.update({f"val_{k}": v for k, v in val.items()})
        if bar is not None:
            bar.set_postfix({k: f"{v:.4g}" for k, v in logs.items()})
            bar.close()
        if plot is not None:
            plot.update(step, **{k: v for k, v in logs.items()
                                 if k in ("val_loss", "accuracy", "val_accuracy")})
        for k, v in logs.items():
            history.setdefault(k, []).append(v)
        if scheduler is not None:
            if isinstance(scheduler, optim.lr_scheduler.ReduceLROnPlateau):
                scheduler.step(logs.get("val_loss", logs["loss"]))
            else:
                scheduler.step()
        stop = False
        for cb in callbacks:
            try:
                stop = bool(cb(epoch, logs)) or stop
            except StopTraining:
                stop = True
        if stop:
            break
    if plot is not None:
        plot.flush()
    return history


def _progress(loader, desc: str, enabled: bool):
    """A tqdm bar for one epoch (updated by hand, so the epoch's numbers can go on it), or None."""
    if not enabled:
        return None
    from tqdm.auto import tqdm
    return tqdm(desc=desc, total=len(loader) if hasattr(loader, "__len__") else None, leave=True)


def _make_plot(plot, with_accuracy: bool):
    if plot is None or plot is False:
        return None
    if plot is True:
        from ..viz import LossPlot
        plot = LossPlot(lr=True, accuracy=with_accuracy)
        try:
            from IPython.display import display
            display(plot)
        except ImportError:
            pass
    return plot


_OPTIMIZERS = {"sgd": (optim.SGD, 1e-2), "adam": (optim.Adam, 1e-3),
               "adamw": (optim.AdamW, 1e-3), "rmsprop": (optim.RMSprop, 1e-3),
               "adagrad": (optim.Adagrad, 1e-2)}
_LOSSES = {"mse": nn.MSELoss, "mean_squared_error": nn.MSELoss, "mae": nn.L1Loss,
           "mean_absolute_error": nn.L1Loss, "cross_entropy": nn.CrossEntropyLoss,
           "sparse_categorical_crossentropy": nn.CrossEntropyLoss,
           "binary_crossentropy": nn.BCEWithLogitsLoss}


class Model:
    """Keras's compile/fit/evaluate/predict around an ember module.

    Losses take the module's raw outputs: 'sparse_categorical_crossentropy' (alias
    'cross_entropy') expects logits and class indices, 'binary_crossentropy' logits and 0/1.
    """

    def __init__(self, module: nn.Module):
        if not isinstance(module, nn.Module):
            raise TypeError(f"Model wraps an ember.nn.Module, got {type(module).__name__}")
        self.module = module
        self.optimizer = self.loss_fn = None
        self.metrics: list = []

    def compile(self, optimizer="sgd", loss="mse", metrics: Iterable = (), lr: float | None = None
                ) -> "Model":
        if isinstance(optimizer, str):
            key = optimizer.lower()
            if key not in _OPTIMIZERS:
                raise ValueError(f"unknown optimizer {optimizer!r}; choose one of "
                                 f"{sorted(_OPTIMIZERS)} or pass an ember.optim optimizer")
            cls, default_lr = _OPTIMIZERS[key]
            optimizer = cls(self.module.parameters(), lr=lr if lr is not None else default_lr)
        elif not isinstance(optimizer, optim.Optimizer):
            raise TypeError(f"optimizer must be a name or an ember.optim.Optimizer, got "
                            f"{type(optimizer).__name__}")
        if isinstance(loss, str):
            if loss.lower() not in _LOSSES:
                raise ValueError(f"unknown loss {loss!r}; choose one of {sorted(_LOSSES)} or pass "
                                 f"a function(output, target)")
            loss = _LOSSES[loss.lower()]()
        for m in metrics:
            _metric(m)
        self.optimizer, self.loss_fn, self.metrics = optimizer, loss, list(metrics)
        return self

    def _check_compiled(self, what: str):
        if self.optimizer is None:
            raise RuntimeError(f"call model.compile(optimizer=..., loss=...) before {what}")

    def fit(self, x: Tensor, y: Tensor, epochs: int = 1, batch_size: int = 32,
            validation_data: tuple | None = None, validation_split: float = 0.0,
            shuffle: bool = True, callbacks=None, verbose: int = 1, seed: int | None = None,
            plot=None) -> History:
        self._check_compiled("fit")
        data = TensorDataset(x, y)
        gen = Generator().manual_seed(seed) if seed is not None else None
        val_loader = None
        if validation_data is not None:
            val_loader = DataLoader(TensorDataset(*validation_data), batch_size=batch_size)
        elif validation_split:
            data, val = split_validation(data, validation_split)
            val_loader = DataLoader(val, batch_size=batch_size)
        loader = DataLoader(data, batch_size=batch_size, shuffle=shuffle, generator=gen)
        return fit(self.module, loader, self.loss_fn, self.optimizer, epochs, val_loader,
                   metrics=self.metrics, callbacks=callbacks, plot=plot, progress=verbose > 0)

    def evaluate(self, x: Tensor, y: Tensor, batch_size: int = 256) -> dict:
        self._check_compiled("evaluate")
        return evaluate(self.module, DataLoader(TensorDataset(x, y), batch_size=batch_size),
                        self.loss_fn, self.metrics)

    def predict(self, x: Tensor) -> Tensor:
        was_training = self.module.training
        self.module.eval()
        with no_grad():
            out = self.module(x)
        self.module.train(was_training)
        return out

    def __call__(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def summary(self) -> str:
        n = sum(p.numel() for p in self.module.parameters())
        return f"{self.module}\nparameters: {n}"
