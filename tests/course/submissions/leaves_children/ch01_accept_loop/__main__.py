"""Hostile: a correct server that leaves processes behind.

It starts one child in its own process group (still carrying the grader's environment) and
one daemon that double-forks, starts a new session, clears its environment and leaves the
grading folder: only the batch grader's child-subreaper net catches that one. Both carry
`httpfs-fixture-leftover` on their command line, so a test can look for survivors. (They
give up after 5 minutes, in case this fixture is ever run outside the grader.)
"""

import os
import subprocess
import sys

from .server import serve_forever, start

MARKER = "httpfs-fixture-leftover"
SLEEPER = "import sys, time; time.sleep(300)"

listener = start(sys.argv[1:])
quiet = {"stdin": subprocess.DEVNULL, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
subprocess.Popen([sys.executable, "-c", SLEEPER, MARKER, "child"], start_new_session=True, **quiet)
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.chdir("/")
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.execve(sys.executable, [sys.executable, "-c", SLEEPER, MARKER, "daemon"], {})
    os._exit(0)
serve_forever(listener)
