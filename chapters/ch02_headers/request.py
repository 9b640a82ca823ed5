"""Parsing a request head without touching a socket (sans-I/O).

Strategy: these functions take bytes and return structures. `maybe_split_head` is given the
bytes received so far and answers None ("need more data") until the blank line has arrived;
`parse_head` turns that head into a `Request`. Anything malformed raises `HttpError` carrying
the status to answer. Because nothing here does I/O, tests can feed a whole request, one
byte at a time, or a request followed by the next one; and the later chapters (keep-alive,
chunked bodies, threads) reuse these functions unchanged.
"""

import re
from dataclasses import dataclass, field

# RFC 9110 §5.6.2: token = 1*tchar (methods and field names are tokens).
TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# RFC 9112 §3.2: the request-target is visible ASCII with no spaces in it.
TARGET = re.compile(rb"[\x21-\x7e]+")
# RFC 9112 §2.3: HTTP-version = "HTTP/" DIGIT "." DIGIT, and "HTTP" is case-sensitive.
VERSION = re.compile(rb"HTTP/([0-9])\.([0-9])")


class HttpError(Exception):
    """The request cannot be served: answer `status` with `message` as the body, then close."""

    def __init__(self, status: int, message: str):
        super().__init__(f"{status} {message}")
        self.status = status
        self.message = message


@dataclass
class Request:
    method: str
    target: str
    version: str  # "HTTP/1.1" or "HTTP/1.0"
    headers: list[tuple[str, str]] = field(default_factory=list)  # in order, names as sent
    body: bytes = b""

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
    # TODO(task 2.1): Buffer the head up to the blank line. Read section 2.1 of chapter 2 (docs/chapters/ch02_headers.md).
    raise NotImplementedError("task 2.1 (Buffer the head up to the blank line) is still to do: see docs/chapters/ch02_headers.md")
# --8<-- [end:maybe_split_head]


# --8<-- [start:parse_request_line]
def parse_request_line(line: bytes) -> tuple[str, str, str]:
    """`GET /path HTTP/1.1` (without its CRLF) -> ("GET", "/path", "HTTP/1.1").

    The version comes back as "HTTP/1.1" for HTTP/1.1 to 1.9 and "HTTP/1.0" for 1.0.
    Raises HttpError(400) for a malformed line and HttpError(505) for other versions.
    """
    # TODO(task 2.2): Parse the request line. Read section 2.2 of chapter 2 (docs/chapters/ch02_headers.md).
    raise NotImplementedError("task 2.2 (Parse the request line) is still to do: see docs/chapters/ch02_headers.md")
# --8<-- [end:parse_request_line]


# --8<-- [start:parse_header_line]
def parse_header_line(line: bytes) -> tuple[str, str]:
    """`Name: value` (without its CRLF) -> ("Name", "value").

    The value loses the spaces and tabs around it and is decoded as Latin-1, one character
    per byte, so it can be turned back into the very bytes that came. Raises HttpError(400).
    """
    # TODO(task 2.3): Parse the header fields. Read section 2.3 of chapter 2 (docs/chapters/ch02_headers.md).
    raise NotImplementedError("task 2.3 (Parse the header fields) is still to do: see docs/chapters/ch02_headers.md")
# --8<-- [end:parse_header_line]


# --8<-- [start:parse_head]
def parse_head(head: bytes) -> Request:
    """A head as `maybe_split_head` returns it (ending in CR LF CR LF) -> Request."""
    # TODO(task 2.3): Parse the header fields. Read section 2.3 of chapter 2 (docs/chapters/ch02_headers.md).
    raise NotImplementedError("task 2.3 (Parse the header fields) is still to do: see docs/chapters/ch02_headers.md")
# --8<-- [end:parse_head]
