"""The application: which response each request gets.

Strategy: a route is a function from Request to Response. `maybe_find_route` picks one from
the method and path, before the body is read, so a request for nothing is refused without
reading its body; `handle_request` runs it. Nothing here knows about sockets.
"""

from typing import Callable

from .request import Request
from .response import Response, text_response

Handler = Callable[[Request], Response]


def hello(request: Request) -> Response:
    return text_response(200, "Hello, World!")


def user_agent(request: Request) -> Response:
    # Back byte for byte: Latin-1 turns each character into the byte it came from. No
    # charset in the Content-Type: we do not know what encoding the client used.
    value = request.maybe_header("User-Agent") or ""
    return Response(200, [("Content-Type", "text/plain")], value.encode("latin-1"))


# --8<-- [start:echo]
def echo(request: Request) -> Response:
    """POST /echo: the body back, with the Content-Type the request declared."""
    # TODO(task 3.3): Echo the body back. Read section 3.3 of chapter 3 (docs/chapters/ch03_bodies.md).
    raise NotImplementedError("task 3.3 (Echo the body back) is still to do: see docs/chapters/ch03_bodies.md")
# --8<-- [end:echo]


def request_path(request: Request) -> str:
    return request.target.split("?", 1)[0]


# --8<-- [start:maybe_find_route]
def maybe_find_route(request: Request) -> Handler | None:
    """The handler for this method and path, or None when there is none."""
    path = request_path(request)
    if path == "/":
        return hello
    if path == "/user-agent":
        return user_agent
    # TODO(task 3.3): Echo the body back. Read section 3.3 of chapter 3 (docs/chapters/ch03_bodies.md).
    raise NotImplementedError("task 3.3 (Echo the body back) is still to do: see docs/chapters/ch03_bodies.md")
    return None
# --8<-- [end:maybe_find_route]


# --8<-- [start:handle_request]
def handle_request(request: Request) -> Response:
    """Run the request's route, or answer 404 when it has none."""
    handler = maybe_find_route(request)
    if handler is None:
        return text_response(404, f"There is nothing at {request_path(request)}")
    return handler(request)
# --8<-- [end:handle_request]
