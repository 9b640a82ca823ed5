"""Parsing a request without touching a socket (sans-I/O): the head, then how long the body is.

Strategy: these functions take bytes and return structures. `maybe_split_head` is given the
bytes received so far and answers None ("need more data") until the blank line has arrived;
`parse_head` turns that head into a `Request`. Anything malformed raises `HttpError` carrying
the status to answer. Because nothing here does I/O, tests can feed a whole request, one
byte at a time, or a request followed by the next one; and the later chapters (keep-alive,
chunked bodies, threads) reuse these functions unchanged. Chapter 7 adds the one decision
keep-alive needs from the request itself: may the connection carry another request after it?
Chapter 8 adds the second way a body can be framed: Transfer-Encoding: chunked, a series of
sized pieces ending with a zero-size one. Where a request's body ends must be beyond doubt,
or a proxy and this server could disagree on it and let a smuggled request through: so the
rules on which framing wins are strict, and every chunk line is checked to the byte.
"""

import re
from dataclasses import dataclass, field

# RFC 9110 §5.6.2: token = 1*tchar (methods and field names are tokens).
TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# RFC 9112 §3.2: the request-target is visible ASCII with no spaces in it.
TARGET = re.compile(rb"[\x21-\x7e]+")
# RFC 9112 §2.3: HTTP-version = "HTTP/" DIGIT "." DIGIT, and "HTTP" is case-sensitive.
VERSION = re.compile(rb"HTTP/([0-9])\.([0-9])")
# RFC 9110 §8.6: Content-Length = 1*DIGIT, ASCII digits only.
DIGITS = re.compile(r"[0-9]+")
# The largest length we take: what a signed 64-bit integer holds, as in most servers.
MAX_CONTENT_LENGTH = 2**63 - 1


class HttpError(Exception):
    """The request cannot be served: answer `status` with `message` as the body, then close.

    `headers` are extra header fields the error response needs (a 405 lists `Allow`).
    """

    def __init__(self, status: int, message: str, headers: list[tuple[str, str]] | None = None):
        super().__init__(f"{status} {message}")
        self.status = status
        self.message = message
        self.headers = headers or []


@dataclass
class Request:
    method: str
    target: str
    version: str  # "HTTP/1.1" or "HTTP/1.0"
    headers: list[tuple[str, str]] = field(default_factory=list)  # in order, names as sent
    body: bytes = b""
    trailers: list[tuple[str, str]] = field(default_factory=list)  # after a chunked body

    def header_values(self, name: str) -> list[str]:
        """Every value of the named field; field names are case-insensitive (RFC 9110 §5.1)."""
        return [value for key, value in self.headers if key.lower() == name.lower()]

    def maybe_header(self, name: str) -> str | None:
        """The field's value (several fields joined with ", ", RFC 9110 §5.3), or None."""
        values = self.header_values(name)
        return ", ".join(values) if values else None


# --8<-- [start:maybe_split_head]
def maybe_split_head(buffer: bytes, max_head: int) -> tuple[bytes, bytes] | None:
    """Split the bytes received so far into (head, rest) once the blank line has arrived.

    The head is everything up to and including the first CR LF CR LF; `rest` is what came
    after it (the start of a body, or of the next request). Returns None while the blank
    line has not arrived. Raises HttpError(431) when the head is (or must become) larger
    than `max_head` bytes, and HttpError(400) on a line that ends in a bare LF.
    """
    end = buffer.find(b"\r\n\r\n")
    head = buffer if end < 0 else buffer[: end + 4]
    # RFC 9112 §2.2: lines end with CRLF. Refuse a bare LF as soon as it arrives; waiting for
    # a CR LF CR LF that a bare-LF client never sends would hang the connection.
    if head.count(b"\n") != head.count(b"\r\n"):
        raise HttpError(400, "every line of the head must end with CRLF, not a bare LF")
    # The limit counts every byte up to and including the blank line. Without a blank line,
    # a buffer already max_head bytes long can only grow into a head over the limit.
    if len(head) > max_head or (end < 0 and len(buffer) >= max_head):
        raise HttpError(431, f"the request head is larger than {max_head} bytes")
    if end < 0:
        return None
    return head, buffer[end + 4 :]
# --8<-- [end:maybe_split_head]


