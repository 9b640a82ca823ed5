"""A small, correct chapter 1 server that the fixtures reuse (each holds its own copy)."""

import signal
import socket
import sys

from .response import build_response


def create_listener(host, port):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen()
    return listener


def answer(connection):
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = connection.recv(4096)
        if not chunk:
            return
        received += chunk
    headers = [("Content-Type", "text/plain; charset=utf-8"), ("Connection", "close")]
    connection.sendall(build_response(200, headers, b"Hello, World!"))


def start(argv):
    """Parse --host/--port, listen, announce; SIGTERM and SIGINT exit with status 0."""
    host = argv[argv.index("--host") + 1] if "--host" in argv else "127.0.0.1"
    port = int(argv[argv.index("--port") + 1]) if "--port" in argv else 8080
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
    listener = create_listener(host, port)
    print(f"Listening on http://{host}:{listener.getsockname()[1]}", flush=True)
    return listener


def serve_forever(listener):
    while True:
        connection, _ = listener.accept()
        with connection:
            try:
                answer(connection)
            except OSError:
                pass
