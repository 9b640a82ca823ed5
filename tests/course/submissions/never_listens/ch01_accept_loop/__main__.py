"""Grader fixture `never_listens` (broken): logs to stderr, never prints `Listening on`, sleeps (stuck before bind)."""

import sys
import time

print("starting up, please wait...", file=sys.stderr, flush=True)
time.sleep(3600)