# --8<-- [start:parse_request_line]
def parse_request_line(line: bytes) -> tuple[str, str, str]:
    """`GET /path HTTP/1.1` (without its CRLF) -> ("GET", "/path", "HTTP/1.1").

    The version comes back as "HTTP/1.1" for HTTP/1.1 to 1.9 and "HTTP/1.0" for 1.0.
    Raises HttpError(400) for a malformed line and HttpError(505) for other versions.
    """
    # RFC 9112 §3: request-line = method SP request-target SP HTTP-version, single spaces.
    parts = line.split(b" ")
    if len(parts) != 3:
        raise HttpError(400, "the request line must be METHOD, a space, TARGET, a space, VERSION")
    method, target, version = parts
    if not TOKEN.fullmatch(method):
        raise HttpError(400, "the method must be a token, such as GET")
    if not TARGET.fullmatch(target):
        raise HttpError(400, "the request target must be visible ASCII characters")
    match = VERSION.fullmatch(version)
    if not match:
        raise HttpError(400, "the version must look like HTTP/1.1")
    major, minor = int(match[1]), int(match[2])
    # RFC 9110 §6.2: a server may answer any HTTP/1.x request as HTTP/1.1; another major
    # version is one it does not speak.
    if major != 1:
        raise HttpError(505, f"HTTP/{major}.{minor} is not supported; this server speaks HTTP/1.1")
    served_as = "HTTP/1.0" if minor == 0 else "HTTP/1.1"
    return method.decode("ascii"), target.decode("ascii"), served_as
# --8<-- [end:parse_request_line]


# --8<-- [start:parse_header_line]
def parse_header_line(line: bytes) -> tuple[str, str]:
    """`Name: value` (without its CRLF) -> ("Name", "value").

    The value loses the spaces and tabs around it and is decoded as Latin-1, one character
    per byte, so it can be turned back into the very bytes that came. Raises HttpError(400).
    """
    # RFC 9112 §5.2: obsolete line folding (a line that starts with a space or tab) is refused.
    if line[:1] in (b" ", b"\t"):
        raise HttpError(400, "a header line must not start with whitespace")
    name, colon, value = line.partition(b":")
    if not colon:
        raise HttpError(400, "a header line needs a colon between name and value")
    # RFC 9112 §5.1: no whitespace is allowed between the field name and the colon.
    if not TOKEN.fullmatch(name):
        raise HttpError(400, "a header name must be a token, followed directly by its colon")
    # RFC 9112 §5.1: whitespace around the value is not part of it.
    value = value.strip(b" \t")
    # RFC 9110 §5.5: CR, LF and NUL are never allowed inside a field value.
    if b"\r" in value or b"\n" in value or b"\x00" in value:
        raise HttpError(400, "a header value must not contain CR, LF or NUL")
    return name.decode("ascii"), value.decode("latin-1")
# --8<-- [end:parse_header_line]


# --8<-- [start:parse_head]
def parse_head(head: bytes) -> Request:
    """A head as `maybe_split_head` returns it (ending in CR LF CR LF) -> Request."""
    lines = head[: -len(b"\r\n\r\n")].split(b"\r\n")
    method, target, version = parse_request_line(lines[0])
    headers = [parse_header_line(line) for line in lines[1:]]
    request = Request(method, target, version, headers)
    # RFC 9112 §3.2: an HTTP/1.1 request carries exactly one Host field.
    if version == "HTTP/1.1" and len(request.header_values("Host")) != 1:
        raise HttpError(400, "an HTTP/1.1 request needs exactly one Host header")
    return request
# --8<-- [end:parse_head]


# --8<-- [start:parse_content_length]
def parse_content_length(request: Request) -> int:
    """The body length that the Content-Length field(s) announce; 0 when there is none.

    Raises HttpError(400) when a value is not plain digits, too long to be a length, or when
    several values disagree.
    """
    values = request.header_values("Content-Length")
    if not values:
        return 0
    lengths = set()
    # RFC 9110 §8.6: repeated fields, or a comma-separated list, are fine if all agree.
    for value in values:
        for item in value.split(","):
            # RFC 9110 §5.6.1: only spaces and tabs may surround a list item.
            item = item.strip(" \t")
            # int() would also accept "+5", " 5", "1_0" and "٥": a length is ASCII digits only.
            if not DIGITS.fullmatch(item):
                raise HttpError(400, "Content-Length must be digits only")
            # Checking the digit count first keeps int() away from absurdly long strings.
            if len(item) > len(str(MAX_CONTENT_LENGTH)) or int(item) > MAX_CONTENT_LENGTH:
                raise HttpError(400, "Content-Length is too large to be a length")
            lengths.add(int(item))
    if len(lengths) > 1:
        raise HttpError(400, "the Content-Length values disagree")
    return lengths.pop()
