"""Running untrusted notebook code: one process per attempt, limits, streaming, kill, restart.

The trusted side of the pipe: it sends one cell at a time, enforces the per-cell wall clock,
caps output and result sizes, kills the whole process group (and, when run as root, every
process of the attempt's private uid), and decodes results as plain data only (JSON + .npy with
allow_pickle=False). A cell that hangs or kills the process is recorded and the run restarts
without it, so the remaining tests are still graded.
"""
from __future__ import annotations

import ctypes
import io
import json
import os
import resource
import selectors
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

IS_ROOT = os.geteuid() == 0
try:
    _LIBC = ctypes.CDLL(None, use_errno=True)
except OSError:  # pragma: no cover
    _LIBC = None
CLONE_NEWNET = 0x40000000
CLONE_NEWNS = 0x00020000
MS_BIND, MS_REC, MS_PRIVATE, MS_MOVE = 4096, 16384, 1 << 18, 8192


def _needed_paths():
    here = Path(__file__).resolve().parent.parent
    return [Path(p).resolve() for p in {sys.base_prefix, sys.prefix, os.path.realpath(sys.executable), str(here)}]


_STAGE = None


def _mount_plan():
    """Ancestors of the interpreter/library paths that other users cannot traverse (like a 0700
    /root holding pyenv): inside the sandbox's mount namespace each is replaced by a tmpfs that
    holds only the needed child, bind-mounted back. Returns [(blocked, [(child, stage)])]."""
    global _STAGE
    plan = {}
    for p in _needed_paths():
        for anc in list(reversed(p.parents))[1:] + [p]:
            if anc == p:
                break
            if not (anc.stat().st_mode & 0o001):
                child = p.relative_to(anc).parts[0]
                plan.setdefault(str(anc), set()).add(child)
                break
    if plan and _STAGE is None:
        import atexit
        _STAGE = tempfile.mkdtemp(prefix="ember-stage-")
        atexit.register(shutil.rmtree, _STAGE, True)
    out = []
    for i, (blocked, children) in enumerate(sorted(plan.items())):
        items = []
        for j, c in enumerate(sorted(children)):
            st = os.path.join(_STAGE, f"{i}-{j}")
            os.makedirs(st, exist_ok=True)
            items.append((c, st))
        out.append((blocked, items))
    return out


def _mount(src, dst, fstype, flags, data):
    r = _LIBC.mount(src.encode() if src else None, dst.encode(), fstype.encode() if fstype else None,
                    flags, data.encode() if data else None)
    if r != 0:
        raise OSError(ctypes.get_errno(), f"mount {dst} failed")


def _isolate_fs(plan, hide):
    """In the child, before dropping privileges: private mount namespace, blocked ancestors
    opened up for the interpreter only, `hide` paths covered by empty tmpfs."""
    if _LIBC.unshare(CLONE_NEWNS) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNS) failed")
    _mount("none", "/", None, MS_REC | MS_PRIVATE, None)
    for blocked, items in plan:
        for child, stage in items:
            _mount(os.path.join(blocked, child), stage, None, MS_BIND | MS_REC, None)
        _mount("tmpfs", blocked, "tmpfs", 0, "mode=0755,size=64k")
        for child, stage in items:
            os.mkdir(os.path.join(blocked, child), 0o755)
            _mount(stage, os.path.join(blocked, child), None, MS_MOVE, None)
    for h in hide:
        if os.path.isdir(h):
            _mount("tmpfs", h, "tmpfs", 0, "mode=0000,size=4k")


@dataclass
class Limits:
    cell_timeout: float = 30.0        # wall seconds per cell
    total_timeout: float = 300.0      # wall seconds per submission (all attempts)
    startup_timeout: float = 60.0
    memory_mb: int = 2048             # RLIMIT_AS
    output_bytes: int = 8 << 20       # stdout+stderr before the attempt is killed
    keep_output: int = 32 << 10       # tail kept for the instructor
    result_bytes: int = 256 << 20     # one result frame
    nproc: int = 64                   # processes+threads of the private uid
    max_restarts: int = 4
    isolate_uid: bool = True          # when root: run as a private uid
    isolate_net: bool = True          # when root: empty network namespace
    hide: tuple = ()                  # folders covered by an empty tmpfs (the course directory)


