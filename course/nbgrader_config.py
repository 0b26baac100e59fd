"""nbgrader configuration for the ember course.

The course directory is this folder (course/): assignments live in source/<assignment>/<assignment>.ipynb,
nbgrader's usual release/, submitted/, autograded/ and feedback/ folders and gradebook.db sit beside it.
`python -m autograder ...` reads this file too (see AUTHORING.md and autograder/README.md).
"""
import os
import sys

c = get_config()  # noqa: F821  (provided by traitlets when nbgrader loads this file)

_here = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.root = _here
c.CourseDirectory.course_id = "ember"
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(_here, "gradebook.db")

# nbgrader's exchange: where release_assignment puts assignments, students fetch and submit,
# collect picks submissions up and release_feedback leaves feedback. It must exist and be writable
# by everyone in the class (`mkdir -p DIR && chmod 0777 DIR`). Taken from $EMBER_EXCHANGE (set by
# the hub, deploy/hub/jupyterhub_config.py), else a shared server's /srv/nbgrader/exchange when that
# exists, else course/exchange (one machine: `make instructor` creates it).
_shared = "/srv/nbgrader/exchange"
c.Exchange.root = os.environ.get("EMBER_EXCHANGE") or (
    _shared if os.path.isdir(_shared) else os.path.join(_here, "exchange"))

# One owner of autograded/: this course grades with the trusted grader (`python -m autograder grade`);
# `nbgrader autograde A` refuses to start once the trusted grader has graded A (and `grade` refuses
# to replace what nbgrader autograded unless given --replace-nbgrader).
if sys.argv[1:2] == ["autograde"]:
    from autograder.gradebook import refuse_nbgrader_autograde
    refuse_nbgrader_autograde(_here, sys.argv)

# Late submissions: how many points a late submission loses (nbgrader's LateSubmissionPlugin:
# "none" or "zero"). Due dates are set per assignment in formgrader or with
# `make nbgrader ARGS="db assignment add 01_backprop --duedate='2027-03-01 23:59:00 UTC'"`.
# `python -m autograder export` applies both.
c.LateSubmissionPlugin.penalty_method = "none"

# Authoring-only files beside a source notebook that must never reach students.
c.CourseDirectory.ignore = [
    ".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback",
    "wrong.py",
]

# What students see in place of a solution region.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
c.ClearSolutions.begin_solution_delimeter = "BEGIN SOLUTION"
c.ClearSolutions.end_solution_delimeter = "END SOLUTION"
c.ClearHiddenTests.begin_test_delimeter = "BEGIN HIDDEN TESTS"
c.ClearHiddenTests.end_test_delimeter = "END HIDDEN TESTS"

# Released notebooks carry no outputs.
c.ClearOutput.remove_metadata_fields = ["collapsed", "scrolled", "execution", "ExecuteTime"]
