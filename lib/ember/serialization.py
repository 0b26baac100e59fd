"""`ember.save(obj, path)` / `ember.load(path)`: state_dicts on disk, without pickle.

Loading never runs code from the file: unlike `torch.save`'s pickles, an .ember file holds only
data, so opening one from someone else is safe.

Format (version 1): a ZIP archive (uncompressed, like numpy's .npz) holding

* `ember.json`: the manifest, `{"format": "ember", "version": 1, "root": <value>}`;
* `arrays/<n>.npy`: one numpy .npy file per tensor or array, read with `allow_pickle=False`.

A `<value>` in the manifest is JSON for `None`, bools, ints, finite floats, strings and lists;
everything else is an object with one tag:

    {"tensor": n, "device": "cpu", "requires_grad": false}   tensor stored in arrays/<n>.npy
    {"ndarray": n}                                          numpy array in arrays/<n>.npy
    {"tuple": [<value>, ...]}
    {"dict": [[<key>, <value>], ...]}                       keys: str, int, float, bool, None, tuple
    {"float": "nan" | "inf" | "-inf"}
    {"dtype": "float32"}

so `optimizer.state_dict()` (int keys, tuples such as Adam's betas) comes back exactly.
"""
from __future__ import annotations

import io
import json
import math
import os
import zipfile

import numpy as np

from . import backend
from .backend import Device
from .dtypes import DType, as_dtype
from .tensor import Tensor

FORMAT_VERSION = 1
MANIFEST = "ember.json"


class _Writer:
    def __init__(self):
        self.arrays: list[np.ndarray] = []

    def encode(self, obj, where: str):
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, int):
            return int(obj)
        if isinstance(obj, float):
            if math.isfinite(obj):
                return float(obj)
            return {"float": "nan" if math.isnan(obj) else ("inf" if obj > 0 else "-inf")}
        if isinstance(obj, Tensor):
            return {"tensor": self._add(backend.to_numpy(obj._data)), "device": str(obj.device),
                    "requires_grad": obj.requires_grad}
        if isinstance(obj, np.ndarray):
            if obj.dtype.hasobject:
                raise TypeError(f"ember.save: {where} is a numpy array of Python objects, which "
                                f"can only be stored with pickle; convert it to numbers")
            return {"ndarray": self._add(obj)}
        if isinstance(obj, np.generic):
            return self.encode(obj.item(), where)
        if isinstance(obj, DType):
            return {"dtype": obj.name}
        if isinstance(obj, list):
            return [self.encode(v, f"{where}[{i}]") for i, v in enumerate(obj)]
        if isinstance(obj, tuple):
            return {"tuple": [self.encode(v, f"{where}[{i}]") for i, v in enumerate(obj)]}
        if isinstance(obj, dict):
            items = []
            for k, v in obj.items():
                if not (k is None or isinstance(k, (str, int, float, bool, tuple))):
                    raise TypeError(f"ember.save: {where} has a key of type {type(k).__name__}; "
                                    f"keys must be strings, numbers, None or tuples")
                items.append([self.encode(k, f"{where} key"), self.encode(v, f"{where}[{k!r}]")])
            return {"dict": items}
        hint = (" (save model.state_dict(), not the model)" if hasattr(obj, "state_dict") else "")
        raise TypeError(f"ember.save can't store {where} of type {type(obj).__name__}{hint}: it "
                        f"stores tensors, numpy arrays, numbers, strings, None, and lists, tuples "
                        f"and dicts of them")

    def _add(self, array: np.ndarray) -> int:
        self.arrays.append(array)
        return len(self.arrays) - 1


def save(obj, f) -> None:
    """Write `obj` (a state_dict or any nest of tensors, arrays, numbers, strings) to `f` (a path
    or a binary file object)."""
    writer = _Writer()
    manifest = {"format": "ember", "version": FORMAT_VERSION, "root": writer.encode(obj, "obj")}
    if isinstance(f, (str, os.PathLike)):
        with open(f, "wb") as fh:
            _write(fh, manifest, writer.arrays)
    else:
        _write(f, manifest, writer.arrays)


def _write(fh, manifest: dict, arrays: list) -> None:
    def member(name: str):  # a fixed timestamp: saving the same state gives the same bytes
        return zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))

    with zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED) as z:
        z.writestr(member(MANIFEST), json.dumps(manifest, allow_nan=False))
        for i, a in enumerate(arrays):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, a, allow_pickle=False)
            z.writestr(member(f"arrays/{i}.npy"), buf.getvalue())


