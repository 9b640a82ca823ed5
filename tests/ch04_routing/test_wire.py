"""Chapter 4 on the wire: routing by method and path, the target decoded, 405/501, HEAD, JSON, Date.

Only the routes of COURSE_SPEC §4.4 (and `/`), and paths no chapter ever serves, are used, so
the tests keep passing against later chapters. Responses are read by their Content-Length,
never by waiting for the close, except after a request that says `Connection: close`. What the
spec leaves open is left open: header order and letter case, error wording, a charset on
`text/plain` (absent, or utf-8), JSON whitespace and key order (bodies are compared parsed),
HEAD in `Allow`, extra headers.
"""

import http.client
import json
import re
import subprocess
from datetime import datetime, timezone

import h11
import httpx
import pytest
import requests

from course.oracle import h11_exchange as strict_exchange
from course.pytest_plugin import require_tool
from course.wire import WireFailure, show_bytes

pytestmark = pytest.mark.wire

GET_ROOT = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"


def request(method: bytes, target: bytes, extra: bytes = b"", body: bytes | None = None) -> bytes:
    """A request head (plus its body, with a Content-Length, when `body` is given)."""
    head = method + b" " + target + b" HTTP/1.1\r\nHost: localhost\r\n" + extra
    if body is None:
        return head + b"\r\n"
    return head + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body


def fail_client(server, problem: str) -> None:
    """Fail with a real client's view of the exchange (shown as it is, without a traceback)."""
    raise WireFailure(f"{problem}\n{server.hint.render()}") from None


def media_type(value: str | None) -> tuple[str, dict[str, str]]:
    """`text/plain; Charset="UTF-8"` -> ("text/plain", {"charset": "utf-8"})."""
    parts = [part.strip() for part in (value or "").split(";")]
    params = {}
    for part in parts[1:]:
        key, _equals, val = part.partition("=")
        params[key.strip().lower()] = val.strip().strip('"').lower()
    return parts[0].lower(), params


def expect_media_type(response, wanted: str) -> None:
    """Content-Type with this media type; a charset, if there is one, must be utf-8."""
    response.expect_header("Content-Type")
    value = response.header("Content-Type")
    kind, params = media_type(value)
    if kind != wanted or params.get("charset", "utf-8") != "utf-8":
        response.fail(
            f"Content-Type: {wanted} (a charset parameter is optional, and utf-8 if present)",
            f"the response says Content-Type: {value}.",
        )


def expect_text(response, text: str, why: str = "") -> None:
    """200 OK, text/plain, and the text as UTF-8 bytes, counted by Content-Length."""
    body = text.encode("utf-8")
    response.expect_status(200, why)
    expect_media_type(response, "text/plain")
    response.expect_header("Content-Length", str(len(body)))
    response.expect_body(body, why)


def expect_json(response, why: str = ""):
    """200 OK, Content-Type: application/json, and a body that parses as JSON: its value."""
    response.expect_status(200, why)
    expect_media_type(response, "application/json")
    try:
        return json.loads(response.body.decode("utf-8"))
    except ValueError as error:
        response.fail(f"a JSON body ({why})" if why else "a JSON body", f"it does not parse: {error}.")


def expect_info(response, why: str = "") -> dict:
    """The /info JSON object, with its four members."""
    info = expect_json(response, why)
    missing = [key for key in ("method", "path", "query", "headers") if not isinstance(info, dict) or key not in info]
    if missing:
        response.fail('a JSON object with "method", "path", "query" and "headers"', f"{missing} are missing.")
    return info


def expect_member(response, info: dict, key: str, wanted, why: str = "") -> None:
    if info.get(key) != wanted:
        response.fail(
            f'"{key}": {json.dumps(wanted, ensure_ascii=False)}' + (f" ({why})" if why else ""),
            f'the JSON says "{key}": {json.dumps(info.get(key), ensure_ascii=False)}.',
        )


def allowed_methods(response) -> set[str]:
    """The methods an Allow header lists (it may come as several fields)."""
    return {token.strip() for value in response.header_values("Allow") for token in value.split(",") if token.strip()}


DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
# RFC 9110 §5.6.7: IMF-fixdate = day-name "," SP date1 SP time-of-day SP GMT, e.g.
# `Sun, 06 Nov 1994 08:49:37 GMT`; every part has a fixed width, and the zone is always GMT.
IMF_FIXDATE = re.compile(
    rf"({'|'.join(DAYS)}), ([0-9]{{2}}) ({'|'.join(MONTHS)}) ([0-9]{{4}}) ([0-9]{{2}}):([0-9]{{2}}):([0-9]{{2}}) GMT"
)
CLOCK_SKEW = 300  # seconds: the server and the test share one machine, but be generous


def expect_date(response, why: str = "") -> None:
    """One Date header, an IMF-fixdate (RFC 9110 §5.6.7) within a few minutes of now."""
    expected = "a Date header such as `Date: Sun, 06 Nov 1994 08:49:37 GMT` (RFC 9110 §6.6.1)" + (f" {why}" if why else "")
    values = response.header_values("Date")
    if len(values) != 1:
        response.fail(expected, "the response has no Date header." if not values else f"the response has {len(values)}: {values!r}.")
    value = values[0]
    match = IMF_FIXDATE.fullmatch(value)
    if not match:
        response.fail(
            expected,
            f"`Date: {value}` is not an IMF-fixdate: day name, comma, 2-digit day, month name, "
            "4-digit year, HH:MM:SS, then GMT (RFC 9110 §5.6.7; email.utils.formatdate(usegmt=True) writes one).",
        )
    day_name, day, month, year, hour, minute, second = match.groups()
    try:
        moment = datetime(int(year), MONTHS.index(month) + 1, int(day), int(hour), int(minute), int(second), tzinfo=timezone.utc)
    except ValueError as error:
        response.fail(expected, f"`Date: {value}` is not a real moment: {error}.")
    if DAYS[moment.weekday()] != day_name:
        response.fail(expected, f"`Date: {value}`: {day} {month} {year} is a {DAYS[moment.weekday()]}, not a {day_name}.")
    skew = (moment - datetime.now(timezone.utc)).total_seconds()
    if abs(skew) > CLOCK_SKEW:
        response.fail(
            expected + ", the current time in GMT",
            f"`Date: {value}` is {abs(skew):.0f} s {'ahead of' if skew > 0 else 'behind'} this machine's clock "
            "(the Date is the time the response was made, in GMT, not local time).",
        )


# -- 4.1 Split the target and decode it --------------------------------------------------------


def expect_echoes(server, cases, why):
    """GET /echo/{encoded} answers each text, one connection per case."""
    for encoded, text in cases:
        response = server.exchange(
            request(b"GET", b"/echo/" + encoded), expect=f"200 OK with the text {text!r}, percent-decoded"
        )
        expect_text(response, text, why)


@pytest.mark.task("4.1")
@pytest.mark.points(2)
def test_echo_text_is_percent_decoded(server):
    """GET /echo/{text} answers the text percent-decoded: %20 is a space, %25 a percent sign."""
    cases = [(b"hello", "hello"), (b"a%20b%20%20c", "a b  c"), (b"100%25%3F%23%26", "100%?#&")]
    expect_echoes(server, cases, "each %XX is the byte with that hex value")


@pytest.mark.task("4.1")
@pytest.mark.points(3)
def test_echo_text_escapes_are_utf8(server):
    """Escapes are bytes, read as UTF-8 together: caf%C3%A9 is café (hex digits in either case)."""
    cases = [(b"caf%C3%A9", "café"), (b"caf%c3%a9", "café"), (b"%F0%9F%98%80%E2%82%AC", "😀€")]
    expect_echoes(server, cases, "é is the two bytes %C3%A9 in UTF-8: decode all the bytes, then read them as UTF-8")


@pytest.mark.task("4.1")
@pytest.mark.points(1)
def test_plus_in_a_path_is_a_plus(server):
    """In a path, `+` is a plus sign (only a query string uses `+` for a space)."""
    response = server.exchange(request(b"GET", b"/echo/1+1"), expect="200 OK with the text 1+1")
    expect_text(response, "1+1", "`+` means a space only in a query string (form encoding), never in a path")


