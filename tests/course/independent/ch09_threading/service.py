"""One request start to finish, and a worker's turn with a connection.

A worker is handed a connection whose `pending` bytes hold a complete head (the lobby made
sure). It serves that request, then every pipelined request already buffered, and stops as
soon as the next head is incomplete: the connection goes back to the lobby, which waits for
the rest without holding a thread. Whether a connection may carry another request is decided
before the response head is written (it says `connection: close` when not): the client must
want it, the request's body must have been read to its end (drained if the handler left some),
nothing about its framing may have been doubtful, and the server must not be stopping.

The routes are ch06's, plus `/slow` and `/stream`. Replies are ch06's `Reply` objects and are
negotiated by ch06's `negotiate`; only the writing of the head is new (the Connection header
now varies, and a stream has no Content-Length).
"""

import math
import sys
import time
import zlib
from urllib.parse import parse_qsl

from ch06_gzip.app import (
    PLAIN_UTF8,
    Exchange,
    Reply,
    Route,
    negotiate,
    resolve,
    text,
)
from ch06_gzip.app import build_routes as ch06_routes
from ch06_gzip.coding import Gzipper, gzip_wanted
from ch06_gzip.protocol import REASONS as CH06_REASONS
from ch06_gzip.protocol import Gone, Refusal, http_date, parse_head, read_head

from .framing import (
    ChunkedBody,
    LengthBody,
    Wire,
    body_framing,
    client_wants_to_keep,
    head_ready,
)

SERVER_NAME = b"indie-fixture/9"
REASONS = {**CH06_REASONS, 408: "Request Timeout"}
STALL_LIMIT = 10.0  # seconds a body or a send may stall (or --header-timeout if larger)
SLOW_DEFAULT, SLOW_MOST = 1.0, 60.0
STREAM_DEFAULT, STREAM_MOST = 10, 1000
STREAM_PAUSE = 0.1  # seconds between two pieces of /stream


class Context:
    """What every worker shares: the options, the routes, the file tree, the stop flag."""

    def __init__(self, options, routes, tree, stopping):
        self.options = options
        self.routes = routes
        self.tree = tree
        self.stopping = stopping  # a threading.Event
        self.stall_limit = max(STALL_LIMIT, options.header_timeout)


# ---------------------------------------------------------------- the new routes

class StreamReply(Reply):
    """A body made of pieces that are produced over time, so its length is not known."""

    def __init__(self, pieces, pause):
        super().__init__(200, [(b"content-type", PLAIN_UTF8), (b"vary", b"Accept-Encoding")], negotiated=True)
        self.pieces = pieces
        self.pause = pause


def query_number(request, name, default, kind, lowest, highest):
    values = [v for k, v in parse_qsl((request.query or b"").decode("latin-1"), keep_blank_values=True) if k == name]
    if not values:
        return default
    try:
        number = kind(values[-1])
    except ValueError:
        number = None
    if number is None or (kind is float and not math.isfinite(number)) or not lowest <= number <= highest:
        raise Refusal(400, f"{name} must be a number from {lowest} to {highest}")
    return number


def slow(ex, body):
    seconds = query_number(ex.request, "seconds", SLOW_DEFAULT, float, 0, SLOW_MOST)
    time.sleep(seconds)
    return text(f"slept {seconds:g} s\n".encode("ascii"))


def stream(ex, body):
    count = query_number(ex.request, "n", STREAM_DEFAULT, int, 0, STREAM_MOST)
    pieces = [f"piece {index} of {count}\n".encode("ascii") for index in range(1, count + 1)]
    return StreamReply(pieces, STREAM_PAUSE)


def build_routes(with_files):
    routes = ch06_routes(with_files) + [Route(b"GET", "/slow", slow), Route(b"GET", "/stream", stream)]
    return sorted(routes, key=lambda route: route.rank)


# ---------------------------------------------------------------- writing

def compose_head(status, fields, length=None, connection=None, chunked=False):
    lines = [f"HTTP/1.1 {status} {REASONS[status]}".encode("ascii")]
    lines.extend(name + b": " + value for name, value in fields)
    if chunked:
        lines.append(b"transfer-encoding: chunked")
    elif length is not None:
        lines.append(b"content-length: " + str(length).encode("ascii"))
    lines.append(b"date: " + http_date())
    lines.append(b"server: " + SERVER_NAME)
    if connection:
        lines.append(b"connection: " + connection)
    return b"\r\n".join(lines) + b"\r\n\r\n"


def error_reply(refusal):
    note = f"{refusal.status} {REASONS[refusal.status]}: {refusal.note}\n".encode()
    return Reply(refusal.status, [(b"content-type", PLAIN_UTF8)] + refusal.extra, note)


def timeout_response():
    """The whole 408 the lobby sends to a head that took too long."""
    reply = error_reply(Refusal(408, "the request head took too long"))
    return compose_head(408, reply.fields, len(reply.body), b"close") + reply.body


def connection_value(request, keep):
    if not keep:
        return b"close"
    return b"keep-alive" if request.version < (1, 1) else None


