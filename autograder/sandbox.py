"""Running untrusted notebook code: one process per attempt, limits, streaming, kill, restart.

The trusted side of the pipe: it sends one cell at a time, enforces the per-cell wall clock,
caps output and result sizes, kills the whole attempt (its process group; as root every process of
its private uid, otherwise its PID namespace) and decodes results as plain data only (wire.py).
A cell that hangs or kills the process is recorded and the run restarts without it, so the
remaining tests are still graded. How the child is kept from the instructor's files: rootfs.py
(what it sees), isolation.py (as root) and userns.py (as an ordinary user).
"""
from __future__ import annotations

import os
import resource
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import rootfs, userns
from .isolation import IS_ROOT, UIDS, enter_private_uid, kill_uid, uid_isolation_problem, uid_isolation_works
from .wire import decode_step, decode_value, encode_command, frame  # noqa: F401  (decode_value: API)


@dataclass
class Limits:
    cell_timeout: float = 30.0        # wall seconds per cell
    total_timeout: float = 300.0      # wall seconds per submission (all attempts)
    startup_timeout: float = 60.0
    memory_mb: int = 2048             # RLIMIT_AS
    output_bytes: int = 8 << 20       # stdout+stderr before the attempt is killed
    keep_output: int = 32 << 10       # tail kept for the instructor
    result_bytes: int = 64 << 20      # one result frame (its JSON header: wire.HEADER_BYTES at most)
    scratch_mb: int = 256             # /tmp, /var/tmp, /dev/shm and the working folder together
    nproc: int = 64                   # processes+threads of the private uid
    max_restarts: int = 4
    isolate_uid: bool = True          # when root: run as a private uid (else: a user namespace)
    isolate_net: bool = True          # empty network namespace
    hide: tuple = ()                  # folders kept hidden even inside needed ones (the course directory)


@dataclass
class RunResult:
    steps: dict = field(default_factory=dict)      # index -> decoded step result
    attention: list = field(default_factory=list)  # reasons
    output: str = ""
    elapsed: float = 0.0
    isolation: str = ""                             # "uid", "userns" or "none"
    at: dict = field(default_factory=dict)          # index -> line of the answer statement running


def isolation_mode(limits: Limits) -> str:
    """How attempts are kept from the instructor's files: "uid" (root: private uid and namespaces),
    "userns" (ordinary user: user namespace) or "none" (student code runs as the grader's user)."""
    if IS_ROOT:
        return "uid" if limits.isolate_uid and uid_isolation_works() else "none"
    return "userns" if limits.isolate_uid and userns.works() else "none"


def security_warnings(root: Path) -> list[str]:
    """What an instructor grading the course at `root` on this machine should know: student code
    that runs without isolation, or hidden tests that other users can read."""
    w = []
    if not IS_ROOT:
        if isolation_mode(Limits()) == "none":
            w.append("not running as root and user namespaces are not available: student code runs as "
                     "your own user (it can read the course directory); grade as root (CI does) or allow "
                     "unprivileged user namespaces (see autograder/README.md, security model)")
    elif not uid_isolation_works():
        w.append(f"private uids do not work here, so student code runs as root: {uid_isolation_problem()}")
    else:
        p = Path(root).resolve()
        blocked = False
        for q in [p] + list(p.parents):
            if q == Path("/"):
                break
            if not (q.stat().st_mode & 0o001):
                blocked = True
                break
        src = p / "source"
        if not blocked and src.exists() and (src.stat().st_mode & 0o005) == 0o005:
            w.append(f"{src} is readable by other users of this machine (student code cannot see it), "
                     f"so they could read hidden tests: chmod o-rwx {p}")
    return w


def _preexec(limits: Limits, mode: str, uid: int | None, files):
    mem = limits.memory_mb << 20
    cpu = int(limits.total_timeout) + 10
    plan = rootfs.plan([str(h) for h in limits.hide], limits.scratch_mb) if mode != "none" else None
    files = [(os.path.abspath(src), rel) for src, rel in files]  # copied in after the root changes
    ids = os.geteuid(), os.getegid()
    nproc_user = None
    if mode != "uid":
        try:  # non-root: RLIMIT_NPROC counts all of this user's threads; leave head-room
            nproc_user = len(os.listdir("/proc/self/task")) + sum(
                1 for p in os.listdir("/proc") if p.isdigit() and _owned(p)) * 2 + limits.nproc
        except Exception:
            nproc_user = None

    def pre():
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
        if mode == "uid":
            enter_private_uid(plan, files, limits.isolate_net, limits.nproc, uid)
        else:
            if nproc_user:
                soft, hard = resource.getrlimit(resource.RLIMIT_NPROC)
                n = nproc_user if hard == resource.RLIM_INFINITY else min(nproc_user, hard)
                resource.setrlimit(resource.RLIMIT_NPROC, (n, n if hard == resource.RLIM_INFINITY else hard))
            if mode == "userns":
                userns.enter(plan, files, limits.isolate_net, *ids)
        # last: the grader's own address space (threads, numpy) may already exceed them
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 << 20, 64 << 20))
    return pre


