"""Grader fixture `exits_at_once`: see tests/course/submissions/README.md."""
