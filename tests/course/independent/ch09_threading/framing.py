"""Bytes on a connection that lives for many requests: buffering, framing, chunked bodies.

A `Wire` is a socket plus the bytes already read from it and not yet used. Everything that
reads a request goes through it, and it never hands out more than asked, so whatever follows
one request (the next pipelined one, or half of it) stays in `pending` for the next turn.

Framing follows RFC 9112 §6: Transfer-Encoding wins only when it is exactly `chunked` on an
HTTP/1.1 request with no Content-Length; every other mix is refused (400, or 501 for a coding
this server does not know) and the connection is closed, because the end of the body can no
longer be trusted. The chunked decoder is strict: a size is 1*HEXDIG, extensions must parse,
every line ends in CRLF, every chunk is followed by CRLF, and trailers are read, checked and
dropped (never merged into the head).
"""

import re

from ch03_bodies.engine import BARE_LF, FIELD_LINE, TCHAR, Gone, Refusal
from ch06_gzip.protocol import BodyReader

CHUNK_LINE_LIMIT = 4096  # a chunk-size line with its extensions
TRAILER_LIMIT = 8192  # all trailer lines together
READ_SIZE = 65536

QUOTED = rb'"(?:[^"\\\x00-\x08\x0a-\x1f\x7f]|\\[^\x00-\x08\x0a-\x1f\x7f])*"'
CHUNK_EXTENSION = rb"[ \t]*;[ \t]*" + TCHAR + rb"+(?:[ \t]*=[ \t]*(?:" + TCHAR + rb"+|" + QUOTED + rb"))?"
CHUNK_SIZE_LINE = re.compile(rb"(?P<size>[0-9A-Fa-f]+)(?P<extensions>(?:" + CHUNK_EXTENSION + rb")*)")


class Wire:
    """A socket and its unread bytes."""

    def __init__(self, sock, pending=b""):
        self.sock = sock
        self.pending = bytearray(pending)

    def recv(self, most):
        """Up to `most` bytes (the buffered ones first); b"" when the peer has closed."""
        if self.pending:
            piece = bytes(self.pending[:most])
            del self.pending[:most]
            return piece
        return self.sock.recv(most)

    def push_back(self, data):
        self.pending[:0] = data

    def exactly(self, count):
        parts = []
        while count:
            piece = self.recv(count)
            if not piece:
                raise Gone()
            parts.append(piece)
            count -= len(piece)
        return b"".join(parts)

    def line(self, limit, what):
        """One CRLF-terminated line without its CRLF; 400 for a bare LF, a stray CR or a line
        longer than `limit`."""
        searched = 0
        while True:
            end = self.pending.find(b"\n", searched)
            if end >= 0:
                break
            if len(self.pending) > limit + 1:
                raise Refusal(400, f"{what} is too long")
            searched = len(self.pending)
            piece = self.sock.recv(READ_SIZE)
            if not piece:
                raise Gone()
            self.pending += piece
        if end > limit + 1:
            raise Refusal(400, f"{what} is too long")
        raw = bytes(self.pending[: end + 1])
        del self.pending[: end + 1]
        if not raw.endswith(b"\r\n"):
            raise Refusal(400, f"{what} must end with CRLF, not a bare LF")
        line = raw[:-2]
        if b"\r" in line:
            raise Refusal(400, f"a stray CR in {what}")
        return line


# ---------------------------------------------------------------- header lists

def tokens(request, name):
    """The comma-separated elements of every `name` line, lower case, empty ones skipped."""
    found = []
    for value in request.values(name):
        for element in value.split(b","):
            element = element.strip(b" \t").lower()
            if element:
                found.append(element)
    return found


def client_wants_to_keep(request):
    """RFC 9112 §9.3: 1.1 persists unless `close`; 1.0 only with `keep-alive`."""
    options = tokens(request, b"connection")
    if b"close" in options:
        return False
    if request.version >= (1, 1):
        return True
    return b"keep-alive" in options


# ---------------------------------------------------------------- framing

def body_framing(request):
    """("chunked", None) or ("length", n); Refusal when the framing cannot be trusted."""
    if b"transfer-encoding" not in request.fields:
        return "length", request.declared_length()
    if request.version < (1, 1):
        raise Refusal(400, "HTTP/1.0 has no Transfer-Encoding")
    if b"content-length" in request.fields:
        raise Refusal(400, "Transfer-Encoding and Content-Length together: which one frames the body?")
    codings = tokens(request, b"transfer-encoding")
    if not codings or codings[-1] != b"chunked":
        raise Refusal(400, "the last transfer coding must be chunked")
    if b"chunked" in codings[:-1]:
        raise Refusal(400, "chunked may be applied only once")
    if len(codings) > 1:
        unknown = b", ".join(codings[:-1]).decode("latin-1")
        raise Refusal(501, f"transfer coding {unknown} is not supported")
    return "chunked", None


class ChunkedBody:
    """The decoded bytes of a chunked body; the same `read`/`read_all` as ch06's BodyReader.

    Over `limit` decoded bytes is a 413, noticed at the size line (before the data is read).
    A framing error marks the body `broken`: the rest of the connection cannot be parsed.
    """

    def __init__(self, wire, limit):
        self.wire = wire
        self.limit = limit
        self.left = 0
        self.total = 0
        self.finished = False
        self.broken = False

    def read(self, most=READ_SIZE):
        if self.finished:
            return b""
        try:
            if self.left == 0:
                size = self._size()
                if size == 0:
                    self._trailers()
                    self.finished = True
                    return b""
                self.left = size
            piece = self.wire.recv(min(most, self.left))
            if not piece:
                raise Gone()
            self.left -= len(piece)
            if self.left == 0 and self.wire.exactly(2) != b"\r\n":
                raise Refusal(400, "a chunk's data must be followed by CRLF")
            return piece
        except Refusal:
            self.broken = True
            raise

    def read_all(self):
        parts = []
        while piece := self.read():
            parts.append(piece)
        return b"".join(parts)

    @property
    def complete(self):
        return self.finished

    def _size(self):
        line = self.wire.line(CHUNK_LINE_LIMIT, "a chunk-size line")
        match = CHUNK_SIZE_LINE.fullmatch(line)
        if match is None:
            raise Refusal(400, "a chunk size must be hex digits, optionally followed by ;extensions")
        digits = match["size"].lstrip(b"0")
        if len(digits) > 15 or self.total + int(digits or b"0", 16) > self.limit:
            raise Refusal(413, f"the body is over {self.limit} bytes")
        size = int(digits or b"0", 16)
        self.total += size
        return size

    def _trailers(self):
        spent = 0
        while True:
            line = self.wire.line(TRAILER_LIMIT, "a trailer line")
            if not line:
                return
            spent += len(line) + 2
            if spent > TRAILER_LIMIT:
                raise Refusal(431, "the trailer section is too large")
            if b"\x00" in line or FIELD_LINE.fullmatch(line) is None:
                raise Refusal(400, "a trailer line is not 'name: value'")


class LengthBody(BodyReader):
    """Content-Length bytes through the Wire: ch06's BodyReader (nothing came "early": the
    Wire holds it), made to say whether the whole body was read."""

    broken = False

    def __init__(self, wire, length):
        super().__init__(wire, b"", length)

    @property
    def complete(self):
        return self.remaining <= 0


def head_ready(buffer, max_head):
    """Whether `buffer` holds enough to answer: a whole head, or proof that it is bad (over the
    limit, or a bare LF) - the same three exits as ch03's head reader, so it never waits."""
    return b"\r\n\r\n" in buffer or len(buffer) >= max_head or BARE_LF.search(buffer) is not None
