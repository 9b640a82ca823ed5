"""Every suite under tests/ grades through the course plugin (markers, server fixtures, reports)."""

pytest_plugins = ["course.pytest_plugin"]
