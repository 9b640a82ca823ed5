"""Building a response: status line, header fields, a blank line, then the body.

Strategy: the body is bytes, so Content-Length counts bytes, never characters; every line of
the head ends with CRLF (RFC 9112 §2.1); the head itself is Latin-1 text, one byte per
character, which is what HTTP/1.1 field values have always been on the wire (RFC 9110 §5.5).
The application builds a `Response` (status, headers, body); the server turns it into bytes,
adding the `Date` (RFC 9110 §6.6.1) and leaving the body out for HEAD. From chapter 8 a body
can also be a stream: pieces produced over time, whose total length nobody knows in advance;
each piece goes out as one chunk (RFC 9112 §7.1).
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

# RFC 9110 §15: the reason phrases this course sends. Python 3.11's http.HTTPStatus still has
# older wording for some (413 "Request Entity Too Large"), so the course keeps its own table.
REASON_PHRASES = {
    100: "Continue",
    200: "OK",
    201: "Created",
    204: "No Content",
    301: "Moved Permanently",
    304: "Not Modified",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    408: "Request Timeout",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
    503: "Service Unavailable",
    505: "HTTP Version Not Supported",
}


# --8<-- [start:build_response]
def build_head(status: int, headers: list[tuple[str, str]], content_length: int | None) -> bytes:
    """Status line, header fields, `Content-Length`, blank line: everything but the body.

    A HEAD response is this alone, with the Content-Length its GET would have (RFC 9110 §9.3.2).
    `content_length` is None for a streamed body, whose length is not known in advance.
    """
    lines = [f"HTTP/1.1 {status} {REASON_PHRASES[status]}"]
    for name, value in headers:
        lines.append(f"{name}: {value}")
    # RFC 9110 §8.6: a 204 never carries Content-Length (it has no body, by definition).
    if content_length is not None and status != 204:
        lines.append(f"Content-Length: {content_length}")
    head = "\r\n".join(lines) + "\r\n\r\n"
    return head.encode("latin-1")


def build_response(status: int, headers: list[tuple[str, str]], body: bytes) -> bytes:
    """The whole response as bytes: the head, with a Content-Length counting the body's bytes,
    then the body.

    >>> build_response(200, [("Content-Type", "text/plain")], b"hi")
    b'HTTP/1.1 200 OK\\r\\nContent-Type: text/plain\\r\\nContent-Length: 2\\r\\n\\r\\nhi'
    """
    return build_head(status, headers, len(body)) + body
# --8<-- [end:build_response]


def interim_response(status: int) -> bytes:
    """A 1xx response: a status line and a blank line, no headers, never a body (RFC 9110 §15.2)."""
    return f"HTTP/1.1 {status} {REASON_PHRASES[status]}\r\n\r\n".encode("latin-1")


@dataclass
class FileBody:
    """A body that stays on disk until it is sent: the server streams it in blocks.

    `source`, when set, is the file already open: with threads, an upload may replace the
    file between the moment its size is taken and the moment it is sent; an open file keeps
    the version it was opened on (os.replace swaps names, not the bytes of open files).
    """

    path: Path
    size: int
    source: BinaryIO | None = None

    def open(self) -> BinaryIO:
        """The file to read the body from: the one opened earlier, or the path opened now."""
        return self.source if self.source is not None else open(self.path, "rb")

    def close(self) -> None:
        """Let go of the open file when the body will not be sent (HEAD, 304)."""
        if self.source is not None:
            self.source.close()


@dataclass
class Response:
    """What the application answers. Content-Length and Connection are the server's business.

    The body is `body`, or, when `file` is set, that file's content (sent without ever
    holding the whole file in memory), or, when `stream` is set, the pieces it yields as they
    are produced (their total length is unknown until the last one).
    """

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    file: FileBody | None = None
    stream: Iterator[bytes] | None = None

    @property
    def content_length(self) -> int | None:
        """The body's length in bytes; None for a stream."""
        if self.stream is not None:
            return None
        return self.file.size if self.file is not None else len(self.body)


def text_response(status: int, text: str) -> Response:
    """A short plain-text response, as every error gets."""
    return Response(status, [("Content-Type", "text/plain; charset=utf-8")], text.encode("utf-8"))


# --8<-- [start:header_value]
def header_value(response: Response, name: str) -> str | None:
    """The value of a header field the response carries (names are case-insensitive), or None."""
    for key, value in response.headers:
        if key.lower() == name.lower():
            return value
    return None
# --8<-- [end:header_value]


# --8<-- [start:encode_chunk]
def encode_chunk(data: bytes) -> bytes:
    """One chunk of a chunked body: the size in hex, CRLF, the data, CRLF (RFC 9112 §7.1).

    Never call it with empty data: a zero-size chunk is the last chunk, which ends the body.
    """
    return f"{len(data):x}\r\n".encode("ascii") + data + b"\r\n"
# --8<-- [end:encode_chunk]


# RFC 9112 §7.1: last-chunk = 1*("0") [ chunk-ext ] CRLF, then an empty trailer section.
LAST_CHUNK = b"0\r\n\r\n"
