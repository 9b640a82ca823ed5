"""Chapter 8, function by function: the Transfer-Encoding rules, chunk sizes and lines, the
chunked body decoder, chunks on the way out, the /stream handler and gzip as a stream.

Requests are built with the stable `Request(method, target, version, headers, body)`. The
decoder is sans-I/O: `maybe_split_chunked(buffer, max_body, max_trailers)` is given all the
bytes received after the head and answers None ("need more data"), a `ChunkedBody(body,
trailers, rest)`, or raises HttpError. The socket functions (`read_chunked_body`,
`send_stream`) run on one end of a `socket.socketpair()` while the test plays the client.
"""

import gzip
import socket
import zlib

import pytest

from course.unit import header, raises_http_error
from course.wire import show_bytes

LIMIT = 1024 * 1024


def make_request(chapter_module, *headers, version="HTTP/1.1", method="POST", target="/echo"):
    """A request with a Host header (for HTTP/1.1) and the given (name, value) header fields."""
    host = [("Host", "localhost")] if version == "HTTP/1.1" else []
    return chapter_module("request").Request(method, target, version, [*host, *headers], b"")


def split_chunked(chapter_module, buffer, max_body=LIMIT, max_trailers=8192):
    return chapter_module("request").maybe_split_chunked(buffer, max_body, max_trailers)


# -- 8.1 maybe_body_length ---------------------------------------------------------------------


@pytest.mark.task("8.1")
@pytest.mark.points(1)
@pytest.mark.parametrize("value", ["chunked", "Chunked", "CHUNKED"])
def test_maybe_body_length_is_none_for_chunked(chapter_module, value):
    """maybe_body_length is None (the body is chunked) for `Transfer-Encoding: chunked`, in any case."""
    got = chapter_module("request").maybe_body_length(make_request(chapter_module, ("Transfer-Encoding", value)), LIMIT)
    assert got is None, f"maybe_body_length gave {got!r} for `Transfer-Encoding: {value}`; expected None (chunked)"


@pytest.mark.task("8.1")
@pytest.mark.points(1)
@pytest.mark.parametrize(
    "fields, version, why",
    [
        ([("Transfer-Encoding", "chunked"), ("Content-Length", "5")], "HTTP/1.1", "Transfer-Encoding and Content-Length together"),
        ([("Content-Length", "5"), ("Transfer-Encoding", "chunked")], "HTTP/1.1", "Content-Length and Transfer-Encoding together"),
        ([("Transfer-Encoding", "chunked, gzip")], "HTTP/1.1", "chunked is not the last coding"),
        ([("Transfer-Encoding", "chunked"), ("Transfer-Encoding", "gzip")], "HTTP/1.1", "chunked is not the last coding (two fields)"),
        ([("Transfer-Encoding", "chunked")], "HTTP/1.0", "Transfer-Encoding in an HTTP/1.0 request"),
    ],
    ids=["te-and-cl", "cl-and-te", "chunked-not-last", "not-last-two-fields", "http10"],
)
def test_maybe_body_length_refuses_ambiguous_framing(chapter_module, fields, version, why):
    """maybe_body_length raises HttpError(400) for TE with CL, chunked not last, or TE on HTTP/1.0."""
    request_module = chapter_module("request")
    request = make_request(chapter_module, *fields, version=version)
    problem = raises_http_error(chapter_module, 400, request_module.maybe_body_length, request, LIMIT)
    assert problem is None, f"{why} ({fields!r}, {version}) must raise HttpError(400); {problem}"


@pytest.mark.task("8.1")
@pytest.mark.points(1)
@pytest.mark.parametrize("value", ["gzip, chunked", "deflate, chunked"])
def test_maybe_body_length_other_codings_are_501(chapter_module, value):
    """maybe_body_length raises HttpError(501) for a coding other than chunked before it."""
    request_module = chapter_module("request")
    request = make_request(chapter_module, ("Transfer-Encoding", value))
    problem = raises_http_error(chapter_module, 501, request_module.maybe_body_length, request, LIMIT)
    assert problem is None, f"`Transfer-Encoding: {value}` must raise HttpError(501); {problem}"


# -- 8.2 parse_chunk_size, maybe_split_chunked, read_chunked_body ------------------------------


