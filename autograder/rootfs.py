"""The sandbox's file system: a fresh root that holds only what student code needs.

Hide by default: each attempt gets a new, empty root (a tmpfs) and sees only what is put in it:

- the system folders (/usr, /bin, /lib*, /sbin, /etc), read-only;
- the interpreter (its prefix, its virtualenv, the folders on its own `python -I` sys.path);
- the grader's code and the library (the `autograder` and `ember` packages, not the checkout
  around them: no `.git`, `course/`, `tests/` or `notebooks/`);
- a private scratch tmpfs of a fixed total size holding /tmp, /var/tmp, /dev/shm and the working
  folder /tmp/work (with the assignment's data files copied in), gone when the attempt ends;
- a minimal /dev and a /proc that shows only the attempt's own processes.

Everything else of the machine (home folders, /root, /srv, /opt, /mnt, /work, other copies of the
course) simply does not exist in there. A needed folder that lies inside the checkout or the course
directory (say, a checkout cloned under /usr) is mounted over by a tmpfs that gets only the needed
parts back. The plan is computed by the grader (`plan()`), the mounts are made in the child between
fork and exec (`build()`), by root (isolation.py) or inside a user namespace (userns.py).
"""
from __future__ import annotations

import atexit
import ctypes
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from .isolation import LIBC, MS_BIND, MS_PRIVATE, MS_REC, mount

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MNT_DETACH = 2
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
DEVICES = ("null", "zero", "full", "random", "urandom")
WORKDIR = "/tmp/work"        # the attempt's working folder, as student code sees it
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "ppc64le": 203, "s390x": 217}
REPO = Path(__file__).resolve().parent.parent
SYS_MOUNT_SETATTR, AT_FDCWD, AT_RECURSIVE = 442, -100, 0x8000  # the same number on every arch
MOUNT_ATTR_RDONLY, MOUNT_ATTR_NOSUID = 1, 2


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]


def _setattr(path: str, set_=0, clr=0, recursive=False):
    """mount_setattr(2) (Linux 5.12+): read-only for a whole tree at once, as an unprivileged user too."""
    attr = _MountAttr(set_, clr, 0, 0)
    r = LIBC.syscall(SYS_MOUNT_SETATTR, AT_FDCWD, path.encode(), ctypes.c_uint(AT_RECURSIVE if recursive else 0),
                     ctypes.byref(attr), ctypes.c_size_t(ctypes.sizeof(attr)))
    if r < 0:
        raise OSError(ctypes.get_errno(), f"mount_setattr {path}")


@dataclass
class Plan:
    newroot: str                                      # an empty host folder: the mount point
    ops: list = field(default_factory=list)           # ("bind" | "cover", absolute path), parents first
    links: list = field(default_factory=list)         # (path, target) symlinks on the way to needed paths
    scratch_mb: int = 256


def _under(p: str, base: str) -> bool:
    return p == base or p.startswith(base.rstrip("/") + "/")


def _resolve(path: str, links: dict, depth: int = 0) -> str:
    """The real path of `path`, recording every symlink met on the way (so the new root can
    recreate it: /bin -> usr/bin, a venv's python -> the base interpreter)."""
    cur = "/"
    for part in Path(os.path.abspath(path)).parts[1:]:
        nxt = os.path.join(cur, part)
        if os.path.islink(nxt) and depth < 40:
            tgt = os.readlink(nxt)
            links[nxt] = tgt
            cur = _resolve(os.path.normpath(os.path.join(cur, tgt)), links, depth + 1)
        else:
            cur = nxt
    return cur


_CHILD_PATH = None


def child_sys_path() -> list[str]:
    """sys.path of `python -I` (what the driver gets: no cwd, no PYTHONPATH, no user site)."""
    global _CHILD_PATH
    if _CHILD_PATH is None:
        r = subprocess.run([sys.executable, "-I", "-c", "import sys, json; print(json.dumps(sys.path))"],
                           capture_output=True, text=True, timeout=60, cwd="/")
        prefixes = (sys.prefix, sys.base_prefix)  # without the probe: the interpreter's own folders only
        _CHILD_PATH = json.loads(r.stdout) if r.returncode == 0 else [
            p for p in sys.path if p and any(_under(os.path.abspath(p), q) for q in prefixes)]
    return _CHILD_PATH


def needed() -> list[str]:
    """What the sandboxed interpreter must see, beyond the system folders."""
    out = [sys.base_prefix, sys.prefix, sys.executable, os.path.dirname(sys.executable)]
    return out + [p for p in child_sys_path() if p and os.path.exists(p)] + package_dirs()


def package_dirs() -> list[str]:
    """The folders of the grader's and the library's packages (wherever they are installed)."""
    import importlib.util
    out = []
    for pkg in ("autograder", "ember"):
        spec = importlib.util.find_spec(pkg)
        if spec is not None and spec.submodule_search_locations:
            out += [os.path.realpath(d) for d in spec.submodule_search_locations]
    return out


_NEWROOT = None
_PLANS: dict = {}
_LOCK = threading.Lock()


def plan(hide=(), scratch_mb: int = 256) -> Plan:
    """Mounts for an attempt (computed once per grader). `hide`: folders that must stay invisible
    even where they lie inside a needed one (the course directory); the checkout is always so."""
    global _NEWROOT
    key = (tuple(hide), scratch_mb)
    with _LOCK:
        if key not in _PLANS:
            if _NEWROOT is None:
                _NEWROOT = tempfile.mkdtemp(prefix="ember-root-")
                atexit.register(shutil.rmtree, _NEWROOT, True)
            _PLANS[key] = _plan(hide, scratch_mb)
        return _PLANS[key]


