"""Grader fixture `never_listens`: see tests/course/submissions/README.md."""
