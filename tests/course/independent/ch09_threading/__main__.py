"""Entry point: ``python -m ch09_threading [--host H] [--port P] [--workers N] ...`` (spec §3)."""

import sys

from .lobby import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