class _Reader:
    def __init__(self, z: zipfile.ZipFile, name: str, map_location):
        self.z, self.name, self.map_location = z, name, map_location

    def fail(self, what: str) -> ValueError:
        return ValueError(f"ember.load: {self.name} is not a valid ember file: {what}")

    def decode(self, v):
        if v is None or isinstance(v, (bool, int, float, str)):
            return v
        if isinstance(v, list):
            return [self.decode(x) for x in v]
        if not isinstance(v, dict) or len(v) == 0:
            raise self.fail(f"unexpected manifest entry {v!r:.80}")
        if "tensor" in v:
            arr = self.array(v["tensor"])
            device = self.device(v.get("device", "cpu"))
            t = Tensor._make(arr)
            if device.type != "cpu":
                t = Tensor._make(backend.to_device(arr, device), device)
            if v.get("requires_grad"):
                t.requires_grad_(True)
            return t
        if len(v) != 1:
            raise self.fail(f"unexpected manifest entry {v!r:.80}")
        (tag, body), = v.items()
        if tag == "ndarray":
            return self.array(body)
        if tag == "tuple":
            return tuple(self.decode(x) for x in body)
        if tag == "dict":
            out = {}
            for k, val in body:
                out[self.decode(k)] = self.decode(val)
            return out
        if tag == "float":
            return float(body)
        if tag == "dtype":
            return as_dtype(body)
        raise self.fail(f"unknown manifest entry {v!r:.80}")

    def array(self, n) -> np.ndarray:
        member = f"arrays/{n}.npy"
        try:
            with self.z.open(member) as fh:
                return np.lib.format.read_array(io.BytesIO(fh.read()), allow_pickle=False)
        except KeyError:
            raise self.fail(f"the manifest refers to {member}, which is missing") from None
        except ValueError as e:
            raise self.fail(f"{member} can't be read as a plain numeric array ({e})") from None

    def device(self, saved: str) -> Device:
        loc = self.map_location
        if callable(loc) and not isinstance(loc, (str, Device)):
            return Device(loc(saved))
        if isinstance(loc, dict):
            return Device(loc.get(saved, saved))
        if loc is not None:
            return Device(loc)
        dev = Device(saved)
        if dev.type == "cuda" and not backend.cuda_is_available():
            raise RuntimeError(f"ember.load: {self.name} holds tensors saved on {saved}, but CUDA "
                               f"is not available here; pass map_location='cpu'")
        return dev


def load(f, map_location=None, weights_only: bool = True):
    """Read what `save` wrote. `map_location` ('cpu', 'cuda:0', a dict {'cuda:0': 'cpu'} or a
    function of the saved device name) says where tensors go; by default, where they were saved."""
    name = repr(os.fspath(f)) if isinstance(f, (str, os.PathLike)) else "the file object"
    if isinstance(f, (str, os.PathLike)):
        if not os.path.exists(f):
            raise FileNotFoundError(f"ember.load: no such file {name}")
        with open(f, "rb") as fh:
            return _load(fh, name, map_location)
    return _load(f, name, map_location)


def _load(fh, name: str, map_location):
    head = fh.read(4)
    fh.seek(0)
    if not head:
        raise ValueError(f"ember.load: {name} is empty")
    if head[:1] == b"\x80":
        raise ValueError(f"ember.load: {name} is a Python pickle (e.g. a legacy torch.save file), "
                         f"not an ember file; ember never loads pickles because unpickling can "
                         f"run arbitrary code")
    if head[:2] != b"PK":
        raise ValueError(f"ember.load: {name} is not an ember file (it does not start with a ZIP "
                         f"header; first bytes {head!r}); ember.save writes a ZIP archive")
    try:
        z = zipfile.ZipFile(fh)
    except zipfile.BadZipFile as e:
        raise ValueError(f"ember.load: {name} is a corrupt or truncated ZIP archive ({e}); was it "
                         f"fully written?") from None
    with z:
        names = z.namelist()
        if MANIFEST not in names:
            if any(n.endswith("data.pkl") for n in names):
                raise ValueError(f"ember.load: {name} is a PyTorch checkpoint (torch.save), not an "
                                 f"ember file; ember can't read it because it holds pickled Python "
                                 f"objects. Export the weights as numpy arrays (np.savez) instead")
            if names and all(n.endswith(".npy") for n in names):
                raise ValueError(f"ember.load: {name} looks like a numpy .npz archive; read it "
                                 f"with numpy.load(path, allow_pickle=False)")
            raise ValueError(f"ember.load: {name} is a ZIP archive without {MANIFEST}, so not an "
                             f"ember file")
        reader = _Reader(z, name, map_location)
        try:
            manifest = json.loads(z.read(MANIFEST))
        except (zipfile.BadZipFile, ValueError, OSError) as e:
            raise reader.fail(f"its manifest {MANIFEST} can't be read ({e})") from None
        if not isinstance(manifest, dict) or manifest.get("format") != "ember":
            raise reader.fail(f"{MANIFEST} is not an ember manifest")
        if manifest.get("version") != FORMAT_VERSION:
            raise reader.fail(f"format version {manifest.get('version')!r}; this ember reads "
                              f"version {FORMAT_VERSION} (upgrade ember?)")
        try:
            return reader.decode(manifest.get("root"))
        except (zipfile.BadZipFile, OSError, EOFError) as e:
            raise reader.fail(f"an array member is corrupt or truncated ({e})") from None
        except (TypeError, AttributeError) as e:
            raise reader.fail(f"malformed manifest ({e})") from None
