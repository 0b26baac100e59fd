"""Caffe-style networks as data: the prototxt reader/writer, CaffeNet built from prototxt, YAML
or JSON, and the Solver's update rules and learning rate policies against hand-computed numpy."""
from __future__ import annotations

import json

import numpy as np
import pytest

import ember
from ember.config import (CaffeNet, ConfigError, PrototxtError, Solver, build_model,
                          parse_prototxt, to_prototxt)
from ember.config.__main__ import main as config_main
from ember.config.solver import learning_rate
from ember.errors import ShapeError

TWO_LAYER = """
name: "TwoLayerNet"   # the lecture's two-layer net, Caffe style
layer {
  name: "data"  type: "Input"  top: "data"  top: "label"
  input_param { shape { dim: 8 dim: 5 } shape { dim: 8 dim: 3 } }
}
layer {
  name: "fc1"  type: "InnerProduct"  bottom: "data"  top: "fc1"
  inner_product_param { num_output: 4 weight_filler { type: "gaussian" std: 0.5 }
                        bias_filler { type: "constant" value: 0.1 } }
}
layer { name: "relu1"  type: "ReLU"  bottom: "fc1"  top: "fc1" }
layer {
  name: "fc2"  type: "InnerProduct"  bottom: "fc1"  top: "fc2"
  inner_product_param { num_output: 3 }
}
layer { name: "loss"  type: "EuclideanLoss"  bottom: "fc2"  bottom: "label"  top: "loss" }
"""


@pytest.fixture(autouse=True)
def seed():
    ember.manual_seed(0)


def _numpy_forward(net, x, y):
    sd = {k: v.detach().numpy().astype(np.float64) for k, v in net.state_dict().items()}
    h = np.maximum(x @ sd["layers.fc1.fc.weight"].T + sd["layers.fc1.fc.bias"], 0)
    out = h @ sd["layers.fc2.fc.weight"].T + sd["layers.fc2.fc.bias"]
    return out, ((out - y) ** 2).sum() / (2 * len(x))


def test_prototxt_reads_repeated_fields_enums_comments_and_round_trips():
    d = parse_prototxt(TWO_LAYER)
    assert d["name"] == "TwoLayerNet" and len(d["layer"]) == 5
    assert d["layer"][0]["top"] == ["data", "label"] and d["layer"][2]["top"] == "fc1"
    assert d["layer"][0]["input_param"]["shape"][0]["dim"] == [8, 5]
    assert d["layer"][1]["inner_product_param"]["bias_filler"]["value"] == 0.1
    assert parse_prototxt("pool: MAX  flag: true  x: -2e-3") == {"pool": "MAX", "flag": True,
                                                                   "x": -0.002}
    assert parse_prototxt(to_prototxt(d)) == d
    with pytest.raises(PrototxtError, match="line 2: the '\\{' of 'layer' \\(line 1\\) is never "
                                            "closed"):
        parse_prototxt("layer {\n  name: 'a'\n")
    with pytest.raises(PrototxtError, match="line 2: expected ':' or '\\{' after 'type'"):
        parse_prototxt("name: 'a'\ntype 'b'")
    with pytest.raises(PrototxtError, match="line 2: can't read a string whose closing quote "
                                            "is missing: '\"fc1'"):
        parse_prototxt('name: "a"\ntop: "fc1\nbottom: "x"')
    with pytest.raises(PrototxtError, match="line 2: '0.0.1' is not a number"):
        parse_prototxt("type: 'SGD'\nbase_lr: 0.0.1")


