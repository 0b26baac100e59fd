"""Isolation without root: an unprivileged user namespace per attempt.

When the grader is an ordinary user, student code runs as that user, so file permissions alone
cannot keep it from the course directory. Where the kernel lets unprivileged users create user
namespaces, the child enters new user, mount, network and PID namespaces (mapped to its own uid,
so it keeps no capabilities after exec) and, before exec:

- covers the course directory with an empty tmpfs, as the root path does;
- covers the grader's home and temporary folders (and /run/user/UID, where session sockets live)
  with tmpfs too, bind-mounting back only what the interpreter needs and the private working folder;
- makes every mount read-only except the working folder (and a fresh /dev/shm), so student code
  cannot plant code in the grader's own virtualenv or source tree for later runs;
- becomes PID 1 of a new PID namespace (an intermediate process waits for it), so it cannot signal
  the grader or the instructor's other processes, and killing it ends every process it started.

Mounts that come from the grader's namespace are locked by the kernel: a nested namespace made by
student code cannot unmount the covers. Where any of this is refused, `works()` is False and the
grader falls back to running as the user, with a warning and `isolation: "none"` in each result.
"""
from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import tempfile

from .isolation import LIBC, mount, needed_paths

CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x20000, 0x10000000, 0x20000000, 0x40000000
MS_NOSUID, MS_NODEV, MS_REC, MS_PRIVATE = 2, 4, 16384, 1 << 18
SYS_OPEN_TREE, SYS_MOVE_MOUNT, SYS_MOUNT_SETATTR = 428, 429, 442  # the same number on every arch
AT_FDCWD, AT_RECURSIVE, OPEN_TREE_CLONE, OPEN_TREE_CLOEXEC = -100, 0x8000, 1, 0o2000000
MOVE_MOUNT_F_EMPTY_PATH = 4
MOUNT_ATTR_RDONLY, MOUNT_ATTR_NOSUID, MOUNT_ATTR_NODEV = 1, 2, 4
PR_SET_NO_NEW_PRIVS = 38


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]


def _check(r: int, what: str) -> int:
    if r < 0:
        raise OSError(ctypes.get_errno(), what)
    return r


def _open_tree(path: str) -> int:
    flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE
    return _check(LIBC.syscall(SYS_OPEN_TREE, AT_FDCWD, path.encode(), ctypes.c_uint(flags)), f"open_tree {path}")


def _move_mount(fd: int, path: str):
    _check(LIBC.syscall(SYS_MOVE_MOUNT, fd, b"", AT_FDCWD, path.encode(), ctypes.c_uint(MOVE_MOUNT_F_EMPTY_PATH)),
           f"move_mount {path}")


def _setattr(path: str, set_=0, clr=0, recursive=False):
    attr = _MountAttr(set_, clr, 0, 0)
    _check(LIBC.syscall(SYS_MOUNT_SETATTR, AT_FDCWD, path.encode(), ctypes.c_uint(AT_RECURSIVE if recursive else 0),
                        ctypes.byref(attr), ctypes.c_size_t(ctypes.sizeof(attr))), f"mount_setattr {path}")


def _under(p: str, base: str) -> bool:
    return p == base or p.startswith(base.rstrip("/") + "/")


def plan(workdir: str, hide) -> tuple[list, list[str]]:
    """Computed in the grader: ([(area, [kept paths under it])], hidden folders). Areas are the
    home, temporary and session folders; kept are the interpreter, the grader's code, its sys.path
    and the working folder."""
    keep = {str(p) if p.is_dir() else str(p.parent) for p in needed_paths()} | {os.path.realpath(workdir)}
    for p in sys.path:  # the grader's cwd (first on sys.path with -m) is not needed: the child runs -I
        if p and os.path.isdir(p) and os.path.realpath(p) != os.path.realpath(os.getcwd()):
            keep |= {os.path.abspath(p), os.path.realpath(p)}
    keep = sorted(k for k in keep if not any(k != o and _under(k, o) for o in keep))
    areas = {os.path.realpath(p) for p in (os.path.expanduser("~"), tempfile.gettempdir(), "/tmp", "/var/tmp",
                                            f"/run/user/{os.geteuid()}")}
    areas = sorted(a for a in areas if a != "/" and os.path.isdir(a) and not any(_under(a, k) for k in keep))
    areas = [a for a in areas if not any(a != o and _under(a, o) for o in areas)]
    return [(a, [k for k in keep if _under(k, a)]) for a in areas], [os.path.realpath(h) for h in hide]


def enter(areas, hide, workdir: str, net: bool, shm_mb: int, uid: int, gid: int):
    """In the child, between fork and exec. Returns in the process that goes on to exec (PID 1 of
    the new PID namespace); the intermediate process never returns."""
    flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | (CLONE_NEWNET if net else 0)
    _check(LIBC.unshare(flags), "unshare")
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
        fd = os.open(f"/proc/self/{name}", os.O_WRONLY)
        try:
            os.write(fd, text.encode())
        finally:
            os.close(fd)
    mount("none", "/", None, MS_REC | MS_PRIVATE, None)
    for area, keep in areas:
        trees = [(k, _open_tree(k)) for k in keep]
        mount("tmpfs", area, "tmpfs", 0, "mode=0755,size=1m")
        for k, fd in trees:
            os.makedirs(k, exist_ok=True)
            _move_mount(fd, k)
            os.close(fd)
    for h in hide:
        if os.path.isdir(h):
            mount("tmpfs", h, "tmpfs", 0, "mode=0000,size=4k")
    fd = _open_tree(workdir)
    _move_mount(fd, workdir)
    os.close(fd)
    _setattr("/", set_=MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, recursive=True)
    _setattr(workdir, clr=MOUNT_ATTR_RDONLY)
    if os.path.isdir("/dev/shm"):
        mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, f"mode=1777,size={shm_mb}m")
    _check(LIBC.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl")
    os.chdir(workdir)  # the old cwd is the covered, read-only folder under the bind mount
    pid = os.fork()
    if pid == 0:
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
            with tempfile.TemporaryDirectory(prefix="ember-probe-") as wd:
                areas, hide = plan(wd, ())
                uid, gid = os.geteuid(), os.getegid()
                try:
                    r = subprocess.run([sys.executable, "-I", "-c", "import numpy, autograder; open('ok', 'w')"],
                                       preexec_fn=lambda: enter(areas, hide, wd, True, 16, uid, gid),
                                       cwd=wd, capture_output=True, timeout=60)
                    _WORKS = r.returncode == 0 and os.path.exists(os.path.join(wd, "ok"))
                except Exception:
                    _WORKS = False
    return _WORKS
