"""Grader fixture `wrong_port` (broken): listens on one port but announces another one (which refuses connections)."""

import socket
import sys

from .server import create_listener

listener = create_listener("127.0.0.1", 0)
# Hold a second port bound but not listening: connecting to it is refused, reliably.
decoy = socket.socket()
decoy.bind(("127.0.0.1", 0))
print(f"Listening on http://127.0.0.1:{decoy.getsockname()[1]}", flush=True)
while True:
    connection, _ = listener.accept()
    connection.close()