def test_caffe_net_computes_what_its_prototxt_says_and_trains():
    net = build_model(parse_prototxt(TWO_LAYER))
    assert isinstance(net, CaffeNet) and net.inputs == ["data", "label"]
    assert net.outputs == ["loss"] and net.losses == ["loss"]
    w1, b1 = net.layers["fc1"].fc.weight.detach().numpy(), net.layers["fc1"].fc.bias.detach().numpy()
    assert abs(w1.std() - 0.5) < 0.2 and np.allclose(b1, 0.1)
    x, y = np.random.default_rng(1).standard_normal((8, 5)), np.random.default_rng(2).standard_normal((8, 3))
    out = net(data=ember.from_numpy(x.astype(np.float32)), label=ember.from_numpy(y.astype(np.float32)))
    want_fc2, want_loss = _numpy_forward(net, x, y)
    np.testing.assert_allclose(net.blobs["fc2"].detach().numpy(), want_fc2, rtol=1e-4, atol=1e-5)
    assert np.isclose(out["loss"].item(), want_loss, rtol=1e-5)
    opt = ember.optim.SGD(net.parameters(), lr=0.05)
    xs, ys = ember.from_numpy(x.astype(np.float32)), ember.from_numpy(y.astype(np.float32))
    first = None
    for _ in range(30):
        loss = net(xs, ys)["loss"]
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.5 * first


def test_yaml_and_json_describe_the_same_net(tmp_path):
    d = parse_prototxt(TWO_LAYER)
    yaml = pytest.importorskip("yaml")
    (tmp_path / "net.yaml").write_text(yaml.safe_dump(d))
    (tmp_path / "net.json").write_text(json.dumps(d))
    (tmp_path / "net.prototxt").write_text(TWO_LAYER)
    nets = [build_model(tmp_path / f"net.{ext}") for ext in ("prototxt", "yaml", "json")]
    keys = [list(n.state_dict()) for n in nets]
    assert keys[0] == keys[1] == keys[2] == ["layers.fc1.fc.weight", "layers.fc1.fc.bias",
                                             "layers.fc2.fc.weight", "layers.fc2.fc.bias"]
    nets[1].load_state_dict(nets[0].state_dict())
    x = ember.randn(8, 5)
    assert ember.equal(nets[0](x, ember.zeros(8, 3))["loss"], nets[1](x, ember.zeros(8, 3))["loss"])


def test_old_v1_layers_deploy_inputs_convolutions_and_phases():
    text = """
    name: "LeNetish"
    input: "data"  input_dim: 2 input_dim: 1 input_dim: 9 input_dim: 9
    layers { name: "conv1" type: CONVOLUTION bottom: "data" top: "conv1"
             convolution_param { num_output: 4 kernel_size: 3 stride: 1 } }
    layers { name: "pool1" type: POOLING bottom: "conv1" top: "pool1"
             pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
    layers { name: "ip1" type: INNER_PRODUCT bottom: "pool1" top: "ip1"
             inner_product_param { num_output: 3 } }
    layers { name: "prob" type: SOFTMAX bottom: "ip1" top: "prob" include { phase: TEST } }
    """
    test_net = build_model(parse_prototxt(text), phase="TEST")
    x = ember.randn(2, 1, 9, 9)
    out = test_net(x)
    assert list(out) == ["prob"] and out["prob"].shape == (2, 3)
    assert test_net.blobs["pool1"].shape == (2, 4, 4, 4)      # Caffe rounds pooled sizes up: 7 -> 4
    np.testing.assert_allclose(out["prob"].sum(dim=1).detach().numpy(), 1.0, rtol=1e-6)
    train_net = build_model(parse_prototxt(text))
    assert list(train_net(x)) == ["ip1"]


def test_losses_match_caffe_normalization():
    text = """
    layer { name: "d" type: "Input" top: "s" top: "y" input_param { shape { dim: 4 dim: 3 }
            shape { dim: 4 } } }
    layer { name: "l" type: "SoftmaxWithLoss" bottom: "s" bottom: "y" top: "l" loss_weight: 2 }
    layer { name: "a" type: "Accuracy" bottom: "s" bottom: "y" top: "acc" }
    """
    net = build_model(parse_prototxt(text))
    s = np.random.default_rng(3).standard_normal((4, 3))
    y = np.array([0, 2, 1, 1])
    out = net(ember.from_numpy(s), ember.from_numpy(y))
    logp = s - np.log(np.exp(s).sum(1, keepdims=True))
    assert np.isclose(out["l"].item(), -2 * logp[np.arange(4), y].mean())
    assert out["acc"].item() == (s.argmax(1) == y).mean()


