"""Chapter 3 on the wire: request bodies framed by Content-Length, limits and 100-continue.

Only `POST /echo`, `GET /` and unknown paths are used, so the tests keep passing against later
chapters. A test sends only bytes that a correct server must read: a request refused before
its body is read (400, 413, 501, ...) is sent as a head alone, because unread bytes make the
kernel answer with a reset that can destroy the response. Responses are read by their
Content-Length, never by waiting for the close, except where the spec says the server closes.
"""

import http.client
import subprocess
import time

import pytest

from course.pytest_plugin import require_tool

pytestmark = pytest.mark.wire

DEFAULT_MAX_BODY = 1024 * 1024
GET = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"


def post(length, content_type=None, path=b"/echo", extra=b""):
    """The head of a POST with this Content-Length (bytes, str or int; None leaves it out)."""
    head = b"POST " + path + b" HTTP/1.1\r\nHost: localhost\r\n"
    if content_type is not None:
        head += b"Content-Type: " + content_type + b"\r\n"
    if length is not None:
        if not isinstance(length, bytes):
            length = str(length).encode("ascii")
        head += b"Content-Length: " + length + b"\r\n"
    return head + extra + b"\r\n"


def expect_echo(response, body, content_type=None, why=""):
    """200 OK with the body sent; the Content-Type too when asked (the tests of 3.3 ask)."""
    response.expect_status(200, why)
    response.expect_header("Content-Length", str(len(body)))
    response.expect_body(body, why)
    if content_type is not None:
        response.expect_header("Content-Type", content_type)
    return response


def read_final_response(connection, expect):
    """The final response, after any interim 1xx ones (a server may send more than one)."""
    response = connection.read_response(method="POST", expect=expect)
    while 100 <= response.status < 200:
        response = connection.read_response(method="POST", expect=expect)
    return response


def exchange_and_close(server, raw, expect="a response"):
    """One request on its own connection, closed once the response is read (the server may be
    waiting for us to close before it serves the next client)."""
    response = server.exchange(raw, expect=expect)
    response.connection.close()
    return response


def echo_still_works(server, why):
    """A fresh client still gets its body echoed: the server survived what came before."""
    body = b"still here"
    expect_echo(exchange_and_close(server, post(len(body)) + body, f"an echo of {body!r} ({why})"), body, why=why)


# -- 3.1 Validate Content-Length ---------------------------------------------------------------

# RFC 9110 §8.6: Content-Length = 1*DIGIT. Python's int() accepts much more (a sign, spaces,
# underscores between digits, non-ASCII digits), so it cannot be the validator on its own.
INVALID_LENGTHS = [
    pytest.param(b"+5", id="plus-sign"),
    pytest.param(b"-1", id="negative"),
    pytest.param(b"0x10", id="hexadecimal"),
    pytest.param(b"1_0", id="underscore"),
    pytest.param(b" 5 5", id="space-inside"),
    pytest.param(b"5 5", id="two-numbers"),
    pytest.param(b"abc", id="letters"),
    pytest.param(b"", id="empty"),
    pytest.param(b"99999999999999999999999", id="overflow"),
    pytest.param(b"\xb2", id="superscript-two"),
]


@pytest.mark.task("3.1")
@pytest.mark.points(1)
@pytest.mark.parametrize("value", INVALID_LENGTHS)
def test_invalid_content_length_is_400(server, value):
    """A Content-Length that is not just ASCII digits is refused with 400."""
    shown = value.decode("latin-1")
    response = server.exchange(
        post(value),
        expect=f"400 Bad Request at once: `Content-Length: {shown}` is not 1*DIGIT (only the digits 0-9)",
    )
    response.expect_text_error(400, f"`{shown}` is not a valid Content-Length")


@pytest.mark.task("3.1")
@pytest.mark.points(2)
@pytest.mark.parametrize(
    "fields",
    [
        pytest.param(b"Content-Length: 5\r\nContent-Length: 6\r\n", id="two-fields"),
        pytest.param(b"Content-Length: 5, 6\r\n", id="comma-list"),
    ],
)
def test_differing_content_lengths_are_400(server, fields):
    """Two different Content-Length values (two fields, or a list) are refused with 400."""
    raw = b"POST /echo HTTP/1.1\r\nHost: localhost\r\n" + fields + b"\r\n"
    response = server.exchange(raw, expect="400 Bad Request at once: the request gives two different lengths")
    response.expect_text_error(400, "which of the two lengths is the body's cannot be known")