@pytest.mark.task("4.1")
@pytest.mark.points(3)
def test_encoded_slash_stays_inside_the_text(server):
    """GET /echo/a%2Fb answers `a/b`: the path is split at `/` before it is decoded."""
    response = server.exchange(
        request(b"GET", b"/echo/a%2Fb%2Fc"),
        expect="200 OK with the text a/b/c: %2F is a slash inside the one {text} segment",
    )
    expect_text(response, "a/b/c", "split the path into segments first, then decode each segment")


@pytest.mark.task("4.1")
@pytest.mark.points(1)
def test_broken_percent_escape_is_400(server):
    """A `%` not followed by two hex digits (%zz, %4, %) makes the target malformed: 400."""
    for target in (b"/echo/%zz", b"/echo/abc%4", b"/echo/%"):
        response = server.exchange(
            request(b"GET", target),
            expect="400 Bad Request: pct-encoded is % and two hex digits (RFC 3986 §2.1), so the request line is malformed",
        )
        response.expect_text_error(400, f"{target.decode()} is not a valid request target")


@pytest.mark.task("4.1")
@pytest.mark.points(3)
def test_info_query_repeated_names_keep_every_value(server):
    """GET /info?tag=a&tag=b reports the query as {name: [values]}, every value in order."""
    response = server.exchange(request(b"GET", b"/info?tag=b&one=1&tag=a&tag=c"), expect="the /info JSON")
    info = expect_info(response)
    expect_member(response, info, "query", {"tag": ["b", "a", "c"], "one": ["1"]}, "each name with all its values, in order")


@pytest.mark.task("4.1")
@pytest.mark.points(2)
def test_info_query_values_are_percent_decoded(server):
    """Query names and values are percent-decoded after the split at `&` and `=` (%26 stays in a value)."""
    target = b"/info?q=caf%C3%A9%20au%20lait&amp=%26&eq=a%3Db&plus=%2B&na%6De=x"
    response = server.exchange(request(b"GET", target), expect="the /info JSON")
    info = expect_info(response)
    wanted = {"q": ["café au lait"], "amp": ["&"], "eq": ["a=b"], "plus": ["+"], "name": ["x"]}
    expect_member(response, info, "query", wanted, "split at & and = first, then decode each name and value")


@pytest.mark.task("4.1")
@pytest.mark.points(2)
def test_info_query_plus_is_a_space(server):
    """In a query string, `+` stands for a space (form encoding, as browsers send it)."""
    response = server.exchange(request(b"GET", b"/info?q=a+b+%2B+c"), expect="the /info JSON")
    info = expect_info(response)
    expect_member(response, info, "query", {"q": ["a b + c"]}, "`+` is a space in a query; a real plus comes as %2B")


@pytest.mark.task("4.1")
@pytest.mark.points(1)
def test_info_without_query(server):
    """GET /info without a query string reports the path /info and an empty query {}."""
    response = server.exchange(request(b"GET", b"/info"), expect="the /info JSON")
    info = expect_info(response)
    expect_member(response, info, "path", "/info")
    expect_member(response, info, "query", {}, "there is no query string")


@pytest.mark.task("4.1")
@pytest.mark.points(2)
def test_absolute_form_target_is_routed(server):
    """`GET http://localhost/users/7 HTTP/1.1` (absolute form) is routed by its path."""
    response = server.exchange(
        request(b"GET", b"http://localhost/users/7"),
        expect="200 OK with user 7: a server must accept the absolute form (RFC 9112 §3.2.2)",
    )
    expect_text(response, "user 7", "the path of http://localhost/users/7 is /users/7")


@pytest.mark.task("4.1")
@pytest.mark.points(1)
def test_absolute_form_with_port_and_escapes(server):
    """An absolute-form target with a port is routed, and its path decoded, like the origin form."""
    target = f"http://127.0.0.1:{server.port}/echo/caf%C3%A9".encode()
    response = server.exchange(request(b"GET", target), expect="200 OK with the text café")
    expect_text(response, "café", f"the path of {target.decode()} is /echo/caf%C3%A9")


