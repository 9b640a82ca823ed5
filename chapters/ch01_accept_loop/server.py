"""Chapter 1: a listening socket, an accept loop, one fixed response.

Strategy: one client at a time. For each connection: receive until the blank line that ends
the request's head (looping on recv, because TCP delivers a stream of bytes, not messages),
send one complete response with sendall, close. A client that misbehaves costs us its own
connection, never the server.
"""

import socket
import sys
import traceback

from .response import build_response

RECEIVE_SIZE = 4096
HELLO = b"Hello, World!"


def log(message: str) -> None:
    """Logs go to stderr: stdout carries only the `Listening on` line."""
    print(message, file=sys.stderr, flush=True)


# --8<-- [start:create_listener]
def create_listener(host: str, port: int) -> socket.socket:
    """A TCP socket bound to (host, port) and listening. Port 0 lets the OS pick a free port."""
    # TODO(task 1.1): Open a listening socket. Read section 1.1 of chapter 1 (docs/chapters/ch01_accept_loop.md).
    raise NotImplementedError("task 1.1 (Open a listening socket) is still to do: see docs/chapters/ch01_accept_loop.md")
# --8<-- [end:create_listener]


# --8<-- [start:read_request_head]
def read_request_head(connection: socket.socket) -> bytes:
    """Receive until the blank line that ends the head, or until the client stops sending.

    One recv returns whatever has arrived so far: maybe the whole request, maybe one byte.
    """
    # TODO(task 1.2): Read the request: loop on recv. Read section 1.2 of chapter 1 (docs/chapters/ch01_accept_loop.md).
    raise NotImplementedError("task 1.2 (Read the request: loop on recv) is still to do: see docs/chapters/ch01_accept_loop.md")
# --8<-- [end:read_request_head]


# --8<-- [start:serve]
def handle_connection(connection: socket.socket) -> None:
    """Serve one client: read its request, answer Hello, World!"""
    # TODO(task 1.4): Serve one client after another, for ever. Read section 1.4 of chapter 1 (docs/chapters/ch01_accept_loop.md).
    raise NotImplementedError("task 1.4 (Serve one client after another, for ever) is still to do: see docs/chapters/ch01_accept_loop.md")


def serve_forever(listener: socket.socket) -> None:
    """Accept connections one after another, for ever; each is closed once it is served."""
    # TODO(task 1.4): Serve one client after another, for ever. Read section 1.4 of chapter 1 (docs/chapters/ch01_accept_loop.md).
    raise NotImplementedError("task 1.4 (Serve one client after another, for ever) is still to do: see docs/chapters/ch01_accept_loop.md")
# --8<-- [end:serve]
