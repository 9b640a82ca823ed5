"""Grader fixture `syntax_error`: see tests/course/submissions/README.md."""
