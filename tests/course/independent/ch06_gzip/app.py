"""Routes, the life of one connection, and the accept loop.

A route is (method, pattern, handler[, precheck]). Patterns are matched segment by segment
on the raw path (split on `/` before percent-decoding, so `%2F` never splits a segment);
literal segments compare after decoding. Every matching route is tried in priority order
(exact, then parameters, then wildcards): the first whose method fits serves the request;
if none fits, the methods of all matching routes make the 405's Allow, as Go's ServeMux does.
A precheck runs before the body is invited (uploads check their destination there), so a
request refused on its head never gets `100 Continue`.

Replies are built whole in memory, except files, which bring a `source` that streams.
Gzip is decided at the end for in-memory 200s; file routes negotiate themselves because
the encoding changes their ETag and their 304.
"""

import json
import signal
import socket
import sys
from urllib.parse import parse_qsl

from .coding import compressible, gzip_bytes, gzip_wanted
from .files import Tree
from .protocol import (
    REASONS,
    BodyReader,
    Gone,
    Refusal,
    Shutdown,
    parse_head,
    parse_options,
    percent_decode,
    read_head,
    response_head,
)

CLIENT_TIMEOUT = 10.0
PLAIN_UTF8 = b"text/plain; charset=utf-8"
# RFC 9110 §9 methods and PATCH: known, so a known path answers 405; any other token is 501.
KNOWN_METHODS = {b"GET", b"HEAD", b"POST", b"PUT", b"DELETE", b"CONNECT", b"OPTIONS", b"TRACE", b"PATCH"}


class Reply:
    def __init__(self, status, fields, body=b"", source=None, negotiated=False):
        self.status = status
        self.fields = fields
        self.body = body
        self.source = source
        self.negotiated = negotiated

    def header(self, name):
        return next((value for key, value in self.fields if key == name), None)


def text(body, content_type=PLAIN_UTF8):
    return Reply(200, [(b"content-type", content_type)], body)


def json_reply(value):
    try:
        payload = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates from a \ud800 escape: keep them escaped
        payload = json.dumps(value, separators=(",", ":")).encode("ascii")
    return Reply(200, [(b"content-type", b"application/json")], payload)


def decoded_rest(rest):
    """A wildcard capture: each segment decoded on its own, joined back with `/`."""
    return b"/".join(percent_decode(segment) for segment in rest.split(b"/"))


def as_text(raw):
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


# ---------------------------------------------------------------- handlers

class Exchange:
    """What a handler sees: the request, the captures, the options and the file tree."""

    def __init__(self, request, captures, options, tree):
        self.request = request
        self.captures = captures
        self.options = options
        self.tree = tree
        self.plan = None


def hello(ex, body):
    return text(b"Hello, World!")


def user_agent(ex, body):
    return text(ex.request.first(b"user-agent", b""), b"text/plain")


def echo_body(ex, body):
    return text(body.read_all(), ex.request.first(b"content-type", b"application/octet-stream"))


def echo_text(ex, body):
    return text(percent_decode(ex.captures["text"]), b"text/plain")


def users_me(ex, body):
    return text(b"me")


def user_by_id(ex, body):
    return text(b"user " + percent_decode(ex.captures["id"]))


def user_path(ex, body):
    return text(b"path " + decoded_rest(ex.captures["path"]))


def info(ex, body):
    request = ex.request
    query = {}
    if request.query:
        for name, value in parse_qsl(request.query.decode("latin-1"), keep_blank_values=True, encoding="utf-8", errors="replace"):
            query.setdefault(name, []).append(value)
    headers = {name.decode("ascii"): ", ".join(as_text(v) for v in values) for name, values in request.fields.items()}
    return json_reply({
        "method": request.method.decode("ascii"),
        "path": as_text(percent_decode(request.path)),
        "query": query,
        "headers": headers,
    })


def refuse_constant(name):
    raise ValueError(f"{name} is not JSON")


