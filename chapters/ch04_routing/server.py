"""Chapter 4: receive the head, route it, then receive exactly the body; answer.

Strategy: the socket code only moves bytes; request.py decides (sans-I/O), and the router in
app.py picks the handler. After the head, everything that can refuse the request is checked
before a single body byte is read: a bad or too large Content-Length, an unknown path, a
wrong or unknown method. Only then does a client that sent
`Expect: 100-continue` get its `100 Continue`, and the body is read: the bytes that came
with the head first, then recv calls that never ask for more than the body still needs.
One request per connection until chapter 7; the connection is closed gently.
"""

import socket
import sys
import traceback
from dataclasses import dataclass
from email.utils import formatdate

from .app import error_response, find_route
from .request import (
    HttpError,
    Request,
    body_length,
    expects_continue,
    maybe_split_body,
    maybe_split_head,
    parse_head,
)
from .response import Response, build_head, interim_response
from .router import RouteMatch

RECEIVE_SIZE = 4096
# Closing gently: how long and how much we keep reading after our response (see close_gently).
LINGER_SECONDS = 2.0
LINGER_BYTES = 1024 * 1024


@dataclass
class Settings:
    max_head: int = 8192
    max_body: int = 1024 * 1024


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
    buffer = b""
    while True:
        split = maybe_split_head(buffer, max_head)
        if split is not None:
            return split
        chunk = connection.recv(RECEIVE_SIZE)
        if not chunk:
            raise ClientGone(f"the client closed after {len(buffer)} bytes of head")
        buffer += chunk
# --8<-- [end:read_head]


# --8<-- [start:read_body]
def read_body(connection: socket.socket, buffer: bytes, length: int) -> tuple[bytes, bytes]:
    """Receive the rest of a `length`-byte body: (body, what came after it).

    `buffer` holds the bytes that arrived with the head: they are the body's first bytes.
    Raises ClientGone if the client closes before the body is complete.
    """
    received = bytearray(buffer)
    while True:
        split = maybe_split_body(received, length)
        if split is not None:
            return split
        # Never ask for more than the body still needs: what follows is not ours to read.
        chunk = connection.recv(min(RECEIVE_SIZE, length - len(received)))
        if not chunk:
            raise ClientGone(f"the client closed after {len(received)} of {length} body bytes")
        received += chunk
# --8<-- [end:read_body]


# --8<-- [start:read_request]
def read_request_body(connection: socket.socket, request: Request, after_head: bytes, settings: Settings) -> RouteMatch:
    """Decide on the request, then receive its body into `request.body`; the route to run.

    Every refusal (a bad length, 413, 404, 405, 501) comes before any body byte is read.
    """
    length = body_length(request, settings.max_body)
    match = find_route(request)
    # RFC 9110 §10.1.1: the client waits for this before sending the body. A refused request
    # never gets here: it receives its final status instead, and the connection closes.
    if length > 0 and expects_continue(request):
        connection.sendall(interim_response(100))
    request.body, _next_request = read_body(connection, after_head, length)
    return match
# --8<-- [end:read_request]


# --8<-- [start:handle_connection]
def handle_connection(connection: socket.socket, settings: Settings) -> None:
    """Serve one request: read it, route it, answer (errors included)."""
    request = None
    try:
        head, after_head = read_head(connection, settings.max_head)
        request = parse_head(head)
        match = read_request_body(connection, request, after_head, settings)
        response = match.respond(request)
        log(f'"{request.method} {request.target} {request.version}" {response.status}')
    except ClientGone as gone:
        log(str(gone))
        return
    except HttpError as error:
        log(f"refused: {error}")
        response = error_response(error)
    send_response(connection, response, request)


# --8<-- [start:send_response]
def send_response(connection: socket.socket, response: Response, request: Request | None) -> None:
    """One sendall for the whole response; the connection closes after it.

    `request` is None when the head could not be parsed: then we cannot know it was a HEAD.
    """
    headers = response.headers + [("Connection", "close")]
    # TODO(task 4.3): Unknown methods (501), HEAD and Date. Read section 4.3 of chapter 4 (docs/chapters/ch04_routing.md).
    raise NotImplementedError("task 4.3 (Unknown methods (501), HEAD and Date) is still to do: see docs/chapters/ch04_routing.md")
    data = build_head(response.status, headers, len(response.body))
    # TODO(task 4.3): Unknown methods (501), HEAD and Date. Read section 4.3 of chapter 4 (docs/chapters/ch04_routing.md).
    raise NotImplementedError("task 4.3 (Unknown methods (501), HEAD and Date) is still to do: see docs/chapters/ch04_routing.md")
    connection.sendall(data)
# --8<-- [end:send_response]
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
