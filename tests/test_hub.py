"""A class on the course's JupyterHub (deploy/hub/jupyterhub_config.py), end to end, on localhost.

Real components: JupyterHub (PyPI) with PAM logins of real system accounts, configurable-http-proxy
(npm, deploy/hub/package.json), one jupyterhub-singleuser per user started as that user, nbgrader's
exchange, formgrader's REST API, the trusted grader, and Chromium driven by Playwright.

The instructor releases 00_demo (fixture course) from formgrader; three students log in through the
hub's login page, fetch it from the Assignments tab, fill it (one right, one partly wrong, one who
tries to read the solutions from the course directory), and submit; the instructor collects, the
grader account grades with `python -m autograder grade`, the instructor raises one score by hand
through formgrader's API, refreshes and releases feedback through the exchange, and each student
fetches only their own; `autograder export` has the manual grade. Students never see formgrader or the course directory.

Needs root (it creates the accounts and the hub spawns servers as them), Chromium, and
`npm ci --prefix deploy/hub` (both done by .ci/run). Everything it creates (accounts, groups,
folders, processes) is removed at the end, also after a failure.
"""
from __future__ import annotations

import csv
import io
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from course_helpers import FIXTURE_COURSE, REPO, make_course
from test_autograder_attacks import CORRECT, WRONG, read_solution

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.hub, pytest.mark.timeout(600)]

A = "00_demo"
DEPLOY = REPO / "deploy" / "hub"
CHP = DEPLOY / "node_modules" / ".bin" / "configurable-http-proxy"
ARTIFACTS = REPO / "tests" / "artifacts"
TAG = "ember-hub-test"                       # GECOS of every account this test creates
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _sbin(cmd: str) -> str:
    """useradd & co. live in /usr/sbin, which a CI job's PATH may lack."""
    return shutil.which(cmd) or f"/usr/sbin/{cmd}"


def _why_not() -> str | None:
    if os.geteuid() != 0:
        return "needs root: it creates system accounts and the hub starts servers as them (CI runs as root)"
    if not os.path.exists(_sbin("useradd")):
        return "needs useradd/groupadd (Debian's passwd package)"
    try:
        import jupyterhub  # noqa: F401
        import playwright.sync_api  # noqa: F401
    except ImportError as e:
        return f"{e.name} is not installed: pip install -e '.[test,hub]' (make test does)"
    if not CHP.exists():
        return "configurable-http-proxy is not installed: npm ci --prefix deploy/hub (.ci/run does)"
    if not (shutil.which("chromium") or os.path.exists("/usr/bin/chromium")):
        return "Chromium is not installed (Debian: apt-get install chromium)"
    return None


def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(cmd, *args, **kw):
    return subprocess.run([_sbin(cmd), *args], check=True, capture_output=True, text=True, **kw)


# ------------------------------------------------------------------ accounts and their clean-up

def _pids_of(uid: int) -> list[int]:
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if os.stat(f"/proc/{d}").st_uid == uid:
                    out.append(int(d))
            except OSError:
                pass
    return out


def _remove_account(name: str):
    try:
        uid = pwd.getpwnam(name).pw_uid
    except KeyError:
        return
    for _ in range(3):
        pids = _pids_of(uid)
        if not pids:
            break
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.3)
    subprocess.run([_sbin("userdel"), "-f", name], capture_output=True)


def _remove_stale_accounts():
    """Accounts left by an earlier run that was killed (its pid, in the GECOS field, is gone)."""
    for p in pwd.getpwall():
        m = re.fullmatch(TAG + r" pid=(\d+) groups=(\S+)", p.pw_gecos)
        if m and not os.path.exists(f"/proc/{m.group(1)}"):
            _remove_account(p.pw_name)
            for g in m.group(2).split(","):
                subprocess.run([_sbin("groupdel"), g], capture_output=True)


def _open_for_others(paths) -> dict:
    """The hub's users run the course's interpreter: make sure they can traverse every folder above
    it (a checkout in a 0700 `mktemp -d`, a pyenv under /root). Returns the modes to restore."""
    changed = {}
    for p in paths:
        p = Path(p).resolve()
        for d in [p, *p.parents]:
            if d.is_dir():
                mode = stat.S_IMODE(d.stat().st_mode)
                if not mode & stat.S_IXOTH and str(d) not in changed:
                    changed[str(d)] = mode
                    os.chmod(d, mode | stat.S_IXOTH)
    return changed


