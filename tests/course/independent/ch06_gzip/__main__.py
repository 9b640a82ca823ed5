"""Entry point: ``python -m ch06_gzip [--host H] [--port P] [--directory D] ...`` (spec §3)."""

import sys

from .app import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
