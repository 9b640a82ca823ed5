"""Bytes in, bytes out: options, the request head, the request body, the response head.

Nothing here knows about routes. The head is read in odd-sized pieces (733 bytes per
`recv`, so no test can rely on an aligned read), parsed by whole-line regular expressions,
and the body is handed out through a `BodyReader` that never reads past Content-Length
(counting what came with the head), so a handler can stream it to disk or take it whole.
"""

import argparse
import re
from email.utils import formatdate

HEAD_READ = 733
SERVER_NAME = b"indie-fixture/6"
# Content-Length values past a signed 64-bit integer count as overflow (spec: 400).
LENGTH_CEILING = 2**63 - 1

REASONS = {
    100: "Continue",
    200: "OK",
    201: "Created",
    301: "Moved Permanently",
    304: "Not Modified",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Content Too Large",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
    505: "HTTP Version Not Supported",
}


class Shutdown(BaseException):
    """Raised by the signal handler; BaseException so no `except Exception` swallows it."""


class Gone(Exception):
    """The client closed before sending all it announced."""


class Refusal(Exception):
    """The request cannot be served: answer `status` with a short plain-text note."""

    def __init__(self, status, note, extra=()):
        super().__init__(note)
        self.status = status
        self.note = note
        self.extra = list(extra)


# ---------------------------------------------------------------- options

def parse_options(argv):
    """Every flag of the launch contract; the chapter 7-9 ones are accepted and unused."""
    parser = argparse.ArgumentParser(prog="ch06_gzip", allow_abbrev=False)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--max-head", type=int, default=8192)
    parser.add_argument("--max-body", type=int, default=1048576)
    parser.add_argument("--directory", default=None)
    parser.add_argument("--gzip-min-size", type=int, default=0)
    parser.add_argument("--keep-alive-timeout", type=float, default=5.0)
    parser.add_argument("--header-timeout", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--grace", type=float, default=10.0)
    return parser.parse_args(argv)


# ---------------------------------------------------------------- the head

TCHAR = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]"
REQUEST_LINE = re.compile(
    rb"(?P<method>" + TCHAR + rb"+) (?P<target>[^\x00-\x20\x7f]+) HTTP/(?P<major>[0-9])\.(?P<minor>[0-9])"
)
FIELD_LINE = re.compile(rb"(?P<name>" + TCHAR + rb"+):[ \t]*(?P<value>.*?)[ \t]*", re.DOTALL)
BARE_LF = re.compile(rb"(?<!\r)\n")
FORBIDDEN_IN_LINE = re.compile(rb"[\r\n\x00]")
DIGITS = re.compile(rb"[0-9]+")
ESCAPE = re.compile(rb"%([0-9A-Fa-f]{2})")
BAD_ESCAPE = re.compile(rb"%(?![0-9A-Fa-f]{2})")
ABSOLUTE_FORM = re.compile(rb"(?i:https?)://[^/?#]*(?P<rest>.*)", re.DOTALL)


class Request:
    """A parsed head: method, raw path and query (bytes), version and a field multimap."""

    def __init__(self, method, target, version, fields):
        self.method = method
        self.target = target
        self.version = version
        self.fields = fields
        self.path, self.query = split_target(target)

    def values(self, name):
        return self.fields.get(name, [])

    def first(self, name, default=None):
        values = self.fields.get(name)
        return values[0] if values else default

    def wants_continue(self):
        # RFC 9110 section 10.1.1: an HTTP/1.0 request's 100-continue is ignored.
        if self.version < (1, 1):
            return False
        return any(v.lower() == b"100-continue" for v in self.values(b"expect"))

    def declared_length(self):
        """Content-Length as an int, 0 when absent; Refusal(400) when invalid."""
        raw = self.fields.get(b"content-length")
        if raw is None:
            return 0
        seen = set()
        for line in raw:
            for piece in line.split(b","):
                piece = piece.strip(b" \t")
                if DIGITS.fullmatch(piece) is None:
                    raise Refusal(400, "Content-Length must be digits only")
                number = int(piece)
                if number > LENGTH_CEILING:
                    raise Refusal(400, "Content-Length is absurdly large")
                seen.add(number)
        if len(seen) != 1:
            raise Refusal(400, "Content-Length values disagree")
        return seen.pop()


