"""Entry point: ``python -m ch03_bodies [--host H] [--port P] [--max-head N] [--max-body N] ...``"""

import sys

from .engine import run

if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