SIZES = {
    b"5": 5,
    b"1a": 26,
    b"1A": 26,
    b"000010": 16,
    b"0": 0,
    b"ffffffff": 2**32 - 1,
    b"5;name=value": 5,
    b"5; a": 5,
    b'1a;x="y;z"': 26,
    b"5 ;a": 5,
}


@pytest.mark.task("8.2")
@pytest.mark.points(2)
def test_parse_chunk_size(chapter_module):
    """parse_chunk_size reads hex digits in either case, leading zeros too, and ignores extensions after `;`."""
    parse_chunk_size = chapter_module("request").parse_chunk_size
    wrong = [f"  {line!r} gave {parse_chunk_size(line)!r}, not {size}" for line, size in SIZES.items() if parse_chunk_size(line) != size]
    assert not wrong, "chunk-size = 1*HEXDIG, then optional `;` extensions to ignore (RFC 9112 §7.1):\n" + "\n".join(wrong)


# int(text, 16) accepts the first seven; none of them is 1*HEXDIG (RFC 9112 §7.1).
NOT_SIZES = [b"0x5", b"+5", b"-5", b" 5", b"5 ", b"5_0", b"\t5", b"", b"g", b"5g", b";a=b", b"0x", b"\xd9\xa5"]


@pytest.mark.task("8.2")
@pytest.mark.points(2)
def test_parse_chunk_size_refuses_what_int_accepts(chapter_module):
    """`0x5`, `+5`, `-5`, ` 5`, `5 `, `5_0`, empty, `g`... raise HttpError(400), never ValueError."""
    request_module = chapter_module("request")
    lines = []
    for line in NOT_SIZES:
        problem = raises_http_error(chapter_module, 400, request_module.parse_chunk_size, line)
        if problem is not None:
            lines.append(f"  {line!r}: {problem}")
    assert not lines, (
        "chunk-size = 1*HEXDIG and nothing else (RFC 9112 §7.1); int(text, 16) is more lenient, so check the "
        "digits first. Each of these must raise HttpError(400):\n" + "\n".join(lines)
    )


@pytest.mark.task("8.2")
@pytest.mark.points(1)
@pytest.mark.parametrize("line", [b"1" + b"0" * 16, b"f" * 40], ids=["2**64", "40-digits"])
def test_parse_chunk_size_refuses_absurd_sizes(chapter_module, line):
    """A size of more than 16 significant hex digits raises HttpError(400)."""
    problem = raises_http_error(chapter_module, 400, chapter_module("request").parse_chunk_size, line)
    assert problem is None, f"parse_chunk_size({line!r}) must raise HttpError(400): no body is that large; {problem}"


@pytest.mark.task("8.2")
@pytest.mark.points(1)
def test_parse_chunk_size_allows_leading_zeros(chapter_module):
    """Leading zeros do not count towards the size's length: `0000000000000000000005` is 5."""
    line = b"0" * 21 + b"5"
    got = chapter_module("request").parse_chunk_size(line)
    assert got == 5, f"parse_chunk_size({line!r}) gave {got!r}; expected 5"


def expect_chunked_body(got, body, trailers, rest, buffer):
    shown = show_bytes(buffer)
    assert got is not None, f"maybe_split_chunked gave None (need more data) for the complete body\n{shown}"
    assert got.body == body, f"the decoded body is {got.body!r}; expected {body!r}, from\n{shown}"
    assert list(got.trailers) == trailers, f"the trailers are {got.trailers!r}; expected {trailers!r}, from\n{shown}"
    assert got.rest == rest, f"rest is {got.rest!r}; expected {rest!r} (the bytes after the body), from\n{shown}"


@pytest.mark.task("8.2")
@pytest.mark.points(2)
def test_maybe_split_chunked_decodes(chapter_module):
    """Chunks `5`, `1`, `A` with an extension decode to their data joined; no trailers, nothing after."""
    buffer = b"5\r\nhello\r\n1;x=y\r\n,\r\nA\r\n world!!\r\n\r\n0\r\n\r\n"
    expect_chunked_body(split_chunked(chapter_module, buffer), b"hello, world!!\r\n", [], b"", buffer)


