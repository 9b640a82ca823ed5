"""Chapter 4, function by function: the target taken apart, patterns matched, routes chosen.

The router is tested with a `Router` of our own whose handlers only say who they are, so
priority is checked whatever order the routes are added in, apart from the application's
table. Requests are built with the stable `Request(method, target, version, headers, body)`.
"""

import itertools
import json

import pytest

from course.unit import raises_http_error


def make_request(chapter_module, method="GET", target="/", *headers, body=b""):
    """A request with a Host header and the given (name, value) header fields."""
    request_module = chapter_module("request")
    return request_module.Request(method, target, "HTTP/1.1", [("Host", "localhost"), *headers], body)


def raised_http_error(chapter_module, function, *args):
    """Call `function(*args)` expecting an HttpError: (the error, None) or (None, what happened)."""
    HttpError = chapter_module("request").HttpError
    try:
        result = function(*args)
    except HttpError as error:
        return error, None
    except NotImplementedError:
        raise
    except Exception as error:
        return None, f"it raised {type(error).__name__}: {error}"
    return None, f"it returned {result!r}"


def header(response, name):
    values = [value for key, value in response.headers if key.lower() == name.lower()]
    return ", ".join(values) if values else None


def body_json(response):
    """The response body parsed as JSON; the test fails if it is not JSON."""
    try:
        return json.loads(response.body.decode("utf-8"))
    except ValueError as error:
        problem = f"the response body is not JSON ({error}): {response.body[:300]!r}"
    pytest.fail(problem, pytrace=False)


# -- 4.1 split_target, percent_decode, parse_query ----------------------------------------------


def call(function, *args):
    """`function(*args)`, or what it raised, as text (the starter's NotImplementedError goes through)."""
    try:
        return function(*args)
    except NotImplementedError:
        raise
    except Exception as error:
        return f"<it raised {type(error).__name__}: {error}>"


def wrong_results(function, name, cases, compare=lambda got, expected: got == expected):
    """The lines `name(args) gave X; expected Y` for the cases (args tuple, expected) it gets wrong."""
    lines = []
    for args, expected in cases:
        got = call(function, *args)
        if not compare(got, expected):
            shown = ", ".join(repr(arg) for arg in args)
            lines.append(f"  {name}({shown}) gave {got!r}; expected {expected!r}")
    return lines


def not_refused(chapter_module, status, function, name, cases):
    """The lines for the argument tuples on which `function` does not raise HttpError(status)."""
    lines = []
    for args in cases:
        problem = raises_http_error(chapter_module, status, function, *args)
        if problem is not None:
            lines.append(f"  {name}({', '.join(repr(arg) for arg in args)}): {problem}")
    return lines


def same_pair(got, expected):
    return isinstance(got, (tuple, list)) and tuple(got) == expected


@pytest.mark.task("4.1")
@pytest.mark.points(2)
def test_split_target_origin_form(chapter_module):
    """split_target splits at the first `?` and decodes nothing: (raw path, raw query)."""
    cases = [
        (("/users/42?tab=posts",), ("/users/42", "tab=posts")),
        (("/",), ("/", "")),
        (("/info?",), ("/info", "")),
        (("/a?b=1?c=2/d",), ("/a", "b=1?c=2/d")),
        (("/echo/a%2Fb?x=%26",), ("/echo/a%2Fb", "x=%26")),
    ]
    lines = wrong_results(chapter_module("target").split_target, "split_target", cases, same_pair)
    assert not lines, "split_target must split at the first ? and leave the escapes for later:\n" + "\n".join(lines)