def deliver(sock, request, reply, options, keep):
    """Send the reply; return whether the connection may carry another request."""
    if isinstance(reply, StreamReply):
        return deliver_stream(sock, request, reply, options, keep)
    if request is not None:
        negotiate(request, reply, options.gzip_min_size)
    bodiless = reply.status == 304 or (request is not None and request.method == b"HEAD")
    source = reply.source
    try:
        if source is not None:
            if not bodiless:
                source.prepare()
            length = source.length()
        else:
            length = len(reply.body)
        connection = connection_value(request, keep) if request is not None else b"close"
        sock.sendall(compose_head(reply.status, reply.fields, length, connection))
        if bodiless:
            return keep
        if source is not None:
            source.send(sock)
        elif reply.body:
            sock.sendall(reply.body)
    finally:
        if source is not None:
            source.close()
    return keep


def deliver_stream(sock, request, reply, options, keep):
    """Chunked to HTTP/1.1, close-delimited to HTTP/1.0; gzip as it goes when negotiated.

    With gzip each piece is compressed and sync-flushed into its own chunk (the gzip end is
    flushed with the last piece), so a client can decompress every chunk as it arrives.
    """
    chunked = request.version >= (1, 1)
    head_only = request.method == b"HEAD"
    if not chunked and not head_only:
        keep = False  # the end of the body is the end of the connection
    fields = list(reply.fields)
    total = sum(len(piece) for piece in reply.pieces)
    engine = None
    if total >= options.gzip_min_size and gzip_wanted(request.values(b"accept-encoding")):
        engine = Gzipper()
        fields.append((b"content-encoding", b"gzip"))
    sock.sendall(compose_head(200, fields, None, connection_value(request, keep), chunked=chunked))
    if head_only:
        return keep
    if engine is not None and not reply.pieces:
        reply.pieces = [b""]
    last = len(reply.pieces) - 1
    for index, piece in enumerate(reply.pieces):
        if index:
            time.sleep(reply.pause)
        if engine is not None:
            out = engine.feed(piece)
            piece = out + (engine.finish() if index == last else engine.engine.flush(zlib.Z_SYNC_FLUSH))
        if chunked:
            sock.sendall(b"%x\r\n%b\r\n" % (len(piece), piece))
        else:
            sock.sendall(piece)
    if chunked:
        sock.sendall(b"0\r\n\r\n")
    return keep


# ---------------------------------------------------------------- one request

def settle(body):
    """Read what the handler left of the body, so the next request starts where it should.
    A framing error on the way marks the body broken (the connection will close)."""
    try:
        while body.read():
            pass
    except Refusal:
        pass


def serve_one(wire, ctx):
    """Read, handle and answer one request; return whether the connection stays open."""
    options = ctx.options
    request = body = None
    stuck = False  # the connection cannot go on whatever the body says
    try:
        try:
            raw, after = read_head(wire, options.max_head)
            wire.push_back(after)
            request = parse_head(raw)
            kind, length = body_framing(request)
            body = ChunkedBody(wire, options.max_body) if kind == "chunked" else LengthBody(wire, length)
            expects = request.wants_continue() and (kind == "chunked" or length > 0)
            try:
                route, captures = resolve(ctx.routes, request)
                exchange = Exchange(request, captures, options, ctx.tree)
                if route.precheck is not None:
                    route.precheck(exchange)
            except Refusal:
                # The body is on its way unless the client waits for 100 Continue: read it
                # (within the limit) so the connection can go on, else close after answering.
                too_big = kind == "length" and length > options.max_body
                if not too_big and not (expects and not wire.pending):
                    settle(body)
                raise
            if kind == "length" and length > options.max_body:
                raise Refusal(413, f"the body is over {options.max_body} bytes")
            if expects and not wire.pending:
                wire.sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            reply = route.handler(exchange, body)
            settle(body)
        except Refusal as refusal:
            reply = error_reply(refusal)
        except TimeoutError:
            reply, stuck = error_reply(Refusal(408, "the request stalled")), True
    except (Gone, ConnectionError):
        return False
    except TimeoutError:
        return False
    except OSError as problem:
        print(f"file system trouble: {problem}", file=sys.stderr)
        reply, stuck = error_reply(Refusal(500, "the server could not do that")), True
    keep = (
        not stuck
        and request is not None
        and body is not None
        and body.complete
        and not body.broken
        and client_wants_to_keep(request)
        and options.keep_alive_timeout > 0
        and not ctx.stopping.is_set()
    )
    return deliver(wire.sock, request, reply, options, keep)


def worker_turn(guest, ctx, lobby):
    """Serve every request of `guest` whose head is already here, then hand it back."""
    sock = guest.sock
    try:
        sock.settimeout(ctx.stall_limit)
        wire = Wire(sock, guest.pending)
        while True:
            if not serve_one(wire, ctx):
                lobby.farewell(guest)
                return
            if ctx.stopping.is_set():
                lobby.farewell(guest)
                return
            if not head_ready(wire.pending, ctx.options.max_head):
                guest.pending = wire.pending
                lobby.welcome_back(guest)
                return
    except Exception as problem:  # noqa: BLE001 - a client's trouble never stops the server
        if not isinstance(problem, (ConnectionError, TimeoutError)):
            print(f"{guest.peer}: {type(problem).__name__}: {problem}", file=sys.stderr)
        lobby.farewell(guest, abrupt=True)
