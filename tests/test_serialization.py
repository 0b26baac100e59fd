"""ember.save / ember.load: round trips, and clear errors for files that aren't ember's."""
from __future__ import annotations

import io
import json
import math
import pickle
import zipfile

import numpy as np
import pytest

import ember
from ember import optim


def test_round_trip_of_nested_state(tmp_path):
    obj = {
        "weight": ember.randn(3, 4),
        "counts": ember.tensor([1, 2, 3]),
        "mask": ember.tensor([True, False]),
        "double": ember.ones(2, dtype=ember.float64),
        "scalar": ember.tensor(2.5),
        "meta": {"epoch": 3, "lr": 0.1, "name": "mlp", "none": None, "flag": True,
                 "betas": (0.9, 0.999), "nan": float("nan"), "inf": -math.inf},
        "history": [1.0, [2, (3, "x")]],
        7: "int key",
        (1, 2): "tuple key",
        "array": np.arange(6, dtype=np.int32).reshape(2, 3),
        "dtype": ember.float64,
    }
    path = tmp_path / "state.ember"
    ember.save(obj, path)
    back = ember.load(path)
    assert list(back) == list(obj)
    for key in ("weight", "counts", "mask", "double", "scalar"):
        assert isinstance(back[key], ember.Tensor) and back[key].dtype == obj[key].dtype
        assert back[key].shape == obj[key].shape
        np.testing.assert_array_equal(back[key].numpy(), obj[key].numpy())
    m = back["meta"]
    assert m["betas"] == (0.9, 0.999) and isinstance(m["betas"], tuple)
    assert math.isnan(m["nan"]) and m["inf"] == -math.inf
    assert {k: m[k] for k in ("epoch", "lr", "name", "none", "flag")} == \
        {"epoch": 3, "lr": 0.1, "name": "mlp", "none": None, "flag": True}
    assert back["history"] == [1.0, [2, (3, "x")]]
    assert back[7] == "int key" and back[(1, 2)] == "tuple key"
    assert back["array"].dtype == np.int32 and back["array"].tolist() == [[0, 1, 2], [3, 4, 5]]
    assert back["dtype"] is ember.float64


def test_loaded_tensors_are_independent_and_keep_requires_grad():
    w = ember.ones(2, requires_grad=True)
    buf = io.BytesIO()
    ember.save({"w": w, "g": ember.zeros(2)}, buf)
    buf.seek(0)
    back = ember.load(buf)
    assert back["w"].requires_grad and not back["g"].requires_grad
    back["w"].data.numpy()[0] = 5
    assert w.detach().numpy()[0] == 1


def test_optimizer_state_dict_round_trip_continues_identically(tmp_path):
    def make():
        w = ember.tensor([[1.0, -2.0], [0.5, 3.0]], dtype=ember.float64, requires_grad=True)
        return w, optim.Adam([w], lr=0.1, amsgrad=True)

    def step(w, opt):
        opt.zero_grad()
        (w ** 3).sum().backward()
        opt.step()

    w, opt = make()
    for _ in range(3):
        step(w, opt)
    ember.save({"w": w.detach(), "opt": opt.state_dict()}, tmp_path / "ckpt.ember")
    ckpt = ember.load(tmp_path / "ckpt.ember")
    w2, opt2 = make()
    with ember.no_grad():
        w2.copy_(ckpt["w"])
    opt2.load_state_dict(ckpt["opt"])
    assert opt2.state[w2]["step"] == 3 and opt2.param_groups[0]["betas"] == (0.9, 0.999)
    for _ in range(2):
        step(w, opt)
        step(w2, opt2)
    np.testing.assert_array_equal(w.detach().numpy(), w2.detach().numpy())


