"""The wire between grader and sandbox: length-prefixed frames of JSON plus raw .npy blobs, decoded
as plain data only (no pickle, no objects); anything else is refused."""
from __future__ import annotations

import io
import json
import struct

import numpy as np


def decode_value(tree, blobs, depth=0):
    """Plain data from the wire; anything else raises ValueError."""
    if depth > 24:
        raise ValueError("nested too deeply")
    if tree is None or type(tree) in (bool, int, str):
        if type(tree) is int and abs(tree) > 1 << 4096:
            raise ValueError("integer too large")
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
            arr = np.load(io.BytesIO(blobs[v]), allow_pickle=False)
            if type(arr) is not np.ndarray or arr.dtype.kind not in "biufc" or arr.dtype.hasobject:
                raise ValueError("not a numeric array")
            return np.array(arr, copy=True)
    raise ValueError(f"unexpected value on the wire: {str(tree)[:80]}")


def frame(buf: bytearray, cap: int):
    """Pop one complete frame (header, blobs) from buf, or None. Raises ValueError when malformed."""
    if len(buf) < 8:
        return None
    (n,) = struct.unpack("<Q", buf[:8])
    if n > cap:
        raise ValueError(f"result frame of {n} bytes")
    if len(buf) < 8 + n:
        return None
    payload = bytes(buf[8:8 + n])
    del buf[:8 + n]
    (hn,) = struct.unpack("<I", payload[:4])
    header = json.loads(payload[4:4 + hn])
    if type(header) is not dict:
        raise ValueError("bad header")
    blobs, off = [], 4 + hn
    for ln in header.get("blobs", []):
        if type(ln) is not int or ln < 0:
            raise ValueError("bad blob length")
        blobs.append(payload[off:off + ln])
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
        out["exc"] = exc if isinstance(exc, str) and exc.isidentifier() else "Exception"
        line = header.get("line")
        out["line"] = line if type(line) is int else None
        msg = header.get("msg")
        if isinstance(msg, str):
            out["msg"] = msg[:2000]
    recs = header.get("records")
    if type(recs) is not list:
        recs = []
    for r in recs[:10_000]:
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