# -- 3.2 Read exactly the body -----------------------------------------------------------------


@pytest.mark.task("3.2")
@pytest.mark.points(4)
def test_body_bytes_that_came_with_the_head_count(server):
    """Body bytes that arrive in the same segment as the head are part of the body."""
    connection = server.connect()
    connection.send(post(22) + b"came with the head|")
    connection.expect_nothing_yet(0.3, "the server to wait: 19 of the 22 body bytes have arrived")
    connection.send(b"end")
    expect_echo(
        connection.read_response(expect="the echo of all 22 bytes, the 19 that came with the head included"),
        b"came with the head|end",
    )


@pytest.mark.task("3.2")
@pytest.mark.points(3)
def test_body_split_across_many_segments(server):
    """A body that arrives a few bytes per segment is read until Content-Length bytes are in."""
    body = b"line one\r\n\r\nline two after a blank line\r\nand the end"
    connection = server.connect()
    connection.send(post(len(body)))
    connection.expect_nothing_yet(0.2, "the server to wait for the body")
    connection.send_in_pieces(body, size=4)
    expect_echo(connection.read_response(expect=f"the echo of the {len(body)}-byte body"), body)


@pytest.mark.task("3.2")
@pytest.mark.points(2)
def test_empty_body(server):
    """`Content-Length: 0` is a complete request with an empty body: 200 at once."""
    response = server.exchange(post(0), expect="200 OK with an empty body at once: Content-Length is 0")
    expect_echo(response, b"")