# --8<-- [end:parse_content_length]


# --8<-- [start:body_length]
def body_length(request: Request, max_body: int) -> int:
    """How many body bytes the Content-Length announces, decided before reading any of them.

    Raises HttpError(400) for a bad Content-Length, HttpError(413) over `max_body`. A request
    with Transfer-Encoding is framed otherwise: see maybe_body_length.
    """
    length = parse_content_length(request)
    if length > max_body:
        raise HttpError(413, f"the body is larger than {max_body} bytes")
    return length
# --8<-- [end:body_length]


# --8<-- [start:expects_continue]
def expects_continue(request: Request) -> bool:
    """Whether the client waits for `100 Continue` before it sends the body."""
    # RFC 9110 §10.1.1: an HTTP/1.0 client cannot expect it, so there it is ignored.
    expect = request.maybe_header("Expect") or ""
    return request.version == "HTTP/1.1" and expect.strip().lower() == "100-continue"
# --8<-- [end:expects_continue]


# --8<-- [start:maybe_split_body]
def maybe_split_body(buffer: bytes, length: int) -> tuple[bytes, bytes] | None:
    """(body, rest) once `buffer` holds `length` bytes, else None. `rest` belongs to the
    next request, never to this body."""
    if len(buffer) < length:
        return None
    return bytes(buffer[:length]), bytes(buffer[length:])
# --8<-- [end:maybe_split_body]


# --8<-- [start:connection_options]
def connection_options(request: Request) -> set[str]:
    """The options of the Connection field(s), lower-cased: `Connection: Keep-Alive, Upgrade`
    -> {"keep-alive", "upgrade"}."""
    options = set()
    # RFC 9110 §7.6.1: Connection is a comma-separated list of case-insensitive tokens, and
    # may be sent as several fields.
    for value in request.header_values("Connection"):
        for item in value.split(","):
            item = item.strip(" \t").lower()
            if item:
                options.add(item)
    return options
# --8<-- [end:connection_options]


# --8<-- [start:wants_keep_alive]
def wants_keep_alive(request: Request) -> bool:
    """Whether the connection may carry another request after this one.

    HTTP/1.1 persists unless the client says `Connection: close`; HTTP/1.0 closes unless the
    client says `Connection: keep-alive`.
    """
    options = connection_options(request)
    # RFC 9112 §9.3: "close" ends the connection after this response, whatever the version.
    if "close" in options:
        return False
    # RFC 9112 §9.3: HTTP/1.1 (and every 1.x served as 1.1) persists by default; HTTP/1.0
    # persists only when the client asks with the older "keep-alive" option (RFC 9112 §C.2.2).
    if request.version == "HTTP/1.1":
        return True
    return "keep-alive" in options
# --8<-- [end:wants_keep_alive]


# --8<-- [start:transfer_codings]
def transfer_codings(request: Request) -> list[str]:
    """The codings of the Transfer-Encoding field(s) in order, lower-cased:
    `Transfer-Encoding: gzip, Chunked` -> ["gzip", "chunked"]."""
    codings = []
    # RFC 9112 §6.1: a comma-separated list, possibly over several fields; codings are
    # case-insensitive (RFC 9110 §5.6.1 allows empty list items, which count for nothing).
    for value in request.header_values("Transfer-Encoding"):
        for item in value.split(","):
            item = item.strip(" \t").lower()
            if item:
                codings.append(item)
    return codings
# --8<-- [end:transfer_codings]


