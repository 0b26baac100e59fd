"""nbgrader for instructors and graders (JUPYTER_CONFIG_PATH=deploy/jupyter/staff): the course's own
configuration (EMBER_COURSE/nbgrader_config.py: folders, gradebook, Exchange.root), so formgrader,
Create Assignment and the Jupyter terminal's `nbgrader ...` all see the same course."""
import os
import stat

c = get_config()  # noqa: F821
_course = os.environ.get("EMBER_COURSE") or os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "course")
load_subconfig(os.path.join(_course, "nbgrader_config.py"))  # noqa: F821

# Several staff accounts (instructor, grader) may work in one course directory shared through its
# group (setgid folder, see deploy/README.md). nbgrader then makes the folders it creates group-
# writable (the hub starts staff servers with umask 0007), and the gradebook is created here, when
# the first staff server starts, group-writable: SQLite itself creates database files 0644.
if os.path.isdir(_course) and os.stat(_course).st_mode & stat.S_ISGID:
    c.CourseDirectory.groupshared = True
    _db = os.path.join(_course, "gradebook.db")
    try:
        if not os.path.exists(_db):
            from nbgrader.api import Gradebook
            Gradebook("sqlite:///" + _db, course_id="ember").close()
        if os.stat(_db).st_uid == os.getuid():
            os.chmod(_db, 0o660)
    except Exception as e:  # noqa: BLE001  (the config must load; nbgrader reports a real DB problem)
        print(f"ember: could not prepare the shared gradebook {_db}: {e}")
