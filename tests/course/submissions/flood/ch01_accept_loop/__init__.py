"""Grader fixture `flood`: see tests/course/submissions/README.md."""
