"""Chapter 2, function by function: finer feedback on the sans-I/O parser and the app.

These call the stable API of CONTRIBUTING.md: `maybe_split_head`, `parse_request_line`,
`parse_header_line`, `parse_head` and `Request` (request.py), `handle_request` (app.py),
`Response` and `text_response` (response.py). Every failure shows the bytes the function was
given, CR and LF spelled out.
"""

import pytest

from course.wire import show_bytes

HEAD = b"GET /user-agent HTTP/1.1\r\nHost: localhost\r\nUser-Agent: unit/1.0\r\n\r\n"


def expect_error(request, call: str, function, argument: bytes, status: int, why: str) -> None:
    """`function(argument)` must raise request.HttpError carrying `status`.

    `call` is how the failure names the call, e.g. "parse_head(head)".
    """
    try:
        result = function(argument)
    except request.HttpError as error:
        got = getattr(error, "status", None)
        assert got == status, (
            f"{call} raised HttpError({got}) instead of HttpError({status}): {why}. It was given:\n{show_bytes(argument)}"
        )
        return
    pytest.fail(
        f"{call} returned {result!r} instead of raising HttpError({status}): {why}. It was given:\n{show_bytes(argument)}",
        pytrace=False,
    )


def values_of(headers, name: str) -> list:
    """The values of a header in a list of (name, value) pairs, by case-insensitive name."""
    return [value for key, value in headers if key.lower() == name.lower()]


