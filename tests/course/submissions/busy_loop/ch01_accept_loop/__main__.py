"""Grader fixture `busy_loop` (hostile): announces its port, then spins without accepting, ignoring SIGTERM."""

import signal
import sys

from .server import create_listener

port = int(sys.argv[sys.argv.index("--port") + 1]) if "--port" in sys.argv else 8080
listener = create_listener("127.0.0.1", port)
print(f"Listening on http://127.0.0.1:{listener.getsockname()[1]}", flush=True)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
signal.signal(signal.SIGINT, signal.SIG_IGN)
count = 0
while True:
    count += 1
