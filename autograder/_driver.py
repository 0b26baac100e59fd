"""The program that runs inside the sandbox (one per submission attempt).

    python -m autograder._driver MODE CMD_FD RES_FD

MODE is "grade" (student code; tests arrive with expected values removed; only `got` is recorded),
"reference" (the instructor's notebook: got, expected and tolerances are recorded) or "local"
(self-check: checks compare in place). Steps arrive one at a time on CMD_FD (so code of later
cells, hidden tests included, is not in this process before it is needed); results leave on RES_FD
as frames of JSON plus raw .npy blobs. Nothing here is trusted by the grader: the parent decodes
plain data only and does every comparison itself.
"""
import linecache
import os
import struct
import sys

_write = os.write
_read = os.read
_pack = struct.pack
_unpack = struct.unpack


def _send(fd, header, blobs=()):
    import json
    header = dict(header)
    header["blobs"] = [len(b) for b in blobs]
    data = json.dumps(header, allow_nan=True).encode()
    payload = _pack("<I", len(data)) + data + b"".join(blobs)
    msg = _pack("<Q", len(payload)) + payload
    view = memoryview(msg)
    while view:
        n = _write(fd, view)
        view = view[n:]


def _recv(fd):
    def exact(n):
        buf = b""
        while len(buf) < n:
            chunk = _read(fd, n - len(buf))
            if not chunk:
                raise EOFError
            buf += chunk
        return buf
    (n,) = _unpack("<Q", exact(8))
    import json
    return json.loads(exact(n))


def _encode(value, blobs, depth=0):
    """Plain data -> JSON tree; arrays go to blobs as .npy bytes (no pickle)."""
    import io

    import numpy as np
    if depth > 20:
        raise TypeError("nested too deeply")
    if value is None or type(value) in (bool, int, str):
        return value
    if type(value) is float:
        return {"__float__": repr(value)}
    if type(value) is complex:
        return {"__complex__": [repr(value.real), repr(value.imag)]}
    if isinstance(value, np.ndarray):
        buf = io.BytesIO()
        np.save(buf, np.array(value, order="C"), allow_pickle=False)  # keeps 0-d arrays 0-d
        blobs.append(buf.getvalue())
        return {"__nd__": len(blobs) - 1}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, blobs, depth + 1) for v in value]}
    if isinstance(value, list):
        return [_encode(v, blobs, depth + 1) for v in value]
    if isinstance(value, dict):
        return {"__dict__": [[k, _encode(v, blobs, depth + 1)] for k, v in value.items()]}
    raise TypeError(type(value).__name__)


class _Magics:
    """get_ipython() for student cells that use magics: shell escapes and most magics are ignored."""

    def __init__(self, ns):
        self.ns = ns
        self.user_ns = ns

    def run_line_magic(self, name, line, *a, **k):
        return None

    def run_cell_magic(self, name, line, cell, *a, **k):
        if name in ("time", "timeit", "capture", "prun"):
            exec(compile(cell, "<cell magic>", "exec"), self.ns)
        return None

    def system(self, *a, **k):
        return None

    getoutput = system

    def __getattr__(self, name):
        return lambda *a, **k: None


def _transform(src):
    import re
    if not re.search(r"^\s*[%!]", src, re.M):
        return src
    try:
        from IPython.core.inputtransformer2 import TransformerManager
        return TransformerManager().transform_cell(src)
    except Exception:
        return src


def _exec_cell(code_src, filename, ns, step, res_fd):
    """Answer cells run one top-level statement at a time, each announced (event "at", its line), so
    after a statement hangs the grader can restart with the cell run up to it ("stop_at": its line):
    the definitions made before the hang stay, as in a kernel interrupted mid-cell."""
    if step["kind"] != "answer":
        exec(compile(code_src, filename, "exec"), ns)
        return
    import ast
    stop = step.get("stop_at")
    for node in ast.parse(code_src, filename).body:
        if stop is not None and node.lineno >= stop:
            break
        _send(res_fd, {"event": "at", "index": step["index"], "line": node.lineno})
        exec(compile(ast.Module([node], type_ignores=[]), filename, "exec"), ns)


def main():
    mode, cmd_fd, res_fd = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    sys.argv = ["notebook"]
    import traceback

    import numpy  # noqa: F401  (import before student code: the grader's own copy is irrelevant, but warm)

    from autograder import check as check_mod
    from autograder.compare import plain

    ns = {"__name__": "__main__", "__builtins__": __builtins__}
    ns["get_ipython"] = lambda: _Magics(ns)
    hidden_seen = False
    _send(res_fd, {"event": "ready", "pid": os.getpid()})
    while True:
        try:
            step = _recv(cmd_fd)
        except EOFError:
            break
        if step.get("event") == "stop":
            break
        idx, kind, src = step["index"], step["kind"], step["source"]
        hidden_seen = hidden_seen or bool(step.get("hidden"))
        records, blobs = [], []

        def recorder(kind_, got, expected, rtol, atol, hint, before=None, _r=records, _b=blobs):
            rec = {"kind": kind_}
            try:
                rec["got"] = _encode(plain(got), _b)
            except Exception as e:  # unconvertible result: recorded as such, fails in the parent
                rec["got_error"] = f"{type(e).__name__}: {str(e)[:200]}"
            if mode == "reference":
                rec["expected"] = _encode(plain(expected), _b)
                rec["rtol"], rec["atol"] = float(rtol), float(atol)
                if before is not None:  # only the reference's: it never comes from a submission
                    try:
                        rec["before"] = _encode(plain(before), _b)
                    except Exception:
                        pass
                try:
                    rec["line"] = sys._getframe(3).f_lineno  # the check call in the test cell
                except Exception:
                    rec["line"] = None
            _r.append(rec)

        check_mod._recorder = recorder if (kind == "test" and mode != "local") else None
        filename = f"<cell {step.get('grade_id') or idx}>"
        result = {"event": "done", "index": idx, "status": "ok"}
        try:
            code_src = _transform(src) if kind == "answer" else src
            if kind != "test":  # inspect.getsource works on the cell's functions (jit.script), as in IPython
                linecache.cache[filename] = (len(code_src), None, code_src.splitlines(True), filename)
            _exec_cell(code_src, filename, ns, step, res_fd)
        except BaseException as e:  # SystemExit and KeyboardInterrupt too: a cell never ends the run
            result["status"] = "error"
            result["exc"] = type(e).__name__[:60]
            line = None
            for fs in traceback.extract_tb(e.__traceback__):
                if fs.filename == filename:
                    line = fs.lineno
            if isinstance(e, SyntaxError) and e.filename == filename:
                line = e.lineno
            result["line"] = line
            if not hidden_seen or mode == "local" or mode == "reference":
                result["msg"] = str(e)[:2000]
        finally:
            check_mod._recorder = None
        result["records"] = records
        try:
            _send(res_fd, result, blobs)
        except (TypeError, ValueError, OverflowError):
            _send(res_fd, {"event": "done", "index": idx, "status": "error", "exc": "EncodeError",
                           "records": []})


if __name__ == "__main__":
    main()