class Class:
    """The accounts, folders and hub of one test class."""

    def __init__(self):
        self.p = "eh" + secrets.token_hex(2)        # short prefix: Unix names are limited to 32 chars
        self.staff_group, self.student_group = self.p + "staff", self.p + "stud"
        self.instructor, self.grader = self.p + "inst", self.p + "grader"
        self.students = {self.p + "s1": "right", self.p + "s2": "partial", self.p + "s3": "malicious"}
        self.passwords = {}
        self.base = Path(tempfile.mkdtemp(prefix="ember-hub-"))
        os.chmod(self.base, 0o711)
        self.home, self.srv, self.exchange, self.state = (self.base / d for d in ("home", "srv", "exchange", "state"))
        self.course = self.srv / "course"
        self.modes = {}
        self.hub = None
        self.log = None

    # accounts
    def create_accounts(self):
        _remove_stale_accounts()
        self.home.mkdir(mode=0o711)
        gecos = f"{TAG} pid={os.getpid()} groups={self.staff_group},{self.student_group}"
        for g in (self.staff_group, self.student_group):
            _run("groupadd", g)
        for u in [self.instructor, self.grader, *self.students]:
            g = self.staff_group if u in (self.instructor, self.grader) else self.student_group
            _run("useradd", "-m", "-d", str(self.home / u), "-g", g, "-s", "/bin/bash", "-c", gecos, u)
            self.passwords[u] = secrets.token_urlsafe(12)
        subprocess.run([_sbin("chpasswd")], input="".join(f"{u}:{pw}\n" for u, pw in self.passwords.items()),
                       check=True, text=True, capture_output=True)

    def remove_accounts(self):
        for u in [self.instructor, self.grader, *self.students]:
            _remove_account(u)
        for g in (self.staff_group, self.student_group):
            subprocess.run([_sbin("groupdel"), g], capture_output=True)

    # folders
    def create_folders(self):
        self.srv.mkdir(mode=0o755)
        self.state.mkdir(mode=0o700)
        self.exchange.mkdir()
        os.chmod(self.exchange, 0o777)       # nbgrader's exchange: writable by the whole class
        make_course(self.srv, FIXTURE_COURSE, [A], generate=False)
        os.chmod(self.srv, 0o755)             # (make_course closes its parent)
        inst = pwd.getpwnam(self.instructor)
        staff_gid = inst.pw_gid
        for dirpath, dirnames, filenames in os.walk(self.course):
            for n in [dirpath] + [os.path.join(dirpath, f) for f in filenames]:
                os.chown(n, inst.pw_uid, staff_gid)
                os.chmod(n, 0o2770 if os.path.isdir(n) else 0o660)
        self.modes = _open_for_others([REPO / ".venv" / "bin", sys.prefix, os.path.realpath(sys.executable),
                                       REPO / "lib", REPO / "autograder"])

    def restore_folders(self):
        for d, mode in self.modes.items():
            try:
                os.chmod(d, mode)
            except OSError:
                pass
        shutil.rmtree(self.base, ignore_errors=True)

    # hub
    def start_hub(self):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, EMBER_REPO=str(REPO), EMBER_COURSE=str(self.course),
                   EMBER_EXCHANGE=str(self.exchange), EMBER_STAFF_GROUP=self.staff_group,
                   EMBER_STUDENT_GROUP=self.student_group, EMBER_HUB_IP="127.0.0.1",
                   EMBER_HUB_PORT=str(self.port), EMBER_HUB_API_PORT=str(_free_port()),
                   EMBER_PROXY_API_PORT=str(_free_port()), EMBER_HUB_STATE=str(self.state),
                   CONFIGPROXY_AUTH_TOKEN=secrets.token_hex(16))
        self.log_path = self.state / "hub.log"
        self.log = open(self.log_path, "wb")
        self.hub = subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f", str(DEPLOY / "jupyterhub_config.py")],
                                    cwd=self.state, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        deadline = time.time() + 60
        while True:
            if self.hub.poll() is not None:
                raise RuntimeError("JupyterHub exited:\n" + self.hub_log())
            try:
                with urllib.request.urlopen(self.url + "/hub/api", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            if time.time() > deadline:
                raise RuntimeError("JupyterHub did not answer in 60 s:\n" + self.hub_log())
            time.sleep(0.5)

    def hub_log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:] if self.log_path.exists() else ""

    def stop_hub(self):
        if self.hub is None:
            return
        if self.hub.poll() is None:
            self.hub.send_signal(signal.SIGTERM)      # the hub stops the servers and its proxy
            try:
                self.hub.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.hub.pid, signal.SIGKILL)
                self.hub.wait(5)
        proxy_pid = self.state / "jupyterhub-proxy.pid"
        if proxy_pid.exists():
            try:
                os.kill(int(proxy_pid.read_text().strip()), signal.SIGKILL)
            except (OSError, ValueError):
                pass
        if self.log:
            self.log.close()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(self.log_path, ARTIFACTS / "hub.log")

    # a staff member's terminal on the hub (same environment and umask as their server)
    def as_staff(self, user, *args, ok=(0,)):
        inst = pwd.getpwnam(user)
        env = {"HOME": inst.pw_dir, "USER": user, "LANG": "C.UTF-8",
               "PATH": f"{REPO / '.venv' / 'bin'}:{os.path.dirname(sys.executable)}:/usr/bin:/bin",
               "EMBER_EXCHANGE": str(self.exchange), "OPENBLAS_NUM_THREADS": "1"}
        r = subprocess.run([sys.executable, *args], cwd=self.course, env=env, user=inst.pw_uid, group=inst.pw_gid,
                           extra_groups=[], umask=0o007, capture_output=True, text=True, timeout=300)
        if r.returncode not in ok:
            raise AssertionError(f"{args} exited {r.returncode}:\n{r.stdout}\n{r.stderr}")
        return r