@dataclass
class RunResult:
    steps: dict = field(default_factory=dict)      # index -> decoded step result
    attention: list = field(default_factory=list)  # reasons
    output: str = ""
    elapsed: float = 0.0


class _UidPool:
    """Private uids for concurrent attempts (only used as root). Random base: two graders on one
    machine do not share uids (the uid sweep kills everything a uid runs)."""

    def __init__(self):
        import random
        self.base = 1_000_000 + random.randrange(0, 100_000) * 256
        self.free = list(range(256))
        self.lock = threading.Lock()

    def take(self) -> int:
        with self.lock:
            return self.base + self.free.pop(0)

    def give(self, uid: int):
        with self.lock:
            self.free.append(uid - self.base)


UIDS = _UidPool()
_UID_OK: bool | None = None


def uid_isolation_works() -> bool:
    """Can a private uid run the interpreter and import the grader? (checked once)"""
    global _UID_OK
    if _UID_OK is None:
        if not IS_ROOT:
            _UID_OK = False
        else:
            uid = UIDS.take()
            try:
                pre = _preexec(Limits(), uid)
                r = subprocess.run([sys.executable, "-I", "-c", "import numpy, autograder"], preexec_fn=pre,
                                   cwd="/", capture_output=True, timeout=60)
                _UID_OK = r.returncode == 0
            except Exception:
                _UID_OK = False
            finally:
                UIDS.give(uid)
    return _UID_OK


def _kill_uid(uid: int):
    """SIGKILL every process owned by uid, until none is left (fork bombs respawn)."""
    for _ in range(50):
        found = False
        for p in os.listdir("/proc"):
            if not p.isdigit():
                continue
            try:
                st = os.stat(f"/proc/{p}")
            except OSError:
                continue
            if st.st_uid == uid:
                try:
                    with open(f"/proc/{p}/stat") as f:
                        if f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                            continue  # zombie: already dead, waiting for its parent
                except OSError:
                    continue
                found = True
                try:
                    os.kill(int(p), signal.SIGKILL)
                except OSError:
                    pass
        if not found:
            return
        time.sleep(0.01)


def _preexec(limits: Limits, uid: int | None):
    mem = limits.memory_mb << 20
    cpu = int(limits.total_timeout) + 10
    nproc_user = None
    plan = _mount_plan() if uid is not None else None
    hide = [str(h) for h in limits.hide]
    if uid is None:
        try:  # non-root: RLIMIT_NPROC counts all of this user's threads; leave head-room
            nproc_user = len(os.listdir("/proc/self/task")) + sum(
                1 for p in os.listdir("/proc") if p.isdigit() and _owned(p)) * 2 + limits.nproc
        except Exception:
            nproc_user = None

    def pre():
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 << 20, 64 << 20))
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
        if uid is not None:
            if limits.isolate_net and _LIBC is not None:
                _LIBC.unshare(CLONE_NEWNET)
            _isolate_fs(plan, hide)
            resource.setrlimit(resource.RLIMIT_NPROC, (limits.nproc, limits.nproc))
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
        elif nproc_user:
            soft, hard = resource.getrlimit(resource.RLIMIT_NPROC)
            n = nproc_user if hard == resource.RLIM_INFINITY else min(nproc_user, hard)
            resource.setrlimit(resource.RLIMIT_NPROC, (n, n if hard == resource.RLIM_INFINITY else hard))
    return pre


def _owned(p):
    try:
        return os.stat(f"/proc/{p}").st_uid == os.getuid()
    except OSError:
        return False


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


def _frame(buf: bytearray, cap: int):
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


def _send(fd, obj) -> bytes:
    data = json.dumps(obj).encode()
    return struct.pack("<Q", len(data)) + data


def child_env(workdir: str) -> dict:
    env = {
        "PATH": os.path.dirname(sys.executable) + ":/usr/local/bin:/usr/bin:/bin",
        "HOME": workdir, "TMPDIR": workdir, "MPLCONFIGDIR": workdir, "MPLBACKEND": "Agg",
        "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
        "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1",
    }
    return env