@pytest.mark.task("8.2")
@pytest.mark.points(2)
def test_maybe_split_chunked_one_byte_at_a_time(chapter_module):
    """Fed one more byte at a time, maybe_split_chunked says None until the blank line after the trailers."""
    buffer = b"3\r\nabc\r\n2;e\r\nde\r\n0\r\nX-Sum: 5\r\n\r\n"
    for size in range(len(buffer)):
        got = split_chunked(chapter_module, buffer[:size])
        assert got is None, (
            f"with {size} of {len(buffer)} bytes received, maybe_split_chunked must return None (need more data); "
            f"it gave {got!r} for\n{show_bytes(buffer[:size])}"
        )
    expect_chunked_body(split_chunked(chapter_module, buffer), b"abcde", [("X-Sum", "5")], b"", buffer)


@pytest.mark.task("8.2")
@pytest.mark.points(2)
def test_maybe_split_chunked_goes_on_where_it_stopped(chapter_module):
    """Given one ChunkedProgress for a growing buffer, each call records its whole chunks and
    the next starts after them (decoding from the start each time is quadratic)."""
    request_module = chapter_module("request")
    buffer = bytearray()
    progress = request_module.ChunkedProgress()
    pieces = [b"3\r\nabc\r\n", b"2;e\r\nde\r\n", b"1\r\nf", b"\r\n", b"0\r\n\r\n"]
    for index, piece in enumerate(pieces[:-1]):
        buffer += piece
        got = request_module.maybe_split_chunked(buffer, 1 << 20, 8192, progress)
        assert got is None, f"after {show_bytes(bytes(buffer))} the body is not complete: expected None, got {got!r}"
    assert progress.total == 6 and progress.position == len(buffer), (
        f"after the whole chunks {show_bytes(bytes(buffer))}, the progress must count 6 bytes of data and point "
        f"just past them (position {len(buffer)}); it says total={progress.total}, position={progress.position}"
    )
    # The chunks already recorded are not read again: bytes that no longer parse, at positions
    # already passed, go unnoticed.
    buffer[0:1] = b"Z"
    buffer += pieces[-1]
    got = request_module.maybe_split_chunked(buffer, 1 << 20, 8192, progress)
    assert got is not None and got.body == b"abcdef", (
        "with the same progress, maybe_split_chunked must go on from progress.position, not decode "
        f"{show_bytes(bytes(buffer))} from the start again; it gave {got!r}"
    )


@pytest.mark.task("8.2")
@pytest.mark.points(2)
def test_maybe_split_chunked_keeps_trailers_apart_and_the_rest(chapter_module):
    """Trailer fields come back as a list (not in the body); the bytes after the blank line are `rest`."""
    after = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    buffer = b"4\r\ndata\r\n0\r\nContent-Type: text/html\r\nX-Checksum:  abc \r\n\r\n" + after
    expect_chunked_body(
        split_chunked(chapter_module, buffer),
        b"data",
        [("Content-Type", "text/html"), ("X-Checksum", "abc")],
        after,
        buffer,
    )


@pytest.mark.task("8.2")
@pytest.mark.points(1)
@pytest.mark.parametrize(
    "buffer",
    [b"5\r\nhello!\r\n0\r\n\r\n", b"5\r\nhell\r\n0\r\n\r\n", b"5\r\nhelloXX0\r\n\r\n", b"5\r\nhello\n0\r\n\r\n"],
    ids=["longer", "shorter", "not-crlf", "bare-LF"],
)
def test_maybe_split_chunked_requires_crlf_after_data(chapter_module, buffer):
    """Data not followed by CRLF exactly where its size ends raises HttpError(400)."""
    problem = raises_http_error(chapter_module, 400, chapter_module("request").maybe_split_chunked, buffer, LIMIT, 8192)
    assert problem is None, f"maybe_split_chunked of\n{show_bytes(buffer)}\nmust raise HttpError(400); {problem}"


@pytest.mark.task("8.2")
@pytest.mark.points(1)
@pytest.mark.parametrize(
    "buffer, limit",
    [(b"6\r\nabcdef\r\n6\r\n", 10), (b"b\r\n", 10), (b"40000000\r\n", LIMIT)],
    ids=["total-over", "one-chunk-over", "1GiB"],
)
def test_maybe_split_chunked_413_before_the_data(chapter_module, buffer, limit):
    """As soon as a size line takes the total over max_body, HttpError(413), before that chunk's data."""
    problem = raises_http_error(chapter_module, 413, chapter_module("request").maybe_split_chunked, buffer, limit, 8192)
    assert problem is None, f"maybe_split_chunked of\n{show_bytes(buffer)}\nwith max_body {limit} must raise HttpError(413); {problem}"


