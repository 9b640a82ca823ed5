"""Chapter 8: bodies framed by Content-Length or by chunks, and responses streamed in chunks.

Strategy: the socket code only moves bytes; request.py decides (sans-I/O), and the router in
app.py picks the handler. A connection now runs a loop: read a head, read its body, answer,
and go round again with the bytes that arrived after that body (a pipelined next request
may already be in them). The loop ends when the client closes, when it stays silent for
`keep_alive_timeout` seconds (or is idle while another client waits to connect: this server
serves one connection at a time), when either side says `Connection: close`, or after an error
that leaves the request's end unknown (a malformed head, a bad length, a body we refused to
read): then the connection closes, because the next request's first byte cannot be found.
Everything that can refuse a request is still checked before a body byte is read, and a
file body is still sent in fixed-size blocks. A chunked request body is decoded by
request.py as its bytes arrive; a streamed response goes out one chunk per piece, or, to an
HTTP/1.0 client that cannot read chunks, as raw pieces ended by closing the connection.
"""

import select
import socket
import sys
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.utils import formatdate

from .app import error_response, find_route, make_router, respond
from .request import (
    HttpError,
    Request,
    expects_continue,
    maybe_body_length,
    maybe_split_body,
    ChunkedBody,
    ChunkedProgress,
    maybe_split_chunked,
    maybe_split_head,
    parse_head,
    wants_keep_alive,
)
from .response import LAST_CHUNK, FileBody, Response, build_head, encode_chunk, interim_response
from .router import RouteMatch, Router

RECEIVE_SIZE = 4096
# A chunked body's length is unknown: read it in large pieces (what follows it is kept).
CHUNKED_RECEIVE_SIZE = 64 * 1024
# Files are sent in blocks of this size: large enough to be fast, small enough that a
# 200 MB file costs no more memory than a 2 kB one.
FILE_BLOCK = 64 * 1024
# Closing gently: how long and how much we keep reading after our response (see close_gently).
LINGER_SECONDS = 2.0
LINGER_BYTES = 1024 * 1024


@dataclass
class Settings:
    max_head: int = 8192
    max_body: int = 1024 * 1024
    router: Router = field(default_factory=lambda: make_router(None))
    gzip_min_size: int = 0
    keep_alive_timeout: float = 5.0


class ClientGone(Exception):
    """The client closed the connection, or went silent for longer than we wait."""


@dataclass
class Exchange:
    """One request on a connection, and what became of it."""

    request: Request | None = None  # None when the head could not be parsed
    response: Response | None = None
    # True once every byte of the request has been read: only then can a next request follow.
    complete: bool = False
    rest: bytes = b""  # the bytes received after this request: the start of the next one


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
def read_head(connection: socket.socket, buffer: bytes, max_head: int) -> tuple[bytes, bytes]:
    """Receive until the blank line: (head, bytes that came after it).

    `buffer` holds bytes already received on this connection (left over from the previous
    request): they are the start of this head. Raises ClientGone if the client closes or
    stays silent first, HttpError if the head is malformed or too large.
    """
    while True:
        split = maybe_split_head(buffer, max_head)
        if split is not None:
            return split
        buffer += receive(connection, RECEIVE_SIZE, f"after {len(buffer)} bytes of head")
# --8<-- [end:read_head]


# --8<-- [start:read_body]
def read_body(connection: socket.socket, buffer: bytes, length: int) -> tuple[bytes, bytes]:
    """Receive the rest of a `length`-byte body: (body, what came after it).

    `buffer` holds the bytes that arrived with the head: they are the body's first bytes.
    Raises ClientGone if the client closes or stays silent before the body is complete.
    """
    received = bytearray(buffer)
    while True:
        split = maybe_split_body(received, length)
        if split is not None:
            return split
        # Never ask for more than the body still needs: what follows is the next request's.
        received += receive(connection, min(RECEIVE_SIZE, length - len(received)), f"after {len(received)} of {length} body bytes")


def receive(connection: socket.socket, size: int, progress: str) -> bytes:
    """Up to `size` bytes from the client. Raises ClientGone when it has closed the
    connection, or sent nothing for the connection's timeout (socket.settimeout)."""
    try:
        chunk = connection.recv(size)
    except TimeoutError:
        raise ClientGone(f"the client went silent {progress}") from None
    if not chunk:
        raise ClientGone(f"the client closed the connection {progress}")
    return chunk
# --8<-- [end:read_body]


