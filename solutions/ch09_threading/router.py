"""A router: method + path pattern -> handler, the most specific pattern winning.

Strategy: a pattern is a path whose segments are literals (`users`), parameters (`{id}`,
exactly one segment) or, as the last segment, a wildcard (`{path...}`, one or more
segments). Matching works on the raw path split at "/" *before* percent-decoding, so an
encoded slash stays inside its segment; each segment is decoded afterwards. Among the routes
for the request's method whose pattern fits, an exact pattern beats one with parameters,
which beats a wildcard: `/users/me` is `me`, not user "me". A path that fits some pattern,
but not for this method, is a 405 that lists the methods that would work (`Allow`).
"""

from dataclasses import dataclass
from typing import Callable

from .request import HttpError, Request
from .response import Response
from .target import percent_decode

Handler = Callable[[Request, dict[str, str]], Response]

# Pattern kinds, most specific first: sorting candidates by kind puts the winner first.
EXACT = 0
PARAMETER = 1
WILDCARD = 2


@dataclass
class Route:
    method: str
    pattern: str  # e.g. "/users/{id}"
    handler: Handler


@dataclass
class RouteMatch:
    route: Route
    params: dict[str, str]  # parameter name -> percent-decoded value

    def respond(self, request: Request) -> Response:
        """Run the route's handler with the parameters its pattern captured."""
        return self.route.handler(request, self.params)


def split_path(path: str) -> list[str]:
    """"/users/42" -> ["users", "42"]; "/" -> [""]."""
    return path.split("/")[1:]


def is_wildcard(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("...}")


def is_parameter(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("}") and not is_wildcard(segment)


def pattern_kind(pattern: str) -> int:
    """EXACT, PARAMETER or WILDCARD: how specific a pattern is (lower is more specific)."""
    segments = split_path(pattern)
    if any(is_wildcard(segment) for segment in segments):
        return WILDCARD
    if any(is_parameter(segment) for segment in segments):
        return PARAMETER
    return EXACT


# --8<-- [start:match_pattern]
def match_pattern(pattern: str, path: str) -> dict[str, str] | None:
    """The parameters when the raw `path` fits `pattern`, else None.

    >>> match_pattern("/users/{id}", "/users/42")
    {'id': '42'}
    >>> match_pattern("/users/{path...}", "/users/a/b%20c")
    {'path': 'a/b c'}
    >>> match_pattern("/users/{id}", "/users/a/b") is None
    True
    """
    expected_segments = split_path(pattern)
    segments = split_path(path)
    params = {}
    for index, expected in enumerate(expected_segments):
        if is_wildcard(expected):
            rest = segments[index:]
            # One or more segments: "/users/" leaves nothing for the wildcard to take.
            if not "".join(rest):
                return None
            name = expected[1 : -len("...}")]
            params[name] = "/".join(percent_decode(segment) for segment in rest)
            return params
        if index >= len(segments):
            return None
        segment = segments[index]
        if is_parameter(expected):
            if not segment:
                return None  # "/users/" has no id
            params[expected[1:-1]] = percent_decode(segment)
        elif percent_decode(segment) != expected:
            return None
    if len(segments) != len(expected_segments):
        return None
    return params
# --8<-- [end:match_pattern]


class Router:
    """The routes of an application, in the order they were added."""

    def __init__(self):
        self.routes: list[Route] = []
        # Exact patterns by (method, pattern): the first added of each. See find.
        self.exact: dict[tuple[str, str], Route] = {}

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        route = Route(method, pattern, handler)
        self.routes.append(route)
        if pattern_kind(pattern) == EXACT:
            self.exact.setdefault((method, pattern), route)

    # --8<-- [start:find]
    def find(self, method: str, path: str) -> RouteMatch:
        """The most specific route for this method and raw path.

        Raises HttpError(404) when no pattern fits the path, HttpError(405) with an `Allow`
        header when patterns fit but none for this method.
        """
        # The common case first, in one dictionary lookup: a path written exactly as an exact
        # route's pattern. Exact routes win over the others anyway, so the answer is the same
        # as the full search below (which also handles percent-encoded paths, 404 and 405).
        # RFC 9110 §9.3.2: HEAD is GET without the body, so every GET route answers HEAD too.
        wanted = "GET" if method == "HEAD" else method
        route = self.exact.get((wanted, path))
        if route is not None:
            return RouteMatch(route, {})
        fitting = []
        for route in self.routes:
            params = match_pattern(route.pattern, path)
            if params is not None:
                fitting.append(RouteMatch(route, params))
        if not fitting:
            raise HttpError(404, f"There is nothing at {path}")
        for_method = [match for match in fitting if match.route.method == wanted]
        if not for_method:
            allowed = allowed_methods(fitting)
            # RFC 9110 §15.5.6: a 405 lists the methods the resource does support.
            raise HttpError(405, f"{method} is not allowed here", [("Allow", ", ".join(allowed))])
        # sorted() keeps the order of routes of the same kind: the first one added wins.
        return sorted(for_method, key=lambda match: pattern_kind(match.route.pattern))[0]
    # --8<-- [end:find]


def allowed_methods(matches: list[RouteMatch]) -> list[str]:
    """The methods of these routes, plus HEAD wherever GET is allowed, sorted."""
    methods = {match.route.method for match in matches}
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)