# --8<-- [start:maybe_body_length]
def maybe_body_length(request: Request, max_body: int) -> int | None:
    """The body's length from Content-Length, or None when the body is chunked.

    Raises HttpError(400) when the framing is ambiguous or malformed, HttpError(501) for a
    transfer coding this server does not decode, HttpError(413) over `max_body`.
    """
    if not request.header_values("Transfer-Encoding"):
        return body_length(request, max_body)
    # TODO(task 8.1): Choose the framing: the smuggling rules. Read section 8.1 of chapter 8 (docs/chapters/ch08_chunked.md).
    raise NotImplementedError("task 8.1 (Choose the framing: the smuggling rules) is still to do: see docs/chapters/ch08_chunked.md")
# --8<-- [end:maybe_body_length]


# RFC 9112 §7.1: chunk-size = 1*HEXDIG. int(text, 16) would also take "0x1f", "+1f", " 1f"
# and "1_f", which no HTTP parser should.
HEX_DIGITS = re.compile(rb"[0-9A-Fa-f]+")
# 16 hex digits hold any 64-bit size; a longer size line is an attack or garbage.
MAX_SIZE_DIGITS = 16
# How long a chunk-size line (with its extensions) may be before we stop waiting for its CRLF.
MAX_CHUNK_LINE = 4096


@dataclass
class ChunkedProgress:
    """How far a growing buffer's chunked body has been decoded, so that the next call can go
    on from there instead of decoding it all again (see maybe_split_chunked)."""

    position: int = 0  # where the next chunk's size line starts
    pieces: list[tuple[int, int]] = field(default_factory=list)  # (start, end) of each chunk's data
    total: int = 0  # bytes of chunk data so far


@dataclass
class ChunkedBody:
    """A decoded chunked body: the data, the trailer fields, and the bytes after it."""

    body: bytes
    trailers: list[tuple[str, str]]
    rest: bytes


# --8<-- [start:maybe_line]
def maybe_line(buffer: bytes, start: int, limit: int) -> tuple[bytes, int] | None:
    """The line that begins at `start` (without its CRLF) and where the next one begins, or
    None until its CRLF has arrived. Raises HttpError(400) for a bare LF or a line over `limit`."""
    end = buffer.find(b"\r\n", start)
    bare_lf = buffer.find(b"\n", start)
    # RFC 9112 §7.1: chunk lines end with CRLF, exactly as the head's lines do.
    if bare_lf >= 0 and (end < 0 or bare_lf < end + 1):
        raise HttpError(400, "a chunk line must end with CRLF, not a bare LF")
    if end < 0:
        if len(buffer) - start > limit:
            raise HttpError(400, f"a chunk line is longer than {limit} bytes")
        return None
    if end - start > limit:
        raise HttpError(400, f"a chunk line is longer than {limit} bytes")
    return bytes(buffer[start:end]), end + 2
# --8<-- [end:maybe_line]


# --8<-- [start:parse_chunk_size]
def parse_chunk_size(line: bytes) -> int:
    """`1a;name=value` -> 26: the size in hex; extensions are read past and ignored."""
    # TODO(task 8.2): Decode chunked bodies. Read section 8.2 of chapter 8 (docs/chapters/ch08_chunked.md).
    raise NotImplementedError("task 8.2 (Decode chunked bodies) is still to do: see docs/chapters/ch08_chunked.md")
# --8<-- [end:parse_chunk_size]


# --8<-- [start:maybe_split_chunked]
def maybe_split_chunked(
    buffer: bytes, max_body: int, max_trailers: int = 8192, progress: ChunkedProgress | None = None
) -> ChunkedBody | None:
    """Decode a chunked body from the bytes received after the head, or None ("need more").

    Chunks are size-line CRLF data CRLF, until a zero-size chunk; then trailer fields and a
    blank line. Raises HttpError(400) for malformed framing, HttpError(413) once the data
    would exceed `max_body` (before that data has arrived), HttpError(431) for trailers over
    `max_trailers` bytes. Without `progress`, each call decodes from the start of `buffer`.
    A caller whose buffer only grows passes the same ChunkedProgress to every call: each
    call then goes on where the last one stopped, and records its own complete chunks.
    """
    # TODO(task 8.2): Decode chunked bodies. Read section 8.2 of chapter 8 (docs/chapters/ch08_chunked.md).
    raise NotImplementedError("task 8.2 (Decode chunked bodies) is still to do: see docs/chapters/ch08_chunked.md")
# --8<-- [end:maybe_split_chunked]
