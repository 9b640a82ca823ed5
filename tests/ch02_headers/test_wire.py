"""Chapter 2 on the wire: reading the head up to its blank line, then parsing it.

Every request here is a GET whose whole head the server must read, sent in one segment unless
the test is about segments. Responses are read by their Content-Length, never by waiting for
the close, so these tests keep passing against the keep-alive chapters. Error responses are
checked by status, reason phrase and `text/plain; charset=utf-8` only: their wording is yours.
"""

import http.client
import subprocess

import pytest

from course.pytest_plugin import require_tool

pytestmark = pytest.mark.wire

GET = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"
MAX_HEAD = 8192


def expect_hello(response, why: str = ""):
    response.expect_status(200, why)
    response.expect_content_type("text/plain", charset="utf-8")
    response.expect_header("Content-Length", "13")
    response.expect_body(b"Hello, World!")


def expect_agent(response, agent: bytes):
    """200, text/plain with no charset, and the User-Agent value's exact bytes as the body."""
    response.expect_status(200)
    response.expect_content_type("text/plain")
    length = response.header("Content-Length")
    if length != str(len(agent)):
        response.fail(
            f"Content-Length: {len(agent)} (the User-Agent value is {len(agent)} bytes)",
            f"the response says Content-Length: {length}. Content-Length counts the bytes of the "
            "body, not the characters of a decoded string.",
        )
    response.expect_body(agent, "the User-Agent value, byte for byte")


def head_of_size(size: int) -> tuple[bytes, bytes]:
    """A GET /user-agent head of exactly `size` bytes (blank line included), padded in its
    User-Agent value; returns (head, value)."""
    start = b"GET /user-agent HTTP/1.1\r\nHost: localhost\r\nUser-Agent: "
    end = b"\r\n\r\n"
    agent = b"a" * (size - len(start) - len(end))
    head = start + agent + end
    assert len(head) == size
    return head, agent


# -- 2.1 Buffer the head up to the blank line -----------------------------------------------


@pytest.mark.task("2.1")
@pytest.mark.points(3)
def test_answers_only_once_the_blank_line_arrives(server):
    """A head sent in three segments is answered only after its blank line has arrived."""
    connection = server.connect()
    connection.send(b"GET /user-agent HTTP/1.1\r\n")
    connection.expect_nothing_yet(0.2, "the server to keep reading: only the request line has arrived")
    connection.send(b"Host: localhost\r\nUser-Agent: three-segments\r\n")
    connection.expect_nothing_yet(0.2, "the server to keep reading: the blank line has not arrived")
    connection.send(b"\r\n")
    expect_agent(connection.read_response(), b"three-segments")


