"""JupyterHub for one ember class on one server: real Unix accounts, nbgrader's exchange, roles.

Who is who comes from Unix groups (PAM logs people in with their system passwords):

* ``ember-staff``    instructors and the grader account: JupyterLab opens the folder holding the
                     course directory, with formgrader, Create Assignment and the course list.
* ``ember-students`` students: JupyterLab opens their home, where nbgrader's Assignments tab fetches
                     released assignments; nbgrader's instructor tools are switched off for them
                     (deploy/jupyter/student) and the course directory is closed to them (mode 2770,
                     group ember-staff: source/ holds solutions and hidden tests).

Every single-user server and kernel runs in the course's environment (the repository's .venv:
ember, nbgrader, the autograder), with its bin/ first on PATH (nbgrader's gradebook runs `alembic`).

Settings come from the environment so the same file serves production and the test
(tests/test_hub.py); the defaults are the production layout described in deploy/README.md:

    EMBER_REPO            the course repository (default: two levels above this file)
    EMBER_COURSE          the nbgrader course directory (default: /srv/ember/course)
    EMBER_EXCHANGE        nbgrader's Exchange.root, writable by all (default: /srv/nbgrader/exchange)
    EMBER_STAFF_GROUP     Unix group of instructors and graders (default: ember-staff)
    EMBER_STUDENT_GROUP   Unix group of students (default: ember-students)
    EMBER_HUB_IP / EMBER_HUB_PORT      public address (default: all interfaces, port 8000)
    EMBER_HUB_STATE       folder for the hub's database, cookie secret and proxy token
                          (default: /srv/jupyterhub)

Run as root (LocalProcessSpawner starts each server as its user):
    jupyterhub -f deploy/hub/jupyterhub_config.py
"""
import grp
import os
import pwd
import sys

c = get_config()  # noqa: F821  (provided by traitlets when JupyterHub loads this file)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.environ.get("EMBER_REPO") or os.path.dirname(os.path.dirname(HERE))
VENV_BIN = os.path.join(REPO, ".venv", "bin")
if not os.path.exists(os.path.join(VENV_BIN, "jupyterhub-singleuser")):
    VENV_BIN = os.path.dirname(sys.executable)  # the hub's own environment is the course's
COURSE = os.environ.get("EMBER_COURSE", "/srv/ember/course")
EXCHANGE = os.environ.get("EMBER_EXCHANGE", "/srv/nbgrader/exchange")
STAFF = os.environ.get("EMBER_STAFF_GROUP", "ember-staff")
STUDENTS = os.environ.get("EMBER_STUDENT_GROUP", "ember-students")
STATE = os.environ.get("EMBER_HUB_STATE", "/srv/jupyterhub")
JUPYTER_CONFIG = os.path.join(os.path.dirname(HERE), "jupyter")

# ---------------------------------------------------------------- network
c.JupyterHub.ip = os.environ.get("EMBER_HUB_IP", "")
c.JupyterHub.port = int(os.environ.get("EMBER_HUB_PORT", "8000"))
if "EMBER_HUB_API_PORT" in os.environ:       # the hub's own API, behind the proxy (default 8081)
    c.JupyterHub.hub_ip = "127.0.0.1"
    c.JupyterHub.hub_port = int(os.environ["EMBER_HUB_API_PORT"])
if "EMBER_PROXY_API_PORT" in os.environ:     # the proxy's REST API (default 8001)
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{os.environ['EMBER_PROXY_API_PORT']}"
# configurable-http-proxy from npm, pinned in deploy/hub/package.json (`npm ci` in this folder)
_chp = os.path.join(HERE, "node_modules", ".bin", "configurable-http-proxy")
if os.path.exists(_chp):
    c.ConfigurableHTTPProxy.command = [_chp]

# ---------------------------------------------------------------- state
os.makedirs(STATE, mode=0o700, exist_ok=True)
c.JupyterHub.db_url = "sqlite:///" + os.path.join(STATE, "jupyterhub.sqlite")
c.JupyterHub.cookie_secret_file = os.path.join(STATE, "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = os.path.join(STATE, "jupyterhub.pid")

# ---------------------------------------------------------------- who may log in
c.JupyterHub.authenticator_class = "pam"
c.PAMAuthenticator.allowed_groups = {STAFF, STUDENTS}
c.PAMAuthenticator.admin_groups = {STAFF}     # staff can see students' servers from the hub's admin page
c.PAMAuthenticator.open_sessions = False      # no systemd-logind session per server


def group_members(name: str) -> set[str]:
    """Members of a Unix group, including users whose primary group it is."""
    try:
        g = grp.getgrnam(name)
    except KeyError:
        return set()
    return set(g.gr_mem) | {p.pw_name for p in pwd.getpwall() if p.pw_gid == g.gr_gid}


def role(username: str) -> str:
    return "staff" if username in group_members(STAFF) else "student"


# ---------------------------------------------------------------- single-user servers
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [os.path.join(VENV_BIN, "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.http_timeout = 60
c.Spawner.start_timeout = 120


def pre_spawn_hook(spawner):
    """Per role: where JupyterLab opens, which Jupyter config folder applies, where nbgrader looks."""
    who = role(spawner.user.name)
    home = pwd.getpwnam(spawner.user.name).pw_dir
    spawner.notebook_dir = os.path.dirname(COURSE) if who == "staff" else home
    # staff share the course directory (group ember-staff, setgid): what one writes (gradebook,
    # submitted/, autograded/, feedback/) the others must be able to update
    singleuser = os.path.join(VENV_BIN, "jupyterhub-singleuser")
    spawner.cmd = (["/bin/sh", "-c", 'umask 0007 && exec "$0" "$@"', singleuser] if who == "staff"
                   else [singleuser])
    spawner.environment.update({
        "PATH": VENV_BIN + os.pathsep + "/usr/local/bin:/usr/bin:/bin",
        "JUPYTER_CONFIG_PATH": os.path.join(JUPYTER_CONFIG, who),
        "EMBER_COURSE": COURSE,
        "EMBER_EXCHANGE": EXCHANGE,
        "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "1"),
    })


c.Spawner.pre_spawn_hook = pre_spawn_hook