@pytest.mark.task("4.1")
@pytest.mark.points(1)
def test_absolute_form_info_reports_path_and_query(server):
    """/info for an absolute-form target reports the path alone (/info) and its parsed query."""
    response = server.exchange(request(b"GET", b"http://localhost/info?x=1&x=2"), expect="the /info JSON")
    info = expect_info(response)
    expect_member(response, info, "path", "/info", "the path, without scheme, host or query")
    expect_member(response, info, "query", {"x": ["1", "2"]})


@pytest.mark.task("4.1")
@pytest.mark.points(1)
def test_curl_reads_decoded_echo(server):
    """curl GET /echo/caf%C3%A9%20au%20lait prints `café au lait`."""
    require_tool("curl", "this test runs curl against your server")
    url = server.url + "/echo/caf%C3%A9%20au%20lait"
    result = subprocess.run(["curl", "--silent", "--show-error", "--max-time", "5", url], capture_output=True, timeout=10)
    if result.returncode != 0:
        fail_client(server, f"curl {url} failed (exit {result.returncode}): {result.stderr.decode(errors='replace').strip()}")
    if result.stdout != "café au lait".encode():
        fail_client(server, f"curl {url} printed {result.stdout!r}, not 'café au lait' in UTF-8")


@pytest.mark.task("4.1")
@pytest.mark.points(1)
def test_curl_through_a_proxy_sends_absolute_form(server):
    """curl using the server as its proxy sends `GET http://example.test/users/7` and gets `user 7`."""
    require_tool("curl", "this test runs curl against your server")
    command = [
        "curl", "--silent", "--show-error", "--max-time", "5",
        "--proxy", server.url, "--noproxy", "",  # every host through the proxy: the absolute form
        "http://example.test/users/7",
    ]
    result = subprocess.run(command, capture_output=True, timeout=10)
    if result.returncode != 0:
        fail_client(server, f"curl --proxy {server.url} failed (exit {result.returncode}): {result.stderr.decode(errors='replace').strip()}")
    if result.stdout != b"user 7":
        fail_client(
            server,
            f"curl sent `GET http://example.test/users/7 HTTP/1.1` (absolute form) and printed {result.stdout!r}, not 'user 7'",
        )


# -- 4.2 Match routes: priority, 404 and 405 ---------------------------------------------------


@pytest.mark.task("4.2")
@pytest.mark.points(2)
@pytest.mark.parametrize(
    "path, text",
    [
        pytest.param(b"/users/me", "me", id="exact-beats-parameter"),
        pytest.param(b"/users/42", "user 42", id="parameter-beats-wildcard"),
        pytest.param(b"/users/a/b", "path a/b", id="wildcard-two-segments"),
    ],
)
def test_most_specific_route_wins(server, path, text):
    """/users/me is `me`, /users/42 is `user 42`, /users/a/b is `path a/b`: exact > parameter > wildcard."""
    response = server.exchange(request(b"GET", path), expect=f"200 OK with {text!r}")
    expect_text(response, text, "an exact pattern beats {id}, which beats {path...}, whatever order they were added in")


@pytest.mark.task("4.2")
@pytest.mark.points(2)
def test_parameters_and_wildcards_capture(server):
    """A {id} takes one decoded segment, a {path...} all the segments left, decoded and joined with /."""
    cases = [
        (b"/users/J%C3%B6rg", "user Jörg"),
        (b"/users/a/b/c%20d/e", "path a/b/c d/e"),
        (b"/users/me/more", "path me/more"),
    ]
    for path, text in cases:
        response = server.exchange(request(b"GET", path), expect=f"200 OK with {text!r}")
        expect_text(response, text)


@pytest.mark.task("4.2")
@pytest.mark.points(2)
def test_encoded_slash_is_one_parameter(server):
    """/users/a%2Fb is `user a/b`: one segment for {id}, not two for the wildcard."""
    response = server.exchange(request(b"GET", b"/users/a%2Fb"), expect="200 OK with user a/b")
    expect_text(response, "user a/b", "%2F does not split the path: /users/a%2Fb has one segment after users")