@pytest.fixture(scope="module")
def klass():
    why = _why_not()
    if why:
        pytest.skip(why)
    k = Class()
    try:
        k.create_accounts()
        k.create_folders()
        k.start_hub()
        yield k
    finally:
        k.stop_hub()
        k.remove_accounts()
        k.restore_folders()


@pytest.fixture(scope="module")
def browser(klass):
    from playwright.sync_api import sync_playwright
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


# ------------------------------------------------------------------ one person in the browser

class Session:
    """One user logged in through the hub's login page, with their JupyterLab open."""

    def __init__(self, klass: Class, browser, user: str):
        self.k, self.user = klass, user
        self.ctx = browser.new_context()
        self.page = self.ctx.new_page()
        self.page.set_default_timeout(60_000)
        self.base = f"{klass.url}/user/{user}"

    def login(self):
        p = self.page
        p.goto(self.k.url + "/hub/login")
        p.fill("#username_input", self.user)
        p.fill("#password_input", self.k.passwords[self.user])
        p.click("#login_submit")
        p.wait_for_url(re.compile(rf"/user/{self.user}/lab"), timeout=120_000)
        p.wait_for_selector("#jp-main-dock-panel", timeout=90_000)
        return self

    def shot(self, name):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"hub-{name}.png"))

    def _xsrf(self) -> str:
        return next(c["value"] for c in self.ctx.cookies() if c["name"] == "_xsrf")

    def api(self, method: str, path: str, data=None, params=None):
        """A request from this browser session (its cookies, its XSRF token) to its own server."""
        r = self.page.request.fetch(self.base + path, method=method, params=params,
                                    headers={"X-XSRFToken": self._xsrf(), "Content-Type": "application/json"},
                                    data=None if data is None else json.dumps(data))
        return r

    def json(self, method, path, data=None, params=None):
        r = self.api(method, path, data, params)
        assert r.ok, f"{method} {path}: {r.status} {r.text()[:2000]}"
        return r.json()

    def nbgrader_menu(self) -> list[str]:
        """The items of JupyterLab's Nbgrader menu, as this user sees them."""
        p = self.page
        p.get_by_role("menuitem", name="Nbgrader").click()
        items = p.locator(".lm-Menu-content .lm-Menu-itemLabel").all_inner_texts()
        p.keyboard.press("Escape")
        return [i.strip() for i in items if i.strip()]

    def open_assignments(self):
        p = self.page
        p.get_by_role("menuitem", name="Nbgrader").click()
        p.locator(".lm-Menu-content .lm-Menu-itemLabel", has_text="Assignment List").click()
        p.wait_for_selector("#released_assignments_list", timeout=30_000)
        return p