def run_steps(steps: list[dict], mode: str, limits: Limits, files: list[tuple[Path, str]] = ()) -> RunResult:
    """Run `steps` ({index, kind, source, grade_id, hidden}) in sandboxed attempts until all ran or
    were skipped. files: (path, relative name) copied into the private working folder."""
    res = RunResult()
    skip: set[int] = set()
    t0 = time.monotonic()
    out_tail = b""
    for attempt in range(limits.max_restarts + 1):
        remaining = limits.total_timeout - (time.monotonic() - t0)
        if remaining <= 0:
            break
        failed_at, reason, out = _attempt(steps, skip, mode, limits, files, res, remaining)
        out_tail = (out_tail + out)[-limits.keep_output:]
        if failed_at is None:
            break
        skip.add(failed_at)
        res.steps[failed_at] = {"status": reason[0], "reason": reason[1], "records": []}
        res.attention.append(f"{reason[1]} in cell {_name(steps, failed_at)}")
        if reason[0] == "startup":
            break
    ran = set(res.steps)
    notrun = [s["index"] for s in steps if s["index"] not in ran]
    if notrun:
        res.attention.append(f"{len(notrun)} cell(s) not run (time or restart limit)")
        for i in notrun:
            res.steps[i] = {"status": "notrun", "reason": "not run", "records": []}
    res.output = out_tail.decode("utf-8", "replace")
    res.elapsed = time.monotonic() - t0
    return res


def _name(steps, idx):
    for s in steps:
        if s["index"] == idx:
            return repr(s.get("grade_id") or f"#{idx}")
    return f"#{idx}"