@pytest.mark.task("4.2")
@pytest.mark.points(2)
def test_wildcard_needs_a_segment(server):
    """GET /users (nothing after it) is 404: a {path...} wildcard takes one or more segments."""
    response = server.exchange(request(b"GET", b"/users"), expect="404 Not Found: no route fits /users")
    response.expect_text_error(404, "/users/{path...} needs at least one segment after /users")


@pytest.mark.task("4.2")
@pytest.mark.points(1)
def test_unknown_path_is_404(server):
    """A path no pattern fits, for any method (/nowhere, /info/more, /echo/a/b), is 404."""
    for method, path in [(b"GET", b"/nowhere"), (b"GET", b"/info/more"), (b"GET", b"/echo/a/b"), (b"POST", b"/nowhere")]:
        extra = b"Content-Length: 0\r\n" if method == b"POST" else b""
        response = server.exchange(request(method, path, extra), expect=f"404 Not Found: no pattern fits {path.decode()}")
        response.expect_text_error(404)


def expect_405(server, method: bytes, path: bytes, allowed: str) -> None:
    """405 Method Not Allowed, with an Allow header that lists `allowed` and not `method`."""
    raw = request(method, path, b"Content-Length: 0\r\n" if method == b"POST" else b"")
    response = server.exchange(raw, expect=f"405 Method Not Allowed with `Allow: {allowed}` (HEAD may be listed too)")
    response.expect_text_error(405, f"{path.decode()} exists, but not for {method.decode()}")
    if not response.header_values("Allow"):
        response.fail(f"an Allow header listing {allowed} (RFC 9110 §15.5.6: a 405 must have one)", "there is no Allow header.")
    methods = allowed_methods(response)
    if allowed not in methods or method.decode() in methods:
        response.fail(
            f"Allow listing {allowed} and not {method.decode()} (method names are case-sensitive tokens)",
            f"the response says Allow: {response.header('Allow')}.",
        )


@pytest.mark.task("4.2")
@pytest.mark.points(3)
def test_post_to_a_get_route_is_405_with_allow(server):
    """POST to /, /info or /users/42 (GET routes) is 405, with `Allow` listing GET."""
    for path in (b"/", b"/info", b"/users/42"):
        expect_405(server, b"POST", path, "GET")


@pytest.mark.task("4.2")
@pytest.mark.points(2)
def test_get_of_a_post_route_is_405_with_allow(server):
    """GET /json (a POST route) is 405, with `Allow` listing POST."""
    expect_405(server, b"GET", b"/json", "POST")


# -- 4.3 Unknown methods (501) and HEAD --------------------------------------------------------


@pytest.mark.task("4.3")
@pytest.mark.points(3)
def test_unknown_method_is_501(server):
    """A method token the server does not know (BREW, FROB) is 501 Not Implemented, not 405 or 404."""
    for method, path in [(b"BREW", b"/"), (b"FROB", b"/info"), (b"BREW", b"/users/42")]:
        response = server.exchange(
            request(method, path), expect=f"501 Not Implemented: {method.decode()} is no method this server knows"
        )
        response.expect_text_error(
            501, "501 is for a method unknown to the whole server; 405 for a known one this path does not take"
        )


@pytest.mark.task("4.3")
@pytest.mark.points(1)
def test_method_names_are_case_sensitive(server):
    """`get / HTTP/1.1` is an unknown method (method names are case-sensitive): 501."""
    response = server.exchange(request(b"get", b"/"), method="GET", expect="501 Not Implemented: `get` is not `GET`")
    response.expect_text_error(501, "RFC 9110 §9.1: the method token is case-sensitive")


@pytest.mark.task("4.3")
@pytest.mark.points(4)
def test_head_gets_the_get_headers_and_no_body(server):
    """HEAD answers the status, Content-Type and Content-Length that GET would, and no body."""
    for path in (b"/", b"/users/42", b"/echo/caf%C3%A9"):
        get = server.exchange(request(b"GET", path), expect="the GET response, to compare HEAD with")
        get.expect_status(200)
        with server.connect() as connection:
            connection.send(request(b"HEAD", path, b"Connection: close\r\n"))
            head = connection.read_response(method="HEAD", expect=f"the head of the GET {path.decode()} response, without its body")
            head.expect_status(200, "HEAD of a GET route")
            for name in ("Content-Type", "Content-Length"):
                head.expect_header(name, get.header(name))
            connection.expect_closed(
                "nothing after the blank line, then the close: a HEAD response has no body (RFC 9110 §9.3.2), "
                "though its Content-Length says what GET would send"
            )


