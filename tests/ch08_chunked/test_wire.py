"""Chapter 8 on the wire: chunked request bodies, the framing rules that stop request
smuggling, and streamed responses (chunked to HTTP/1.1, close-delimited to HTTP/1.0, gzip as
it goes).

Requests are told apart by their answers: `POST /echo` sends its body back, `GET /` says
`Hello, World!`. A request refused on its head (other codings, Transfer-Encoding on HTTP/1.0)
is sent as a head alone; a refused chunked body is sent up to and a little past its fault.
Desync probes: a request with both Transfer-Encoding and Content-Length carries, as its body,
a complete second request; a correct server answers once and closes, as it cannot tell where
the next request starts (RFC 9112 §6.3, §11.2).

What the spec leaves open is left open: the text of /stream's pieces (only their number, that
they come over time, and how the body is framed are graded), 400 or 413 for an absurd chunk
size, the status of an upload (any 2xx). Responses are read by their framing, never by waiting
for the close, except where the spec says the close ends the body (HTTP/1.0 streams).
"""

import gzip
import http.client
import re
import subprocess
import zlib

import h11
import httpx
import pytest
import requests

from course.oracle import h11_exchange
from course.pytest_plugin import require_tool
from course.wire import Response, show_bytes

pytestmark = pytest.mark.wire

HELLO = b"Hello, World!"
GET = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"
# A whole request, sent where a refused request's body would be: a correct server never answers it.
SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: localhost\r\n\r\n"
HEX_SIZE = re.compile(rb"[0-9A-Fa-f]+")


def chunk(data):
    """One chunk: its size in hex, CRLF, the data, CRLF."""
    return f"{len(data):x}\r\n".encode("ascii") + data + b"\r\n"


def chunked(*pieces, trailers=b""):
    """A whole chunked body: a chunk per piece, the last chunk, the trailer fields, a blank line."""
    return b"".join(chunk(piece) for piece in pieces) + b"0\r\n" + trailers + b"\r\n"


def chunked_head(target=b"/echo", coding=b"chunked", extra=b"", method=b"POST", version=b"HTTP/1.1"):
    """The head of a request whose body is framed by `Transfer-Encoding: <coding>`."""
    head = method + b" " + target + b" " + version + b"\r\n"
    if version != b"HTTP/1.0":
        head += b"Host: localhost\r\n"
    return head + b"Transfer-Encoding: " + coding + b"\r\n" + extra + b"\r\n"


def get(target, accept_encoding=None, version=b"HTTP/1.1", extra=b"", method=b"GET"):
    head = method + b" " + target + b" " + version + b"\r\n"
    if version != b"HTTP/1.0":
        head += b"Host: localhost\r\n"
    if accept_encoding is not None:
        head += b"Accept-Encoding: " + accept_encoding + b"\r\n"
    return head + extra + b"\r\n"


def fail_client(server, problem):
    # The report waits for the server's last stderr itself (PipeDrain.settle).
    pytest.fail(f"{problem}\n{server.hint.render()}", pytrace=False)


def expect_echo(response, body, why=""):
    """200 OK with the decoded body sent back."""
    response.expect_status(200, why)
    response.expect_body(body, why)
    return response


def expect_hello(connection, why):
    """The next response on the connection is `Hello, World!`: the request after the last one was found."""
    response = connection.read_response(expect=f"the answer to `GET /`, `Hello, World!` ({why})")
    response.expect_status(200, why)
    response.expect_body(HELLO, why)


def echo_and_hello(server, raw, body, why):
    """Send a chunked POST /echo followed by `GET /` in one segment: the echo, then the hello."""
    with server.connect() as connection:
        connection.send(raw + GET)
        expect_echo(connection.read_response(method="POST", expect=f"the echo of the decoded body {body!r}"), body, why)
        expect_hello(connection, "it follows the chunked body in the same segment: the bytes after the body's end belong to it")


def expect_refused(connection, statuses, why):
    """An error response with one of `statuses`, then the close, and nothing more."""
    shown = " or ".join(str(status) for status in statuses)
    response = connection.read_response(method="POST", expect=f"{shown} at once: {why}")
    if response.status not in statuses:
        response.expect_status(statuses[0], why)
    response.expect_text_error(response.status, why)
    expect_closed_without_a_second_response(
        connection, "the close, and nothing more: where this request's body ends cannot be known"
    )
    return response


def expect_each_refused(server, cases, statuses, why):
    """Send each raw request on a connection of its own: each gets one of `statuses`, then the
    close. Stops at the first wrong answer; `why(raw)` says what is wrong with the request."""
    for raw in cases:
        with server.connect() as connection:
            connection.send(raw)
            expect_refused(connection, statuses, why(raw))


def expect_closed_without_a_second_response(connection, why):
    """The server sends nothing more and closes; a second response is the desync this chapter prevents."""
    extra = connection.read_until_close(why)
    if extra:
        problem = f"after the response, {len(extra)} more bytes came."
        if extra.startswith(b"HTTP/"):
            problem = (
                "a second response came: the server read the bytes after the refused head as a new request. "
                "They were that request's body: a client (or an attacker) just had a request answered that "
                "no one could see it send (request smuggling, RFC 9112 §11.2)."
            )
        connection.fail(why, problem, caret_at=len(connection.received) - len(extra), note="this should not be here")


# -- Reading a streamed response piece by piece ------------------------------------------------