@pytest.mark.task("3.2")
@pytest.mark.points(3)
def test_body_longer_than_one_recv(server):
    """A 200 KB body needs many recv calls; all of it comes back."""
    body = bytes((index * 31 + index // 251) % 256 for index in range(200_000))
    connection = server.connect()
    connection.send(post(len(body)) + body)
    expect_echo(connection.read_response(expect="the echo of the 200 000-byte body"), body)


@pytest.mark.task("3.2")
@pytest.mark.points(3)
def test_bytes_after_the_body_are_not_part_of_it(server):
    """Bytes after Content-Length (the next request) are not part of this body."""
    body = b"hello"
    response = server.exchange(
        post(len(body)) + body + GET,
        expect="the echo of the 5 bytes Content-Length announced, and not one more",
    )
    expect_echo(response, body, why="the bytes after the 5th belong to the next request")


@pytest.mark.task("3.2")
@pytest.mark.points(2)
def test_content_length_name_in_any_case(server):
    """Header names are case-insensitive: `content-length` frames the body too."""
    body = b"lower-case name"
    raw = b"POST /echo HTTP/1.1\r\nHost: localhost\r\ncontent-length: 15\r\n\r\n" + body
    expect_echo(server.exchange(raw, expect="the echo of the 15-byte body"), body)


@pytest.mark.task("3.2")
@pytest.mark.points(2)
def test_survives_a_client_that_closes_mid_body(server):
    """A client that closes before its body is complete does not stop the server."""
    connection = server.connect()
    connection.send(post(100) + b"only 20 of 100 bytes")
    time.sleep(0.05)
    connection.close()
    echo_still_works(server, "a client that left mid-body must cost only its own connection")


@pytest.mark.task("3.2")
@pytest.mark.points(2)
def test_survives_a_client_that_resets_mid_body(server):
    """A client that resets (RST) before its body is complete does not stop the server."""
    connection = server.connect()
    connection.send(post(100) + b"only 20 of 100 bytes")
    time.sleep(0.05)
    connection.reset_connection()
    echo_still_works(server, "a client that reset mid-body must cost only its own connection")


# -- 3.3 Echo the body back --------------------------------------------------------------------


@pytest.mark.task("3.3")
@pytest.mark.points(3)
@pytest.mark.parametrize(
    "content_type",
    [
        pytest.param(b"application/json", id="json"),
        pytest.param(b"text/csv; charset=ISO-8859-1; header=present", id="with-parameters"),
    ],
)
def test_echo_copies_the_content_type(server, content_type):
    """POST /echo answers 200 with the body and the request's Content-Type, copied as sent."""
    body = b'{"name": "echo", "bytes": [1, 2, 3]}'
    response = server.exchange(post(len(body), content_type) + body, expect="200 OK with the body echoed")
    expect_echo(response, body, content_type.decode("latin-1"))


@pytest.mark.task("3.3")
@pytest.mark.points(2)
def test_echo_without_content_type_is_octet_stream(server):
    """Without a Content-Type in the request, the echo is `application/octet-stream`."""
    body = b"no type given"
    response = server.exchange(post(len(body)) + body, expect="200 OK with the body echoed")
    expect_echo(response, body, "application/octet-stream")


@pytest.mark.task("3.3")
@pytest.mark.points(3)
def test_binary_body_comes_back_byte_for_byte(server):
    """Every byte value 0-255, CR LF CR LF included, comes back unchanged (bytes, not text)."""
    body = bytes(range(256)) + b"\r\n\r\nHTTP/1.1 200 OK\r\n\r\n" + bytes(range(255, -1, -1))
    response = server.exchange(post(len(body)) + body, expect="the binary body echoed byte for byte")
    expect_echo(response, body, "application/octet-stream")


@pytest.mark.task("3.3")
@pytest.mark.points(2)
def test_python_http_client_gets_its_body_back(server):
    """The standard library's http.client posts a body and reads the echo."""
    body = "héllo wörld\n".encode("utf-8") * 50
    client = http.client.HTTPConnection(server.process.host, server.port, timeout=3)
    try:
        client.request("POST", "/echo", body=body, headers={"Content-Type": "text/plain; charset=utf-8"})
        response = client.getresponse()
        received = response.read()
        assert (response.status, response.reason) == (200, "OK"), f"http.client saw {response.status} {response.reason}"
        assert received == body, f"http.client sent {len(body)} bytes and read back {len(received)}: {received[:80]!r}..."
        content_type = response.getheader("Content-Type")
        assert content_type == "text/plain; charset=utf-8", f"http.client read Content-Type: {content_type}"
    finally:
        client.close()


@pytest.mark.task("3.3")
@pytest.mark.points(2)
def test_curl_posts_a_file_and_reads_the_echo(server, tmp_path):
    """curl --data-binary @file gets the file's bytes back with its Content-Type."""
    require_tool("curl", "this test runs curl against your server")
    upload = tmp_path / "upload.bin"
    body = bytes(range(256)) * 3
    upload.write_bytes(body)
    result = subprocess.run(
        [
            "curl", "--silent", "--show-error", "--max-time", "5",
            "--header", "Expect:",  # no 100-continue here: the next test is about it
            "--header", "Content-Type: image/x-test",
            "--data-binary", f"@{upload}",
            "--write-out", "\n%{http_code} %{content_type}",
            server.url + "/echo",
        ],
        capture_output=True,
        timeout=10,
    )
    assert result.returncode == 0, f"curl failed (exit {result.returncode}): {result.stderr.decode(errors='replace')}"
    received, _, summary = result.stdout.rpartition(b"\n")
    assert summary == b"200 image/x-test", f"curl saw status and Content-Type {summary.decode(errors='replace')!r}"
    assert received == body, f"curl sent {len(body)} bytes and read back {len(received)}"


# -- 3.4 Limits and 100-continue ---------------------------------------------------------------


@pytest.mark.task("3.4")
@pytest.mark.points(2)
@pytest.mark.parametrize(
    "length",
    [pytest.param(DEFAULT_MAX_BODY + 1, id="1MiB-plus-1"), pytest.param(10**12, id="1TB")],
)
def test_too_large_body_is_413_before_it_is_sent(server, length):
    """A Content-Length over the limit (1 MiB by default) gets 413 before any body byte is sent."""
    response = server.exchange(
        post(length),
        expect=f"413 Content Too Large at once: {length} bytes is over the 1 MiB limit (no body byte was sent)",
    )
    response.expect_text_error(413, "the limit is checked on the head, before reading the body")


@pytest.mark.task("3.4")
@pytest.mark.points(1)
def test_body_of_exactly_the_default_limit_is_accepted(server):
    """A body of exactly 1 MiB (1048576 bytes) is within the default limit."""
    body = bytes(range(256)) * (DEFAULT_MAX_BODY // 256)
    connection = server.connect()
    connection.send(post(len(body)) + body)
    expect_echo(connection.read_response(expect="the echo of a 1 MiB body, which the limit allows"), body)


@pytest.mark.task("3.4")
@pytest.mark.points(3)
def test_max_body_flag_sets_the_limit(start_server):
    """With `--max-body 10`, a 10-byte body is echoed and an 11-byte one gets 413."""
    server = start_server("--max-body", "10")
    ten = b"0123456789"
    expect_echo(exchange_and_close(server, post(10) + ten, "the echo: 10 bytes is within --max-body 10"), ten)
    response = exchange_and_close(server, post(11), "413 Content Too Large at once: 11 bytes is over --max-body 10")
    response.expect_text_error(413, "11 bytes is over --max-body 10")


@pytest.mark.task("3.4")
@pytest.mark.points(4)
def test_expect_100_continue(server):
    """With `Expect: 100-continue`, `100 Continue` comes before the body is sent, then the echo."""
    body = b"sent after 100"
    connection = server.connect()
    connection.send(post(len(body), extra=b"Expect: 100-continue\r\n"))
    interim = connection.read_response(
        method="POST", expect="`HTTP/1.1 100 Continue` and a blank line, before the client sends the body"
    )
    interim.expect_status(100, "the client waits for it before sending the body")
    connection.send(body)
    expect_echo(read_final_response(connection, "the final response, after the body"), body)


@pytest.mark.task("3.4")
@pytest.mark.points(2)
def test_expect_100_continue_with_the_body_already_sent(server):
    """A client may send its body without waiting for 100: the body is still read and echoed."""
    body = b"did not wait"
    connection = server.connect()
    connection.send(post(len(body), extra=b"Expect: 100-continue\r\n") + body)
    expect_echo(read_final_response(connection, "a 100 Continue (optional here), then the echo"), body)


@pytest.mark.task("3.4")
@pytest.mark.points(3)
@pytest.mark.parametrize(
    "path, length, status",
    [pytest.param(b"/nowhere", 5, 404, id="404-unknown-path"), pytest.param(b"/echo", DEFAULT_MAX_BODY + 1, 413, id="413-too-large")],
)
def test_refused_expect_100_gets_final_status_and_close(server, path, length, status):
    """A request refused on its head gets its final status instead of 100, then the close."""
    connection = server.connect()
    connection.send(post(length, path=path, extra=b"Expect: 100-continue\r\n"))
    response = connection.read_response(
        method="POST", expect=f"{status} at once, without 100 Continue: the body will never be read"
    )
    response.expect_text_error(status, "a refused request must not invite the body with 100 Continue")
    connection.expect_closed("the server to close the connection: the announced body was never read")


@pytest.mark.task("3.4")
@pytest.mark.points(2)
def test_curl_waits_for_100_continue(server, tmp_path):
    """curl with `Expect: 100-continue` gets 100 Continue, then its body echoed."""
    require_tool("curl", "this test runs curl against your server")
    upload = tmp_path / "upload.txt"
    body = b"curl waited for 100 Continue\n" * 10
    upload.write_bytes(body)
    result = subprocess.run(
        [
            "curl", "--silent", "--show-error", "--max-time", "5", "--include",
            "--expect100-timeout", "2",
            "--header", "Expect: 100-continue",
            "--header", "Content-Type: text/plain",
            "--data-binary", f"@{upload}",
            server.url + "/echo",
        ],
        capture_output=True,
        timeout=10,
    )
    assert result.returncode == 0, f"curl failed (exit {result.returncode}): {result.stderr.decode(errors='replace')}"
    output = result.stdout
    assert output.startswith(b"HTTP/1.1 100 Continue\r\n"), (
        f"curl did not get 100 Continue first; it printed:\n{output[:300].decode('latin-1')}"
    )
    assert b"\r\n\r\nHTTP/1.1 200 OK\r\n" in output, f"curl got no 200 OK after 100 Continue:\n{output[:300].decode('latin-1')}"
    assert output.endswith(b"\r\n\r\n" + body), f"curl did not read its body back; it printed:\n{output[:400].decode('latin-1')}"


@pytest.mark.task("3.4")
@pytest.mark.points(2)
@pytest.mark.parametrize("coding", [b"chunked", b"gzip, chunked"], ids=["chunked", "gzip-chunked"])
def test_transfer_encoding_is_501(server, chapter, coding):
    """A request with Transfer-Encoding gets 501 Not Implemented (chunked bodies come in chapter 8)."""
    raw = b"POST /echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: " + coding + b"\r\n\r\n"
    if chapter.number >= 8 and coding == b"chunked":
        # From chapter 8 on, a chunked body is decoded: the echo is the spec then.
        response = server.exchange(raw + b"5\r\nhello\r\n0\r\n\r\n", expect="the decoded chunked body echoed")
        expect_echo(response, b"hello")
        return
    response = server.exchange(
        raw, expect=f"501 Not Implemented at once: this server cannot read a `{coding.decode()}` body"
    )
    response.expect_text_error(501, "Transfer-Encoding is not supported before chapter 8")