def _plan(hide, scratch_mb: int) -> Plan:
    links: dict = {}
    binds = set()
    for s in SYSTEM:
        if os.path.lexists(s):
            binds.add(_resolve(s, links))
    prefix = os.path.realpath(sys.prefix)
    covers = {os.path.realpath(h) for h in hide} | {str(REPO)}
    for p in needed():
        real = _resolve(p, links)
        if not os.path.isdir(real):
            real = os.path.dirname(real)
        if _under(real, str(REPO)) and not _under(real, prefix) and not any(
                _under(real, m) for m in package_dirs()):
            continue  # the checkout's own folders (tests/, the repo root on sys.path): not needed
        binds.add(real)
    binds = {b for b in binds if b != "/"}
    covers = {c for c in covers if any(_under(c, b) and c != b for b in binds)}
    kept = []
    for b in binds:  # a bind inside another one is already visible, unless a cover lies between
        outer = [a for a in binds if a != b and _under(b, a)]
        if outer and not any(_under(b, c) and any(_under(c, a) for a in outer) for c in covers):
            continue
        kept.append(b)
    ops = [("cover", c) for c in covers] + [("bind", b) for b in kept]
    ops.sort(key=lambda o: (len(Path(o[1]).parts), o[0] != "cover", o[1]))
    return Plan(_NEWROOT, ops, sorted(links.items()), scratch_mb)


def _touch_dir(path: str, mode=0o755):
    if not os.path.isdir(path):
        os.makedirs(path, exist_ok=True)
        os.chmod(path, mode)


def _pivot(newroot: str):
    os.chdir(newroot)
    nr = SYS_PIVOT_ROOT.get(platform.machine())
    if nr is not None and LIBC.syscall(nr, b".", b".") == 0:
        if LIBC.umount2(b".", MNT_DETACH) != 0:
            raise OSError(ctypes.get_errno(), "umount2 old root")
    else:  # unknown architecture: chroot (the student has no capability to leave it)
        if LIBC.chroot(b".") != 0:
            raise OSError(ctypes.get_errno(), "chroot")
    os.chdir("/")


def build(p: Plan, files, uid: int, gid: int, proc: str):
    """In the child, in its own mount namespace, still privileged there: make the new root, copy
    the data files into the working folder, switch to it. proc: "hidepid" (root: a proc that shows
    only the attempt's uid), "fresh" (user namespace: a proc of the new PID namespace)."""
    mount("none", "/", None, MS_REC | MS_PRIVATE, None)
    r = p.newroot
    mount("tmpfs", r, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m")
    data = sum(os.path.getsize(src) for src, _ in files)
    tmp = r + "/tmp"
    _touch_dir(tmp, 0o1777)
    mount("tmpfs", tmp, "tmpfs", MS_NOSUID | MS_NODEV, f"mode=1777,size={(p.scratch_mb << 20) + data + (1 << 20)}")
    for sub, where in ((".var-tmp", "/var/tmp"), (".shm", "/dev/shm")):
        _touch_dir(tmp + "/" + sub, 0o1777)
    _touch_dir(r + "/dev")
    mount("tmpfs", r + "/dev", "tmpfs", MS_NOSUID, "mode=0755,size=64k")
    for d in DEVICES:
        if os.path.exists("/dev/" + d):
            open(r + "/dev/" + d, "w").close()
            mount("/dev/" + d, r + "/dev/" + d, None, MS_BIND, None)
    for name, tgt in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                      ("stderr", "/proc/self/fd/2")):
        os.symlink(tgt, f"{r}/dev/{name}")
    for sub, where in ((".var-tmp", "/var/tmp"), (".shm", "/dev/shm")):
        _touch_dir(r + where)
        mount(tmp + "/" + sub, r + where, None, MS_BIND, None)
    _touch_dir(r + "/proc")
    _mount_proc(r + "/proc", proc)
    for kind, path in p.ops:
        dst = r + path
        if kind == "cover":
            if os.path.isdir(dst):
                mount("tmpfs", dst, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=64k")
            continue
        if os.path.isdir(path):
            _touch_dir(dst)
        elif not os.path.exists(dst):
            _touch_dir(os.path.dirname(dst))
            open(dst, "w").close()
        mount(path, dst, None, MS_BIND | MS_REC, None)
    for path, tgt in p.links:
        dst = r + path
        if not os.path.lexists(dst):
            try:
                _touch_dir(os.path.dirname(dst))
                os.symlink(tgt, dst)
            except OSError:
                pass
    work = r + WORKDIR
    os.mkdir(work, 0o700)
    for src, rel in files:
        dst = os.path.join(work, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copyfile(src, dst)
    for dp, dns, fns in os.walk(work):
        for n in [dp] + [os.path.join(dp, f) for f in fns + dns]:
            os.chown(n, uid, gid)
    _pivot(r)
    try:
        _setattr("/", set_=MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID, recursive=True)
        for w in ("/tmp", "/var/tmp", "/dev/shm"):
            _setattr(w, clr=MOUNT_ATTR_RDONLY)
    except OSError:
        if proc != "hidepid":  # as root the private uid cannot write there anyway; in a user namespace it could
            raise
    os.chdir(WORKDIR)


def _mount_proc(dst: str, how: str):
    flags = MS_NOSUID | MS_NODEV | MS_NOEXEC
    if how == "hidepid":
        try:  # Linux 5.8+: options per proc mount (before, hidepid would change the host's /proc too)
            return mount("proc", dst, "proc", flags, "hidepid=invisible")
        except OSError:  # the host's: other uids' /proc/PID/root, environ, fd are refused to the private uid
            return mount("/proc", dst, None, MS_BIND | MS_REC, None)
    try:  # refused where the host's /proc is partly masked (containers): then no /proc at all
        mount("proc", dst, "proc", flags, None)
    except OSError:
        pass