def read_head_only(connection, expect):
    """The status line and header fields of a response whose body the test reads itself."""
    start = connection.position
    status_line, line_start = connection._read_line(expect)
    match = re.fullmatch(rb"HTTP/1\.1 (\d{3}) ([\x20-\x7e\x80-\xff\t]*)", status_line)
    if not match:
        connection.fail(expect, "the status line is not `HTTP/1.1 <3 digits> <reason>`.", caret_at=line_start)
    headers = connection._read_header_fields(expect)
    response = Response(connection, b"", int(match[1]), match[2].decode("latin-1"), headers, b"", start)
    response.raw = bytes(connection.received[start : connection.position])
    return response


def decode_chunks(data):
    """Decode as much of a chunked body as `data` holds: (chunks' data, finished, where the
    framing broke or None). Stops at the first chunk not yet complete."""
    pieces = []
    position = 0
    while True:
        end = data.find(b"\r\n", position)
        if end < 0:
            return pieces, False, None
        size_text = data[position:end].split(b";", 1)[0]
        if not HEX_SIZE.fullmatch(size_text):
            return pieces, False, position
        size = int(size_text, 16)
        if size == 0:
            return pieces, True, None
        data_start = end + 2
        if len(data) < data_start + size + 2:
            return pieces, False, None
        if data[data_start + size : data_start + size + 2] != b"\r\n":
            return pieces, False, data_start + size
        pieces.append(data[data_start : data_start + size])
        position = data_start + size + 2


def receive_chunks_until(connection, enough, expect):
    """Receive a chunked body until `enough(pieces)` or its last chunk: (pieces, finished)."""
    body_start = connection.position
    while True:
        pieces, finished, broken = decode_chunks(bytes(connection.received[body_start:]))
        if broken is not None:
            connection.fail(
                expect,
                "this is not a chunk: a chunk is its size in hex, CRLF, that many bytes, CRLF (RFC 9112 §7.1).",
                caret_at=body_start + broken,
            )
        if finished or enough(pieces):
            return pieces, finished
        if not connection._receive_more(expect):
            connection.fail(expect, "the connection ended in the middle of the chunked body.", caret_at=len(connection.received))


def expect_chunked(response, why):
    """`Transfer-Encoding: chunked` and no Content-Length: a body of unknown length, sent as it comes."""
    codings = [item.strip().lower() for value in response.header_values("Transfer-Encoding") for item in value.split(",")]
    if codings != ["chunked"] and not (codings and codings[-1] == "chunked"):
        response.fail(
            f"Transfer-Encoding: chunked ({why})",
            f"the response says Transfer-Encoding: {response.header('Transfer-Encoding')}."
            if codings
            else "the response has no Transfer-Encoding header.",
        )
    if response.header_values("Content-Length"):
        response.fail(
            "no Content-Length: a streamed body's length is not known when the head is sent, and a message "
            "with Transfer-Encoding must not have one (RFC 9112 §6.2)",
            f"the response says Content-Length: {response.header('Content-Length')}.",
        )


def expect_close_delimited(response, why):
    """Neither Transfer-Encoding nor Content-Length: the close ends the body (RFC 9112 §6.3)."""
    for name in ("Transfer-Encoding", "Content-Length"):
        if response.header_values(name):
            response.fail(
                f"no {name}: {why}",
                f"the response says {name}: {response.header(name)}.",
            )


def content_coding(response):
    return (response.header("Content-Encoding") or "").strip().lower()


def expect_gzip_coding(response, why):
    if content_coding(response) != "gzip":
        response.fail(
            f"Content-Encoding: gzip ({why})",
            f"the response says Content-Encoding: {response.header('Content-Encoding')}."
            if response.header("Content-Encoding")
            else "the response has no Content-Encoding header.",
        )


def gunzip(response, data, why):
    """The gzip body decompressed; fails with the transcript when it is not a complete gzip body."""
    try:
        decoded = gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as error:
        response.fail(f"a complete gzip body ({why})", f"gzip.decompress cannot read it: {error}.")
    if not decoded:
        response.fail(f"a gzip body holding the stream's pieces ({why})", "it decompresses to nothing.")
    return decoded


# -- 8.1 Choose the framing: the smuggling rules -----------------------------------------------


@pytest.mark.task("8.1")
@pytest.mark.points(3)
@pytest.mark.parametrize(
    "fields",
    [
        pytest.param(b"Transfer-Encoding: chunked\r\nContent-Length: %d\r\n", id="te-then-cl"),
        pytest.param(b"Content-Length: %d\r\nTransfer-Encoding: chunked\r\n", id="cl-then-te"),
    ],
)
def test_transfer_encoding_with_content_length_is_400_then_close(server, fields):
    """Both Transfer-Encoding and Content-Length: 400, then the close; the request hidden in the body is never answered."""
    # Read as chunked, the body is the last chunk, then SMUGGLED; read by its Content-Length,
    # it is all of these bytes. Either way someone answers a request no one could see.
    body = b"0\r\n\r\n" + SMUGGLED
    raw = b"POST /echo HTTP/1.1\r\nHost: localhost\r\n" + fields % len(body) + b"\r\n" + body
    with server.connect() as connection:
        connection.send(raw)
        response = connection.read_response(
            method="POST",
            expect="400 Bad Request at once: with both Transfer-Encoding and Content-Length, two parties could "
            "each believe a different one (RFC 9112 §6.3)",
        )
        if response.status == 200:
            response.fail(
                "400 Bad Request, not an answer: which field frames the body cannot be decided safely",
                "the server chose one of the two framings. A proxy in front of it could have chosen the other, "
                "and the bytes one reads as body the other reads as a request (request smuggling).",
            )
        response.expect_text_error(400, "Transfer-Encoding and Content-Length together")
        expect_closed_without_a_second_response(
            connection, "the close, and no second response: where this request ends cannot be known"
        )