@pytest.mark.task("4.1")
@pytest.mark.points(2)
def test_split_target_absolute_form(chapter_module):
    """split_target drops the scheme and authority of an absolute-form target (no path means /)."""
    cases = [
        (("http://example.com/users/42",), ("/users/42", "")),
        (("http://127.0.0.1:8080/info?x=1",), ("/info", "x=1")),
        (("https://example.com",), ("/", "")),
        (("http://example.com?x=1",), ("/", "x=1")),
        (("HTTP://EXAMPLE.COM/A",), ("/A", "")),
    ]
    lines = wrong_results(chapter_module("target").split_target, "split_target", cases, same_pair)
    assert not lines, "a server must accept the absolute form (RFC 9112 §3.2.2):\n" + "\n".join(lines)


@pytest.mark.task("4.1")
@pytest.mark.points(1)
def test_split_target_refuses_other_forms(chapter_module):
    """A target that is neither /path nor scheme://host/path raises HttpError(400)."""
    cases = [("users/42",), ("example.com/x",), ("?x=1",)]
    lines = not_refused(chapter_module, 400, chapter_module("target").split_target, "split_target", cases)
    assert not lines, "each of these must raise HttpError(400):\n" + "\n".join(lines)


@pytest.mark.task("4.1")
@pytest.mark.points(3)
def test_percent_decode(chapter_module):
    """percent_decode turns each %XX into a byte and reads the bytes as UTF-8 (a `+` stays a `+`)."""
    cases = [
        (("hello",), "hello"),
        (("a%20b",), "a b"),
        (("caf%C3%A9",), "café"),
        (("caf%c3%a9",), "café"),
        (("%F0%9F%98%80",), "😀"),
        (("a%2Fb",), "a/b"),
        (("100%25",), "100%"),
        (("%2541",), "%41"),
        (("1+1",), "1+1"),
        (("",), ""),
    ]
    lines = wrong_results(chapter_module("target").percent_decode, "percent_decode", cases)
    assert not lines, (
        "decode every %XX to its byte first, then read all the bytes as UTF-8 (é is %C3%A9, two bytes); "
        "decode once, and leave + alone:\n" + "\n".join(lines)
    )


@pytest.mark.task("4.1")
@pytest.mark.points(2)
def test_percent_decode_refuses_bad_escapes(chapter_module):
    """A `%` without two hex digits, or escapes that are not UTF-8, raise HttpError(400)."""
    cases = [(text,) for text in ["%", "%4", "abc%", "%zz", "%G1", "% 1", "%C3", "%C3%28", "%FF", "%E2%82"]]
    lines = not_refused(chapter_module, 400, chapter_module("target").percent_decode, "percent_decode", cases)
    assert not lines, (
        "a % must be followed by two hex digits (RFC 3986 §2.1), and the bytes must be UTF-8; "
        "each of these must raise HttpError(400):\n" + "\n".join(lines)
    )


@pytest.mark.task("4.1")
@pytest.mark.points(3)
def test_parse_query(chapter_module):
    """parse_query gives {name: [values]}: split at & and =, then `+` is a space and escapes decoded."""
    cases = [
        (("",), {}),
        (("a=1",), {"a": ["1"]}),
        (("a=1&b=x+y&a=2",), {"a": ["1", "2"], "b": ["x y"]}),
        (("q=caf%C3%A9%20au+lait",), {"q": ["café au lait"]}),
        (("amp=%26&eq=a%3Db&plus=%2B",), {"amp": ["&"], "eq": ["a=b"], "plus": ["+"]}),
        (("a=b=c",), {"a": ["b=c"]}),
        (("na%6De=x&first+name=Ada",), {"name": ["x"], "first name": ["Ada"]}),
        (("flag&a=",), {"flag": [""], "a": [""]}),
        (("a=1&&b=2&",), {"a": ["1"], "b": ["2"]}),
    ]
    lines = wrong_results(chapter_module("target").parse_query, "parse_query", cases)
    assert not lines, "split at & and at the first =, then turn + into a space and percent-decode:\n" + "\n".join(lines)


