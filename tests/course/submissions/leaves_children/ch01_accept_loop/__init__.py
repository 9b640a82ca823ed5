"""Grader fixture `leaves_children`: the reference server, leaving processes behind.

When it starts serving, it starts one child in its own process group (still carrying the
grader's environment) and one daemon that double-forks, starts a new session, clears its
environment and leaves the grading folder: only the batch grader's child-subreaper net
catches that one. Both carry `httpfs-fixture-leftover` on their command line, so a test can
look for survivors. (They give up after 5 minutes, in case this fixture is ever run outside
the grader.) See tests/course/submissions/README.md.
"""

import os
import subprocess
import sys

from . import server

MARKER = "httpfs-fixture-leftover"
SLEEPER = "import sys, time; time.sleep(300)"


def leave_children():
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


def serve_after_leaving_children(listener, serve=server.serve_forever):
    leave_children()
    serve(listener)


# The hostile change: __main__ imports serve_forever from .server after this runs, so it
# gets this one. The unit tests never serve, so the test process starts no children.
server.serve_forever = serve_after_leaving_children