# --8<-- [start:read_request]
def read_request_body(connection: socket.socket, exchange: Exchange, after_head: bytes, settings: Settings) -> RouteMatch:
    """Decide on the request, then receive its body into `request.body`; the route to run.

    Every refusal (bad framing, 413, 404, 405, 501) comes before any body byte is read.
    `exchange.complete` and `exchange.rest` say how far the request has been read.
    """
    request = exchange.request
    length = maybe_body_length(request, settings.max_body)  # None: the body is chunked
    if length == 0:
        # Nothing more to read: whatever the answer, the next request starts right here.
        exchange.complete, exchange.rest = True, after_head
    match = find_route(request, settings.router)
    # RFC 9110 §10.1.1: the client waits for this before sending the body. A refused request
    # never gets here: it receives its final status instead, and the connection closes.
    if length != 0 and expects_continue(request):
        connection.sendall(interim_response(100))
    if length is None:
        # TODO(task 8.2): Decode chunked bodies. Read section 8.2 of chapter 8 (docs/chapters/ch08_chunked.md).
        raise NotImplementedError("task 8.2 (Decode chunked bodies) is still to do: see docs/chapters/ch08_chunked.md")
    else:
        request.body, rest = read_body(connection, after_head, length)
    exchange.complete, exchange.rest = True, rest
    return match
# --8<-- [end:read_request]


# --8<-- [start:read_chunked_body]
def read_chunked_body(connection: socket.socket, buffer: bytes, settings: Settings) -> ChunkedBody:
    """Receive a chunked body until its last chunk and trailers: decoded body, trailers, and
    the bytes after it. `buffer` holds the bytes that arrived with the head.

    Its length is not known in advance, so a recv may also bring the start of the next
    request: maybe_split_chunked hands it back as `rest`.
    """
    # TODO(task 8.2): Decode chunked bodies. Read section 8.2 of chapter 8 (docs/chapters/ch08_chunked.md).
    raise NotImplementedError("task 8.2 (Decode chunked bodies) is still to do: see docs/chapters/ch08_chunked.md")
# --8<-- [end:read_chunked_body]


# --8<-- [start:read_and_respond]
def read_and_respond(connection: socket.socket, buffer: bytes, settings: Settings) -> Exchange:
    """Read one request, starting with the bytes in `buffer`, and decide its response.

    Raises ClientGone when the client leaves (or stays silent) before the request is whole.
    """
    exchange = Exchange()
    try:
        head, after_head = read_head(connection, buffer, settings.max_head)
        exchange.request = parse_head(head)
        match = read_request_body(connection, exchange, after_head, settings)
        exchange.response = respond(exchange.request, match, settings.gzip_min_size)
    except HttpError as error:
        log(f"refused: {error}")
        exchange.response = error_response(error)
    return exchange
# --8<-- [end:read_and_respond]


# --8<-- [start:handle_connection]
def handle_connection(connection: socket.socket, settings: Settings, listener: socket.socket | None = None) -> None:
    """Serve requests on one connection, one after another, until it is time to close.

    `listener`, when given, is watched while the connection is idle: a waiting client ends
    the idle time at once (see wait_for_next_request).
    """
    # Every recv waits at most keep_alive_timeout, so a client that stops halfway through a
    # request cannot hold the connection for ever.
    connection.settimeout(settings.keep_alive_timeout)
    buffer = b""
    served = 0
    while True:
        # Between requests the connection is idle (a pipelined request already in the buffer
        # needs no waiting). Not before the first: a client that just connected is about to
        # send, and a browser's spare connections would be closed before they are used.
        if served and not buffer and not wait_for_next_request(connection, listener, settings.keep_alive_timeout):
            log("closing an idle connection")
            return
        try:
            exchange = read_and_respond(connection, buffer, settings)
        except ClientGone as gone:
            log(str(gone))
            return
        request = exchange.request
        # After an error that left the request half-read, we cannot tell where the next
        # request would begin: the connection must close.
        keep_alive = exchange.complete and wants_keep_alive(request)
        if exchange.response.stream is not None:
            # TODO(task 8.3): Stream responses: chunked or close-delimited. Read section 8.3 of chapter 8 (docs/chapters/ch08_chunked.md).
            raise NotImplementedError("task 8.3 (Stream responses: chunked or close-delimited) is still to do: see docs/chapters/ch08_chunked.md")
        if request is not None:
            log(f'"{request.method} {request.target} {request.version}" {exchange.response.status}')
        send_response(connection, exchange.response, request, keep_alive)
        served += 1
        if not keep_alive:
            close_gently(connection)
            return
        # The bytes after this request are the start of the next one: keep them.
        buffer = exchange.rest

