"""Hostile: a correct server, but importing its response module kills the process that imported it."""

import sys

from .server import serve_forever, start

serve_forever(start(sys.argv[1:]))
