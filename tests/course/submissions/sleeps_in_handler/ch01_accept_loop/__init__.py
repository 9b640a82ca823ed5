"""Grader fixture `sleeps_in_handler`: see tests/course/submissions/README.md."""