@pytest.mark.task("8.1")
@pytest.mark.points(3)
def test_chunked_not_last_is_400_then_close(server):
    """`chunked` not the last transfer coding (`chunked, gzip`, or over two fields): 400, then the close."""
    cases = [
        b"POST /echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
        b"POST /echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n",
    ]
    expect_each_refused(
        server, cases, [400], lambda raw: "when chunked is not the last coding, where the body ends cannot be known (RFC 9112 §6.3)"
    )


@pytest.mark.task("8.1")
@pytest.mark.points(1)
def test_transfer_encoding_without_chunked_is_refused(server):
    """`Transfer-Encoding: gzip` (or `identity`) without chunked: refused (400, or 501), then the close."""
    expect_each_refused(
        server,
        [chunked_head(coding=b"gzip"), chunked_head(coding=b"identity")],
        [400, 501],
        lambda raw: "`" + raw.split(b"\r\n")[2].decode() + "` leaves the body's end unknown",
    )


@pytest.mark.task("8.1")
@pytest.mark.points(3)
def test_other_codings_are_501(server):
    """A transfer coding other than chunked (`gzip, chunked`, `deflate,chunked`, over two fields too): 501."""
    for fields in (
        b"Transfer-Encoding: gzip, chunked\r\n",
        b"Transfer-Encoding: deflate,chunked\r\n",
        b"Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n",
    ):
        raw = b"POST /echo HTTP/1.1\r\nHost: localhost\r\n" + fields + b"\r\n"
        shown = fields.decode().replace("\r\n", "\\r\\n")
        response = server.exchange(
            raw, expect=f"501 Not Implemented at once to `{shown}`: this server decodes chunked, and no other transfer coding"
        )
        response.expect_text_error(501, "a server that does not understand a transfer coding answers 501 (RFC 9112 §6.1)")


@pytest.mark.task("8.1")
@pytest.mark.points(3)
def test_transfer_encoding_on_http10_is_400(server):
    """An HTTP/1.0 request with Transfer-Encoding: 400, then the close (HTTP/1.0 has no such field)."""
    with server.connect() as connection:
        connection.send(chunked_head(version=b"HTTP/1.0"))
        expect_refused(
            connection,
            [400],
            "Transfer-Encoding did not exist in HTTP/1.0; a 1.0 message that has it passed through something "
            "that did not understand it, so its framing cannot be trusted (RFC 9112 §6.1)",
        )


@pytest.mark.task("8.1")
@pytest.mark.points(2)
def test_chunked_in_any_case(server):
    """`Chunked`, `CHUNKED`, a lower-case field name, spaces around the value: still chunked."""
    body = b"case-insensitive"
    for fields in (b"Transfer-Encoding: Chunked\r\n", b"transfer-encoding: CHUNKED\r\n", b"Transfer-Encoding: \tchunked \r\n"):
        raw = b"POST /echo HTTP/1.1\r\nHost: localhost\r\n" + fields + b"\r\n" + chunked(body[:4], body[4:])
        response = server.exchange(raw, expect="the decoded chunked body echoed: transfer codings are case-insensitive")
        expect_echo(response, body, "coding names are case-insensitive (RFC 9112 §7)")


# -- 8.2 Decode chunked bodies -----------------------------------------------------------------


@pytest.mark.task("8.2")
@pytest.mark.points(2)
def test_one_chunk(server):
    """`5\\r\\nhello\\r\\n0\\r\\n\\r\\n`: the body is `hello`."""
    response = server.exchange(chunked_head() + b"5\r\nhello\r\n0\r\n\r\n", expect="the echo of `hello`")
    expect_echo(response, b"hello")


@pytest.mark.task("8.2")
@pytest.mark.points(3)
def test_many_chunks_of_many_sizes(server):
    """Chunks of 1, 10 (`a`), 16 (`10`), 255 (`ff`) and 4096 (`1000`) bytes are joined in order."""
    pieces = [bytes([index + 65]) * size for index, size in enumerate([1, 10, 16, 255, 4096, 3])]
    response = server.exchange(chunked_head() + chunked(*pieces), expect="the echo of the six chunks joined")
    expect_echo(response, b"".join(pieces), "sizes are hexadecimal: `10` is 16 bytes, `ff` 255")


@pytest.mark.task("8.2")
@pytest.mark.points(3)
def test_hex_sizes_in_either_case_with_leading_zeros(server):
    """Sizes `1A`, `1a`, `00000005` and a last chunk `000` are read as 26, 26, 5 and 0."""
    letters = b"abcdefghijklmnopqrstuvwxyz"
    body = b"1A\r\n" + letters + b"\r\n1a\r\n" + letters.upper() + b"\r\n00000005\r\nhello\r\n000\r\n\r\n"
    response = server.exchange(chunked_head() + body, expect="the echo of the 57 decoded bytes")
    expect_echo(response, letters + letters.upper() + b"hello", "chunk-size = 1*HEXDIG, in either case (RFC 9112 §7.1)")


@pytest.mark.task("8.2")
@pytest.mark.points(3)
def test_chunk_extensions_are_ignored(server):
    """Chunk extensions (`;a=b`, `; a`, `;name="x;y"`, on the last chunk too) are read past and ignored."""
    body = b'5;a=b\r\nhello\r\n1; a\r\n,\r\n6;name="x;y"\r\n world\r\n0;last\r\n\r\n'
    response = server.exchange(chunked_head() + body, expect="the echo of `hello, world`: extensions are not data")
    expect_echo(response, b"hello, world", "a server ignores the chunk extensions it does not understand (RFC 9112 §7.1.1)")