def json_echo(ex, body):
    try:
        value = json.loads(body.read_all().decode("utf-8"), parse_constant=refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise Refusal(400, "the body is not JSON") from None
    return json_reply(value)


def files_root(ex, body):
    raise Refusal(301, "the files live under /files/", [(b"location", ex.request.path + b"/")])


def files_get(ex, body):
    handle, path = ex.tree.open(ex.captures["rest"], ex.request.path, ex.request.query)
    try:
        status, fields, source = ex.tree.reply_parts(ex.request, handle, path, ex.options.gzip_min_size)
    except BaseException:
        handle.close()
        raise
    return Reply(status, fields, source=source, negotiated=True)


def files_check_upload(ex):
    ex.plan = ex.tree.plan_upload(ex.captures["rest"])


def files_post(ex, body):
    ex.tree.store(ex.plan, body)
    reply = text(b"stored\n")
    reply.status = 201
    reply.fields.append((b"location", ex.request.path))
    return reply


# ---------------------------------------------------------------- routing

class Route:
    def __init__(self, method, pattern, handler, precheck=None):
        self.method = method
        self.handler = handler
        self.precheck = precheck
        # Each part: ("literal", bytes) | ("param", name) | ("rest", name, at_least_one)
        self.parts = []
        for piece in pattern.split("/")[1:]:
            if piece.endswith("...}"):
                self.parts.append(("rest", piece[1:-4], True))
            elif piece.endswith("*}"):
                self.parts.append(("rest", piece[1:-2], False))
            elif piece.startswith("{"):
                self.parts.append(("param", piece[1:-1]))
            else:
                self.parts.append(("literal", piece.encode("ascii")))
        kinds = [part[0] for part in self.parts]
        self.rank = (2 if "rest" in kinds else 1 if "param" in kinds else 0, -kinds.count("literal"))

    def match(self, segments):
        captures = {}
        for index, part in enumerate(self.parts):
            if part[0] == "rest":
                if index >= len(segments):
                    return None
                rest = b"/".join(segments[index:])
                if part[2] and not rest:
                    return None
                captures[part[1]] = rest
                return captures
            if index >= len(segments):
                return None
            if part[0] == "param":
                if not segments[index]:
                    return None
                captures[part[1]] = segments[index]
            elif percent_decode(segments[index]) != part[1]:
                return None
        return captures if len(segments) == len(self.parts) else None


def build_routes(with_files):
    routes = [
        Route(b"GET", "/", hello),
        Route(b"GET", "/user-agent", user_agent),
        Route(b"POST", "/echo", echo_body),
        Route(b"GET", "/echo/{text}", echo_text),
        Route(b"GET", "/users/me", users_me),
        Route(b"GET", "/users/{id}", user_by_id),
        Route(b"GET", "/users/{path...}", user_path),
        Route(b"GET", "/info", info),
        Route(b"POST", "/json", json_echo),
    ]
    if with_files:  # without --directory, /files/... is simply not a route: 404
        routes += [
            Route(b"GET", "/files", files_root),
            Route(b"GET", "/files/{rest*}", files_get),
            Route(b"POST", "/files/{rest*}", files_post, files_check_upload),
        ]
    return sorted(routes, key=lambda route: route.rank)


def resolve(routes, request):
    if request.method not in KNOWN_METHODS:
        raise Refusal(501, f"{request.method.decode('ascii')} is not a method this server knows")
    percent_decode(request.path)  # a malformed escape anywhere in the path is a 400
    segments = request.path[1:].split(b"/")
    wanted = b"GET" if request.method == b"HEAD" else request.method
    allowed = set()
    for route in routes:
        captures = route.match(segments)
        if captures is None:
            continue
        if route.method == wanted:
            return route, captures
        allowed.add(route.method)
    if allowed:
        if b"GET" in allowed:
            allowed.add(b"HEAD")
        raise Refusal(405, "this path does not take that method", [(b"allow", b", ".join(sorted(allowed)))])
    raise Refusal(404, "nothing lives at that path")


# ---------------------------------------------------------------- one connection

def refusal_reply(refusal):
    note = f"{refusal.status} {REASONS[refusal.status]}: {refusal.note}\n".encode()
    return Reply(refusal.status, [(b"content-type", PLAIN_UTF8)] + refusal.extra, note)


def negotiate(request, reply, min_size):
    """Only 200s are negotiated; compressible ones always say Vary, gzip when it is wanted."""
    if reply.status != 200 or reply.negotiated or not compressible(reply.header(b"content-type") or b""):
        return
    reply.fields.append((b"vary", b"Accept-Encoding"))
    if len(reply.body) >= min_size and gzip_wanted(request.values(b"accept-encoding")):
        reply.body = gzip_bytes(reply.body)
        reply.fields.append((b"content-encoding", b"gzip"))


def deliver(conn, request, reply, options):
    """Head in one send, body in others; HEAD and 304 carry the length a 200 GET would."""
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
        conn.sendall(response_head(reply.status, reply.fields, length))
        if bodiless:
            return
        if source is not None:
            source.send(conn)
        elif reply.body:
            conn.sendall(reply.body)
    finally:
        if source is not None:
            source.close()


def discard(conn, early, length):
    reader = BodyReader(conn, early, length)
    while reader.read():
        pass


def serve(conn, routes, options, tree):
    conn.settimeout(CLIENT_TIMEOUT)
    request = None
    try:
        raw, early = read_head(conn, options.max_head)
        request = parse_head(raw)
        if b"transfer-encoding" in request.fields:
            raise Refusal(501, "Transfer-Encoding is not supported yet")
        length = request.declared_length()
        try:
            route, captures = resolve(routes, request)
            exchange = Exchange(request, captures, options, tree)
            if route.precheck is not None:
                route.precheck(exchange)
        except Refusal:
            # Without 100-continue the client sends the body anyway: take it in (within the
            # limit) so the answer is not lost to a reset when we close.
            if length and not request.wants_continue() and length <= options.max_body:
                discard(conn, early, length)
            raise
        if length > options.max_body:
            raise Refusal(413, f"the body is over {options.max_body} bytes")
        if length and request.wants_continue() and len(early) < length:
            conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        body = BodyReader(conn, early, length)
        reply = route.handler(exchange, body)
        while body.read():  # a GET with a body: read it so closing does not reset
            pass
    except Refusal as refusal:
        reply = refusal_reply(refusal)
    except Gone:
        return
    except (TimeoutError, ConnectionError):
        return
    except OSError as problem:
        print(f"file system trouble: {problem}", file=sys.stderr)
        reply = refusal_reply(Refusal(500, "the server could not do that"))
    deliver(conn, request, reply, options)


# ---------------------------------------------------------------- main loop

def on_signal(signum, frame):
    raise Shutdown()


def main(argv):
    options = parse_options(argv)
    tree = Tree(options.directory) if options.directory else None
    routes = build_routes(tree is not None)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((options.host, options.port))
        listener.listen(64)
        host, port = listener.getsockname()[:2]
        print(f"Listening on http://{host}:{port}", flush=True)
        while True:
            conn, peer = listener.accept()
            try:
                serve(conn, routes, options, tree)
            except Exception as problem:  # a client's trouble never stops the server
                print(f"{peer}: {type(problem).__name__}: {problem}", file=sys.stderr)
            finally:
                conn.close()
    except Shutdown:
        return 0
    finally:
        listener.close()
