"""Chapter 2: receive the whole head, parse it, route it, answer.

Strategy: the socket code only moves bytes. It receives into a buffer until
`maybe_split_head` (request.py, which never touches a socket) finds the blank line, gives the
head to `parse_head`, the request to `handle_request` (app.py), and sends the response. A
malformed request raises HttpError somewhere on the way and is answered with its status.
Then the connection is closed gently: one request per connection until chapter 7.
"""

import socket
import sys
import traceback
from dataclasses import dataclass

from .app import handle_request
from .request import HttpError, maybe_split_head, parse_head
from .response import Response, build_response, text_response

RECEIVE_SIZE = 4096
# Closing gently: how long and how much we keep reading after our response (see close_gently).
LINGER_SECONDS = 2.0
LINGER_BYTES = 1024 * 1024


@dataclass
class Settings:
    max_head: int = 8192


class ClientGone(Exception):
    """The client stopped sending before its request was complete."""


def log(message: str) -> None:
    """Logs go to stderr: stdout carries only the `Listening on` line."""
    print(message, file=sys.stderr, flush=True)


# --8<-- [start:create_listener]
def create_listener(host: str, port: int) -> socket.socket:
    """A TCP socket bound to (host, port) and listening. Port 0 lets the OS pick a free port."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # A server that just stopped leaves its closed connections in TIME_WAIT for a minute;
    # SO_REUSEADDR lets a restarted server bind the same port at once anyway.
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen()
    return listener
# --8<-- [end:create_listener]


# --8<-- [start:read_head]
def read_head(connection: socket.socket, max_head: int) -> tuple[bytes, bytes]:
    """Receive until the blank line: (head, bytes that came after it).

    Raises ClientGone if the client closes first, HttpError if the head is malformed or
    too large (maybe_split_head decides).
    """
    # BEGIN SOLUTION task 2.1
    buffer = b""
    while True:
        split = maybe_split_head(buffer, max_head)
        if split is not None:
            return split
        chunk = connection.recv(RECEIVE_SIZE)
        if not chunk:
            raise ClientGone(f"the client closed after {len(buffer)} bytes of head")
        buffer += chunk
    # END SOLUTION
# --8<-- [end:read_head]


# --8<-- [start:handle_connection]
def handle_connection(connection: socket.socket, settings: Settings) -> None:
    """Serve one request: read and parse its head, route it, answer (errors included)."""
    try:
        head, _after_head = read_head(connection, settings.max_head)
        request = parse_head(head)
        response = handle_request(request)
        log(f'"{request.method} {request.target} {request.version}" {response.status}')
    except ClientGone as gone:
        log(str(gone))
        return
    except HttpError as error:
        log(f"refused: {error}")
        response = text_response(error.status, error.message)
    send_response(connection, response)


def send_response(connection: socket.socket, response: Response) -> None:
    """One sendall for the whole response; the connection closes after it."""
    headers = response.headers + [("Connection", "close")]
    connection.sendall(build_response(response.status, headers, response.body))
# --8<-- [end:handle_connection]


# --8<-- [start:close_gently]
def close_gently(connection: socket.socket) -> None:
    """Finish sending, then read and drop what the client still sends, for a short while.

    Closing a socket with unread bytes in it makes the kernel send RST instead of FIN, and
    an RST can make the client throw away our response before reading it (RFC 9112 §9.6).
    So we shut our sending side, which tells the client the response is complete, and wait
    for the client to close its side, up to LINGER_SECONDS or LINGER_BYTES.
    """
    try:
        connection.shutdown(socket.SHUT_WR)
        connection.settimeout(LINGER_SECONDS)
        drained = 0
        while drained < LINGER_BYTES:
            chunk = connection.recv(RECEIVE_SIZE)
            if not chunk:
                break
            drained += len(chunk)
    except OSError:
        pass  # the client is gone already, or too slow to wait for: either way, we are done
# --8<-- [end:close_gently]


# --8<-- [start:serve_forever]
def serve_forever(listener: socket.socket, settings: Settings) -> None:
    """Accept connections one after another, for ever; each is closed once it is served."""
    while True:
        connection, (client_host, client_port) = listener.accept()
        with connection:
            try:
                handle_connection(connection, settings)
                close_gently(connection)
            except OSError as error:
                # The client reset or vanished mid-exchange: that ends its connection only.
                log(f"{client_host}:{client_port}: connection lost: {error}")
            except Exception:
                # A bug while serving one client must not take the server down for the rest.
                log(f"{client_host}:{client_port}: error while serving:\n{traceback.format_exc()}")
# --8<-- [end:serve_forever]