@pytest.mark.task("8.2")
@pytest.mark.points(4)
def test_trailers_are_read_and_not_merged(server):
    """Trailer fields are read to their blank line, not merged into the head: a `Content-Type` trailer does not type the echo."""
    trailers = b"Content-Type: text/html\r\nX-Checksum: 1234\r\n"
    raw = chunked_head() + chunked(b"body ", b"with trailers", trailers=trailers)
    with server.connect() as connection:
        connection.send(raw + GET)
        response = connection.read_response(method="POST", expect="the echo of `body with trailers`")
        expect_echo(response, b"body with trailers")
        content_type = response.header("Content-Type")
        if content_type != "application/octet-stream":
            response.fail(
                "Content-Type: application/octet-stream: the request's head has no Content-Type, and trailer "
                "fields are not merged into the head (RFC 9110 §6.5.1)",
                f"the echo says Content-Type: {content_type}.",
            )
        expect_hello(connection, "it follows the trailer section: the trailers and their blank line must be read whole")


@pytest.mark.task("8.2")
@pytest.mark.points(3)
def test_chunked_body_one_byte_at_a_time(server):
    """A chunked body that arrives one byte per segment (extensions, trailers and all) is decoded whole."""
    body = b"c;x=1\r\nhello, world\r\n3\r\n!\r\n\r\n0\r\nX-End: yes\r\n\r\n"
    with server.connect() as connection:
        connection.send(chunked_head())
        connection.send_in_pieces(body, size=1)
        response = connection.read_response(method="POST", expect="the echo of the 15 decoded bytes")
        expect_echo(response, b"hello, world!\r\n", "the chunks' data includes CR LF when their size says so")


@pytest.mark.task("8.2")
@pytest.mark.points(3)
def test_chunk_lines_split_between_cr_and_lf(server):
    """Segments that end between CR and LF, and inside sizes, are joined; no answer before the final CRLF."""
    with server.connect() as connection:
        connection.send(chunked_head())
        connection.send_split(b"1", b"0\r", b"\n0123456789abcdef\r", b"\n0\r\n\r")
        connection.expect_nothing_yet(0.3, "the server to wait: the blank line after the last chunk is not complete")
        connection.send(b"\n")
        response = connection.read_response(method="POST", expect="the echo of the 16 bytes of the chunk `10`")
        expect_echo(response, b"0123456789abcdef")


@pytest.mark.task("8.2")
@pytest.mark.points(4)
def test_requests_after_a_chunked_body_are_answered(server):
    """Two chunked POSTs and a GET in one segment: three answers, in order (the bytes after a chunked body carry over)."""
    first, second = b"first body", b"second body"
    raw = chunked_head() + chunked(first) + chunked_head() + chunked(b"second ", b"body") + GET
    with server.connect() as connection:
        connection.send(raw)
        expect_echo(connection.read_response(method="POST", expect="response 1 of 3: the echo of `first body`"), first)
        expect_echo(
            connection.read_response(method="POST", expect="response 2 of 3: the echo of `second body`"),
            second,
            "the second request came in the same segment as the first's last chunk",
        )
        expect_hello(connection, "response 3 of 3")


