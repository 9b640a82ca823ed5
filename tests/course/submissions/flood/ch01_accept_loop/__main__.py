"""Hostile: a correct server that floods stdout and stderr without pause while it serves."""

import sys
import threading

from .server import serve_forever, start

listener = start(sys.argv[1:])
LINE = "flood " * 2000 + "\n"


def flood(stream):
    while True:
        stream.write(LINE)


for stream in (sys.stdout, sys.stderr):
    threading.Thread(target=flood, args=(stream,), daemon=True).start()
serve_forever(listener)
