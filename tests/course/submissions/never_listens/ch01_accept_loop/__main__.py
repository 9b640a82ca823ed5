"""Broken: logs to stderr, never prints `Listening on ...`, and sleeps (as if stuck before bind)."""

import sys
import time

print("starting up, please wait...", file=sys.stderr, flush=True)
time.sleep(3600)
