"""Keras-style fit / Model.compile and Caffe-style config models."""
from __future__ import annotations

import json
import sys

import pytest

import ember
from ember import nn
from ember.config import ConfigError, build_model, to_config
from ember.datasets import make_regression, make_spirals
from ember.keras import EarlyStopping, Model, fit
from ember.utils.data import DataLoader, TensorDataset


def spiral_loaders():
    X, y = make_spirals(60, classes=3, seed=0)
    ds = TensorDataset(X, y)
    g = ember.Generator().manual_seed(0)
    train, val = ember.utils.data.random_split(ds, [0.8, 0.2], generator=g)
    return (DataLoader(train, batch_size=16, shuffle=True, generator=g),
            DataLoader(val, batch_size=64))


def test_fit_history_decreases_and_has_metrics():
    ember.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 3))
    train, val = spiral_loaders()
    opt = ember.optim.Adam(model.parameters(), lr=0.02)
    h = fit(model, train, nn.CrossEntropyLoss(), opt, epochs=15, val_loader=val,
            metrics=["accuracy"], progress=False,
            scheduler=ember.optim.lr_scheduler.StepLR(opt, step_size=10, gamma=0.5))
    assert set(h) == {"loss", "accuracy", "lr", "val_loss", "val_accuracy"}
    assert all(len(v) == 15 for v in h.values())
    assert h["loss"][-1] < 0.6 * h["loss"][0]
    assert h["val_loss"][-1] < h["val_loss"][0]
    assert h["accuracy"][-1] > h["accuracy"][0]
    assert h["lr"][9] == pytest.approx(0.02) and h["lr"][10] == pytest.approx(0.01)
    assert h.history is h


def test_fit_shows_a_tqdm_bar(capsys):
    ember.manual_seed(0)
    X, y = make_regression(64, 2)
    loader = DataLoader(TensorDataset(X, y), batch_size=16)
    model = nn.Linear(2, 1)
    fit(model, loader, nn.MSELoss(), ember.optim.SGD(model.parameters(), lr=0.1), epochs=2)
    err = capsys.readouterr().err
    assert "epoch 2/2" in err and "4/4" in err and "loss=" in err


def test_callbacks_and_early_stopping():
    ember.manual_seed(0)
    X, y = make_regression(64, 2)
    loader = DataLoader(TensorDataset(X, y), batch_size=16)
    model = nn.Linear(2, 1)
    seen = []
    h = fit(model, loader, nn.MSELoss(), ember.optim.SGD(model.parameters(), lr=0.0), epochs=10,
            val_loader=loader, callbacks=[lambda e, logs: seen.append(e),
                                          EarlyStopping("val_loss", patience=2)],
            progress=False)
    assert len(h["loss"]) == 3 and seen == [0, 1, 2]  # lr 0: no improvement after epoch 0
    with pytest.raises(KeyError, match="val_loader"):
        fit(model, loader, nn.MSELoss(), ember.optim.SGD(model.parameters(), lr=0.1), epochs=1,
            callbacks=[EarlyStopping("val_loss")], progress=False)


@pytest.mark.filterwarnings("ignore:overflow")
def test_fit_rejects_loaders_without_pairs_and_diverging_losses():
    model = nn.Linear(2, 1)
    opt = ember.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(TypeError, match=r"\(inputs, targets\) pairs"):
        fit(model, [ember.ones(4, 2)], nn.MSELoss(), opt, progress=False)
    X = ember.ones(8, 2) * 1e3
    with pytest.raises(FloatingPointError, match="step 1; try a smaller learning rate"):
        fit(model, [(X, ember.zeros(8, 1))], nn.MSELoss(), ember.optim.SGD(model.parameters(),
                                                                           lr=1e10),
            epochs=3, progress=False)


def test_compile_fit_evaluate_predict():
    ember.manual_seed(0)
    X, y = make_regression(256, 3, noise=0.01, seed=1)
    model = Model(nn.Linear(3, 1)).compile(optimizer="adam", loss="mse", lr=0.05)
    h = model.fit(X, y, epochs=30, batch_size=32, validation_split=0.25, verbose=0, seed=0)
    assert h["loss"][-1] < 0.01 * h["loss"][0] and len(h["val_loss"]) == 30
    assert model.evaluate(X, y)["loss"] < 0.01
    assert model.predict(X[:5]).shape == (5, 1)
    clf = Model(nn.Linear(2, 3)).compile("sgd", "sparse_categorical_crossentropy",
                                         metrics=["accuracy"], lr=0.5)
    Xs, ys = make_spirals(50)
    h = clf.fit(Xs, ys, epochs=3, verbose=0, seed=0, validation_data=(Xs, ys))
    assert "val_accuracy" in h and 0.0 <= h["accuracy"][-1] <= 1.0
    with pytest.raises(ValueError, match="unknown optimizer 'adamm'"):
        Model(nn.Linear(2, 1)).compile(optimizer="adamm")
    with pytest.raises(RuntimeError, match="compile"):
        Model(nn.Linear(2, 1)).fit(X, y)