@pytest.mark.parametrize("text,message", [
    ('layer { name: "d" type: "Input" top: "x" input_param { shape { dim: 2 dim: 3 } } }'
     'layer { name: "f" type: "InnerProdcut" bottom: "x" top: "y" }',
     r"layer 1 \('f', InnerProdcut\): unknown layer type; did you mean 'InnerProduct'\?"),
    ('layer { name: "d" type: "Input" top: "x" input_param { shape { dim: 2 dim: 3 } } }'
     'layer { name: "f" type: "InnerProduct" bottom: "z" top: "y" inner_product_param '
     '{ num_output: 2 } }', r"bottom blob 'z' is not made by any layer before it \(blobs so far: x\)"),
    ('layer { name: "d" type: "Input" top: "x" input_param { shape { dim: 2 dim: 3 } } }'
     'layer { name: "f" type: "InnerProduct" bottom: "x" top: "y" }',
     r"inner_product_param needs num_output"),
    ('layer { name: "d" type: "Input" top: "x" input_param { shape { dim: 2 dim: 3 } } }'
     'layer { name: "f" type: "InnerProduct" bottom: "x" top: "y" inner_product_param '
     '{ num_output: 2 weight_filler { type: "gausian" } } }', r"unknown filler type 'gausian'"),
    ('layer { name: "d" type: "Input" top: "x" input_param { shape { dim: 2 dim: 3 } } }'
     'layer { name: "r" type: "Relu" bottom: "x" top: "x" }',
     r"layer 1 \('r', Relu\): unknown layer type; did you mean 'ReLU'\?"),
    ('layer { name: "d" type: "Input" top: "x" input_param { shape { dim: 2 dim: 3 } } }'
     'layer { name: "f" type: "InnerProduct" bottom: "x" top: "y" inner_product_param '
     '{ num_outputs: 2 } }', r"^[^(]*\('f', InnerProduct\): inner_product_param needs num_output "
                             r"\(found 'num_outputs': a typo\?\)$"),
    ('layer { name: "d" type: "Input" top: "x" input_param { shape { dim: 2 dim: 3 } } }'
     'layer { name: "f" type: "InnerProduct" bottom: "x" top: "y" inner_product_param '
     '{ num_output: "two" } }', r"layer 1 \('f', InnerProduct\): invalid literal for int\(\)"),
])
def test_net_errors_name_the_layer(text, message):
    with pytest.raises(ConfigError, match=message):
        build_model(parse_prototxt(text))


def test_forward_errors_name_the_layer_and_the_blobs_given():
    net = build_model(parse_prototxt(
        'layer { name: "d" type: "Input" top: "x" top: "t" input_param { shape { dim: 2 dim: 3 }'
        ' shape { dim: 2 } } } layer { name: "f" type: "InnerProduct" bottom: "x" top: "y" '
        'inner_product_param { num_output: 2 } } layer { name: "l" type: "SoftmaxWithLoss" '
        'bottom: "y" bottom: "t" top: "l" }'))
    with pytest.raises(TypeError, match=r"\['t'\] not given; forward takes \['x', 't'\], got "
                                        r"\['tt', 'x'\]"):
        net(x=ember.ones(2, 3), tt=ember.zeros(2))
    with pytest.raises(ShapeError, match="last dimension must be 3") as info:
        net(x=ember.ones(2, 4), t=ember.zeros(2))
    if hasattr(info.value, "__notes__"):
        assert info.value.__notes__ == ["(in config: layer 1 ('f', InnerProduct))"]


def test_learning_rate_policies():
    s = {"base_lr": 0.1, "gamma": 0.5, "stepsize": 10, "power": 2.0, "max_iter": 100,
         "stepvalue": [5, 20]}
    expect = {"fixed": 0.1, "step": 0.1 * 0.5 ** 2, "exp": 0.1 * 0.5 ** 25,
              "inv": 0.1 * (1 + 0.5 * 25) ** -2.0, "multistep": 0.1 * 0.5 ** 2,
              "poly": 0.1 * (1 - 25 / 100) ** 2, "sigmoid": 0.1 / (1 + np.exp(-0.5 * 15))}
    for policy, want in expect.items():
        assert np.isclose(learning_rate(dict(s, lr_policy=policy), 25), want), policy
    with pytest.raises(ConfigError, match="unknown lr_policy 'cosine'"):
        learning_rate(dict(s, lr_policy="cosine"), 1)
    with pytest.raises(ConfigError, match="unknown setting 'bsae_lr'; did you mean 'base_lr'"):
        Solver({"bsae_lr": 0.1, "max_iter": 2}, net=build_model(parse_prototxt(TWO_LAYER)))