@pytest.mark.task("8.2")
@pytest.mark.points(2)
def test_large_chunked_body(server):
    """A 300 KB body in chunks of 8000 bytes, then one of 100 000, comes back whole."""
    data = bytes((index * 7 + index // 253) % 256 for index in range(300_000))
    pieces = [data[start : start + 8000] for start in range(0, 200_000, 8000)] + [data[200_000:]]
    with server.connect() as connection:
        connection.send(chunked_head() + chunked(*pieces))
        expect_echo(connection.read_response(method="POST", expect="the echo of the 300 000 decoded bytes"), data)


@pytest.mark.task("8.2")
@pytest.mark.points(1)
def test_empty_chunked_body(server):
    """`0\\r\\n\\r\\n` alone is an empty body: 200 with nothing."""
    response = server.exchange(chunked_head() + b"0\r\n\r\n", expect="200 OK with an empty body")
    expect_echo(response, b"")


@pytest.mark.task("8.2")
@pytest.mark.points(3)
def test_expect_100_continue_with_a_chunked_body(server):
    """`Expect: 100-continue` with a chunked body: 100 Continue, then the chunks are read and echoed."""
    with server.connect() as connection:
        connection.send(chunked_head(extra=b"Expect: 100-continue\r\n"))
        interim = connection.read_response(
            method="POST", expect="`HTTP/1.1 100 Continue` before the client sends its chunks"
        )
        interim.expect_status(100, "the client waits for it before sending the body, whatever its framing")
        connection.send(chunked(b"sent after ", b"100"))
        response = connection.read_response(method="POST", expect="the echo of the chunks sent after 100 Continue")
        while 100 <= response.status < 200:
            response = connection.read_response(method="POST", expect="the echo of the chunks sent after 100 Continue")
        expect_echo(response, b"sent after 100")


# RFC 9112 §7.1: chunk-size = 1*HEXDIG. Python's int(text, 16) also accepts a 0x prefix, a sign,
# spaces around the digits and underscores between them: none of them is a chunk size.
INVALID_SIZES = [
    b"g\r\nhello\r\n",
    b"0x5\r\nhello\r\n0\r\n\r\n",
    b"+5\r\nhello\r\n0\r\n\r\n",
    b" 5\r\nhello\r\n0\r\n\r\n",
    b"5_0\r\n" + b"u" * 0x50 + b"\r\n0\r\n\r\n",
    b"-5\r\nhello\r\n0\r\n\r\n",
    b"\r\nhello\r\n0\r\n\r\n",
]


def size_line(raw):
    """The first chunk-size line of a chunked request, as a test's message shows it."""
    return raw.split(b"\r\n\r\n", 1)[1].split(b"\r\n", 1)[0].decode("latin-1")


@pytest.mark.task("8.2")
@pytest.mark.points(5)
def test_invalid_chunk_size_is_400(server):
    """A chunk size that is not just hex digits (`g`, `0x5`, `+5`, ` 5`, `5_0`, `-5`, empty) is refused with 400."""
    expect_each_refused(
        server,
        [chunked_head() + body for body in INVALID_SIZES],
        [400],
        lambda raw: f"`{size_line(raw)}` is not a chunk size: chunk-size = 1*HEXDIG, no sign, space, prefix or `_` (RFC 9112 §7.1)",
    )


@pytest.mark.task("8.2")
@pytest.mark.points(4)
def test_data_must_end_with_crlf_where_its_size_says(server):
    """Chunk data longer (`hello!`) or shorter (`hell`) than its size 5, or not followed by CRLF: 400."""
    expect_each_refused(
        server,
        [chunked_head() + body for body in (b"5\r\nhello!\r\n0\r\n\r\n", b"5\r\nhell\r\n0\r\n\r\n", b"5\r\nhelloXX0\r\n\r\n")],
        [400],
        lambda raw: "the 5 bytes of data after `5\\r\\n` must be followed by CRLF, exactly there (RFC 9112 §7.1)",
    )


@pytest.mark.task("8.2")
@pytest.mark.points(3)
def test_bare_lf_in_chunk_lines_is_400(server):
    """A chunk line ending in a bare LF (after the size, after the data, after the last chunk): 400."""
    expect_each_refused(
        server,
        [chunked_head() + body for body in (b"5\nhello\r\n0\r\n\r\n", b"5\r\nhello\n0\r\n\r\n", b"5\r\nhello\r\n0\n\r\n")],
        [400],
        lambda raw: "chunk lines end with CRLF, as the head's lines do (RFC 9112 §7.1)",
    )


@pytest.mark.task("8.2")
@pytest.mark.points(2)
def test_oversized_chunk_size_is_refused(server):
    """A chunk size over the body limit (1 GiB, 2**64, 40 hex digits) is refused at once: 400 or 413."""
    expect_each_refused(
        server,
        [chunked_head() + size + b"\r\n" for size in (b"40000000", b"10000000000000000", b"f" * 40)],
        [400, 413],
        lambda raw: f"a chunk of 0x{size_line(raw)} bytes is over the 1 MiB limit: refuse it before its data",
    )


@pytest.mark.task("8.2")
@pytest.mark.points(3)
def test_max_body_applies_to_the_decoded_total(start_server):
    """With `--max-body 10`: chunks of 4 and 6 bytes are echoed; chunks of 6 and 6 (12 in all) get 413."""
    server = start_server("--max-body", "10")
    ten = b"0123456789"
    with server.connect() as connection:
        connection.send(chunked_head() + chunked(ten[:4], ten[4:]))
        expect_echo(connection.read_response(method="POST", expect="the echo: 10 bytes is within --max-body 10"), ten)
    with server.connect() as connection:
        connection.send(chunked_head() + chunked(b"abcdef", b"ghijkl"))
        expect_refused(connection, [413], "the chunks add up to 12 bytes, over --max-body 10; each is under it")


@pytest.mark.task("8.2")
@pytest.mark.points(2)
def test_python_clients_post_chunked_bodies(server):
    """requests (a generator body) and http.client (`encode_chunked=True`) post chunked bodies; each is echoed."""
    pieces = [b"first piece, ", b"", b"second piece, ", "and ünïcode".encode()]
    wanted = b"".join(pieces)
    with requests.Session() as session:
        session.trust_env = False  # no proxy from the environment: straight to the server
        try:
            response = session.post(server.url + "/echo", data=iter(pieces), timeout=5)
            got = ("requests", response.status_code, response.content)
        except requests.RequestException as error:
            fail_client(server, f"requests could not POST a generator body (sent chunked): {error!r}")
    client = http.client.HTTPConnection(server.process.host, server.port, timeout=5)
    try:
        client.request("POST", "/echo", body=iter(pieces), headers={"Transfer-Encoding": "chunked"}, encode_chunked=True)
        answer = client.getresponse()
        got_http_client = ("http.client", answer.status, answer.read())
    except (OSError, http.client.HTTPException) as error:
        fail_client(server, f"http.client could not POST a chunked body: {error!r}")
    finally:
        client.close()
    for name, status, content in (got, got_http_client):
        if status != 200 or content != wanted:
            fail_client(
                server,
                f"{name} sent a chunked body of {len(wanted)} bytes and read {status} with {content[:80]!r}; "
                f"expected 200 and {wanted!r}",
            )


@pytest.mark.task("8.2")
@pytest.mark.points(3)
def test_curl_uploads_from_stdin(start_server, tmp_path):
    """`curl -T - -X POST` (a chunked upload of what curl reads on stdin) stores the file under /files/."""
    require_tool("curl", "this test runs curl against your server")
    root = tmp_path / "site"
    root.mkdir()
    server = start_server("--directory", str(root))
    data = b"".join(b"line %05d of an upload from stdin\n" % number for number in range(4000))
    url = server.url + "/files/uploads/stdin.txt"
    # -T - reads stdin, whose length curl cannot know: it sends the body chunked. -T alone
    # sends a PUT; the spec's upload route is POST /files/{path} (COURSE_SPEC §4.5).
    result = subprocess.run(
        ["curl", "--silent", "--show-error", "--max-time", "5", "--expect100-timeout", "2",
         "--upload-file", "-", "--request", "POST", "--write-out", "%{http_code}", "--output", "/dev/null", url],
        input=data,
        capture_output=True,
        timeout=10,
    )
    if result.returncode != 0:
        fail_client(server, f"curl -T - -X POST {url} failed (exit {result.returncode}): {result.stderr.decode(errors='replace').strip()}")
    status = result.stdout.decode(errors="replace")
    stored = root / "uploads" / "stdin.txt"
    if not status.startswith("2") or not stored.is_file() or stored.read_bytes() != data:
        found = f"{len(stored.read_bytes())} bytes" if stored.is_file() else "no file"
        fail_client(
            server,
            f"curl -T - sent {len(data)} bytes chunked to POST {url} and got status {status}; the folder holds "
            f"{found} at uploads/stdin.txt. Expected 201 Created and the file, byte for byte.",
        )


# -- 8.3 Stream responses: chunked or close-delimited ------------------------------------------


@pytest.mark.task("8.3")
@pytest.mark.points(4)
def test_stream_is_chunked_to_http11(server):
    """GET /stream?n=5 over HTTP/1.1: 200, `Transfer-Encoding: chunked`, no Content-Length, 5 chunks, a last chunk."""
    with server.connect() as connection:
        connection.send(get(b"/stream?n=5"))
        response = connection.read_response(expect="200 OK with a chunked body of 5 pieces, then the last chunk")
        response.expect_status(200)
        expect_chunked(response, "the length of a stream is not known when its head is sent")
        if content_coding(response) not in ("", "identity"):
            response.fail(
                "no Content-Encoding: the client did not ask for gzip",
                f"the response says Content-Encoding: {response.header('Content-Encoding')}.",
            )
        pieces, _finished, _broken = decode_chunks(response.raw[response.raw.index(b"\r\n\r\n") + 4 :])
        if len(pieces) != 5:
            response.fail(
                "5 chunks, one per piece of the stream (`n=5`), each sent as it is produced",
                f"the body came in {len(pieces)} chunk{'' if len(pieces) == 1 else 's'}: {[piece[:40] for piece in pieces]!r}.",
            )


@pytest.mark.task("8.3")
@pytest.mark.points(3)
def test_connection_is_reused_after_a_stream(server):
    """After a chunked stream, the next request on the same connection is answered: the last chunk ended the body."""
    with server.connect() as connection:
        connection.send(get(b"/stream?n=3"))
        response = connection.read_response(expect="the stream of 3 pieces, chunked, ending with the last chunk")
        response.expect_status(200)
        expect_chunked(response, "HTTP/1.1 gets a stream chunked")
        if not response.body:
            response.fail("the pieces of the stream in the body", "the body is empty.")
        connection.send(GET)
        expect_hello(connection, "the connection stays open after a chunked stream: its end is the last chunk")


@pytest.mark.task("8.3")
@pytest.mark.points(4)
def test_stream_pieces_arrive_as_they_are_produced(server):
    """GET /stream?n=100: the first piece arrives long before the last one is produced (nothing is buffered)."""
    with server.connect() as connection:
        connection.send(get(b"/stream?n=100"))
        response = read_head_only(connection, "the head of the stream at once, then its first piece")
        response.expect_status(200)
        expect_chunked(response, "HTTP/1.1 gets a stream chunked")
        _pieces, finished = receive_chunks_until(
            connection, lambda pieces: bool(pieces), "the first piece of the stream, sent as soon as it is produced"
        )
        if finished:
            connection.fail(
                "the first chunk while the other 99 pieces are still being produced",
                "the whole stream arrived at once: the server collected the pieces before sending them. "
                "Each piece must go out as a chunk as soon as it is produced.",
                caret_at=connection.position,
            )
    # Leaving now: a server that writes the next pieces into a closed connection must cope with it.


@pytest.mark.task("8.3")
@pytest.mark.points(4)
def test_stream_to_http10_ends_with_the_close(server):
    """GET /stream?n=3 over HTTP/1.0 (even with `Connection: keep-alive`): no chunked, no Content-Length; the close ends the body."""
    for extra in (b"", b"Connection: keep-alive\r\n"):
        with server.connect() as connection:
            connection.send(get(b"/stream?n=3", version=b"HTTP/1.0", extra=extra))
            response = read_head_only(connection, "200 OK with a body that the close ends")
            response.expect_status(200)
            expect_close_delimited(
                response,
                "an HTTP/1.0 client cannot read chunks, and the length is not known in advance: the server "
                "sends the pieces as they are and closes the connection to end the body (RFC 9112 §6.3)",
            )
            body = connection.read_until_close("the pieces of the stream, then the close that ends the body")
            if not body:
                connection.fail("the pieces of the stream before the close", "the body is empty.")


@pytest.mark.task("8.3")
@pytest.mark.points(2)
def test_head_of_a_stream_has_no_body(server):
    """HEAD /stream?n=5 then GET / in one segment: the head alone, no Content-Length, then `Hello, World!`."""
    with server.connect() as connection:
        connection.send(get(b"/stream?n=5", method=b"HEAD") + GET)
        response = connection.read_response(method="HEAD", expect="the head GET /stream?n=5 would have, no body")
        response.expect_status(200)
        if response.header_values("Content-Length"):
            response.fail(
                "no Content-Length: the GET's length is not known in advance, and HEAD says what GET would (RFC 9110 §9.3.2)",
                f"the response says Content-Length: {response.header('Content-Length')}.",
            )
        expect_hello(connection, "a HEAD response has no body: the next bytes are the answer to `GET /`")


@pytest.mark.task("8.3")
@pytest.mark.points(2)
def test_strict_parser_reads_the_stream(server):
    """h11, a strict HTTP/1.1 parser, reads GET /stream?n=4 as one complete chunked response."""
    data, events = h11_exchange(server, "GET", "/stream?n=4", [("Host", "localhost")])
    responses = [event for event in events if isinstance(event, h11.Response)]
    body = b"".join(bytes(event.data) for event in events if isinstance(event, h11.Data))
    complete = bool(events) and isinstance(events[-1], h11.EndOfMessage)
    headers = dict(responses[0].headers) if responses else {}
    if len(responses) != 1 or responses[0].status_code != 200 or not complete or not body or headers.get(b"transfer-encoding", b"").lower() != b"chunked":
        fail_client(
            server,
            "h11 expected one complete 200 response to GET /stream?n=4 with `Transfer-Encoding: chunked` and a "
            f"body; it read the events {events!r}\nReceived:\n{show_bytes(data)}",
        )


@pytest.mark.task("8.3")
@pytest.mark.points(2)
def test_python_http_client_reads_the_stream_and_reuses_the_connection(server):
    """http.client reads GET /stream?n=5 (chunked), then `GET /` on the same connection."""
    client = http.client.HTTPConnection(server.process.host, server.port, timeout=5)
    try:
        client.request("GET", "/stream?n=5")
        response = client.getresponse()
        body = response.read()
        chunked_seen = response.chunked
        client.request("GET", "/")
        second = client.getresponse()
        hello = second.read()
    except (OSError, http.client.HTTPException) as error:
        fail_client(server, f"http.client read GET /stream?n=5 then GET / on one connection and failed: {error!r}")
    finally:
        client.close()
    if response.status != 200 or not chunked_seen or not body or second.status != 200 or hello != HELLO:
        fail_client(
            server,
            f"http.client read {response.status} (chunked: {chunked_seen}) with {body[:80]!r}, then "
            f"{second.status} with {hello!r}; expected a chunked 200 with the pieces, then 200 Hello, World!",
        )


@pytest.mark.task("8.3")
@pytest.mark.points(2)
def test_httpx_and_requests_stream_the_pieces(server):
    """httpx (`client.stream`) and requests (`stream=True`) read GET /stream?n=5 piece by piece to the end."""
    url = server.url + "/stream?n=5"
    identity = {"Accept-Encoding": "identity"}  # gzip is task 8.4's business
    try:
        with httpx.Client(trust_env=False, timeout=5) as client, client.stream("GET", url, headers=identity) as response:
            got_httpx = ("httpx", response.status_code, response.headers.get("Transfer-Encoding"), b"".join(response.iter_raw()))
    except httpx.HTTPError as error:
        fail_client(server, f"httpx could not stream {url}: {error!r}")
    with requests.Session() as session:
        session.trust_env = False
        try:
            with session.get(url, stream=True, timeout=5, headers=identity) as response:
                got_requests = ("requests", response.status_code, response.headers.get("Transfer-Encoding"), b"".join(response.iter_content(None)))
        except requests.RequestException as error:
            fail_client(server, f"requests could not stream {url}: {error!r}")
    for name, status, coding, content in (got_httpx, got_requests):
        if status != 200 or (coding or "").lower() != "chunked" or not content:
            fail_client(
                server,
                f"{name} streamed {url} and read {status}, Transfer-Encoding {coding!r}, {content[:80]!r}; "
                "expected 200, chunked, and the pieces",
            )


@pytest.mark.task("8.3")
@pytest.mark.points(1)
def test_curl_reads_the_stream_over_http10(server):
    """`curl --http1.0` reads GET /stream?n=3 to the close (not chunked); `curl --http1.1` reads it chunked."""
    require_tool("curl", "this test runs curl against your server")
    url = server.url + "/stream?n=3"
    outputs = {}
    for flag in ("--http1.0", "--http1.1"):
        result = subprocess.run(
            ["curl", "--silent", "--show-error", "--max-time", "5", flag, "--dump-header", "-", url],
            capture_output=True,
            timeout=10,
        )
        if result.returncode != 0:
            fail_client(server, f"curl {flag} {url} failed (exit {result.returncode}): {result.stderr.decode(errors='replace').strip()}")
        head, _, body = result.stdout.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200 ") or not body:
            fail_client(server, f"curl {flag} {url} expected 200 and the pieces; it printed:\n{result.stdout[:400].decode('latin-1')}")
        outputs[flag] = (head, body)
    if b"transfer-encoding" in outputs["--http1.0"][0].lower():
        fail_client(server, f"curl --http1.0 got a chunked stream; HTTP/1.0 clients cannot read chunks:\n{outputs['--http1.0'][0].decode('latin-1')}")


# -- 8.4 Compress a stream as it goes ----------------------------------------------------------


@pytest.mark.task("8.4")
@pytest.mark.points(4)
def test_gzip_stream_is_chunked_and_decompresses(server):
    """GET /stream?n=5 with gzip: Content-Encoding gzip, chunked, no Content-Length, Vary, a complete gzip body."""
    with server.connect() as connection:
        connection.send(get(b"/stream?n=5", b"gzip"))
        response = connection.read_response(expect="the stream, gzip-encoded and chunked")
        response.expect_status(200)
        expect_gzip_coding(response, "the client accepts gzip and the stream is text")
        expect_chunked(response, "the compressed length is not known until the stream ends")
        vary = {name.strip().lower() for value in response.header_values("Vary") for name in value.split(",")}
        if "accept-encoding" not in vary:
            response.fail("Vary: Accept-Encoding (the response depends on it)", f"the response says Vary: {response.header('Vary')}.")
        gunzip(response, response.body, "the chunks joined are one gzip body")


@pytest.mark.task("8.4")
@pytest.mark.points(4)
def test_gzip_stream_is_compressed_as_it_goes(server):
    """GET /stream?n=100 with gzip: the first piece can be decompressed long before the stream ends (a flush per piece)."""
    with server.connect() as connection:
        connection.send(get(b"/stream?n=100", b"gzip"))
        response = read_head_only(connection, "the head of the gzip stream at once, then its first piece")
        response.expect_status(200)
        expect_gzip_coding(response, "the client accepts gzip")
        expect_chunked(response, "the compressed length is not known until the stream ends")

        def enough(pieces):
            """Whether the chunks so far decompress to something (a fresh decompressor each time)."""
            try:
                return bool(zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(b"".join(pieces)))
            except zlib.error as error:
                connection.fail("the first chunks to be the start of a gzip stream", f"zlib cannot read them: {error}.")

        _pieces, finished = receive_chunks_until(
            connection,
            enough,
            "compressed bytes that decompress to the first piece, sent as soon as it is produced "
            "(compress, then flush with Z_SYNC_FLUSH, each piece)",
        )
        if finished:
            connection.fail(
                "the first piece, compressed, while the other 99 are still being produced",
                "nothing could be decompressed before the whole stream had arrived: the pieces were compressed "
                "(or sent) all at once at the end.",
                caret_at=connection.position,
            )


@pytest.mark.task("8.4")
@pytest.mark.points(2)
def test_gzip_stream_to_http10_ends_with_the_close(server):
    """GET /stream?n=3 over HTTP/1.0 with gzip: Content-Encoding gzip, no framing fields, a gzip body ended by the close."""
    with server.connect() as connection:
        connection.send(get(b"/stream?n=3", b"gzip", version=b"HTTP/1.0"))
        response = read_head_only(connection, "200 OK, gzip-encoded, with a body that the close ends")
        response.expect_status(200)
        expect_gzip_coding(response, "the client accepts gzip")
        expect_close_delimited(response, "an HTTP/1.0 client cannot read chunks: the close ends the body")
        body = connection.read_until_close("the gzip body of the stream, then the close")
        gunzip(response, body, "everything before the close is one gzip body")


@pytest.mark.task("8.4")
@pytest.mark.points(2)
def test_no_gzip_stream_unless_asked(server):
    """No Accept-Encoding, or `gzip;q=0`: the stream goes out as it is, chunked, with no Content-Encoding."""
    for accept_encoding in (None, b"gzip;q=0"):
        with server.connect() as connection:
            connection.send(get(b"/stream?n=3", accept_encoding))
            said = "no Accept-Encoding" if accept_encoding is None else "`Accept-Encoding: gzip;q=0`"
            response = connection.read_response(expect=f"the stream as it is, chunked, to {said}")
            response.expect_status(200)
            expect_chunked(response, "HTTP/1.1 gets a stream chunked")
            if content_coding(response) not in ("", "identity") or response.body.startswith(b"\x1f\x8b"):
                response.fail(
                    f"the pieces as they are: the client did not ask for gzip ({said})",
                    f"the response says Content-Encoding: {response.header('Content-Encoding')}.",
                )


@pytest.mark.task("8.4")
@pytest.mark.points(2)
def test_curl_compressed_reads_the_gzip_stream(server):
    """`curl --compressed` reads GET /stream?n=4 gzip-encoded, chunked, and decodes it."""
    require_tool("curl", "this test runs curl against your server")
    url = server.url + "/stream?n=4"
    result = subprocess.run(
        ["curl", "--silent", "--show-error", "--max-time", "5", "--compressed", "--dump-header", "-", url],
        capture_output=True,
        timeout=10,
    )
    if result.returncode != 0:
        fail_client(server, f"curl --compressed {url} failed (exit {result.returncode}): {result.stderr.decode(errors='replace').strip()}")
    head, _, body = result.stdout.partition(b"\r\n\r\n")
    if b"content-encoding: gzip" not in head.lower() or not body or body.startswith(b"\x1f\x8b"):
        fail_client(
            server,
            f"curl --compressed {url} expected a gzip stream, which curl decodes; it printed the head:\n"
            f"{head.decode('latin-1')}\nand {len(body)} bytes: {body[:80]!r}",
        )


@pytest.mark.task("8.4")
@pytest.mark.points(2)
def test_httpx_decodes_the_gzip_stream(server):
    """httpx (`Accept-Encoding: gzip, deflate`) streams GET /stream?n=5 and decodes it piece by piece."""
    url = server.url + "/stream?n=5"
    try:
        with httpx.Client(trust_env=False, timeout=5) as client, client.stream("GET", url) as response:
            status, coding = response.status_code, response.headers.get("Content-Encoding")
            content = b"".join(response.iter_bytes())
    except httpx.HTTPError as error:
        fail_client(server, f"httpx could not stream {url}: {error!r}")
    if status != 200 or (coding or "").lower() != "gzip" or not content:
        fail_client(
            server,
            f"httpx asked for gzip and read {status}, Content-Encoding {coding!r} and {len(content)} decoded "
            f"bytes {content[:80]!r}; expected 200, gzip, and the pieces",
        )