@pytest.mark.task("4.1")
@pytest.mark.points(1)
def test_parse_query_refuses_bad_escapes(chapter_module):
    """A bad escape in a query name or value raises HttpError(400)."""
    cases = [("a=%zz",), ("%C3=1",), ("a=1&b=%",)]
    lines = not_refused(chapter_module, 400, chapter_module("target").parse_query, "parse_query", cases)
    assert not lines, "each of these must raise HttpError(400):\n" + "\n".join(lines)


# -- 4.2 match_pattern, Router.find ------------------------------------------------------------


@pytest.mark.task("4.2")
@pytest.mark.points(3)
def test_match_pattern_fits(chapter_module):
    """match_pattern returns the decoded parameters when the raw path fits the pattern."""
    cases = [
        (("/", "/"), {}),
        (("/users/me", "/users/me"), {}),
        (("/users/{id}", "/users/42"), {"id": "42"}),
        (("/users/{id}", "/users/J%C3%B6rg"), {"id": "Jörg"}),
        (("/users/{id}", "/users/a%2Fb"), {"id": "a/b"}),
        (("/echo/{text}", "/echo/a%20b"), {"text": "a b"}),
        (("/users/{path...}", "/users/a"), {"path": "a"}),
        (("/users/{path...}", "/users/a/b%20c/d"), {"path": "a/b c/d"}),
        (("/{a}/x/{b}", "/1/x/2"), {"a": "1", "b": "2"}),
    ]
    lines = wrong_results(chapter_module("router").match_pattern, "match_pattern", cases)
    assert not lines, "split the raw path at /, then decode each segment:\n" + "\n".join(lines)


@pytest.mark.task("4.2")
@pytest.mark.points(3)
def test_match_pattern_does_not_fit(chapter_module):
    """match_pattern returns None when the path does not fit (a wildcard needs one or more segments)."""
    cases = [
        (("/", "/x"), None),
        (("/users/me", "/users/you"), None),
        (("/users/me", "/users/me/x"), None),
        (("/users/{id}", "/users/a/b"), None),
        (("/users/{id}", "/users"), None),
        (("/users/{id}", "/users/"), None),
        (("/users/{id}", "/users/42/"), None),
        (("/users/{path...}", "/users"), None),
        (("/users/{path...}", "/users/"), None),
        (("/users/{path...}", "/people/a"), None),
        (("/echo/{text}", "/echo/a/b"), None),
    ]
    lines = wrong_results(chapter_module("router").match_pattern, "match_pattern", cases, lambda got, _: got is None)
    assert not lines, (
        "a {parameter} takes exactly one non-empty segment, a {wildcard...} one or more; these do not fit:\n"
        + "\n".join(lines)
    )


def named_handler(name):
    """A handler that answers who it is and what it was given."""

    def handler(request, params):
        return (name, dict(params))

    return handler


USER_ROUTES = [
    ("GET", "/users/{path...}", "wildcard"),
    ("GET", "/users/{id}", "parameter"),
    ("GET", "/users/me", "exact"),
]


def build_router(chapter_module, routes):
    router = chapter_module("router").Router()
    for method, pattern, name in routes:
        router.add(method, pattern, named_handler(name))
    return router


@pytest.mark.task("4.2")
@pytest.mark.points(3)
def test_router_priority_whatever_the_order(chapter_module):
    """Router.find picks exact > parameter > wildcard, in whichever order the routes were added."""
    request = make_request(chapter_module)
    cases = [
        ("/users/me", ("exact", {})),
        ("/users/42", ("parameter", {"id": "42"})),
        ("/users/a/b", ("wildcard", {"path": "a/b"})),
    ]
    for order in itertools.permutations(USER_ROUTES):
        router = build_router(chapter_module, order)
        for path, expected in cases:
            got = call(lambda: router.find("GET", path).respond(request))
            added = ", ".join(pattern for _method, pattern, _name in order)
            assert got == expected, (
                f"with the routes added in the order {added}, Router.find('GET', {path!r}) ran "
                f"{got!r} (route, params); expected the {expected[0]} route with {expected[1]!r}"
            )


