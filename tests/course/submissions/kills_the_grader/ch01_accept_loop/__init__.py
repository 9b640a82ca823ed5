"""Grader fixture `kills_the_grader`: see tests/course/submissions/README.md."""
