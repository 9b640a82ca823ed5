"""Grader fixture `import_error`: see tests/course/submissions/README.md."""
