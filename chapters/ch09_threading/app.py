"""The application: which response each request gets.

Strategy: a handler is a function of the request and the parameters its route's pattern
captured, returning a Response. The routes are a table, `ROUTER`, read top to bottom like a
contents page (`make_router`; the /files/ routes exist only when there is a folder to serve);
the router picks the most specific one. `respond` runs the handler, then negotiates the
encoding of its response, then the conditional request (the ETag depends on the encoding). `find_route` decides before the body
is read (404, 405, 501 cost the client no upload); `handle_request` runs the whole thing.
Nothing here knows about sockets. Chapter 8 adds a handler whose body is produced over
time, `/stream`: it returns a generator, and the server sends each piece as it comes.
Chapter 9 adds `/slow`, a handler that takes its time, to show that it holds up no one else.
"""

import json
import time
from collections.abc import Iterator
from pathlib import Path

from .encoding import negotiate_encoding
from .files import StaticFiles, maybe_not_modified
from .request import HttpError, Request
from .response import Response, text_response
from .router import Handler, RouteMatch, Router
from .target import parse_query, percent_decode, split_target

# RFC 9110 §9: the methods this server knows. Any other token is a method it does not
# implement (501), whatever the path; a known method on the wrong path is 405 or 404.
KNOWN_METHODS = {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}


def hello(request: Request, params: dict[str, str]) -> Response:
    return text_response(200, "Hello, World!")


def user_agent(request: Request, params: dict[str, str]) -> Response:
    # Back byte for byte: Latin-1 turns each character into the byte it came from. No
    # charset in the Content-Type: we do not know what encoding the client used.
    value = request.maybe_header("User-Agent") or ""
    return Response(200, [("Content-Type", "text/plain")], value.encode("latin-1"))


def echo(request: Request, params: dict[str, str]) -> Response:
    """POST /echo: the body back, with the Content-Type the request declared."""
    content_type = request.maybe_header("Content-Type") or "application/octet-stream"
    return Response(200, [("Content-Type", content_type)], request.body)


def echo_text(request: Request, params: dict[str, str]) -> Response:
    """GET /echo/{text}: the text, percent-decoded by the router."""
    return text_response(200, params["text"])


def me(request: Request, params: dict[str, str]) -> Response:
    return text_response(200, "me")


def user(request: Request, params: dict[str, str]) -> Response:
    return text_response(200, f"user {params['id']}")


def user_path(request: Request, params: dict[str, str]) -> Response:
    return text_response(200, f"path {params['path']}")


def json_response(status: int, value) -> Response:
    body = json.dumps(value, ensure_ascii=False).encode("utf-8")
    return Response(status, [("Content-Type", "application/json")], body)


# --8<-- [start:info]
def info(request: Request, params: dict[str, str]) -> Response:
    """GET /info: what the server understood of the request, as JSON."""
    raw_path, raw_query = split_target(request.target)
    headers = {}
    for name, _value in request.headers:
        # Names are case-insensitive; several fields of one name are joined (RFC 9110 §5.3).
        headers[name.lower()] = request.maybe_header(name)
    return json_response(
        200,
        {
            "method": request.method,
            "path": percent_decode(raw_path),
            "query": parse_query(raw_query),
            "headers": headers,
        },
    )
# --8<-- [end:info]


# /slow: the longest wait it accepts, in seconds.
MAX_SLOW_SECONDS = 60


def slow(request: Request, params: dict[str, str]) -> Response:
    """GET /slow?seconds=S: answer after S seconds (default 1), like a handler waiting on a
    slow database. It holds its worker meanwhile, and no one else."""
    _raw_path, raw_query = split_target(request.target)
    text = parse_query(raw_query).get("seconds", ["1"])[0]
    try:
        seconds = float(text)
    except ValueError:
        raise HttpError(400, "seconds must be a number") from None
    if not 0 <= seconds <= MAX_SLOW_SECONDS:
        raise HttpError(400, f"seconds must be from 0 to {MAX_SLOW_SECONDS}")
    time.sleep(seconds)
    return text_response(200, f"slept {text} seconds")


# /stream: at most this many pieces, one every STREAM_INTERVAL seconds.
MAX_STREAM_PIECES = 1000
STREAM_INTERVAL = 0.05