@pytest.mark.task("4.3")
@pytest.mark.points(1)
def test_head_of_unknown_path_has_no_body(server):
    """HEAD of an unknown path is 404 with no body either."""
    with server.connect() as connection:
        connection.send(request(b"HEAD", b"/nowhere", b"Connection: close\r\n"))
        connection.read_response(method="HEAD", expect="404 Not Found, head only").expect_status(404)
        connection.expect_closed("nothing after the blank line: no response to HEAD has a body, errors included")


@pytest.mark.task("4.3")
@pytest.mark.points(1)
def test_curl_head(server):
    """curl --head /users/42 gets 200 and the Content-Length of `user 42` (7)."""
    require_tool("curl", "this test runs curl against your server")
    url = server.url + "/users/42"
    result = subprocess.run(
        ["curl", "--silent", "--show-error", "--max-time", "5", "--head", url], capture_output=True, timeout=10
    )
    if result.returncode != 0:
        fail_client(server, f"curl --head {url} failed (exit {result.returncode}): {result.stderr.decode(errors='replace').strip()}")
    output = result.stdout.decode("latin-1")
    lengths = re.findall(r"(?im)^content-length:[ \t]*([^\r\n]*?)[ \t]*\r$", output)
    if not output.startswith("HTTP/1.1 200 ") or lengths != ["7"]:
        fail_client(server, f"curl --head {url} expected 200 and `Content-Length: 7` (what GET sends); it printed:\n{output}")


