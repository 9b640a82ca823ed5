"""Bytes in, bytes out: options, the request head, the request body, the response head.

Nothing here knows about routes. The head is read in odd-sized pieces (733 bytes per
`recv`, so no test can rely on an aligned read), parsed by whole-line regular expressions,
and the body is handed out through a `BodyReader` that never reads past Content-Length
(counting what came with the head), so a handler can stream it to disk or take it whole.
"""

import argparse
import re
from email.utils import formatdate

# The chapter-3 fixture is this server's earlier self: its head parser, Content-Length rules
# and head reader are reused as they are (both folders are on the path when graded).
from ch03_bodies.engine import (  # noqa: F401  (Gone, Refusal, Shutdown are re-exported)
    Gone,
    Refusal,
    RequestHead,
    Shutdown,
)
from ch03_bodies.engine import read_head as engine_read_head

HEAD_READ = 733
SERVER_NAME = b"indie-fixture/6"

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

ESCAPE = re.compile(rb"%([0-9A-Fa-f]{2})")
BAD_ESCAPE = re.compile(rb"%(?![0-9A-Fa-f]{2})")
ABSOLUTE_FORM = re.compile(rb"(?i:https?)://[^/?#]*(?P<rest>.*)", re.DOTALL)


class Request(RequestHead):
    """The chapter-3 head (same parser, same Content-Length rules), plus the raw path and
    query (bytes) of chapter 4."""

    def __init__(self, method, target, version, fields):
        super().__init__(method, target, version, fields)
        # Attributes now: they replace chapter 3's path() method, which kept the query.
        self.path, self.query = split_target(target)

    def values(self, name):
        return self.fields.get(name, [])


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
    return Request.from_bytes(head)


def read_head(conn, max_head):
    """Bytes up to and including the blank line, read HEAD_READ bytes at a time, and what followed."""
    return engine_read_head(conn, max_head, HEAD_READ)


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
