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
    # BEGIN SOLUTION task 1.1
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # A server that just stopped leaves its closed connections in TIME_WAIT for a minute;
    # SO_REUSEADDR lets a restarted server bind the same port at once anyway.
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen()
    return listener
    # END SOLUTION
# --8<-- [end:create_listener]


# --8<-- [start:read_request_head]
def read_request_head(connection: socket.socket) -> bytes:
    """Receive until the blank line that ends the head, or until the client stops sending.

    One recv returns whatever has arrived so far: maybe the whole request, maybe one byte.
    """
    # BEGIN SOLUTION task 1.2
    received = b""
    # Search everything received so far: the four bytes CR LF CR LF can be split
    # across two recv calls.
    while b"\r\n\r\n" not in received:
        chunk = connection.recv(RECEIVE_SIZE)
        if not chunk:  # the client closed its side: nothing more will come
            break
        received += chunk
    return received
    # END SOLUTION
# --8<-- [end:read_request_head]


# --8<-- [start:serve]
def handle_connection(connection: socket.socket) -> None:
    """Serve one client: read its request, answer Hello, World!"""
    # BEGIN SOLUTION task 1.4
    head = read_request_head(connection)
    if not head:
        return  # connected and left without a word: there is nobody to answer
    headers = [("Content-Type", "text/plain; charset=utf-8"), ("Connection", "close")]
    connection.sendall(build_response(200, headers, HELLO))
    # END SOLUTION


def serve_forever(listener: socket.socket) -> None:
    """Accept connections one after another, for ever; each is closed once it is served."""
    # BEGIN SOLUTION task 1.4
    while True:
        connection, (client_host, client_port) = listener.accept()
        with connection:
            try:
                handle_connection(connection)
            except OSError as error:
                # The client reset or vanished mid-exchange: that ends its connection only.
                log(f"{client_host}:{client_port}: connection lost: {error}")
            except Exception:
                # A bug while serving one client must not take the server down for the rest.
                log(f"{client_host}:{client_port}: error while serving:\n{traceback.format_exc()}")
    # END SOLUTION
# --8<-- [end:serve]