# --8<-- [end:handle_connection]


# --8<-- [start:wait_for_next_request]
def wait_for_next_request(connection: socket.socket, listener: socket.socket | None, timeout: float) -> bool:
    """Wait for the client's next request: True once it sends something (or closes).

    False after `timeout` idle seconds, or as soon as another client is waiting on the
    listener: one connection at a time means an idle client would hold up everyone else.
    RFC 9112 §9.5 lets a server close an idle connection whenever it likes; clients retry.
    """
    watched = [connection] if listener is None else [connection, listener]
    readable, _writable, _failed = select.select(watched, [], [], timeout)
    return connection in readable
# --8<-- [end:wait_for_next_request]


# --8<-- [start:send_response]
def send_response(connection: socket.socket, response: Response, request: Request | None, keep_alive: bool = False) -> None:
    """The head, then the body (a file body in blocks).

    `request` is None when the head could not be parsed: then we cannot know it was a HEAD.
    `keep_alive` says whether another request may follow on this connection.
    """
    headers = list(response.headers)
    if not keep_alive:
        headers.append(("Connection", "close"))
    elif request.version == "HTTP/1.0":
        # RFC 9112 §C.2.2: an HTTP/1.0 client keeps the connection only if we confirm it.
        headers.append(("Connection", "keep-alive"))
    # RFC 9110 §6.6.1: an origin server with a clock sends Date on every response.
    headers.append(("Date", formatdate(usegmt=True)))
    chunked = False
    if response.stream is not None:
        # TODO(task 8.3): Stream responses: chunked or close-delimited. Read section 8.3 of chapter 8 (docs/chapters/ch08_chunked.md).
        raise NotImplementedError("task 8.3 (Stream responses: chunked or close-delimited) is still to do: see docs/chapters/ch08_chunked.md")
    head = build_head(response.status, headers, response.content_length)
    # RFC 9110 §9.3.2 and §15.4.5: HEAD and 304 carry the Content-Length a 200 GET would
    # have, and no body.
    if response.status == 304 or (request is not None and request.method == "HEAD"):
        connection.sendall(head)
    elif response.stream is not None:
        send_stream(connection, head, response.stream, chunked)
    elif response.file is not None:
        send_file(connection, head, response.file)
    else:
        # One sendall for head and body: one write, and usually one TCP segment.
        connection.sendall(head + response.body)
# --8<-- [end:send_response]


# --8<-- [start:send_stream]
def send_stream(connection: socket.socket, head: bytes, stream: Iterator[bytes], chunked: bool) -> None:
    """The head, then each piece as it is produced: as a chunk, then the last chunk; or, not
    chunked (HTTP/1.0), the raw pieces, and closing the connection marks the end."""
    # TODO(task 8.3): Stream responses: chunked or close-delimited. Read section 8.3 of chapter 8 (docs/chapters/ch08_chunked.md).
    raise NotImplementedError("task 8.3 (Stream responses: chunked or close-delimited) is still to do: see docs/chapters/ch08_chunked.md")
# --8<-- [end:send_stream]


# --8<-- [start:send_file]
def send_file(connection: socket.socket, head: bytes, file: FileBody) -> None:
    """The head, then the file in blocks of FILE_BLOCK bytes: memory use stays the same
    whatever the file's size."""
    connection.sendall(head)
    remaining = file.size
    with open(file.path, "rb") as source:
        # Exactly the size announced in Content-Length, even if the file grows meanwhile.
        while remaining > 0:
            block = source.read(min(FILE_BLOCK, remaining))
            if not block:
                # It shrank: the promised length cannot be kept, so the connection must end.
                raise OSError(f"{file.path} shrank while it was being sent")
            connection.sendall(block)
            remaining -= len(block)
# --8<-- [end:send_file]


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
    """Accept connections one after another, for ever; each is served until it closes.

    One connection at a time: while a client keeps its connection open, the next waits in
    the listen queue (chapter 9 serves many at once).
    """
    while True:
        connection, (client_host, client_port) = listener.accept()
        with connection:
            try:
                handle_connection(connection, settings, listener)
            except OSError as error:
                # The client reset or vanished mid-exchange: that ends its connection only.
                log(f"{client_host}:{client_port}: connection lost: {error}")
            except Exception:
                # A bug while serving one client must not take the server down for the rest.
                log(f"{client_host}:{client_port}: error while serving:\n{traceback.format_exc()}")
# --8<-- [end:serve_forever]