def test_importing_ember_does_not_import_tqdm_or_matplotlib():
    import subprocess
    code = ("import sys, ember; bad = [m for m in ('tqdm', 'matplotlib', 'ipywidgets') "
            "if m in sys.modules]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ---- config models -----------------------------------------------------------------------------
CONFIG = {
    "name": "spiral-mlp",
    "input_shape": [2],
    "layers": [
        {"type": "Linear", "in_features": 2, "out_features": 16, "name": "hidden"},
        {"type": "Tanh"},
        {"type": "Dropout", "p": 0.1},
        {"type": "Linear", "in_features": 16, "out_features": 3, "bias": False, "name": "out"},
    ],
}


def test_build_model_from_a_json_file(tmp_path):
    path = tmp_path / "net.json"
    path.write_text(json.dumps(CONFIG))
    model = build_model(path)
    assert isinstance(model, nn.Sequential) and len(model) == 4
    assert list(model.state_dict()) == ["hidden.weight", "hidden.bias", "out.weight"]
    assert isinstance(model[1], nn.Tanh) and model[2].p == 0.1
    assert model(ember.ones(5, 2)).shape == (5, 3)
    assert build_model(to_config(model)).state_dict().keys() == model.state_dict().keys()
    assert to_config(model)["layers"][3] == {"type": "Linear", "name": "out", "in_features": 16,
                                             "out_features": 3, "bias": False}


def test_build_model_from_yaml(tmp_path):
    yaml = pytest.importorskip("yaml")
    path = tmp_path / "net.yaml"
    path.write_text(yaml.safe_dump(CONFIG))
    assert len(build_model(path)) == 4


@pytest.mark.parametrize("layers,message", [
    ([{"type": "Lineer", "in_features": 2, "out_features": 3}],
     r"layer 0: unknown layer type 'Lineer'; did you mean 'Linear'\?"),
    ([{"type": "ReLU"}, {"type": "Linear", "in_features": 2, "out_feature": 3}],
     r"layer 1 \(Linear\): unknown key 'out_feature'; did you mean 'out_features'\?"),
    ([{"type": "Linear", "in_features": 2}], r"layer 0 \(Linear\): missing required key"),
    ([{"in_features": 2}], r"layer 0: missing key 'type'"),
    (["ReLU"], r"layer 0: expected a dict"),
    ([{"type": "Dropout", "p": 1.5}], r"layer 0 \(Dropout\): ValueError"),
    ([{"type": "ReLU", "name": "a"}, {"type": "Tanh", "name": "a"}], r"layer 1: name 'a'"),
])
def test_config_errors_name_the_layer_and_key(layers, message):
    with pytest.raises(ConfigError, match=message):
        build_model({"layers": layers})


def test_config_shape_check_names_the_mismatching_layer(tmp_path):
    cfg = dict(CONFIG, layers=CONFIG["layers"][:3] + [
        {"type": "Linear", "in_features": 8, "out_features": 3}])
    with pytest.raises(ConfigError, match=r"layer 3 \(Linear '3'\) can't take its input of shape "
                                          r"\(2, 16\)"):
        build_model(cfg)
    bad = tmp_path / "bad.json"
    bad.write_text('{"layers": [}')
    with pytest.raises(ConfigError, match=r"bad\.json: not valid JSON"):
        build_model(bad)
    with pytest.raises(ConfigError, match="top-level key"):
        build_model({"layers": [], "optimizer": "sgd"})


def test_fit_feeds_a_live_loss_plot():
    pytest.importorskip("ipywidgets")
    from ember.viz import LossPlot
    ember.manual_seed(0)
    train, val = spiral_loaders()
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 3))
    plot = LossPlot(lr=True, accuracy=True)
    fit(model, train, nn.CrossEntropyLoss(), ember.optim.SGD(model.parameters(), lr=0.1),
        epochs=2, val_loader=val, metrics=["accuracy"], plot=plot, progress=False)
    (run,) = plot.runs.values()
    assert len(run.data["loss"][1]) == 2 * len(train)  # one point a step
    assert len(run.data["val_loss"][1]) == 2 and len(run.data["val_accuracy"][1]) == 2
    assert run.data["lr"][1][0] == pytest.approx(0.1)