@pytest.mark.task("8.2")
@pytest.mark.points(1)
def test_maybe_split_chunked_body_of_exactly_max_body(chapter_module):
    """Chunks adding up to exactly max_body are accepted."""
    buffer = b"4\r\nabcd\r\n6\r\nefghij\r\n0\r\n\r\n"
    expect_chunked_body(split_chunked(chapter_module, buffer, max_body=10), b"abcdefghij", [], b"", buffer)


@pytest.mark.task("8.2")
@pytest.mark.points(2)
def test_read_chunked_body_receives_until_the_end(chapter_module):
    """read_chunked_body reads from the socket until the trailer section ends: body, trailers, rest."""
    server = chapter_module("server")
    ours, theirs = socket.socketpair()
    ours.settimeout(2)
    try:
        theirs.sendall(b"lo\r\n0\r\nX-A: 1\r\n\r\nGET / HTTP/1.1\r\n")
        got = server.read_chunked_body(ours, b"5\r\nhel", server.Settings())
    finally:
        ours.close()
        theirs.close()
    assert (got.body, list(got.trailers), got.rest) == (b"hello", [("X-A", "1")], b"GET / HTTP/1.1\r\n"), (
        f"read_chunked_body gave body {got.body!r}, trailers {got.trailers!r}, rest {got.rest!r}; expected "
        "b'hello', [('X-A', '1')] and the start of the next request"
    )


# -- 8.3 encode_chunk, send_stream, /stream ----------------------------------------------------


@pytest.mark.task("8.3")
@pytest.mark.points(2)
def test_encode_chunk(chapter_module):
    """encode_chunk(data) is the size in hex (1, d, 10, ff, 1000), CRLF, the data, CRLF."""
    encode_chunk = chapter_module("response").encode_chunk
    for size in (1, 13, 16, 255, 4096):
        data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
        got = encode_chunk(data)
        wanted = [f"{size:x}".encode() + b"\r\n" + data + b"\r\n", f"{size:X}".encode() + b"\r\n" + data + b"\r\n"]
        assert got in wanted, f"encode_chunk of {size} bytes gave\n{show_bytes(got[:40])}...\nexpected\n{show_bytes(wanted[0][:40])}..."


def send_stream_and_read(chapter_module, pieces, chunked):
    server = chapter_module("server")
    ours, theirs = socket.socketpair()
    theirs.settimeout(2)
    try:
        server.send_stream(ours, b"head\r\n\r\n", iter(pieces), chunked)
        ours.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := theirs.recv(65536):
            received += chunk
    finally:
        ours.close()
        theirs.close()
    return received


@pytest.mark.task("8.3")
@pytest.mark.points(2)
def test_send_stream_chunked(chapter_module):
    """send_stream(..., chunked=True): the head, a chunk per piece (empty pieces skipped), the last chunk."""
    got = send_stream_and_read(chapter_module, [b"one\n", b"", b"sixteen bytes!!\n"], True)
    wanted = b"head\r\n\r\n4\r\none\n\r\n10\r\nsixteen bytes!!\n\r\n0\r\n\r\n"
    assert got.lower() == wanted, f"send_stream sent\n{show_bytes(got)}\nexpected\n{show_bytes(wanted)}"


@pytest.mark.task("8.3")
@pytest.mark.points(1)
def test_send_stream_close_delimited(chapter_module):
    """send_stream(..., chunked=False): the head, then the pieces as they are (the close will end them)."""
    got = send_stream_and_read(chapter_module, [b"one\n", b"", b"two\n"], False)
    assert got == b"head\r\n\r\none\ntwo\n", f"send_stream sent\n{show_bytes(got)}\nexpected the head and b'one\\ntwo\\n'"


