"""Grader fixture `writes_outside`: see tests/course/submissions/README.md."""