# ------------------------------------------------------------------ the class, step by step

def _modes(k) -> str:
    """Modes of the course's files and the staff servers' umasks (for a failure message)."""
    lines = [f"{oct(os.stat(p).st_mode)} {os.stat(p).st_uid}:{os.stat(p).st_gid} {p}" for p in
             sorted(k.course.rglob("*"))[:40]]
    uid = pwd.getpwnam(k.instructor).pw_uid
    for pid in _pids_of(uid):
        try:
            st = Path(f"/proc/{pid}/status").read_text()
            lines.append(f"pid {pid}: " + next(x for x in st.splitlines() if x.startswith("Umask")) + " "
                         + Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")[:150])
        except (OSError, StopIteration):
            pass
    return "\n".join(lines)


def _answers(kind: str, course: Path) -> dict:
    if kind == "right":
        return CORRECT
    if kind == "partial":
        return dict(CORRECT, softmax_answer=WRONG["softmax_answer"])
    return read_solution(str(course))     # the attack set's solution thief


@pytest.fixture(scope="module")
def run(klass, browser):
    """Drives the whole class once; the tests below check what it left behind."""
    k = klass
    out = {"menus": {}, "formgrader_status": {}, "feedback": {}}
    inst = Session(k, browser, k.instructor).login()
    out["menus"]["instructor"] = inst.nbgrader_menu()
    r = inst.json("POST", f"/formgrader/api/assignment/{A}/assign")
    assert r["success"], r
    r = inst.json("POST", f"/formgrader/api/assignment/{A}/release")
    assert r["success"], r
    out["formgrader_assignment"] = inst.json("GET", f"/formgrader/api/assignment/{A}")
    inst.shot("instructor")

    for s, kind in k.students.items():
        st = Session(k, browser, s).login()
        out["menus"][kind] = st.nbgrader_menu()
        out["formgrader_status"][kind] = st.api("GET", "/formgrader/api/status").status
        p = st.open_assignments()
        row = p.locator("#released_assignments_list .list_item", has_text=A)
        row.get_by_role("button", name="Fetch").click()
        p.wait_for_selector(f"#fetched_assignments_list .list_item:has-text('{A}')", timeout=60_000)
        model = st.json("GET", f"/api/contents/{A}/{A}.ipynb")
        nb = nbformat.from_dict(model["content"])
        answers = _answers(kind, k.course)
        for c in nb.cells:
            gid = c.metadata.get("nbgrader", {}).get("grade_id")
            if gid in answers:
                c.source = answers[gid]
        st.json("PUT", f"/api/contents/{A}/{A}.ipynb", {"type": "notebook", "format": "json", "content": nb})
        p.locator("#fetched_assignments_list .list_item", has_text=A).get_by_role("button", name="Submit").click()
        p.wait_for_selector(f"#submitted_assignments_list .list_item:has-text('{A}')", timeout=60_000)
        st.shot(f"student-{kind}")
        st.ctx.close()

    r = inst.json("POST", f"/formgrader/api/assignment/{A}/collect")
    assert r["success"], r
    # the grader account grades (the course folder is shared by the staff group)
    g = k.as_staff(k.grader, "-m", "autograder", "grade", A, "--course", str(k.course), "-j", "2", ok=(0, 1))
    out["grade"] = g

    # a manual adjustment, as formgrader's "Manual Grading" page makes it
    partial = next(s for s, kind in k.students.items() if kind == "partial")
    subs = inst.json("GET", f"/formgrader/api/submitted_notebooks/{A}/{A}")
    sub = next((x for x in subs if x["student"] == partial), None)
    assert sub, f"{subs}\n{g.stdout}\n{g.stderr}\n{_modes(k)}"
    grades = inst.json("GET", "/formgrader/api/grades", params={"submission_id": sub["id"]})
    g_softmax = next(x for x in grades if x["name"] == "test_softmax")
    out["auto_score_partial"] = sub["score"]
    inst.json("PUT", f"/formgrader/api/grade/{g_softmax['id']}", {"manual_score": 2, "extra_credit": 0})
    k.as_staff(k.instructor, "-m", "autograder", "feedback", A, "--course", str(k.course))   # with the grade set by hand

    r = inst.json("POST", f"/formgrader/api/assignment/{A}/release_feedback")
    assert r["success"], r
    out["export"] = k.as_staff(k.instructor, "-m", "autograder", "export", "--course", str(k.course)).stdout
    inst.ctx.close()

    for s, kind in k.students.items():
        st = Session(k, browser, s).login()
        p = st.open_assignments()
        p.locator("#submitted_assignments_list .list_item", has_text=A).get_by_role(
            "button", name="Fetch Feedback").click()
        home = Path(pwd.getpwnam(s).pw_dir)
        deadline = time.time() + 60
        while not list((home / A / "feedback").glob(f"*/{A}.html")) and time.time() < deadline:
            time.sleep(0.5)
        out["feedback"][kind] = [f.read_text() for f in (home / A / "feedback").glob("*/*.html")]
        st.ctx.close()
    return out


def test_roles_students_see_no_instructor_tools(run):
    assert "Formgrader" in run["menus"]["instructor"]
    assert run["formgrader_assignment"]["status"] == "released"      # the exchange is configured
    for kind in ("right", "partial", "malicious"):
        menu = run["menus"][kind]
        assert "Assignment List" in menu
        assert "Formgrader" not in menu and "Course List" not in menu
        assert run["formgrader_status"][kind] == 404


def test_students_cannot_read_the_course(klass, run):
    s = next(iter(klass.students))
    r = subprocess.run(["ls", str(klass.course / "source")], user=s, capture_output=True, text=True)
    assert r.returncode != 0 and "Permission denied" in r.stderr


def test_grades_and_export_have_the_manual_grade(klass, run):
    by_kind = {}
    rows = list(csv.DictReader(io.StringIO(run["export"])))
    for row in rows:
        by_kind[klass.students[row["student"]]] = row
    assert float(by_kind["right"]["score"]) == 10
    assert run["auto_score_partial"] == 5
    assert float(by_kind["partial"]["score"]) == 7                 # 5 automatic + 2 by hand
    assert float(by_kind["malicious"]["score"]) == 0
    assert by_kind["right"]["timestamp"]


def test_each_student_fetched_only_their_own_feedback(klass, run):
    scores = {"right": "10 / 10", "partial": "7 / 10", "malicious": "0 / 10"}
    for kind, pages in run["feedback"].items():
        assert len(pages) == 1, (kind, len(pages))
        assert f"{A}: {scores[kind]}" in pages[0]
        assert ("score set by your instructor" in pages[0]) == (kind == "partial")


def test_kubernetes_values_give_the_same_roles():
    """deploy/k8s/values.yaml: valid YAML whose hub config gives staff the course volume and the
    staff view, students neither, and everyone the exchange (run with a stand-in spawner)."""
    import types

    import yaml
    from traitlets.config import Config
    values = yaml.safe_load((REPO / "deploy" / "k8s" / "values.yaml").read_text())
    c = Config()
    for name, code in values["hub"]["extraConfig"].items():
        exec(compile(code, name, "exec"), {"c": c})
    hook = c.KubeSpawner.pre_spawn_hook

    def spawn(name):
        s = types.SimpleNamespace(user=types.SimpleNamespace(name=name), environment={}, volumes=[],
                                  volume_mounts=[], notebook_dir=None)
        hook(s)
        return s

    staff, student = spawn("instructor"), spawn("alice")
    dockerfile = (REPO / "deploy" / "k8s" / "Dockerfile").read_text()
    for s, role in ((staff, "staff"), (student, "student")):
        path = s.environment["JUPYTER_CONFIG_PATH"]
        assert path.endswith("/deploy/jupyter/" + role) and "COPY --chown=root:root deploy/jupyter " in dockerfile
        assert (REPO / "deploy" / "jupyter" / role).is_dir()
        assert s.environment["EMBER_EXCHANGE"] == values["singleuser"]["storage"]["extraVolumeMounts"][0]["mountPath"]
    assert [m["mountPath"] for m in staff.volume_mounts] == ["/srv/ember/course"] and not student.volume_mounts
    assert student.notebook_dir == "/home/jovyan"
    assert not re.search(r"^COPY .*\bcourse\b", dockerfile, re.M)      # solutions never in the image
    assert c.KubeSpawner.uid(spawn("alice")) != c.KubeSpawner.uid(spawn("bob"))
