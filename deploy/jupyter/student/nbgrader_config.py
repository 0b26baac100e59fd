"""nbgrader for a student (JUPYTER_CONFIG_PATH=deploy/jupyter/student): the course and its exchange.

Students fetch and submit through Exchange.root; nothing here points at the course directory."""
import os

c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "ember"
c.Exchange.root = os.environ.get("EMBER_EXCHANGE", "/srv/nbgrader/exchange")