def test_the_file_is_a_zip_with_a_json_manifest_and_npy_arrays(tmp_path):
    path = tmp_path / "a.ember"
    ember.save({"x": ember.ones(3)}, path)
    with zipfile.ZipFile(path) as z:
        assert sorted(z.namelist()) == ["arrays/0.npy", "ember.json"]
        manifest = json.loads(z.read("ember.json"))
    assert manifest["format"] == "ember" and manifest["version"] == 1
    assert manifest["root"] == {"dict": [["x", {"tensor": 0, "device": "cpu",
                                                "requires_grad": False}]]}


def test_unsavable_objects_are_named():
    with pytest.raises(TypeError, match=r"obj\['f'\] of type function"):
        ember.save({"f": lambda: 0}, io.BytesIO())
    with pytest.raises(TypeError, match="numpy array of Python objects"):
        ember.save({"a": np.array([object()])}, io.BytesIO())


def test_pickles_and_pytorch_checkpoints_are_refused(tmp_path):
    pkl = tmp_path / "model.pt"
    pkl.write_bytes(pickle.dumps({"w": [1, 2, 3]}, protocol=2))
    with pytest.raises(ValueError, match=r"model\.pt.*pickle"):
        ember.load(pkl)
    torch_like = tmp_path / "torch.pt"
    with zipfile.ZipFile(torch_like, "w") as z:
        z.writestr("archive/data.pkl", pickle.dumps({"w": 1}))
        z.writestr("archive/version", "3\n")
    with pytest.raises(ValueError, match="PyTorch checkpoint"):
        ember.load(torch_like)


def test_corrupt_truncated_random_and_empty_files(tmp_path):
    good = tmp_path / "good.ember"
    ember.save({"w": ember.randn(100)}, good)
    data = good.read_bytes()
    truncated = tmp_path / "truncated.ember"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"truncated\.ember.*corrupt or truncated"):
        ember.load(truncated)
    flipped = bytearray(data)
    start = data.index(b"\x93NUMPY") + 200
    flipped[start:start + 8] = b"\xff" * 8
    corrupt = tmp_path / "corrupt.ember"
    corrupt.write_bytes(bytes(flipped))
    with pytest.raises(ValueError, match=r"corrupt\.ember.*corrupt or truncated"):
        ember.load(corrupt)
    rnd = tmp_path / "random.bin"
    rnd.write_bytes(np.random.default_rng(0).bytes(256))
    with pytest.raises(ValueError, match=r"random\.bin.*not an ember file"):
        ember.load(rnd)
    empty = tmp_path / "empty.ember"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match="empty"):
        ember.load(empty)
    with pytest.raises(FileNotFoundError, match="no such file"):
        ember.load(tmp_path / "missing.ember")


def test_object_arrays_inside_a_crafted_file_are_not_unpickled(tmp_path):
    path = tmp_path / "evil.ember"
    buf = io.BytesIO()
    np.save(buf, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("ember.json", json.dumps({"format": "ember", "version": 1,
                                             "root": {"ndarray": 0}}))
        z.writestr("arrays/0.npy", buf.getvalue())
    with pytest.raises(ValueError, match="plain numeric array"):
        ember.load(path)


def test_map_location_and_newer_versions(tmp_path):
    path = tmp_path / "a.ember"
    ember.save({"x": ember.ones(2)}, path)
    assert ember.load(path, map_location="cpu")["x"].device == ember.device("cpu")
    with zipfile.ZipFile(tmp_path / "v2.ember", "w") as z:
        z.writestr("ember.json", json.dumps({"format": "ember", "version": 2, "root": None}))
    with pytest.raises(ValueError, match="format version 2"):
        ember.load(tmp_path / "v2.ember")


def test_module_state_dict_round_trip(tmp_path):
    from ember import nn
    ember.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    model(ember.randn(8, 3))  # updates BatchNorm's running statistics (buffers)
    ember.save(model.state_dict(), tmp_path / "model.ember")
    ember.manual_seed(1)
    other = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    other.load_state_dict(ember.load(tmp_path / "model.ember"))
    x = ember.randn(5, 3)
    model.eval()
    other.eval()
    np.testing.assert_array_equal(model(x).detach().numpy(), other(x).detach().numpy())
