"""The wire between grader and sandbox: length-prefixed frames of JSON plus raw .npy blobs, decoded
as plain data only (no pickle, no objects); anything else is refused.

Everything here parses what student code may have forged, so every size is checked before it is
used: the frame against the caller's cap, the JSON header against HEADER_BYTES (before json.loads,
which needs ~20x the text for a header like `[[],[],...]`), blobs against the frame, each .npy
header against its data length (never an allocation the bytes do not back), strings against
MAX_STR and the record count against MAX_RECORDS. The grader's memory per attempt is thus bounded
by about twice the frame cap, whatever a submission sends.
"""
from __future__ import annotations

import io
import json
import struct

import numpy as np

HEADER_BYTES = 1 << 20   # one frame's JSON header
MAX_STR = 100_000        # characters of one string value
MAX_RECORDS = 10_000     # checks recorded by one cell


def _load_npy(blob) -> np.ndarray:
    """A numeric array from .npy bytes, refusing pickles, objects and headers that claim more data
    than the blob holds (np.load would allocate the claimed size first)."""
    f = io.BytesIO(bytes(blob[:65536]))
    major, _ = np.lib.format.read_magic(f)
    read = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
    shape, fortran, dtype = read(f)
    if dtype.hasobject or dtype.kind not in "biufc":
        raise ValueError("not a numeric array")
    count = 1
    for d in shape:
        count *= d
    if count * dtype.itemsize != len(blob) - f.tell():
        raise ValueError("array data does not match its header")
    arr = np.frombuffer(blob, dtype=dtype, count=count, offset=f.tell())
    return arr.reshape(shape, order="F" if fortran else "C").copy(order="K")


def decode_value(tree, blobs, depth=0):
    """Plain data from the wire; anything else raises ValueError."""
    if depth > 24:
        raise ValueError("nested too deeply")
    if tree is None or type(tree) in (bool, int, str):
        if type(tree) is int and abs(tree) > 1 << 4096:
            raise ValueError("integer too large")
        if type(tree) is str and len(tree) > MAX_STR:
            raise ValueError(f"string of {len(tree)} characters")
        return tree
    if type(tree) is float:
        return tree
    if type(tree) is list:
        return [decode_value(v, blobs, depth + 1) for v in tree]
    if type(tree) is dict and len(tree) == 1:
        (k, v), = tree.items()
        if k == "__float__" and type(v) is str and len(v) < 40:
            return float(v)
        if k == "__complex__" and type(v) is list and len(v) == 2:
            return complex(float(v[0]), float(v[1]))
        if k == "__tuple__" and type(v) is list:
            return tuple(decode_value(x, blobs, depth + 1) for x in v)
        if k == "__dict__" and type(v) is list:
            out = {}
            for item in v:
                if type(item) is not list or len(item) != 2 or type(item[0]) is not str:
                    raise ValueError("bad dict item")
                out[item[0]] = decode_value(item[1], blobs, depth + 1)
            return out
        if k == "__nd__" and type(v) is int and 0 <= v < len(blobs):
            return _load_npy(blobs[v])
    raise ValueError(f"unexpected value on the wire: {str(tree)[:80]}")


def frame(buf: bytearray, cap: int):
    """Pop one complete frame (header, blobs) from buf, or None. Raises ValueError when malformed,
    as soon as the sizes at its start say so (before the rest has arrived)."""
    if len(buf) < 8:
        return None
    (n,) = struct.unpack_from("<Q", buf, 0)
    if n > cap or n < 4:
        raise ValueError(f"result frame of {n} bytes")
    if len(buf) >= 12:
        (hn,) = struct.unpack_from("<I", buf, 8)
        if hn > HEADER_BYTES or hn > n - 4:
            raise ValueError(f"result header of {hn} bytes")
    if len(buf) < 8 + n:
        return None
    with memoryview(buf) as m:
        payload = m[8:8 + n].tobytes()
    del buf[:8 + n]
    header = json.loads(payload[4:4 + hn])
    if type(header) is not dict:
        raise ValueError("bad header")
    lens = header.get("blobs", [])
    if type(lens) is not list or any(type(ln) is not int or ln < 0 for ln in lens) or sum(lens) > n - 4 - hn:
        raise ValueError("bad blob lengths")
    blobs, off, view = [], 4 + hn, memoryview(payload)
    for ln in lens:
        blobs.append(view[off:off + ln])
        off += ln
    return header, blobs


def encode_command(obj) -> bytes:
    """One step (or stop) for the driver: length-prefixed JSON."""
    data = json.dumps(obj).encode()
    return struct.pack("<Q", len(data)) + data


def decode_step(header, blobs, mode: str) -> dict:
    """A step's result frame as the grader keeps it: status, error summary, decoded records."""
    st = header.get("status")
    out = {"status": "ok" if st == "ok" else "error", "records": []}
    if st != "ok":
        exc = header.get("exc")
        out["exc"] = exc if isinstance(exc, str) and exc.isidentifier() and len(exc) <= 60 else "Exception"
        line = header.get("line")
        out["line"] = line if type(line) is int else None
        msg = header.get("msg")
        if isinstance(msg, str):
            out["msg"] = msg[:2000]
    recs = header.get("records")
    if type(recs) is not list:
        recs = []
    for r in recs[:MAX_RECORDS]:
        if type(r) is not dict:
            continue
        d = {"kind": r.get("kind") if r.get("kind") in ("close", "equal", "at_least", "at_most") else "?"}
        try:
            if "got_error" in r:
                d["got_error"] = str(r["got_error"])[:300]
            else:
                d["got"] = decode_value(r.get("got"), blobs)
            if mode == "reference":
                d["expected"] = decode_value(r.get("expected"), blobs)
                d["rtol"], d["atol"] = float(r.get("rtol", 1e-5)), float(r.get("atol", 1e-8))
                if "before" in r:
                    d["before"] = decode_value(r["before"], blobs)
                d["line"] = r.get("line") if type(r.get("line")) is int else None
        except Exception as e:
            d = {"kind": d["kind"], "got_error": f"undecodable result ({str(e)[:80]})"}
        out["records"].append(d)
    return out
