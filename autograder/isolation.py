"""Isolation as root: a private uid per attempt, an empty network namespace, and a private mount
namespace whose root holds only what the interpreter needs (rootfs.py). Also the helpers both the
root and the user-namespace paths share (libc, mount)."""
from __future__ import annotations

import ctypes
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

IS_ROOT = os.geteuid() == 0
try:
    LIBC = ctypes.CDLL(None, use_errno=True)
except OSError:  # pragma: no cover
    LIBC = None
CLONE_NEWNET = 0x40000000
CLONE_NEWNS = 0x00020000
MS_BIND, MS_REC, MS_PRIVATE, MS_MOVE = 4096, 16384, 1 << 18, 8192


def needed_paths() -> list[Path]:
    """What the sandboxed interpreter must be able to read: its prefixes, its binary and the
    grader's and library's packages (rootfs.py mounts them into the sandbox's new root)."""
    from .rootfs import package_dirs
    return [Path(p).resolve() for p in {sys.base_prefix, sys.prefix, os.path.realpath(sys.executable),
                                         *package_dirs()}]


_STAGE = None


def mount_plan():
    """Ancestors of the interpreter/library paths that other users cannot traverse (like a 0700
    /root holding pyenv): inside a mount namespace each is replaced by a tmpfs that holds only the
    needed child, bind-mounted back. Returns [(blocked, [(child, stage)])]. (The sandbox builds a
    whole new root instead, rootfs.py; this lets a test run the grader itself as another user.)"""
    global _STAGE
    plan = {}
    for p in needed_paths():
        for anc in list(reversed(p.parents))[1:] + [p]:
            if anc == p:
                break
            if not (anc.stat().st_mode & 0o001):  # every closed one: a checkout in a `mktemp -d` may be closed too
                child = p.relative_to(anc).parts[0]
                plan.setdefault(str(anc), set()).add(child)
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


def mount(src, dst, fstype, flags, data):
    r = LIBC.mount(src.encode() if src else None, dst.encode(), fstype.encode() if fstype else None,
                   flags, data.encode() if data else None)
    if r != 0:
        raise OSError(ctypes.get_errno(), f"mount {dst} failed")


def isolate_fs(plan, hide):
    """In a child, before dropping privileges: private mount namespace, blocked ancestors (mount_plan)
    opened up for the interpreter only, `hide` paths covered by empty tmpfs."""
    if LIBC.unshare(CLONE_NEWNS) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNS) failed")
    mount("none", "/", None, MS_REC | MS_PRIVATE, None)
    for blocked, items in plan:
        for child, stage in items:
            mount(os.path.join(blocked, child), stage, None, MS_BIND | MS_REC, None)
        mount("tmpfs", blocked, "tmpfs", 0, "mode=0755,size=64k")
        for child, stage in items:
            os.mkdir(os.path.join(blocked, child), 0o755)
            mount(stage, os.path.join(blocked, child), None, MS_MOVE, None)
    for h in hide:
        if os.path.isdir(h):
            mount("tmpfs", h, "tmpfs", 0, "mode=0000,size=4k")


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
_UID_PROBLEM = ""


def enter_private_uid(root_plan, files, net: bool, nproc: int, uid: int):
    """In the child, between fork and exec: empty network namespace, a new root (rootfs.py) with
    the data files in its working folder, then the uid."""
    from .rootfs import build
    if net and LIBC is not None:
        LIBC.unshare(CLONE_NEWNET)
    if LIBC.unshare(CLONE_NEWNS) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNS) failed")
    build(root_plan, files, uid, uid, "hidepid")
    resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)


def uid_isolation_works() -> bool:
    """Can a private uid run the interpreter and import the grader? (checked once)"""
    global _UID_OK, _UID_PROBLEM
    if _UID_OK is None:
        if not IS_ROOT:
            _UID_OK, _UID_PROBLEM = False, "not running as root"
        else:
            from .rootfs import plan as root_plan
            uid = UIDS.take()
            try:
                plan = root_plan()
                r = subprocess.run([sys.executable, "-I", "-c", "import numpy, autograder"], cwd="/",
                                   preexec_fn=lambda: enter_private_uid(plan, [], True, 64, uid),
                                   capture_output=True, timeout=60)
                _UID_OK = r.returncode == 0
                if not _UID_OK:
                    _UID_PROBLEM = uid_problem(r.stderr.decode(errors="replace"), needed_paths())
            except Exception as e:
                _UID_OK, _UID_PROBLEM = False, f"{type(e).__name__}: {e}"
            finally:
                UIDS.give(uid)
    return _UID_OK


def uid_isolation_problem() -> str:
    """Why private uids do not work here ("" when they do), for the grader's warning."""
    return "" if uid_isolation_works() else _UID_PROBLEM


def uid_problem(stderr: str, paths) -> str:
    """Explain a failed private-uid probe. mount_plan opens the closed ancestors of the paths the
    interpreter needs, but not a needed directory that is itself closed, such as a checkout made
    inside `mktemp -d` (mode 0700)."""
    for p in paths:
        mode = p.stat().st_mode
        if p.is_dir() and mode & 0o005 != 0o005:
            return (f"{p} (mode {mode & 0o777:o}) is closed to other users, so a private uid "
                    f"cannot start the interpreter or import the grader from it: chmod o+rx {p}")
    lines = stderr.strip().splitlines()
    return "a private uid could not start the interpreter: " + (lines[-1] if lines else "no output")


def kill_uid(uid: int):
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
