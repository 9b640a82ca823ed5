"""Chapter 3, function by function: Content-Length validation, body framing, the echo route.

Requests are built with the stable `Request(method, target, version, headers, body)`, so a
header value can hold what a head on the wire rarely shows (a leading space, a non-ASCII
digit) and the tests do not depend on how the head parser treats it.
"""

import pytest

from course.unit import header, raises_http_error
from course.wire import show_bytes


def make_request(chapter_module, *headers, method="POST", target="/echo", body=b""):
    """A request with a Host header and the given (name, value) header fields."""
    request_module = chapter_module("request")
    return request_module.Request(method, target, "HTTP/1.1", [("Host", "localhost"), *headers], body)


# -- 3.1 parse_content_length ------------------------------------------------------------------


@pytest.mark.task("3.1")
@pytest.mark.points(1)
@pytest.mark.parametrize(
    "value, length",
    [("0", 0), ("5", 5), ("007", 7), ("1048576", 1048576), ("9223372036854775807", 2**63 - 1)],
    ids=["zero", "five", "leading-zeros", "one-MiB", "largest-allowed"],
)
def test_parse_content_length_reads_digits(chapter_module, value, length):
    """parse_content_length reads a Content-Length made of ASCII digits."""
    request = make_request(chapter_module, ("Content-Length", value))
    got = chapter_module("request").parse_content_length(request)
    assert got == length, f"parse_content_length gave {got!r} for `Content-Length: {value}`; expected {length}"


@pytest.mark.task("3.1")
@pytest.mark.points(1)
def test_parse_content_length_is_0_when_absent(chapter_module):
    """Without Content-Length (and without Transfer-Encoding) the body is empty: 0."""
    got = chapter_module("request").parse_content_length(make_request(chapter_module))
    assert got == 0, f"parse_content_length gave {got!r} for a request without Content-Length; expected 0"


@pytest.mark.task("3.1")
@pytest.mark.points(1)
def test_parse_content_length_name_is_case_insensitive(chapter_module):
    """A `content-length` field (any letter case) counts as Content-Length."""
    got = chapter_module("request").parse_content_length(make_request(chapter_module, ("content-LENGTH", "12")))
    assert got == 12, f"parse_content_length gave {got!r} for `content-LENGTH: 12`; expected 12"


# Python's int() reads all of these as a number, but none is 1*DIGIT (RFC 9110 §8.6).
INT_ACCEPTS = [
    "+5",
    "-1",
    "1_0",
    "\u0665",  # ARABIC-INDIC DIGIT FIVE: int() reads 5
    "\uff15",  # FULLWIDTH DIGIT FIVE: int() reads 5
]
# Around the items of a list only spaces and tabs are optional whitespace (RFC 9110 §5.6.1);
# str.strip() with no argument, and int(), also skip these.
ODD_SPACES = ["\x0b5", "5\x0c", "\xa05", "5\x85"]
# Neither a number to int() nor 1*DIGIT; "²" passes str.isdigit(), then int() raises ValueError.
NOT_NUMBERS = ["0x10", "5 5", "5.0", "1e3", "", "abc", "\u00b2"]


def not_refused(chapter_module, values):
    """The Content-Length values that parse_content_length did not refuse with HttpError(400)."""
    request_module = chapter_module("request")
    lines = []
    for value in values:
        request = make_request(chapter_module, ("Content-Length", value))
        problem = raises_http_error(chapter_module, 400, request_module.parse_content_length, request)
        if problem is not None:
            lines.append(f"  Content-Length {value!r}: {problem}")
    return lines


@pytest.mark.task("3.1")
@pytest.mark.points(3)
def test_parse_content_length_refuses_what_int_accepts(chapter_module):
    """Values int() would read (`+5`, `-1`, `1_0`, non-ASCII digits) raise HttpError(400)."""
    lines = not_refused(chapter_module, INT_ACCEPTS)
    assert not lines, (
        "Content-Length is ASCII digits 0-9 and nothing else (RFC 9110 §8.6), so each of these must "
        "raise HttpError(400):\n" + "\n".join(lines)
    )


