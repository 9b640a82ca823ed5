"""Chapter 9: reading and answering one request on a connection; pool.py runs many at once.

Strategy: the socket code only moves bytes; request.py decides (sans-I/O), and the router in
app.py picks the handler. `read_and_respond` reads one request, starting with bytes already
received (the head, by the time a worker calls it, is complete in them), and decides its
response; `send_response` sends it — in one write when it is small, in blocks for a file,
chunk by chunk for a stream. Everything that can refuse a request is checked before a body
byte is read. Which connection is served when, and by which thread, is pool.py's business:
these functions are the same whether one thread or sixteen call them.
"""

import socket
import time
import sys
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
    header_timeout: float = 10.0
    workers: int = 16
    grace: float = 10.0
    access_log: bool = True  # a line on stderr for every request served


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
    # One write per line: print() writes the text and its newline separately, and lines
    # from several threads would run into each other.
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


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
        chunked = read_chunked_body(connection, after_head, settings)
        request.body, request.trailers, rest = chunked.body, chunked.trailers, chunked.rest
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
    received = bytearray(buffer)
    # `received` only grows, so each call can go on where the last one stopped.
    progress = ChunkedProgress()
    while True:
        chunked = maybe_split_chunked(received, settings.max_body, settings.max_head, progress)
        if chunked is not None:
            return chunked
        received += receive(connection, CHUNKED_RECEIVE_SIZE, f"after {len(received)} bytes of a chunked body")
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


# The Date of the responses sent during the current second: (that second, its HTTP-date).
date_cache = (0, "")


# --8<-- [start:current_http_date]
def current_http_date() -> str:
    """Now, as an HTTP-date (RFC 9110 §5.6.7), formatted at most once a second.

    A Date only has whole seconds, and formatting one costs more than everything else in
    building a small response (a profile of the benchmark put a fifth of the server's time
    in formatdate), so each second's is kept, as nginx does. Threads may race to refresh
    it: both write the same text, and the tuple is replaced in one assignment.
    """
    global date_cache
    second = int(time.time())
    if date_cache[0] != second:
        date_cache = (second, formatdate(second, usegmt=True))
    return date_cache[1]
# --8<-- [end:current_http_date]


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
    headers.append(("Date", current_http_date()))
    chunked = False
    if response.stream is not None:
        # RFC 9112 §6.1: a body of unknown length goes out chunked to an HTTP/1.1 client (HEAD
        # and 304 included: they describe the GET's response); HTTP/1.0 has no chunks.
        chunked = request is not None and request.version == "HTTP/1.1"
        if chunked:
            headers.append(("Transfer-Encoding", "chunked"))
    head = build_head(response.status, headers, response.content_length)
    # RFC 9110 §9.3.2 and §15.4.5: HEAD and 304 carry the Content-Length a 200 GET would
    # have, and no body.
    if response.status == 304 or (request is not None and request.method == "HEAD"):
        connection.sendall(head)
        if response.file is not None:
            response.file.close()
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
    connection.sendall(head)
    for piece in stream:
        # An empty piece would be the last chunk: skip it, the body goes on.
        if piece:
            connection.sendall(encode_chunk(piece) if chunked else piece)
    if chunked:
        connection.sendall(LAST_CHUNK)
# --8<-- [end:send_stream]


# --8<-- [start:send_file]
def send_file(connection: socket.socket, head: bytes, file: FileBody) -> None:
    """The head, then the file in blocks of FILE_BLOCK bytes: memory use stays the same
    whatever the file's size."""
    connection.sendall(head)
    remaining = file.size
    with file.open() as source:
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