def split_target(target):
    """(raw path, raw query or None) for origin-form and absolute-form (RFC 9112 §3.2)."""
    absolute = ABSOLUTE_FORM.fullmatch(target)
    if absolute is not None:
        target = absolute["rest"] or b"/"
        if target.startswith(b"?"):
            target = b"/" + target
    if not target.startswith(b"/"):
        raise Refusal(400, "the request target is neither /path nor http://host/path")
    path, has_query, query = target.partition(b"?")
    return path, (query if has_query else None)


def parse_head(head):
    """`head` ends with the blank line; raise Refusal for anything malformed."""
    lines = head[:-4].split(b"\r\n")
    if any(FORBIDDEN_IN_LINE.search(line) for line in lines):
        raise Refusal(400, "stray CR, LF or NUL in the head")
    match = REQUEST_LINE.fullmatch(lines[0])
    if match is None:
        raise Refusal(400, "request line is not 'METHOD target HTTP/x.y'")
    major, minor = int(match["major"]), int(match["minor"])
    # RFC 9110 section 6.2: any 1.x with x >= 1 is handled as HTTP/1.1.
    if major != 1:
        raise Refusal(505, f"HTTP/{major}.{minor} is not spoken here")
    version = (1, 0) if minor == 0 else (1, 1)
    fields = {}
    for line in lines[1:]:
        field = FIELD_LINE.fullmatch(line)
        if field is None:
            raise Refusal(400, "a header line is not 'name: value'")
        fields.setdefault(field["name"].lower(), []).append(field["value"])
    if version >= (1, 1) and len(fields.get(b"host", [])) != 1:
        raise Refusal(400, "HTTP/1.1 wants exactly one Host header")
    return Request(match["method"], match["target"], version, fields)


def read_head(conn, max_head):
    """Bytes up to and including the blank line, and whatever came after them."""
    buffer = bytearray()
    checked = 0
    while True:
        end = buffer.find(b"\r\n\r\n")
        limit = len(buffer) if end < 0 else end + 4
        if BARE_LF.search(buffer, max(checked - 1, 0), limit):
            raise Refusal(400, "lines must end with CRLF, not a bare LF")
        checked = limit
        if end >= 0:
            if end + 4 > max_head:
                raise Refusal(431, f"head is over {max_head} bytes")
            return bytes(buffer[: end + 4]), bytes(buffer[end + 4 :])
        if len(buffer) >= max_head:
            raise Refusal(431, f"head is over {max_head} bytes")
        piece = conn.recv(HEAD_READ)
        if not piece:
            raise Gone()
        buffer += piece


def percent_decode(raw):
    """RFC 3986 percent-decoding to bytes; a `%` without two hex digits is a 400 (as Go does)."""
    if b"%" not in raw:
        return raw
    if BAD_ESCAPE.search(raw):
        raise Refusal(400, "a % in the path is not followed by two hex digits")
    return ESCAPE.sub(lambda m: bytes([int(m[1], 16)]), raw)


# ---------------------------------------------------------------- the body

class BodyReader:
    """Exactly `length` bytes: first those that came with the head, then never a byte more."""

    def __init__(self, conn, early, length):
        self.conn = conn
        self.early = early[:length]
        self.remaining = length

    def read(self, most=65536):
        """Up to `most` bytes, b"" once the body is complete; Gone if the client left."""
        if self.remaining <= 0:
            return b""
        if self.early:
            piece, self.early = self.early[:most], self.early[most:]
        else:
            piece = self.conn.recv(min(most, self.remaining))
            if not piece:
                raise Gone()
        self.remaining -= len(piece)
        return piece

    def read_all(self):
        parts = []
        while True:
            piece = self.read()
            if not piece:
                return b"".join(parts)
            parts.append(piece)


# ---------------------------------------------------------------- the response

def http_date(timestamp=None):
    return formatdate(timestamp, usegmt=True).encode("ascii")


def response_head(status, fields, length):
    """Status line and fields, lower-case names, with our own extras and order."""
    lines = [f"HTTP/1.1 {status} {REASONS[status]}".encode("ascii")]
    lines.extend(name + b": " + value for name, value in fields)
    lines.append(b"content-length: " + str(length).encode("ascii"))
    lines.append(b"date: " + http_date())
    lines.append(b"server: " + SERVER_NAME)
    lines.append(b"connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n"