@pytest.mark.task("3.1")
@pytest.mark.points(1)
def test_parse_content_length_strips_only_spaces_and_tabs(chapter_module):
    """Whitespace other than space and tab (vertical tab, no-break space...) makes a Content-Length invalid."""
    lines = not_refused(chapter_module, ODD_SPACES)
    assert not lines, (
        "only spaces and tabs may surround a list item (RFC 9110 §5.6.1): strip(\" \\t\"), not strip(). "
        "Each of these must raise HttpError(400):\n" + "\n".join(lines)
    )


@pytest.mark.task("3.1")
@pytest.mark.points(2)
def test_parse_content_length_refuses_what_is_not_a_number(chapter_module):
    """Values that are no decimal number at all (`0x10`, `5 5`, empty, `abc`, `²`) raise HttpError(400)."""
    lines = not_refused(chapter_module, NOT_NUMBERS)
    assert not lines, "each of these must raise HttpError(400), not anything else:\n" + "\n".join(lines)


@pytest.mark.task("3.1")
@pytest.mark.points(1)
@pytest.mark.parametrize(
    "value", ["9223372036854775808", "99999999999999999999999"], ids=["2**63", "23-digits"]
)
def test_parse_content_length_refuses_overflow(chapter_module, value):
    """A Content-Length beyond 2**63-1 raises HttpError(400)."""
    request_module = chapter_module("request")
    request = make_request(chapter_module, ("Content-Length", value))
    problem = raises_http_error(chapter_module, 400, request_module.parse_content_length, request)
    assert problem is None, f"`Content-Length: {value}` is beyond 2**63-1 and must raise HttpError(400); {problem}"


@pytest.mark.task("3.1")
@pytest.mark.points(1)
@pytest.mark.parametrize(
    "fields",
    [
        pytest.param([("Content-Length", "5"), ("Content-Length", "6")], id="two-fields"),
        pytest.param([("Content-Length", "5, 6")], id="comma-list"),
        pytest.param([("Content-Length", "5"), ("content-length", "5, 7")], id="list-in-second-field"),
    ],
)
def test_parse_content_length_refuses_differing_values(chapter_module, fields):
    """Content-Length values that differ (repeated fields or a comma list) raise HttpError(400)."""
    request_module = chapter_module("request")
    request = make_request(chapter_module, *fields)
    problem = raises_http_error(chapter_module, 400, request_module.parse_content_length, request)
    shown = "\\r\\n".join(f"{name}: {value}" for name, value in fields)
    assert problem is None, f"`{shown}` gives two different lengths and must raise HttpError(400); {problem}"


# -- 3.2 maybe_split_body ----------------------------------------------------------------------


@pytest.mark.task("3.2")
@pytest.mark.points(2)
def test_maybe_split_body_whole(chapter_module):
    """maybe_split_body(b"hello", 5) is (b"hello", b"")."""
    got = chapter_module("request").maybe_split_body(b"hello", 5)
    assert got == (b"hello", b""), f"maybe_split_body of\n{show_bytes(b'hello')}\nwith length 5 gave {got!r}"


@pytest.mark.task("3.2")
@pytest.mark.points(3)
def test_maybe_split_body_one_byte_at_a_time(chapter_module):
    """Fed one more byte at a time, maybe_split_body says None until the body is complete."""
    maybe_split_body = chapter_module("request").maybe_split_body
    body = b"a\r\n\r\nb\x00\xff end"
    for size in range(len(body)):
        got = maybe_split_body(body[:size], len(body))
        assert got is None, (
            f"with {size} of {len(body)} bytes received, maybe_split_body must return None (need more data); "
            f"it gave {got!r} for\n{show_bytes(body[:size])}"
        )
    got = maybe_split_body(body, len(body))
    assert got == (body, b""), f"with all {len(body)} bytes received it gave {got!r} for\n{show_bytes(body)}"


@pytest.mark.task("3.2")
@pytest.mark.points(3)
def test_maybe_split_body_leaves_the_next_request(chapter_module):
    """Bytes after the body come back as `rest`: they belong to the next request."""
    buffer = b"helloGET / HTTP/1.1\r\nHost: x\r\n\r\n"
    got = chapter_module("request").maybe_split_body(buffer, 5)
    assert got == (b"hello", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"), (
        f"maybe_split_body of\n{show_bytes(buffer)}\nwith length 5 gave {got!r}"
    )