def h11_exchange(server, method: str, target: str, body: bytes = b"") -> tuple[bytes, list]:
    """Send one request (with Connection: close) and parse what comes back with h11."""
    headers = [("Host", "localhost")]
    if method == "POST":
        headers += [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    return strict_exchange(server, method, target, headers, body)


@pytest.mark.task("4.3")
@pytest.mark.points(2)
def test_strict_parser_accepts_the_responses(server):
    """h11, a strict HTTP/1.1 parser, reads GET, HEAD, 405, 501 and /json responses whole, nothing after."""
    cases = [
        ("HEAD", "/users/42", b"", 200),
        ("GET", "/users/42", b"", 200),
        ("POST", "/info", b"", 405),
        ("BREW", "/", b"", 501),
        ("POST", "/json", b'{"a": [1, 2]}', 200),
    ]
    for method, target, body, status in cases:
        data, events = h11_exchange(server, method, target, body)
        responses = [event for event in events if isinstance(event, h11.Response)]
        complete = bool(events) and isinstance(events[-1], h11.EndOfMessage)
        if len(responses) != 1 or responses[0].status_code != status or not complete:
            fail_client(
                server,
                f"h11 expected one complete {status} response to {method} {target} and read the events {events!r}\n"
                f"Received:\n{show_bytes(data)}",
            )
        if method == "HEAD" and any(isinstance(event, h11.Data) for event in events):
            fail_client(server, f"h11 read a body in the response to HEAD:\n{show_bytes(data)}")


# -- 4.4 JSON routes and the Date header -------------------------------------------------------


@pytest.mark.task("4.4")
@pytest.mark.points(3)
def test_info_reports_method_path_and_headers(server):
    """GET /info answers JSON: the method, the path, and the headers by lower-case name."""
    raw = b"GET /info HTTP/1.1\r\nHost: localhost\r\nUser-Agent: course-test/4\r\nX-Course-Note: Mixed Case Value\r\n\r\n"
    response = server.exchange(raw, expect="200 OK with the /info JSON")
    info = expect_info(response)
    expect_member(response, info, "method", "GET")
    expect_member(response, info, "path", "/info")
    expect_member(
        response,
        info,
        "headers",
        {"host": "localhost", "user-agent": "course-test/4", "x-course-note": "Mixed Case Value"},
        "every request header, its name in lower case, its value as sent",
    )


@pytest.mark.task("4.4")
@pytest.mark.points(2)
def test_info_header_names_are_lower_case(server):
    """/info lists header names in lower case, whatever case they came in; values keep theirs."""
    raw = b"GET /info HTTP/1.1\r\nHOST: localhost\r\nX-UPPER: Value A\r\nx-lower: value b\r\nX-MiXeD-CaSe: VaLuE C\r\n\r\n"
    response = server.exchange(raw, expect="200 OK with the /info JSON")
    info = expect_info(response)
    wanted = {"host": "localhost", "x-upper": "Value A", "x-lower": "value b", "x-mixed-case": "VaLuE C"}
    expect_member(response, info, "headers", wanted, "names are case-insensitive, so /info shows them in lower case")


JSON_VALUES = [
    {
        "name": "café ☕",
        "numbers": [1, -2, 2.5, 1e21],
        "ok": True,
        "no": False,
        "none": None,
        "nested": {"deep": [{"quote": "\"q\"\n\\", "empty": {}}]},
    },
    [1, "two", [3], {"four": 4}, []],
    "just a string",
]


@pytest.mark.task("4.4")
@pytest.mark.points(3)
def test_json_echo(server):
    """POST /json answers 200, application/json, with the same JSON value (any spacing or key order)."""
    for value in JSON_VALUES:
        body = json.dumps(value, ensure_ascii=False).encode("utf-8")
        raw = request(b"POST", b"/json", b"Content-Type: application/json\r\n", body)
        response = server.exchange(raw, expect="200 OK with the JSON value sent")
        echoed = expect_json(response, "the value parsed and sent back")
        if echoed != value:
            response.fail(
                f"the JSON value {json.dumps(value, ensure_ascii=False)}",
                f"the JSON read back is {json.dumps(echoed, ensure_ascii=False)}.",
            )


def expect_not_json(server, bodies) -> None:
    for body in bodies:
        raw = request(b"POST", b"/json", b"Content-Type: application/json\r\n", body)
        response = server.exchange(raw, expect=f"400 Bad Request: {body!r} is not JSON")
        response.expect_text_error(400, f"{body!r} is not JSON text (RFC 8259)")


@pytest.mark.task("4.4")
@pytest.mark.points(3)
def test_body_that_is_not_json_is_400(server):
    """POST /json with a body that is not JSON (truncated, plain text, empty, two values) is 400."""
    expect_not_json(server, [b'{"a": 1', b"not json", b"", b"{'a': 1}", b'{"a": 1} {"b": 2}'])


@pytest.mark.task("4.4")
@pytest.mark.points(1)
def test_json_must_be_utf8_without_nan(server):
    """A body that is not UTF-8, or holds NaN or Infinity, is not JSON either (RFC 8259): 400."""
    expect_not_json(server, [b'"caf\xe9"', b"[NaN]", b"[1, -Infinity]"])


@pytest.mark.task("4.3")
@pytest.mark.points(2)
def test_date_header(server):
    """A response carries a Date header: an IMF-fixdate, in GMT, within minutes of now."""
    response = server.exchange(GET_ROOT, expect="200 OK with a Date header")
    response.expect_status(200)
    expect_date(response)


@pytest.mark.task("4.3")
@pytest.mark.points(3)
def test_date_header_on_every_response(server):
    """Errors (404, 400, 405, 501) and HEAD responses carry a Date header too."""
    cases = [
        (request(b"GET", b"/nowhere"), 404),
        (b"GET / HTTP/1.1\r\n\r\n", 400),
        (request(b"POST", b"/info", b"Content-Length: 0\r\n"), 405),
        (request(b"BREW", b"/"), 501),
        (request(b"HEAD", b"/users/me"), 200),
    ]
    for raw, status in cases:
        response = server.exchange(raw, expect=f"{status} with a Date header")
        response.expect_status(status)
        expect_date(response, "on every response, errors included (RFC 9110 §6.6.1)")


@pytest.mark.task("4.4")
@pytest.mark.points(1)
def test_python_http_client_reads_info(server):
    """http.client's GET /info?lang=fr&lang=en&q=a+b comes back with its query and its header."""
    client = http.client.HTTPConnection(server.process.host, server.port, timeout=3)
    try:
        client.request("GET", "/info?lang=fr&lang=en&q=a+b", headers={"X-Client": "http.client"})
        response = client.getresponse()
        body = response.read()
    except (OSError, http.client.HTTPException) as error:
        fail_client(server, f"http.client sent GET /info and could not read the response: {error!r}")
    finally:
        client.close()
    if response.status != 200:
        fail_client(server, f"http.client sent GET /info and read the status {response.status} {response.reason}")
    try:
        info = json.loads(body)
        got = (info["method"], info["query"], info["headers"].get("x-client"))
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        fail_client(server, f"http.client read a body that is not the /info JSON ({error!r}): {body[:300]!r}")
    wanted = ("GET", {"lang": ["fr", "en"], "q": ["a b"]}, "http.client")
    if got != wanted:
        fail_client(server, f"http.client read method, query and x-client {got!r}; expected {wanted!r}")


@pytest.mark.task("4.4")
@pytest.mark.points(1)
def test_requests_posts_json(server):
    """requests.post(json=...) to /json reads the same value back; a broken body gets 400."""
    value = {"course": "HTTP from Scratch", "chapter": 4, "tags": ["routing", "json"], "ünï": None}
    with requests.Session() as session:
        session.trust_env = False  # no proxy from the environment: straight to the server
        try:
            good = session.post(server.url + "/json", json=value, timeout=5)
            bad = session.post(
                server.url + "/json", data=b'{"oops": ', headers={"Content-Type": "application/json"}, timeout=5
            )
        except requests.RequestException as error:
            fail_client(server, f"requests could not POST /json: {error!r}")
    if good.status_code != 200:
        fail_client(server, f"requests posted {value!r} to /json and read the status {good.status_code}")
    try:
        echoed = good.json()
    except ValueError:
        fail_client(server, f"requests read a body that is not JSON: {good.content[:300]!r}")
    if echoed != value:
        fail_client(server, f"requests posted {value!r} and read back {echoed!r}")
    if bad.status_code != 400:
        fail_client(server, f"requests posted the broken JSON b'{{\"oops\": ' and read the status {bad.status_code}, not 400")


@pytest.mark.task("4.4")
@pytest.mark.points(1)
def test_httpx_reads_info_and_head(server):
    """httpx's GET /info with query params reads them back; its HEAD /users/me matches its GET."""
    with httpx.Client(trust_env=False, timeout=5) as client:
        try:
            response = client.get(server.url + "/info", params={"tag": ["x y", "é&="]}, headers={"X-Httpx": "yes"})
            get = client.get(server.url + "/users/me")
            head = client.head(server.url + "/users/me")
        except httpx.HTTPError as error:
            fail_client(server, f"httpx could not GET /info, GET /users/me or HEAD /users/me: {error!r}")
    if response.status_code != 200:
        fail_client(server, f"httpx sent GET {response.request.url.raw_path!r} and read the status {response.status_code}")
    try:
        info = response.json()
        got = (info["query"], info["headers"].get("x-httpx"))
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        fail_client(server, f"httpx read a body that is not the /info JSON ({error!r}): {response.content[:300]!r}")
    wanted = ({"tag": ["x y", "é&="]}, "yes")
    if got != wanted:
        fail_client(server, f"httpx sent GET {response.request.url.raw_path!r} and read query and x-httpx {got!r}; expected {wanted!r}")
    if get.text != "me":
        fail_client(server, f"httpx's GET /users/me read {get.status_code} and the body {get.content!r}, not 200 and `me`")
    # Compared with httpx's own GET (same Accept-Encoding), so a later chapter's gzip changes nothing.
    if head.status_code != 200 or head.headers.get("Content-Length") != get.headers.get("Content-Length") or head.content:
        fail_client(
            server,
            f"httpx's HEAD /users/me read {head.status_code}, Content-Length {head.headers.get('Content-Length')!r} "
            f"and the body {head.content!r}; expected 200, the Content-Length of its GET "
            f"({get.headers.get('Content-Length')!r}) and no body",
        )