@pytest.mark.task("4.2")
@pytest.mark.points(1)
def test_router_unknown_path_is_404(chapter_module):
    """Router.find raises HttpError(404) when no route's pattern fits the path, for any method."""
    router = build_router(chapter_module, USER_ROUTES + [("POST", "/json", "json")])
    for method, path in [("GET", "/nowhere"), ("GET", "/users"), ("POST", "/json/x"), ("DELETE", "/")]:
        problem = raises_http_error(chapter_module, 404, router.find, method, path)
        assert problem is None, f"Router.find({method!r}, {path!r}) must raise HttpError(404): no pattern fits; {problem}"


@pytest.mark.task("4.2")
@pytest.mark.points(3)
def test_router_wrong_method_is_405_with_allow(chapter_module):
    """Router.find raises HttpError(405) with an Allow header listing the methods the path takes."""
    routes = USER_ROUTES + [("POST", "/json", "json"), ("GET", "/things/{id}", "get"), ("PUT", "/things/{id}", "put")]
    router = build_router(chapter_module, routes)
    cases = [("POST", "/users/42", {"GET"}), ("GET", "/json", {"POST"}), ("DELETE", "/things/7", {"GET", "PUT"})]
    for method, path, allowed in cases:
        error, problem = raised_http_error(chapter_module, router.find, method, path)
        assert error is not None and error.status == 405, (
            f"Router.find({method!r}, {path!r}) must raise HttpError(405): the path exists for other methods; "
            f"{problem or f'it raised HttpError({error.status}, ...)'}"
        )
        values = [value for name, value in error.headers if name.lower() == "allow"]
        assert values, (
            f"the 405 for {method} {path} must carry an Allow header (RFC 9110 §15.5.6), in HttpError's headers; "
            f"they are {error.headers!r}"
        )
        listed = {token.strip() for value in values for token in value.split(",") if token.strip()}
        extra = listed - allowed - {"HEAD"}
        assert allowed <= listed and not extra, (
            f"the 405 for {method} {path} says Allow: {', '.join(values)}; it must list {sorted(allowed)} "
            "(HEAD may be added wherever GET is) and nothing else"
        )


@pytest.mark.task("4.2")
@pytest.mark.points(1)
def test_router_head_uses_the_get_route(chapter_module):
    """Router.find('HEAD', path) finds the GET route: HEAD is GET without the body."""
    router = build_router(chapter_module, USER_ROUTES)
    got = call(lambda: router.find("HEAD", "/users/42").respond(make_request(chapter_module, "HEAD", "/users/42")))
    assert got == ("parameter", {"id": "42"}), f"Router.find('HEAD', '/users/42') ran {got!r}; expected the GET /users/{{id}} route"


@pytest.mark.task("4.2")
@pytest.mark.points(1)
def test_router_same_kind_first_added_wins(chapter_module):
    """Between two patterns of the same kind that both fit, the first one added wins."""
    routes = [("GET", "/{a}/x", "first"), ("GET", "/y/{b}", "second")]
    router = build_router(chapter_module, routes)
    got = call(lambda: router.find("GET", "/y/x").respond(make_request(chapter_module)))
    assert got == ("first", {"a": "y"}), f"Router.find('GET', '/y/x') ran {got!r}; expected the first route added, /{{a}}/x"


# -- 4.3 find_route: 501 -----------------------------------------------------------------------


@pytest.mark.task("4.3")
@pytest.mark.points(2)
def test_find_route_unknown_method_is_501(chapter_module):
    """find_route raises HttpError(501) for a method the server does not know (BREW, lower-case get), on any path."""
    lines = []
    for method, target in [("BREW", "/"), ("FROB", "/info"), ("get", "/"), ("BREW", "/nowhere")]:
        request = make_request(chapter_module, method, target)
        problem = raises_http_error(chapter_module, 501, chapter_module("app").find_route, request)
        if problem is not None:
            lines.append(f"  find_route({method} {target}): {problem}")
    assert not lines, (
        "a method unknown to the whole server is 501, checked before the path (RFC 9110 §15.6.2); "
        "method names are case-sensitive:\n" + "\n".join(lines)
    )


