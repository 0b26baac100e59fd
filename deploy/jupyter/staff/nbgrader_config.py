"""nbgrader for instructors and graders (JUPYTER_CONFIG_PATH=deploy/jupyter/staff): the course's own
configuration (EMBER_COURSE/nbgrader_config.py: folders, gradebook, Exchange.root), so formgrader,
Create Assignment and the Jupyter terminal's `nbgrader ...` all see the same course."""
import os

c = get_config()  # noqa: F821
_course = os.environ.get("EMBER_COURSE") or os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "course")
load_subconfig(os.path.join(_course, "nbgrader_config.py"))  # noqa: F821
