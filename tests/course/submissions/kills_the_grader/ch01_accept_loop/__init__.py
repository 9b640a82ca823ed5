"""Grader fixture `kills_the_grader`: the reference server, but importing the package kills.

The unit tests import the package inside the test process (and the server imports it when it
starts). Under the grader (its token is in the environment) that import kills the importing
process's parent (a naive attempt at the grader) and then the process itself. Importing the
fixture by hand is harmless. See tests/course/submissions/README.md.
"""

import os
import signal

if os.environ.get("COURSE_GRADING_TOKEN"):
    os.kill(os.getppid(), signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)