def _attempt(steps, skip, mode, limits, files, res, budget):
    """One process. Returns (index it failed at or None, (status, reason), output bytes)."""
    uid = UIDS.take() if (IS_ROOT and limits.isolate_uid and uid_isolation_works()) else None
    workdir = tempfile.mkdtemp(prefix="ember-grade-")
    proc = None
    out = bytearray()
    out_total = 0
    try:
        for src, rel in files:
            dst = Path(workdir) / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
        if uid is not None:
            for dp, dns, fns in os.walk(workdir):
                for n in [dp] + [os.path.join(dp, f) for f in fns + dns]:
                    os.chown(n, uid, uid)
        os.chmod(workdir, 0o700)
        cmd_r, cmd_w = os.pipe()
        res_r, res_w = os.pipe()
        out_r, out_w = os.pipe()
        proc = subprocess.Popen(
            [sys.executable, "-I", "-m", "autograder._driver", mode, str(cmd_r), str(res_w)],
            stdin=subprocess.DEVNULL, stdout=out_w, stderr=out_w, pass_fds=(cmd_r, res_w),
            cwd=workdir, env=child_env(workdir), preexec_fn=_preexec(limits, uid), start_new_session=True)
        for fd in (cmd_r, res_w, out_w):
            os.close(fd)
        os.set_blocking(cmd_w, False)
        sel = selectors.DefaultSelector()
        sel.register(res_r, selectors.EVENT_READ, "res")
        sel.register(out_r, selectors.EVENT_READ, "out")
        todo = [s for s in steps if s["index"] not in skip]
        pos = -1          # position in todo of the step in flight (-1: waiting for ready)
        pending = b""     # bytes still to write to the child
        buf = bytearray()
        deadline = time.monotonic() + min(limits.startup_timeout, budget)
        t_end = time.monotonic() + budget
        current = None
        open_fds = 2

        def send_next():
            nonlocal pos, pending, deadline, current
            pos += 1
            if pos >= len(todo):
                pending += _send(cmd_w, {"event": "stop"})
                current = None
            else:
                s = todo[pos]
                current = s["index"]
                pending += _send(cmd_w, {k: s.get(k) for k in ("index", "kind", "source", "grade_id", "hidden")})
                deadline = min(time.monotonic() + limits.cell_timeout, t_end)
            flush()

        def flush():
            nonlocal pending
            while pending:
                try:
                    n = os.write(cmd_w, pending)
                except BlockingIOError:
                    break
                except BrokenPipeError:
                    pending = b""
                    break
                pending = pending[n:]
            try:
                sel.unregister(cmd_w)
            except (KeyError, ValueError):
                pass
            if pending:
                sel.register(cmd_w, selectors.EVENT_WRITE, "cmd")

        done_all = False
        while open_fds > 0:
            timeout = deadline - time.monotonic()
            if timeout <= 0:
                where = current if current is not None else (todo[0]["index"] if todo and pos < 0 else None)
                if pos < 0:
                    return (todo[0]["index"] if todo else None), ("startup", "sandbox did not start"), bytes(out)
                if where is None:
                    return None, None, bytes(out)
                lim = "total time limit" if time.monotonic() >= t_end else f"time limit ({limits.cell_timeout:g} s)"
                return where, ("timeout", lim), bytes(out)
            for key, _ in sel.select(timeout):
                if key.data == "cmd":
                    flush()
                    continue
                try:
                    chunk = os.read(key.fd, 1 << 16)
                except OSError:
                    chunk = b""
                if not chunk:
                    sel.unregister(key.fd)
                    open_fds -= 1
                    continue
                if key.data == "out":
                    out_total += len(chunk)
                    out += chunk
                    if len(out) > limits.keep_output:
                        del out[:len(out) - limits.keep_output]
                    if out_total > limits.output_bytes:
                        return current, ("output", f"output limit ({limits.output_bytes >> 20} MiB)"), bytes(out)
                    continue
                buf += chunk
                while True:
                    try:
                        fr = _frame(buf, limits.result_bytes)
                    except Exception as e:
                        return current, ("crash", f"malformed result ({str(e)[:60]})"), bytes(out)
                    if fr is None:
                        break
                    header, blobs = fr
                    ev = header.get("event")
                    if ev == "ready" and pos < 0:
                        send_next()
                    elif ev == "done" and current is not None and header.get("index") == current:
                        res.steps[current] = _decode_step(header, blobs, mode)
                        send_next()
                        if current is None:
                            done_all = True
                    # anything else (forged or out of order frames) is ignored
            if done_all and open_fds == 0:
                break
        if current is not None or not done_all:
            rc = proc.wait(timeout=5)
            if rc < 0:
                sig = signal.Signals(-rc).name if -rc in signal.Signals._value2member_map_ else str(-rc)
                why = {"SIGXCPU": "CPU time limit", "SIGKILL": "killed (memory or process limit?)",
                       "SIGSEGV": "crashed (segmentation fault; memory limit?)"}.get(sig, f"killed by {sig}")
            else:
                why = f"process exited (exit code {rc})"
            where = current if current is not None else (todo[0]["index"] if todo and pos < 0 else None)
            if where is None:
                return None, None, bytes(out)
            return where, ("crash", why), bytes(out)
        return None, None, bytes(out)
    except OSError as e:
        return (steps[0]["index"] if steps else None), ("startup", f"sandbox failed: {e}"), bytes(out)
    finally:
        if proc is not None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass
            try:
                proc.wait(timeout=5)
            except Exception:
                pass
            if uid is not None:
                _kill_uid(uid)
        for fd in ("cmd_w", "res_r", "out_r"):
            try:
                os.close(locals()[fd])
            except Exception:
                pass
        shutil.rmtree(workdir, ignore_errors=True)
        if uid is not None:
            UIDS.give(uid)


def _decode_step(header, blobs, mode):
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
        d = {"kind": r.get("kind") if r.get("kind") in ("close", "equal") else "?"}
        try:
            if "got_error" in r:
                d["got_error"] = str(r["got_error"])[:300]
            else:
                d["got"] = decode_value(r.get("got"), blobs)
            if mode == "reference":
                d["expected"] = decode_value(r.get("expected"), blobs)
                d["rtol"], d["atol"] = float(r.get("rtol", 1e-5)), float(r.get("atol", 1e-8))
                d["line"] = r.get("line") if type(r.get("line")) is int else None
        except Exception as e:
            d = {"kind": d["kind"], "got_error": f"undecodable result ({str(e)[:80]})"}
        out["records"].append(d)
    return out
