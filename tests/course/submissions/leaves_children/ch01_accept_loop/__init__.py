"""Grader fixture `leaves_children`: see tests/course/submissions/README.md."""