@pytest.mark.task("4.3")
@pytest.mark.points(1)
def test_handle_request_answers_501_and_405(chapter_module):
    """handle_request answers 501 for BREW /, and 405 with Allow for POST /info."""
    handle_request = chapter_module("app").handle_request
    response = handle_request(make_request(chapter_module, "BREW", "/"))
    assert response.status == 501, f"handle_request(BREW /) answered {response.status}; expected 501"
    response = handle_request(make_request(chapter_module, "POST", "/info", ("Content-Length", "0")))
    assert response.status == 405, f"handle_request(POST /info) answered {response.status}; expected 405"
    allow = header(response, "Allow") or ""
    assert "GET" in [token.strip() for token in allow.split(",")], f"the 405 for POST /info says Allow: {allow!r}; it must list GET"


# -- 4.4 info and json_echo --------------------------------------------------------------------


@pytest.mark.task("4.4")
@pytest.mark.points(2)
def test_info_reports_the_request(chapter_module):
    """handle_request(GET /info?...) answers JSON with the method, decoded path, query and lower-case headers."""
    request = make_request(
        chapter_module, "GET", "/info?tag=a&tag=b+c&q=%C3%A9", ("User-Agent", "unit/4"), ("X-Mixed-Case", "Keep Me")
    )
    response = chapter_module("app").handle_request(request)
    assert response.status == 200, f"handle_request(GET /info) answered {response.status}; expected 200"
    content_type = (header(response, "Content-Type") or "").split(";")[0].strip().lower()
    assert content_type == "application/json", f"/info answered Content-Type: {header(response, 'Content-Type')}"
    expected = {
        "method": "GET",
        "path": "/info",
        "query": {"tag": ["a", "b c"], "q": ["é"]},
        "headers": {"host": "localhost", "user-agent": "unit/4", "x-mixed-case": "Keep Me"},
    }
    got = body_json(response)
    assert got == expected, f"/info answered {got!r}; expected {expected!r}"


@pytest.mark.task("4.4")
@pytest.mark.points(2)
def test_json_echo_sends_the_value_back(chapter_module):
    """handle_request(POST /json) answers 200, application/json, with the parsed body's value."""
    value = {"text": "café ☕", "list": [1, 2.5, None, True], "nested": {"empty": []}}
    body = json.dumps(value, ensure_ascii=False).encode("utf-8")
    request = make_request(chapter_module, "POST", "/json", ("Content-Length", str(len(body))), body=body)
    response = chapter_module("app").handle_request(request)
    assert response.status == 200, f"handle_request(POST /json) answered {response.status}; expected 200"
    content_type = (header(response, "Content-Type") or "").split(";")[0].strip().lower()
    assert content_type == "application/json", f"/json answered Content-Type: {header(response, 'Content-Type')}"
    got = body_json(response)
    assert got == value, f"/json answered {got!r}; expected {value!r}"


@pytest.mark.task("4.4")
@pytest.mark.points(1)
def test_json_echo_refuses_what_is_not_json(chapter_module):
    """handle_request(POST /json) answers 400 for a body that is not JSON (NaN and bad UTF-8 included)."""
    handle_request = chapter_module("app").handle_request
    lines = []
    for body in [b"", b"{", b"nope", b"{'a': 1}", b"[1] [2]", b"[NaN]", b'"\xff"']:
        request = make_request(chapter_module, "POST", "/json", ("Content-Length", str(len(body))), body=body)
        response = handle_request(request)
        if response.status != 400:
            lines.append(f"  {body!r}: {response.status}")
    assert not lines, "each of these bodies is not JSON (RFC 8259) and must get 400; handle_request answered:\n" + "\n".join(lines)
