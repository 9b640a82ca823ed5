"""Grader fixture `flood`: the reference server, flooding stdout and stderr.

Importing the package (the server does; so do the unit tests, inside the test process) writes
16 MB to stderr first. Then, once the server has announced its port and starts serving, two
threads write to stdout and stderr without pause for as long as it serves.
See tests/course/submissions/README.md.
"""

import sys
import threading

from . import server

LINE = "flood " * 2000 + "\n"

for _ in range(256):
    sys.stderr.write("import-time flood " * 3640 + "\n")


def flood(stream):
    while True:
        stream.write(LINE)


def serve_while_flooding(listener, serve=server.serve_forever):
    for stream in (sys.stdout, sys.stderr):
        threading.Thread(target=flood, args=(stream,), daemon=True).start()
    serve(listener)


# The hostile change: __main__ imports serve_forever from .server after this runs, so it
# gets this one. The unit tests never serve, so the test process is not flooded by threads.
server.serve_forever = serve_while_flooding
