"""Grader fixture `sleeps_in_handler` (hostile): accepts and reads the request, then sleeps for ever in the handler."""

import signal
import sys
import time

from .server import create_listener

port = int(sys.argv[sys.argv.index("--port") + 1]) if "--port" in sys.argv else 8080
listener = create_listener("127.0.0.1", port)
print(f"Listening on http://127.0.0.1:{listener.getsockname()[1]}", flush=True)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
while True:
    connection, _ = listener.accept()
    connection.recv(4096)
    time.sleep(3600)
