"""Grader fixture `wrong_port`: see tests/course/submissions/README.md."""