def _owned(p):
    try:
        return os.stat(f"/proc/{p}").st_uid == os.getuid()
    except OSError:
        return False


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
    steps = [dict(s) for s in steps]
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
        if _skip_statement(steps, failed_at, reason, res):
            continue
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


def _skip_statement(steps, idx, reason, res) -> bool:
    """A hang or crash at the top level of an answer cell: the next attempt runs that cell up to the
    statement (the definitions made before it stay, as after a kernel interrupt)."""
    line = res.at.pop(idx, None)
    step = next((s for s in steps if s["index"] == idx), None)
    if (step is None or step["kind"] != "answer" or line is None or reason[0] not in ("timeout", "crash")
            or reason[1] == "total time limit" or line >= step.get("stop_at", line + 1)):
        return False
    step["stop_at"] = line
    res.attention.append(f"{reason[1]} in cell {_name(steps, idx)} at line {line}: the cell ran up to "
                         f"that statement (what it defined before is kept)")
    return True


def _name(steps, idx):
    for s in steps:
        if s["index"] == idx:
            return repr(s.get("grade_id") or f"#{idx}")
    return f"#{idx}"


def _attempt(steps, skip, mode, limits, files, res, budget):
    """One process. Returns (index it failed at or None, (status, reason), output bytes)."""
    res.isolation = iso = isolation_mode(limits)
    uid = UIDS.take() if iso == "uid" else None
    hostdir = None  # without isolation the working folder is a private folder of the host
    proc = pidfd = None
    out = bytearray()
    out_total = 0
    try:
        if iso == "none":
            workdir = hostdir = tempfile.mkdtemp(prefix="ember-grade-")
            for src, rel in files:
                dst = Path(workdir) / rel
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dst)
        else:  # the new root's working folder; the child copies the files in (rootfs.build)
            workdir = rootfs.WORKDIR
        cmd_r, cmd_w = os.pipe()
        res_r, res_w = os.pipe()
        out_r, out_w = os.pipe()
        proc = subprocess.Popen(
            [sys.executable, "-I", "-m", "autograder._driver", mode, str(cmd_r), str(res_w)],
            stdin=subprocess.DEVNULL, stdout=out_w, stderr=out_w, pass_fds=(cmd_r, res_w),
            cwd=hostdir or "/", env=child_env(workdir), preexec_fn=_preexec(limits, iso, uid, files),
            start_new_session=True)
        if iso == "userns":
            pidfd = userns.init_pidfd(proc.pid)
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
        hidden_sent = False  # a hidden test's code has been in this process: echo nothing it returns

        def send_next():
            nonlocal pos, pending, deadline, current, hidden_sent
            pos += 1
            if pos >= len(todo):
                pending += encode_command({"event": "stop"})
                current = None
            else:
                s = todo[pos]
                current = s["index"]
                hidden_sent = hidden_sent or bool(s.get("hidden"))
                pending += encode_command({k: s.get(k) for k in ("index", "kind", "source", "grade_id", "hidden",
                                                                 "stop_at")})
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
                        fr = frame(buf, limits.result_bytes)
                    except Exception as e:
                        return current, ("crash", f"malformed result ({str(e)[:60]})"), bytes(out)
                    if fr is None:
                        break
                    header, blobs = fr
                    ev = header.get("event")
                    if ev == "ready" and pos < 0:
                        send_next()
                    elif ev == "at" and current is not None and header.get("index") == current:
                        res.at[current] = header.get("line")
                    elif ev == "done" and current is not None and header.get("index") == current:
                        res.steps[current] = decode_step(header, blobs, mode)
                        res.steps[current]["after_hidden"] = hidden_sent
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
    except (OSError, subprocess.SubprocessError) as e:
        return (steps[0]["index"] if steps else None), ("startup", f"sandbox failed: {e}"), bytes(out)
    finally:
        userns.kill_namespace(pidfd)
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
                kill_uid(uid)
        for fd in ("cmd_w", "res_r", "out_r"):
            try:
                os.close(locals()[fd])
            except Exception:
                pass
        if hostdir:
            shutil.rmtree(hostdir, ignore_errors=True)
        if uid is not None:
            UIDS.give(uid)

