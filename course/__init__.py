"""Course tooling: the grader, the server harness, the starter generator. See `python -m course --help`."""