# --8<-- [start:stream]
def stream(request: Request, params: dict[str, str]) -> Response:
    """GET /stream?n=N: N lines of text, produced one after another over time.

    The length of the body is not known when the head is sent: the server streams it.
    """
    _raw_path, raw_query = split_target(request.target)
    values = parse_query(raw_query).get("n", ["10"])
    count = values[0]
    if not count.isascii() or not count.isdigit() or int(count) > MAX_STREAM_PIECES:
        raise HttpError(400, f"n must be a whole number from 0 to {MAX_STREAM_PIECES}")
    return Response(200, [("Content-Type", "text/plain; charset=utf-8")], stream=numbered_lines(int(count)))
# --8<-- [end:stream]


def numbered_lines(count: int) -> Iterator[bytes]:
    """`piece 1 of N`, `piece 2 of N`, ...: one line at a time, STREAM_INTERVAL apart."""
    for number in range(1, count + 1):
        if number > 1:
            time.sleep(STREAM_INTERVAL)
        yield f"piece {number} of {count}\n".encode("ascii")


def refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")


# --8<-- [start:json_echo]
def json_echo(request: Request, params: dict[str, str]) -> Response:
    """POST /json: the body parsed as JSON and sent back; 400 when it is not JSON."""
    try:
        # RFC 8259 has no NaN or Infinity, which Python's json module accepts by default.
        value = json.loads(request.body, parse_constant=refuse_constant)
    except ValueError as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise HttpError(400, f"the body is not JSON: {error}") from None
    return json_response(200, value)
# --8<-- [end:json_echo]


# --8<-- [start:routes]
def make_router(directory: Path | None) -> Router:
    """Every route of the application; /files/... only when there is a folder to serve."""
    router = Router()
    router.add("GET", "/", hello)
    router.add("GET", "/user-agent", user_agent)
    router.add("POST", "/echo", echo)
    router.add("GET", "/echo/{text}", echo_text)
    router.add("GET", "/users/me", me)
    router.add("GET", "/users/{id}", user)
    router.add("GET", "/users/{path...}", user_path)
    router.add("GET", "/info", info)
    router.add("POST", "/json", json_echo)
    router.add("GET", "/stream", stream)
    router.add("GET", "/slow", slow)
    if directory is not None:
        files = StaticFiles(directory)
        router.add("GET", "/files", files.get)
        router.add("GET", "/files/", files.get)
        router.add("GET", "/files/{path...}", files.get)
        router.add("POST", "/files/{path...}", files.post)
        router.add("PUT", "/files/{path...}", files.put)
    return router


# The routes without a folder to serve: what handle_request uses unless told otherwise.
ROUTER = make_router(None)
# --8<-- [end:routes]


# --8<-- [start:find_route]
def find_route(request: Request, router: Router = ROUTER) -> RouteMatch:
    """The route that answers this request. Raises HttpError 400, 404, 405 or 501."""
    # RFC 9110 §15.6.2: 501 is for a method the server does not recognise for any resource.
    if request.method not in KNOWN_METHODS:
        raise HttpError(501, f"{request.method} is not a method this server implements")
    raw_path, _raw_query = split_target(request.target)
    return router.find(request.method, raw_path)
# --8<-- [end:find_route]


def maybe_find_route(request: Request) -> Handler | None:
    """A function that answers this request, or None when no route does."""
    try:
        return find_route(request).respond
    except HttpError:
        return None


def error_response(error: HttpError) -> Response:
    """The short plain-text response for an HttpError, with the headers it carries."""
    response = text_response(error.status, error.message)
    response.headers += error.headers
    return response


# --8<-- [start:respond]
def respond(request: Request, match: RouteMatch, gzip_min_size: int = 0) -> Response:
    """Run the route; then choose the encoding; then, knowing the ETag of the chosen form,
    answer 304 if the client's copy is current."""
    response = match.respond(request)
    response = negotiate_encoding(request.maybe_header("Accept-Encoding"), response, gzip_min_size)
    return maybe_not_modified(request, response)
# --8<-- [end:respond]


# --8<-- [start:handle_request]
def handle_request(request: Request) -> Response:
    """Route the request and answer it; errors become their plain-text response."""
    try:
        return respond(request, find_route(request))
    except HttpError as error:
        return error_response(error)
# --8<-- [end:handle_request]