def media_type_and_charset(content_type: str) -> tuple[str, str | None]:
    parts = [part.strip() for part in content_type.split(";")]
    charset = None
    for part in parts[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    return parts[0].lower(), charset


def expect_content_type(response, media_type: str, charset: str | None, what: str) -> None:
    found = values_of(response.headers, "Content-Type")
    assert len(found) == 1, f"{what}: expected one Content-Type header, the headers are {response.headers!r}"
    wanted = media_type + (f"; charset={charset}" if charset else " (no charset)")
    assert media_type_and_charset(found[0]) == (media_type, charset), (
        f"{what}: expected Content-Type: {wanted}, got {found[0]!r}"
    )


# -- 2.1 maybe_split_head -------------------------------------------------------------------


@pytest.mark.task("2.1")
@pytest.mark.points(2)
def test_maybe_split_head_splits_a_whole_head(chapter_module):
    """maybe_split_head(head, 8192) returns (head, b"") for a complete head."""
    result = chapter_module("request").maybe_split_head(HEAD, 8192)
    assert result == (HEAD, b""), f"maybe_split_head(head, 8192) returned {result!r}, not (head, b''), given:\n{show_bytes(HEAD)}"


@pytest.mark.task("2.1")
@pytest.mark.points(2)
def test_maybe_split_head_waits_for_the_last_byte(chapter_module):
    """Fed one more byte at a time, maybe_split_head returns None until the blank line's last byte."""
    maybe_split_head = chapter_module("request").maybe_split_head
    for end in range(len(HEAD)):
        prefix = HEAD[:end]
        result = maybe_split_head(prefix, 8192)
        assert result is None, (
            f"maybe_split_head returned {result!r} instead of None (the blank line has not arrived) "
            f"for these {end} bytes:\n{show_bytes(prefix, caret_at=end, note='more bytes will come here')}"
        )
    result = maybe_split_head(HEAD, 8192)
    assert result == (HEAD, b""), f"once the last byte came, maybe_split_head returned {result!r}, not (head, b'')"


@pytest.mark.task("2.1")
@pytest.mark.points(2)
@pytest.mark.parametrize(
    "rest",
    [
        pytest.param(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", id="next-request"),
        pytest.param(b"GET /", id="start-of-next-request"),
        pytest.param(b"body\nwith bare LF\n", id="body-with-bare-LF"),
    ],
)
def test_maybe_split_head_returns_the_bytes_after_the_head(chapter_module, rest):
    """Bytes after the first blank line come back untouched as `rest`: they belong to what follows."""
    buffer = HEAD + rest
    result = chapter_module("request").maybe_split_head(buffer, 8192)
    assert result == (HEAD, rest), (
        f"maybe_split_head returned {result!r}, not (head, rest) split right after the first CR LF CR LF, "
        f"given:\n{show_bytes(buffer, caret_at=len(HEAD), note='rest starts here')}"
    )


@pytest.mark.task("2.1")
@pytest.mark.points(2)
def test_maybe_split_head_accepts_a_head_of_exactly_max_head(chapter_module):
    """A head of exactly max_head bytes (blank line included) is within the limit, whatever follows it."""
    maybe_split_head = chapter_module("request").maybe_split_head
    max_head = len(HEAD)
    result = maybe_split_head(HEAD, max_head)
    assert result == (HEAD, b""), (
        f"maybe_split_head(head, {max_head}) returned {result!r}, not (head, b''): the head is exactly "
        f"{len(HEAD)} bytes, given:\n{show_bytes(HEAD)}"
    )
    rest = b"x" * 500
    result = maybe_split_head(HEAD + rest, max_head)
    assert result == (HEAD, rest), (
        f"maybe_split_head(head + rest, {max_head}) returned {result!r}, not (head, rest): the limit counts "
        f"the head only, not the bytes after it, given:\n{show_bytes(HEAD + rest, caret_at=len(HEAD), note='rest starts here')}"
    )


@pytest.mark.task("2.1")
@pytest.mark.points(1)
@pytest.mark.parametrize(
    "buffer, max_head",
    [
        pytest.param(HEAD, len(HEAD) - 1, id="head-one-byte-over"),
        pytest.param(HEAD + b"GET / HTTP/1.1\r\n", len(HEAD) - 1, id="head-one-byte-over-then-more"),
        pytest.param(b"GET / HTTP/1.1\r\nX-Padding: " + b"a" * 300, 200, id="no-blank-line-past-the-limit"),
    ],
)
def test_maybe_split_head_refuses_a_head_over_max_head_with_431(chapter_module, buffer, max_head):
    """A head over max_head bytes, or a buffer past max_head with no blank line yet, raises HttpError(431)."""
    request = chapter_module("request")
    expect_error(
        request,
        f"maybe_split_head(buffer, {max_head})",
        lambda data: request.maybe_split_head(data, max_head),
        buffer,
        431,
        f"the limit is {max_head} bytes, blank line included",
    )


@pytest.mark.task("2.1")
@pytest.mark.points(1)
@pytest.mark.parametrize(
    "buffer",
    [
        pytest.param(b"GET / HTTP/1.1\nHost: localhost\n\n", id="every-line-LF"),
        pytest.param(b"GET / HTTP/1.1\r\nHost: localhost\n\r\n", id="one-header-line-LF"),
        pytest.param(b"GET / HTTP/1.1\n", id="not-complete-yet"),
    ],
)
def test_maybe_split_head_refuses_a_bare_lf_with_400(chapter_module, buffer):
    """An LF without its CR in the head raises HttpError(400) at once: never wait for CR LF CR LF."""
    request = chapter_module("request")
    expect_error(
        request,
        "maybe_split_head(buffer, 8192)",
        lambda data: request.maybe_split_head(data, 8192),
        buffer,
        400,
        "lines end with CR LF, and an LF without its CR is malformed",
    )


# -- 2.2 parse_request_line -----------------------------------------------------------------


@pytest.mark.task("2.2")
@pytest.mark.points(2)
@pytest.mark.parametrize(
    "line, expected",
    [
        pytest.param(b"GET / HTTP/1.1", ("GET", "/", "HTTP/1.1"), id="GET-root"),
        pytest.param(b"GET /user-agent HTTP/1.0", ("GET", "/user-agent", "HTTP/1.0"), id="HTTP/1.0"),
        pytest.param(b"POST /a/b?c=d HTTP/1.1", ("POST", "/a/b?c=d", "HTTP/1.1"), id="other-method-and-query"),
    ],
)
def test_parse_request_line_splits_the_three_parts(chapter_module, line, expected):
    """parse_request_line returns (method, target, version) as str."""
    result = chapter_module("request").parse_request_line(line)
    assert tuple(result) == expected, f"parse_request_line returned {result!r}, not {expected!r}, given:\n{show_bytes(line)}"


@pytest.mark.task("2.2")
@pytest.mark.points(1)
@pytest.mark.parametrize("minor", ["2", "5", "9"])
def test_parse_request_line_serves_higher_minor_versions_as_1_1(chapter_module, minor):
    """HTTP/1.2 .. HTTP/1.9 come back as version "HTTP/1.1" (RFC 9110 §6.2)."""
    line = f"GET / HTTP/1.{minor}".encode()
    result = chapter_module("request").parse_request_line(line)
    assert tuple(result) == ("GET", "/", "HTTP/1.1"), (
        f"parse_request_line returned {result!r}, not ('GET', '/', 'HTTP/1.1'), given:\n{show_bytes(line)}"
    )


@pytest.mark.task("2.2")
@pytest.mark.points(1)
@pytest.mark.parametrize(
    "line",
    [
        pytest.param(b"GET /", id="no-version"),
        pytest.param(b"GET  / HTTP/1.1", id="two-spaces"),
        pytest.param(b"GET / HTTP/1.1 ", id="trailing-space"),
        pytest.param(b"GET / / HTTP/1.1", id="four-parts"),
        pytest.param(b"GET / http/1.1", id="lowercase-http"),
        pytest.param(b"GET / HTTP/1.10", id="two-digit-minor"),
        pytest.param(b"GET / HTTP/1", id="no-minor"),
        pytest.param(b"", id="empty-line"),
    ],
)
def test_parse_request_line_refuses_a_malformed_line_with_400(chapter_module, line):
    """A request line that is not `METHOD SP target SP HTTP/d.d` raises HttpError(400)."""
    request = chapter_module("request")
    expect_error(request, "parse_request_line(line)", request.parse_request_line, line, 400, "the line is malformed")


@pytest.mark.task("2.2")
@pytest.mark.points(1)
@pytest.mark.parametrize("version", ["HTTP/2.0", "HTTP/3.0", "HTTP/0.9"])
def test_parse_request_line_refuses_other_versions_with_505(chapter_module, version):
    """A well-formed version that is not HTTP/1.x raises HttpError(505)."""
    request = chapter_module("request")
    line = f"GET / {version}".encode()
    expect_error(request, "parse_request_line(line)", request.parse_request_line, line, 505, f"{version} is not HTTP/1.x")


# -- 2.3 parse_header_line, parse_head, Request --------------------------------------------


@pytest.mark.task("2.3")
@pytest.mark.points(1)
@pytest.mark.parametrize(
    "line, expected",
    [
        pytest.param(b"Host: example.com", ("Host", "example.com"), id="plain"),
        pytest.param(b"hOsT:example.com", ("hOsT", "example.com"), id="name-kept-as-sent"),
        pytest.param(b"User-Agent: \t a  b \t", ("User-Agent", "a  b"), id="spaces-and-tabs-stripped"),
        pytest.param(b"X-Empty:", ("X-Empty", ""), id="empty-value"),
        pytest.param(b"X-Time: 12:30", ("X-Time", "12:30"), id="colon-in-value"),
        pytest.param(b"X-Name: caf\xc3\xa9", ("X-Name", "caf\xc3\xa9"), id="bytes-decoded-latin-1"),
    ],
)
def test_parse_header_line_returns_name_and_value(chapter_module, line, expected):
    """parse_header_line returns (name as sent, value without surrounding spaces/tabs), Latin-1 str."""
    result = chapter_module("request").parse_header_line(line)
    assert tuple(result) == expected, f"parse_header_line returned {result!r}, not {expected!r}, given:\n{show_bytes(line)}"


@pytest.mark.task("2.3")
@pytest.mark.points(1)
@pytest.mark.parametrize(
    "line",
    [
        pytest.param(b"Host : example.com", id="space-before-colon"),
        pytest.param(b"Host\t: example.com", id="tab-before-colon"),
        pytest.param(b"Host example.com", id="no-colon"),
        pytest.param(b": example.com", id="empty-name"),
        pytest.param(b"X-Note: a\x00b", id="NUL-in-value"),
        pytest.param(b"X-Note: a\rb", id="CR-in-value"),
        pytest.param(b"X-Note: a\nb", id="LF-in-value"),
    ],
)
def test_parse_header_line_refuses_a_malformed_line_with_400(chapter_module, line):
    """Whitespace before the colon, no colon, no name, or CR/LF/NUL in the value: HttpError(400)."""
    request = chapter_module("request")
    expect_error(request, "parse_header_line(line)", request.parse_header_line, line, 400, "the header line is malformed")


@pytest.mark.task("2.3")
@pytest.mark.points(2)
def test_parse_head_builds_the_request(chapter_module):
    """parse_head returns a Request: method, target, version, and the headers in order as (name, value)."""
    head = b"GET /user-agent HTTP/1.1\r\nHost: localhost\r\nUser-Agent: unit/1.0\r\nAccept: */*\r\n\r\n"
    request = chapter_module("request").parse_head(head)
    got = (request.method, request.target, request.version, [tuple(pair) for pair in request.headers])
    expected = ("GET", "/user-agent", "HTTP/1.1", [("Host", "localhost"), ("User-Agent", "unit/1.0"), ("Accept", "*/*")])
    assert got == expected, f"parse_head gave (method, target, version, headers) = {got!r}, not {expected!r}, given:\n{show_bytes(head)}"


@pytest.mark.task("2.3")
@pytest.mark.points(2)
def test_request_looks_up_headers_by_any_letter_case(chapter_module):
    """Request.maybe_header and header_values find a header whatever the letter case of the name."""
    head = b"GET / HTTP/1.1\r\nhOsT: localhost\r\nX-Tag: one\r\nx-tag: two\r\n\r\n"
    request = chapter_module("request").parse_head(head)
    assert request.maybe_header("Host") == "localhost", (
        f"maybe_header('Host') returned {request.maybe_header('Host')!r}, not 'localhost', for:\n{show_bytes(head)}"
    )
    assert request.maybe_header("HOST") == "localhost", f"maybe_header('HOST') returned {request.maybe_header('HOST')!r}"
    assert request.maybe_header("Accept") is None, f"maybe_header('Accept') returned {request.maybe_header('Accept')!r}, not None"
    assert list(request.header_values("x-TAG")) == ["one", "two"], (
        f"header_values('x-TAG') returned {request.header_values('x-TAG')!r}, not ['one', 'two'], for:\n{show_bytes(head)}"
    )


@pytest.mark.task("2.3")
@pytest.mark.points(1)
@pytest.mark.parametrize(
    "head",
    [
        pytest.param(b"GET / HTTP/1.1\r\n\r\n", id="no-Host"),
        pytest.param(b"GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", id="two-Hosts"),
        pytest.param(b"GET / HTTP/1.2\r\nUser-Agent: x\r\n\r\n", id="HTTP/1.2-no-Host"),
    ],
)
def test_parse_head_requires_one_host_in_http_1_1(chapter_module, head):
    """parse_head raises HttpError(400) for an HTTP/1.1 head without exactly one Host."""
    request = chapter_module("request")
    expect_error(request, "parse_head(head)", request.parse_head, head, 400, "HTTP/1.1 needs exactly one Host header")


@pytest.mark.task("2.3")
@pytest.mark.points(1)
def test_parse_head_accepts_http_1_0_without_host(chapter_module):
    """parse_head accepts an HTTP/1.0 head with no Host."""
    head = b"GET / HTTP/1.0\r\nUser-Agent: old\r\n\r\n"
    request = chapter_module("request").parse_head(head)
    assert request.version == "HTTP/1.0", f"version is {request.version!r}, not 'HTTP/1.0', given:\n{show_bytes(head)}"


@pytest.mark.task("2.3")
@pytest.mark.points(1)
@pytest.mark.parametrize(
    "head, status",
    [
        pytest.param(b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505, id="HTTP/2.0"),
        pytest.param(b"GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400, id="space-before-colon"),
        pytest.param(b"GET / HTTP/1.1\r\nHost: a\r\nX-Note: a\x00b\r\n\r\n", 400, id="NUL-in-value"),
    ],
)
def test_parse_head_passes_on_line_errors(chapter_module, head, status):
    """parse_head raises the HttpError of a malformed request line or header line."""
    request = chapter_module("request")
    expect_error(request, "parse_head(head)", request.parse_head, head, status, "one of its lines is refused")


# -- 2.4 handle_request ---------------------------------------------------------------------


def make_request(chapter_module, target: str, headers: list[tuple[str, str]]):
    return chapter_module("request").Request("GET", target, "HTTP/1.1", headers, b"")


@pytest.mark.task("2.4")
@pytest.mark.points(2)
def test_handle_request_says_hello_on_root(chapter_module):
    """handle_request(GET /) returns Response(200, text/plain; charset=utf-8, b"Hello, World!")."""
    response = chapter_module("app").handle_request(make_request(chapter_module, "/", [("Host", "localhost")]))
    assert response.status == 200, f"GET / gave status {response.status}, not 200"
    expect_content_type(response, "text/plain", "utf-8", "GET /")
    assert response.body == b"Hello, World!", f"GET / gave the body {response.body!r}, not b'Hello, World!'"
    assert not values_of(response.headers, "Content-Length"), (
        f"GET /: Content-Length is the server's business (build_response adds it), the headers are {response.headers!r}"
    )


@pytest.mark.task("2.4")
@pytest.mark.points(2)
def test_handle_request_sends_the_user_agent_bytes_back(chapter_module):
    """handle_request(GET /user-agent) returns the value's original bytes (Latin-1), text/plain, no charset."""
    agent = "caf\xc3\xa9/1.0"  # the UTF-8 bytes of "café/1.0", as parse_header_line decodes them (Latin-1)
    request = make_request(chapter_module, "/user-agent", [("Host", "localhost"), ("user-agent", agent)])
    response = chapter_module("app").handle_request(request)
    assert response.status == 200, f"GET /user-agent gave status {response.status}, not 200"
    expect_content_type(response, "text/plain", None, "GET /user-agent")
    assert response.body == b"caf\xc3\xa9/1.0", (
        f"GET /user-agent with the header ('user-agent', {agent!r}) gave the body {response.body!r}, not the bytes "
        f"that came on the wire, b'caf\\xc3\\xa9/1.0' (encode the Latin-1 string back with Latin-1)"
    )


@pytest.mark.task("2.4")
@pytest.mark.points(1)
@pytest.mark.parametrize("target", ["/nope", "/user-agent/more", "/USER-AGENT"])
def test_handle_request_answers_404_elsewhere(chapter_module, target):
    """handle_request returns 404 with a text/plain; charset=utf-8 body for any other path."""
    response = chapter_module("app").handle_request(make_request(chapter_module, target, [("Host", "localhost")]))
    assert response.status == 404, f"GET {target} gave status {response.status}, not 404"
    expect_content_type(response, "text/plain", "utf-8", f"GET {target}")
    assert response.body, f"GET {target}: a 404 needs a short body saying what went wrong"

