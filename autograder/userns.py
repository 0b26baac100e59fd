"""Isolation without root: an unprivileged user namespace per attempt.

When the grader is an ordinary user, student code runs as that user, so file permissions alone
cannot keep it from the course directory. Where the kernel lets unprivileged users create user
namespaces, the child enters new user, mount, network and PID namespaces (mapped to its own uid,
so it keeps no capabilities after exec) and, before exec:

- becomes PID 1 of the new PID namespace (an intermediate process waits for it), so it cannot
  signal the grader or the instructor's other processes, and killing it ends every process it
  started; its /proc shows only those processes (no /proc/PID/root of the grader to walk through);
- switches to a new root holding only what the interpreter needs (rootfs.py: no home folder, no
  checkout, no course), read-only except its private scratch (/tmp, /var/tmp, /dev/shm and the
  working folder, one size-capped tmpfs), so student code cannot read the instructor's files nor
  plant code in the grader's virtualenv or source tree for later runs.

Mounts that come from the grader's namespace are locked by the kernel: a nested namespace made by
student code cannot uncover them. Where any of this is refused, `works()` is False and the grader
falls back to running as the user, with a warning and `isolation: "none"` in each result.
"""
from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys

from .isolation import LIBC

CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x20000, 0x10000000, 0x20000000, 0x40000000
PR_SET_NO_NEW_PRIVS = 38


def _check(r: int, what: str) -> int:
    if r < 0:
        raise OSError(ctypes.get_errno(), what)
    return r


def enter(root_plan, files, net: bool, uid: int, gid: int):
    """In the child, between fork and exec. Returns in the process that goes on to exec (PID 1 of
    the new PID namespace, in the new root); the intermediate process never returns."""
    from .rootfs import build
    flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | (CLONE_NEWNET if net else 0)
    _check(LIBC.unshare(flags), "unshare")
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
        fd = os.open(f"/proc/self/{name}", os.O_WRONLY)
        try:
            os.write(fd, text.encode())
        finally:
            os.close(fd)
    pid = os.fork()
    if pid == 0:  # PID 1 of the new namespace: still privileged in the user namespace until exec
        build(root_plan, files, uid, gid, "fresh")
        _check(LIBC.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl")
        return
    os.closerange(0, 1 << 16)  # the exec status pipe included: Popen returns once PID 1 has exec'd
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1)


def _ppid(pid) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def init_pidfd(intermediate: int) -> int | None:
    """A pidfd for the attempt's PID 1 (the intermediate's only child), or None if it is gone."""
    for p in os.listdir("/proc"):
        if p.isdigit() and _ppid(p) == intermediate:
            try:
                fd = os.pidfd_open(int(p))
            except OSError:
                return None
            if _ppid(p) == intermediate:  # not a recycled pid
                return fd
            os.close(fd)
    return None


def kill_namespace(pidfd: int | None):
    """SIGKILL the attempt's PID 1; the kernel then kills every process of its PID namespace."""
    if pidfd is not None:
        try:
            signal.pidfd_send_signal(pidfd, signal.SIGKILL)
        except OSError:
            pass
        os.close(pidfd)


_WORKS: bool | None = None


def works() -> bool:
    """Can this (non-root) grader run the interpreter in the namespaces above? (checked once)"""
    global _WORKS
    if _WORKS is None:
        _WORKS = False
        if os.geteuid() != 0 and hasattr(signal, "pidfd_send_signal") and hasattr(os, "pidfd_open"):
            from .rootfs import plan
            p = plan(scratch_mb=16)
            uid, gid = os.geteuid(), os.getegid()
            try:
                r = subprocess.run([sys.executable, "-I", "-c", "import numpy, autograder; open('ok', 'w')"],
                                   preexec_fn=lambda: enter(p, [], True, uid, gid),
                                   cwd="/", capture_output=True, timeout=60)
                _WORKS = r.returncode == 0
            except Exception:
                _WORKS = False
    return _WORKS