@pytest.mark.task("3.2")
@pytest.mark.points(1)
@pytest.mark.parametrize("buffer", [b"", b"GET / HTTP/1.1\r\n"], ids=["nothing", "next-request"])
def test_maybe_split_body_of_length_0(chapter_module, buffer):
    """A body of length 0 is complete at once, whatever follows it."""
    got = chapter_module("request").maybe_split_body(buffer, 0)
    assert got == (b"", buffer), f"maybe_split_body of\n{show_bytes(buffer)}\nwith length 0 gave {got!r}"


# -- 3.3 The echo route ------------------------------------------------------------------------


@pytest.mark.task("3.3")
@pytest.mark.points(2)
def test_maybe_find_route_knows_post_echo(chapter_module):
    """maybe_find_route gives a handler for POST /echo and None for an unknown path."""
    maybe_find_route = chapter_module("app").maybe_find_route
    handler = maybe_find_route(make_request(chapter_module, ("Content-Length", "0")))
    assert callable(handler), f"maybe_find_route(POST /echo) gave {handler!r}, not a handler"
    unknown = maybe_find_route(make_request(chapter_module, ("Content-Length", "0"), target="/nowhere"))
    assert unknown is None, f"maybe_find_route(POST /nowhere) gave {unknown!r}; expected None"


@pytest.mark.task("3.3")
@pytest.mark.points(2)
@pytest.mark.parametrize(
    "content_type, expected",
    [("application/json", "application/json"), (None, "application/octet-stream")],
    ids=["copied", "default"],
)
def test_handle_request_echoes_the_body(chapter_module, content_type, expected):
    """handle_request(POST /echo with a body) is 200, that body, and the Content-Type copied."""
    body = b'{"x": "\xc3\xa9"}\r\n\x00\xff'
    headers = [("Content-Length", str(len(body)))]
    if content_type is not None:
        headers.append(("Content-Type", content_type))
    response = chapter_module("app").handle_request(make_request(chapter_module, *headers, body=body))
    assert response.status == 200, f"handle_request answered {response.status}, not 200"
    assert response.body == body, f"the echo's body is\n{show_bytes(response.body)}\ninstead of\n{show_bytes(body)}"
    got = header(response, "Content-Type")
    assert got == expected, f"the echo's Content-Type is {got!r}; expected {expected!r}"


# -- 3.4 body_length ---------------------------------------------------------------------------


@pytest.mark.task("3.4")
@pytest.mark.points(1)
@pytest.mark.parametrize("length, limit", [(0, 10), (10, 10), (1048576, 1048576)], ids=["0", "at-limit", "1MiB"])
def test_body_length_within_the_limit(chapter_module, length, limit):
    """body_length(request, max_body) is the Content-Length when it is within max_body."""
    request = make_request(chapter_module, ("Content-Length", str(length)))
    got = chapter_module("request").body_length(request, limit)
    assert got == length, f"body_length gave {got!r} for Content-Length {length} and max_body {limit}"


@pytest.mark.task("3.4")
@pytest.mark.points(2)
@pytest.mark.parametrize("length, limit", [(11, 10), (2**63 - 1, 1048576)], ids=["one-over", "huge"])
def test_body_length_over_the_limit_is_413(chapter_module, length, limit):
    """body_length raises HttpError(413) when Content-Length is over max_body."""
    request_module = chapter_module("request")
    request = make_request(chapter_module, ("Content-Length", str(length)))
    problem = raises_http_error(chapter_module, 413, request_module.body_length, request, limit)
    assert problem is None, f"Content-Length {length} with max_body {limit} must raise HttpError(413); {problem}"


@pytest.mark.task("3.4")
@pytest.mark.points(2)
@pytest.mark.parametrize("coding", ["chunked", "gzip, chunked"], ids=["chunked", "gzip-chunked"])
def test_body_length_refuses_transfer_encoding(chapter_module, chapter, coding):
    """body_length raises HttpError(501) when the request has Transfer-Encoding."""
    if chapter.number >= 8:
        # From chapter 8 on, Transfer-Encoding is decided by maybe_body_length (chunked is
        # decoded, other codings are 501 on the wire): chapter 8's suite grades that.
        return
    request_module = chapter_module("request")
    request = make_request(chapter_module, ("Transfer-Encoding", coding))
    problem = raises_http_error(chapter_module, 501, request_module.body_length, request, 1048576)
    assert problem is None, f"`Transfer-Encoding: {coding}` must raise HttpError(501); {problem}"
