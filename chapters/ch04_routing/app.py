"""The application: which response each request gets.

Strategy: a handler is a function of the request and the parameters its route's pattern
captured, returning a Response. The routes are a table, `ROUTER`, read top to bottom like a
contents page; the router picks the most specific one. `find_route` decides before the body
is read (404, 405, 501 cost the client no upload); `handle_request` runs the whole thing.
Nothing here knows about sockets.
"""

import json

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
    # TODO(task 4.4): JSON routes: /info and /json. Read section 4.4 of chapter 4 (docs/chapters/ch04_routing.md).
    raise NotImplementedError("task 4.4 (JSON routes: /info and /json) is still to do: see docs/chapters/ch04_routing.md")
# --8<-- [end:info]


def refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")


# --8<-- [start:json_echo]
def json_echo(request: Request, params: dict[str, str]) -> Response:
    """POST /json: the body parsed as JSON and sent back; 400 when it is not JSON."""
    # TODO(task 4.4): JSON routes: /info and /json. Read section 4.4 of chapter 4 (docs/chapters/ch04_routing.md).
    raise NotImplementedError("task 4.4 (JSON routes: /info and /json) is still to do: see docs/chapters/ch04_routing.md")
# --8<-- [end:json_echo]


# --8<-- [start:routes]
ROUTER = Router()
ROUTER.add("GET", "/", hello)
ROUTER.add("GET", "/user-agent", user_agent)
ROUTER.add("POST", "/echo", echo)
ROUTER.add("GET", "/echo/{text}", echo_text)
ROUTER.add("GET", "/users/me", me)
ROUTER.add("GET", "/users/{id}", user)
ROUTER.add("GET", "/users/{path...}", user_path)
ROUTER.add("GET", "/info", info)
ROUTER.add("POST", "/json", json_echo)
# --8<-- [end:routes]


# --8<-- [start:find_route]
def find_route(request: Request) -> RouteMatch:
    """The route that answers this request. Raises HttpError 400, 404, 405 or 501."""
    # TODO(task 4.3): Unknown methods (501), HEAD and Date. Read section 4.3 of chapter 4 (docs/chapters/ch04_routing.md).
    raise NotImplementedError("task 4.3 (Unknown methods (501), HEAD and Date) is still to do: see docs/chapters/ch04_routing.md")
    raw_path, _raw_query = split_target(request.target)
    return ROUTER.find(request.method, raw_path)
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


# --8<-- [start:handle_request]
def handle_request(request: Request) -> Response:
    """Route the request and run its handler; errors become their plain-text response."""
    try:
        return find_route(request).respond(request)
    except HttpError as error:
        return error_response(error)
# --8<-- [end:handle_request]