def test_sgd_solver_follows_caffes_update_rule():
    net = build_model(parse_prototxt(TWO_LAYER))
    x = np.random.default_rng(4).standard_normal((8, 5)).astype(np.float32)
    y = np.random.default_rng(5).standard_normal((8, 3)).astype(np.float32)
    solver = Solver({"base_lr": 0.1, "momentum": 0.9, "weight_decay": 0.01, "max_iter": 2},
                    net=net, data={"data": x, "label": y})
    params = [p.detach().numpy().astype(np.float64).copy() for p in net.parameters()]
    history = [None] * len(params)
    for _ in range(2):
        xs, ys = ember.from_numpy(x), ember.from_numpy(y)
        net.zero_grad()
        net(xs, ys)["loss"].backward()
        grads = [p.grad.numpy().astype(np.float64) for p in net.parameters()]
        for k, (w, g) in enumerate(zip(params, grads)):
            v = (0.0 if history[k] is None else history[k]) * 0.9 + 0.1 * (g + 0.01 * w)
            history[k], params[k] = v, w - v
        solver.step()   # uses the same batch (batch_size = all 8 rows, from the Input shape)
        for p, w in zip(net.parameters(), params):
            np.testing.assert_allclose(p.detach().numpy(), w, rtol=1e-4, atol=1e-6)
        params = [p.detach().numpy().astype(np.float64).copy() for p in net.parameters()]


def test_solver_prototxt_sources_snapshots_and_command_line(tmp_path, capsys):
    rng = np.random.default_rng(6)
    X = rng.standard_normal((96, 4)).astype(np.float32)
    y = ((X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 0.5)).astype(np.int64)
    np.savez(tmp_path / "a.npz", data=X[:48], label=y[:48])
    np.savez(tmp_path / "b.npz", data=X[48:], label=y[48:])
    (tmp_path / "train.txt").write_text("a.npz\nb.npz\n")
    (tmp_path / "net.prototxt").write_text("""
        name: "LogReg"
        layer { name: "data" type: "HDF5Data" top: "data" top: "label"
                hdf5_data_param { source: "train.txt" batch_size: 16 shuffle: true } }
        layer { name: "fc" type: "InnerProduct" bottom: "data" top: "fc"
                inner_product_param { num_output: 3 } }
        layer { name: "loss" type: "SoftmaxWithLoss" bottom: "fc" bottom: "label" top: "loss" }
    """)
    (tmp_path / "solver.prototxt").write_text("""
        net: "net.prototxt"  type: "Adam"  base_lr: 0.05  lr_policy: "fixed"
        max_iter: 60  display: 30  snapshot: 30  snapshot_prefix: "snaps/logreg"
    """)
    solver = Solver(tmp_path / "solver.prototxt")
    history = solver.solve()
    assert len(history) == 60 and np.mean(history[-6:]) < 0.6 * np.mean(history[:6])
    assert sorted(p.name for p in (tmp_path / "snaps").iterdir()) == \
        ["logreg_iter_30.ember", "logreg_iter_60.ember"]
    fresh = Solver(tmp_path / "solver.prototxt")
    fresh.net(**fresh.next_batch())                 # builds the weights from a batch
    fresh.restore(tmp_path / "snaps" / "logreg_iter_60.ember")
    batch = fresh.next_batch()
    assert ember.equal(fresh.net(**batch)["loss"], solver.net(**batch)["loss"])
    assert config_main(["train", "--solver", str(tmp_path / "solver.prototxt")]) == 0
    assert "Iteration 60, loss =" in capsys.readouterr().out