@pytest.mark.task("8.3")
@pytest.mark.points(2)
def test_stream_route_yields_numbered_lines(chapter_module):
    """handle_request(GET /stream?n=3): 200, text/plain; charset=utf-8, a stream of `piece k of 3` lines."""
    request = make_request(chapter_module, method="GET", target="/stream?n=3")
    response = chapter_module("app").handle_request(request)
    assert response.status == 200, f"GET /stream?n=3 answered {response.status}"
    assert header(response, "Content-Type") == "text/plain; charset=utf-8", f"Content-Type {header(response, 'Content-Type')!r}"
    assert response.stream is not None, "GET /stream must answer a Response with `stream` set"
    pieces = list(response.stream)
    wanted = [b"piece 1 of 3\n", b"piece 2 of 3\n", b"piece 3 of 3\n"]
    assert pieces == wanted, f"the stream yielded {pieces!r}; expected {wanted!r}"


@pytest.mark.task("8.3")
@pytest.mark.points(1)
def test_stream_route_default_count(chapter_module):
    """GET /stream without n streams 10 pieces: the first is `piece 1 of 10`."""
    response = chapter_module("app").handle_request(make_request(chapter_module, method="GET", target="/stream"))
    assert response.status == 200 and response.stream is not None, f"GET /stream answered {response.status}, stream {response.stream!r}"
    first = next(iter(response.stream))
    assert first == b"piece 1 of 10\n", f"the first piece is {first!r}; expected b'piece 1 of 10\\n'"


@pytest.mark.task("8.3")
@pytest.mark.points(2)
def test_stream_route_refuses_bad_counts(chapter_module):
    """GET /stream?n=... with n not digits (`abc`, `-1`, `1.5`, empty, `٥`) or over 1000: 400."""
    handle_request = chapter_module("app").handle_request
    wrong = []
    for count in ["abc", "1001", "-1", "1.5", "", "\u0665", "99999999999999999999"]:
        target = "/stream?n=" + count
        status = handle_request(make_request(chapter_module, method="GET", target=target)).status
        if status != 400:
            wrong.append(f"  GET {target} answered {status}")
    assert not wrong, "n must be a whole number from 0 to 1000, else 400:\n" + "\n".join(wrong)


# -- 8.4 gzip_stream, negotiate_encoding on streams --------------------------------------------


@pytest.mark.task("8.4")
@pytest.mark.points(3)
def test_gzip_stream_is_decodable_piece_by_piece(chapter_module):
    """gzip_stream's output so far decompresses to every piece given so far; all of it is one gzip body."""
    gzip_stream = chapter_module("encoding").gzip_stream
    pieces = [b"piece %d of 5\n" % number for number in range(1, 6)]
    given = []

    def source():
        for piece in pieces:
            given.append(piece)
            yield piece

    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    decoded = b""
    output = b""
    for compressed in gzip_stream(source()):
        output += compressed
        decoded += decompressor.decompress(compressed)
        if len(given) < len(pieces):
            assert decoded == b"".join(given), (
                f"after {len(given)} pieces, what gzip_stream produced decompresses to {decoded!r}; expected "
                f"{b''.join(given)!r}: flush (Z_SYNC_FLUSH) after each piece"
            )
    assert gzip.decompress(output) == b"".join(pieces), "all of gzip_stream's output must be one complete gzip body"


@pytest.mark.task("8.4")
@pytest.mark.points(2)
def test_negotiate_encoding_compresses_a_stream(chapter_module):
    """negotiate_encoding on a text stream with gzip: Content-Encoding gzip, Vary, still a stream (no length)."""
    Response = chapter_module("response").Response
    pieces = [b"line one\n", b"line two\n"]
    response = Response(200, [("Content-Type", "text/plain; charset=utf-8")], stream=iter(pieces))
    got = chapter_module("encoding").negotiate_encoding("gzip", response, 1000)
    assert header(got, "Content-Encoding") == "gzip", f"Content-Encoding is {header(got, 'Content-Encoding')!r}; expected gzip"
    assert "accept-encoding" in (header(got, "Vary") or "").lower(), f"Vary is {header(got, 'Vary')!r}"
    assert got.stream is not None and got.content_length is None, "the gzip form of a stream is a stream, of unknown length"
    assert gzip.decompress(b"".join(got.stream)) == b"".join(pieces), "the gzip stream must decompress to the pieces"
