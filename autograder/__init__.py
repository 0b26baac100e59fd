"""Trusted, parallel autograding on top of nbgrader for the ember course.

`from autograder import check` in test cells (see course/AUTHORING.md); `python -m autograder --help`
for the instructor CLI (release, grade, export, feedback, check).
"""
from . import check  # noqa: F401  (test cells do `from autograder import check`)