@pytest.mark.task("2.1")
@pytest.mark.points(2)
@pytest.mark.parametrize(
    "first, second",
    [
        pytest.param(b"GET / HTTP/1.1\r", b"\nHost: localhost\r\n\r\n", id="request-line-CR|LF"),
        pytest.param(b"GET / HTTP/1.1\r\nHost: localhost\r", b"\n\r\n", id="header-CR|LF-CRLF"),
        pytest.param(b"GET / HTTP/1.1\r\nHost: localhost\r\n", b"\r\n", id="CRLF|CRLF"),
        pytest.param(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r", b"\n", id="CRLF-CR|LF"),
    ],
)
def test_crlf_split_across_segments(server, first, second):
    """A CR LF split between two segments is still a line ending: wait for it, then answer."""
    connection = server.connect()
    connection.send(first)
    connection.expect_nothing_yet(0.2, "the server to keep reading: the head is not complete yet")
    connection.send(second)
    expect_hello(connection.read_response())


@pytest.mark.task("2.1")
@pytest.mark.points(3)
def test_one_byte_per_segment(server):
    """A head that arrives one byte per segment is read whole: its User-Agent comes back."""
    connection = server.connect()
    connection.send_in_pieces(
        b"GET /user-agent HTTP/1.1\r\nHost: localhost\r\nUser-Agent: one-byte-at-a-time\r\n\r\n", size=1
    )
    expect_agent(connection.read_response(), b"one-byte-at-a-time")


@pytest.mark.task("2.1")
@pytest.mark.points(3)
def test_head_of_exactly_8192_bytes_is_served(server):
    """A head of exactly 8192 bytes, blank line included, is within the limit and served."""
    head, agent = head_of_size(MAX_HEAD)
    assert len(head) == 8192
    connection = server.connect()
    connection.send(head)
    response = connection.read_response()
    response.expect_status(200, "the head is exactly 8192 bytes counting its blank line: that is within the limit")
    expect_agent(response, agent)


@pytest.mark.task("2.1")
@pytest.mark.points(3)
def test_head_of_8193_bytes_gets_431(server):
    """A head of 8193 bytes, blank line included, gets 431; the server then serves the next client."""
    head, _ = head_of_size(MAX_HEAD + 1)
    assert len(head) == 8193
    with server.connect() as connection:
        connection.send(head)
        connection.read_response().expect_text_error(
            431, "the head is 8193 bytes counting its blank line, one more than the 8192 allowed"
        )
    expect_hello(server.exchange(GET), "the next client, after a 431")


@pytest.mark.task("2.1")
@pytest.mark.points(2)
def test_head_limit_counts_every_segment(server):
    """The limit counts everything received for the head, not each recv on its own."""
    head, _ = head_of_size(MAX_HEAD + 1)
    assert len(head) == 8193
    connection = server.connect()
    connection.send_in_pieces(head, size=1000, pause=0.01)
    connection.read_response().expect_text_error(
        431, "the head is 8193 bytes in total, sent in segments of 1000 bytes"
    )


@pytest.mark.task("2.1")
@pytest.mark.points(2)
def test_max_head_flag_sets_the_limit(start_server):
    """With --max-head 200, a 200-byte head is served and a 201-byte head gets 431."""
    server = start_server("--max-head", "200")
    head, agent = head_of_size(200)
    assert len(head) == 200
    with server.connect() as connection:
        connection.send(head)
        response = connection.read_response()
        response.expect_status(200, "the server runs with --max-head 200 and the head is exactly 200 bytes")
        expect_agent(response, agent)
    head, _ = head_of_size(201)
    assert len(head) == 201
    with server.connect() as connection:
        connection.send(head)
        connection.read_response().expect_text_error(431, "the server runs with --max-head 200 and the head is 201 bytes")


@pytest.mark.task("2.1")
@pytest.mark.points(1)
def test_max_head_flag_can_raise_the_limit(start_server):
    """With --max-head 16384, a 12000-byte head is served."""
    server = start_server("--max-head", "16384")
    head, agent = head_of_size(12000)
    assert len(head) == 12000
    connection = server.connect()
    connection.send(head)
    response = connection.read_response()
    response.expect_status(200, "the server runs with --max-head 16384 and the head is 12000 bytes")
    expect_agent(response, agent)


@pytest.mark.task("2.1")
@pytest.mark.points(2)
@pytest.mark.parametrize(
    "request_bytes",
    [
        pytest.param(b"GET / HTTP/1.1\nHost: localhost\n\n", id="every-line-LF"),
        pytest.param(b"GET / HTTP/1.1\nHost: localhost\r\n\r\n", id="request-line-LF"),
        pytest.param(b"GET / HTTP/1.1\r\nHost: localhost\n\r\n", id="header-line-LF"),
        pytest.param(b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Note: a\nb\r\n\r\n", id="LF-inside-a-value"),
    ],
)
def test_bare_lf_is_400(server, request_bytes):
    """A head with a bare LF (an LF without its CR) gets 400, at once: no waiting for CR LF CR LF."""
    server.exchange(request_bytes).expect_text_error(400, "HTTP/1.1 lines end with CR LF; a bare LF is malformed")


# -- 2.2 Parse the request line ---------------------------------------------------------------


@pytest.mark.task("2.2")
@pytest.mark.points(1)
@pytest.mark.parametrize(
    "request_line",
    [
        pytest.param(b"GET /", id="no-version"),
        pytest.param(b"GET HTTP/1.1", id="no-target"),
        pytest.param(b"GET", id="method-alone"),
        pytest.param(b"GET  / HTTP/1.1", id="two-spaces-after-method"),
        pytest.param(b"GET / HTTP/1.1 ", id="trailing-space"),
        pytest.param(b"GET\t/\tHTTP/1.1", id="tabs-for-spaces"),
        pytest.param(b"GET / / HTTP/1.1", id="four-parts"),
        pytest.param(b"GET / http/1.1", id="lowercase-http"),
        pytest.param(b"GET / HTTP/1.10", id="two-digit-minor"),
        pytest.param(b"GET / HTTP/1.", id="no-minor"),
        pytest.param(b"GET / HTTP1.1", id="no-slash"),
    ],
)
def test_malformed_request_line_is_400(server, request_line):
    """A request line that is not `METHOD SP target SP HTTP/d.d` gets 400."""
    server.exchange(request_line + b"\r\nHost: localhost\r\n\r\n").expect_text_error(
        400, "the request line is malformed (RFC 9112 §3)"
    )


@pytest.mark.task("2.2")
@pytest.mark.points(3)
def test_http_2_0_is_505(server):
    """GET / HTTP/2.0 gets 505 HTTP Version Not Supported, not 400 and not 200."""
    server.exchange(b"GET / HTTP/2.0\r\nHost: localhost\r\n\r\n").expect_text_error(
        505, "HTTP/2.0 is well-formed, just not a version this server speaks"
    )


@pytest.mark.task("2.2")
@pytest.mark.points(1)
@pytest.mark.parametrize("version", [b"HTTP/3.0", b"HTTP/0.9", b"HTTP/9.9"], ids=lambda v: v.decode())
def test_other_major_versions_are_505(server, version):
    """Well-formed versions whose major number is not 1 get 505."""
    server.exchange(b"GET / " + version + b"\r\nHost: localhost\r\n\r\n").expect_text_error(
        505, f"{version.decode()} is well-formed but not HTTP/1.x"
    )


@pytest.mark.task("2.2")
@pytest.mark.points(2)
@pytest.mark.parametrize("version", [b"HTTP/1.2", b"HTTP/1.9"], ids=lambda v: v.decode())
def test_higher_minor_versions_are_served_as_1_1(server, version):
    """HTTP/1.2 .. HTTP/1.9 are served as HTTP/1.1 (RFC 9110 §6.2)."""
    expect_hello(
        server.exchange(b"GET / " + version + b"\r\nHost: localhost\r\n\r\n"),
        f"a server that speaks HTTP/1.1 serves {version.decode()} as 1.1",
    )


@pytest.mark.task("2.2")
@pytest.mark.points(2)
def test_http_1_0_is_served(server):
    """GET / HTTP/1.0 (with a Host) gets Hello, World!"""
    expect_hello(server.exchange(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n"))


# -- 2.3 Parse the header fields --------------------------------------------------------------


@pytest.mark.task("2.3")
@pytest.mark.points(2)
def test_host_name_is_case_insensitive(server):
    """`hOsT: localhost` counts as the Host header."""
    expect_hello(
        server.exchange(b"GET / HTTP/1.1\r\nhOsT: localhost\r\n\r\n"), "header names are case-insensitive"
    )


@pytest.mark.task("2.3")
@pytest.mark.points(2)
@pytest.mark.parametrize("name", [b"USER-AGENT", b"uSeR-aGeNt"], ids=lambda n: n.decode())
def test_user_agent_name_is_case_insensitive(server, name):
    """/user-agent finds the User-Agent header whatever the letter case of its name."""
    response = server.exchange(b"GET /user-agent HTTP/1.1\r\nHost: localhost\r\n" + name + b": any-case/1.0\r\n\r\n")
    expect_agent(response, b"any-case/1.0")


@pytest.mark.task("2.3")
@pytest.mark.points(2)
def test_value_loses_the_spaces_and_tabs_around_it(server):
    """A field value is stripped of spaces and tabs at both ends, and only there."""
    response = server.exchange(
        b"GET /user-agent HTTP/1.1\r\nHost: localhost\r\nUser-Agent: \t  spaced  out \t\r\n\r\n"
    )
    expect_agent(response, b"spaced  out")


@pytest.mark.task("2.3")
@pytest.mark.points(1)
def test_empty_value_is_allowed(server):
    """A header field with an empty value is well-formed."""
    expect_hello(server.exchange(b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Empty:\r\n\r\n"), "`X-Empty:` is a valid field")


@pytest.mark.task("2.3")
@pytest.mark.points(1)
@pytest.mark.parametrize(
    "target, fields",
    [
        pytest.param(b"/", b"Host: localhost\r\nX-Note : hi\r\n", id="space-before-colon"),
        pytest.param(b"/", b"Host: localhost\r\nX-Note\t: hi\r\n", id="tab-before-colon"),
        pytest.param(b"/", b"Host : localhost\r\n", id="space-before-colon-in-Host"),
        pytest.param(b"/", b"Host: localhost\r\nX-Note hi\r\n", id="no-colon"),
        pytest.param(b"/", b"Host: localhost\r\n: hi\r\n", id="empty-name"),
        pytest.param(b"/", b"Host: localhost\r\nX-Note: a\x00b\r\n", id="NUL-in-value"),
        pytest.param(b"/", b"Host: localhost\r\nX-Note: a\rb\r\n", id="CR-in-value"),
        pytest.param(b"/", b"Host: localhost\r\nX-Note: hi\r\r\n", id="CR-at-end-of-value"),
    ],
)
def test_malformed_header_line_is_400(server, target, fields):
    """Whitespace before the colon, a line without a colon, a NUL or CR in a value: 400."""
    server.exchange(b"GET " + target + b" HTTP/1.1\r\n" + fields + b"\r\n").expect_text_error(
        400, "a header line is malformed (RFC 9112 §5)"
    )


@pytest.mark.task("2.3")
@pytest.mark.points(2)
@pytest.mark.parametrize(
    "request_bytes",
    [
        pytest.param(b"GET / HTTP/1.1\r\n\r\n", id="no-headers"),
        pytest.param(b"GET / HTTP/1.1\r\nUser-Agent: no-host\r\n\r\n", id="other-headers-only"),
    ],
)
def test_http_1_1_without_host_is_400(server, request_bytes):
    """An HTTP/1.1 request without a Host header gets 400."""
    server.exchange(request_bytes).expect_text_error(400, "HTTP/1.1 requires exactly one Host header (RFC 9112 §3.2)")


@pytest.mark.task("2.3")
@pytest.mark.points(2)
@pytest.mark.parametrize(
    "hosts",
    [
        pytest.param(b"Host: localhost\r\nHost: localhost\r\n", id="same-value-twice"),
        pytest.param(b"Host: localhost\r\nhost: example.com\r\n", id="two-letter-cases"),
    ],
)
def test_http_1_1_with_two_hosts_is_400(server, hosts):
    """An HTTP/1.1 request with two Host headers gets 400."""
    server.exchange(b"GET / HTTP/1.1\r\n" + hosts + b"\r\n").expect_text_error(
        400, "HTTP/1.1 requires exactly one Host header (RFC 9112 §3.2)"
    )


@pytest.mark.task("2.3")
@pytest.mark.points(2)
def test_http_1_0_without_host_is_served(server):
    """An HTTP/1.0 request needs no Host header."""
    expect_hello(server.exchange(b"GET / HTTP/1.0\r\n\r\n"), "Host is only required from HTTP/1.1 on")


@pytest.mark.task("2.3")
@pytest.mark.points(1)
def test_http_1_2_without_host_is_400(server):
    """HTTP/1.2 is served as 1.1, so it needs its Host header too."""
    server.exchange(b"GET / HTTP/1.2\r\n\r\n").expect_text_error(
        400, "HTTP/1.2 is served as HTTP/1.1, which requires a Host header"
    )


# -- 2.4 Route the request and answer errors ------------------------------------------------


@pytest.mark.task("2.4")
@pytest.mark.points(2)
def test_root_answers_hello_world(server):
    """GET / gets 200, text/plain; charset=utf-8, Hello, World!"""
    expect_hello(server.exchange(b"GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: test\r\nAccept: */*\r\n\r\n"))


@pytest.mark.task("2.4")
@pytest.mark.points(3)
def test_user_agent_is_echoed(server):
    """GET /user-agent answers the User-Agent value as text/plain with no charset."""
    response = server.exchange(b"GET /user-agent HTTP/1.1\r\nHost: localhost\r\nUser-Agent: course-test/2.4 (x)\r\n\r\n")
    expect_agent(response, b"course-test/2.4 (x)")


@pytest.mark.task("2.4")
@pytest.mark.points(3)
def test_user_agent_utf8_bytes_come_back_counted_in_bytes(server):
    """A UTF-8 User-Agent comes back byte for byte, and Content-Length counts bytes, not characters."""
    agent = "café-client/1.0 ☕".encode("utf-8")
    response = server.exchange(b"GET /user-agent HTTP/1.1\r\nHost: localhost\r\nUser-Agent: " + agent + b"\r\n\r\n")
    expect_agent(response, agent)


@pytest.mark.task("2.4")
@pytest.mark.points(1)
def test_user_agent_latin1_bytes_come_back_unchanged(server):
    """Bytes that are not UTF-8 (Latin-1 `été`) come back exactly as they came."""
    agent = b"\xe9t\xe9/1.0"
    response = server.exchange(b"GET /user-agent HTTP/1.1\r\nHost: localhost\r\nUser-Agent: " + agent + b"\r\n\r\n")
    expect_agent(response, agent)


@pytest.mark.task("2.4")
@pytest.mark.points(1)
@pytest.mark.parametrize("target", [b"/nope", b"/user-agent/more"], ids=lambda t: t.decode())
def test_unknown_path_is_404(server, target):
    """Any path other than / and /user-agent gets 404."""
    server.exchange(b"GET " + target + b" HTTP/1.1\r\nHost: localhost\r\nUser-Agent: x\r\n\r\n").expect_text_error(
        404, f"no route for {target.decode()}"
    )


@pytest.mark.task("2.4")
@pytest.mark.points(2)
def test_keeps_serving_after_errors(server):
    """After a 400, a 505 and a 404, the next client still gets Hello, World!"""
    server.exchange(b"GET / HTTP/1.1\r\nX-Note : hi\r\n\r\n").expect_text_error(400)
    server.exchange(b"GET / HTTP/2.0\r\nHost: localhost\r\n\r\n").expect_text_error(505)
    server.exchange(b"GET /nope HTTP/1.1\r\nHost: localhost\r\n\r\n").expect_text_error(404)
    expect_hello(server.exchange(GET), "the server keeps serving after error responses")


@pytest.mark.task("2.4")
@pytest.mark.points(2)
def test_python_http_client_gets_its_user_agent_back(server):
    """The standard library's http.client sends a custom User-Agent to /user-agent and reads it back."""
    agent = "stdlib-client/3.11 (course)"
    client = http.client.HTTPConnection(server.process.host, server.port, timeout=3)
    try:
        client.request("GET", "/user-agent", headers={"User-Agent": agent})
        response = client.getresponse()
        body = response.read()
        content_type = response.getheader("Content-Type") or ""
    except (OSError, http.client.HTTPException) as error:
        fail_client(server, f"http.client sent GET /user-agent with User-Agent: {agent} and could not read the response: {error!r}")
    finally:
        client.close()
    if (response.status, response.reason) != (200, "OK"):
        fail_client(server, f"http.client sent GET /user-agent and read the status {response.status} {response.reason}, not 200 OK")
    if content_type.split(";")[0].strip().lower() != "text/plain" or "charset" in content_type.lower():
        fail_client(server, f"http.client expected Content-Type: text/plain with no charset and read {content_type!r}")
    if body != agent.encode():
        fail_client(server, f"http.client sent User-Agent: {agent} and read the body {body!r}")


@pytest.mark.task("2.4")
@pytest.mark.points(2)
def test_curl_gets_its_user_agent_back(server):
    """curl --user-agent with non-ASCII text reads back exactly the bytes it sent."""
    require_tool("curl", "this test runs curl against your server")
    agent = "curl-course/2 (naïve)"
    command = ["curl", "--silent", "--show-error", "--max-time", "5", "--user-agent", agent, server.url + "/user-agent"]
    result = subprocess.run(command, capture_output=True, timeout=10)
    if result.returncode != 0:
        fail_client(server, f"curl failed (exit {result.returncode}): {result.stderr.decode(errors='replace').strip()}")
    if result.stdout != agent.encode("utf-8"):
        fail_client(server, f"curl sent User-Agent: {agent} (UTF-8 bytes {agent.encode()!r}) and printed {result.stdout!r}")


def fail_client(server, problem: str) -> None:
    pytest.fail(f"{problem}\n{server.hint.render()}", pytrace=False)
