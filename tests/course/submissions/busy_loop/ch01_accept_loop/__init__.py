"""Grader fixture `busy_loop`: see tests/course/submissions/README.md."""
