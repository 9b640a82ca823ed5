"""A test client that speaks raw bytes and explains every failure to a student.

Strategy: a `Connection` remembers every byte it sent and received. Responses are parsed
strictly (RFC 9112: CRLF line endings, `HTTP/1.1 <code> <reason>`, framing by Content-Length
or chunked coding); when parsing breaks, or a check on the parsed response fails, the
`WireFailure` shows the bytes sent and received with CR and LF made visible, a caret where
the response stopped parsing, what was expected, and the numbered hint to read. Nothing here
waits without a deadline.
"""

from __future__ import annotations

import re
import socket
import struct
import time
from dataclasses import dataclass
from http import HTTPStatus

DEFAULT_TIMEOUT = 3.0
SHOW_LIMIT = 1200  # bytes of a transcript shown before the middle is elided

# RFC 9110 §15 wording where Python 3.11's http.HTTPStatus still has the older RFC 7231 one.
# The servers keep their own table; the tests compute theirs independently, from the RFC.
RFC_9110_WORDING = {
    413: "Content Too Large",
    414: "URI Too Long",
    416: "Range Not Satisfiable",
    422: "Unprocessable Content",
}


def reason_phrase(status: int) -> str:
    """The RFC 9110 reason phrase for a status code."""
    return RFC_9110_WORDING.get(status) or HTTPStatus(status).phrase


TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


class WireFailure(AssertionError):
    """A failed expectation about bytes on the wire, worded for the student who wrote the server."""


# ---------------------------------------------------------------------------------------------
# Showing bytes


def escape_byte(byte: int) -> str:
    if byte == 0x0D:
        return "\\r"
    if byte == 0x0A:
        return "\\n"
    if byte == 0x09:
        return "\\t"
    if byte == 0x5C:
        return "\\\\"
    if 0x20 <= byte < 0x7F:
        return chr(byte)
    return f"\\x{byte:02x}"


def show_bytes(data: bytes, caret_at: int | None = None, note: str = "", limit: int = SHOW_LIMIT) -> str:
    """Render bytes one line per LF, CR and LF spelled out, indented; a caret under `caret_at`."""
    if not data and caret_at is None:
        return "    (nothing)"
    lines: list[str] = []
    line = ""
    caret_line: int | None = None
    caret_column = 0
    skipped_from, skipped_to = _elided_range(len(data), caret_at, limit)
    for offset in range(len(data) + 1):
        if skipped_from <= offset < skipped_to:
            if offset == skipped_from:
                lines.append("    " + line)
                lines.append(f"    [... {skipped_to - skipped_from} bytes not shown ...]")
                line = ""
            continue
        if offset == caret_at:
            caret_line, caret_column = len(lines), len(line)
        if offset == len(data):
            break
        line += escape_byte(data[offset])
        if data[offset] == 0x0A:
            lines.append("    " + line)
            line = ""
    if line or caret_line == len(lines):
        lines.append("    " + line)
    if caret_line is not None:
        marker = "    " + " " * caret_column + "^" + (f" {note}" if note else "")
        lines.insert(caret_line + 1, marker)
    return "\n".join(lines)


def _elided_range(length: int, caret_at: int | None, limit: int) -> tuple[int, int]:
    """Which bytes to leave out of a long transcript, keeping its start, its end and the caret."""
    if length <= limit:
        return (0, 0)
    keep_start, keep_end = limit * 2 // 3, limit // 3
    start, end = keep_start, length - keep_end
    if caret_at is not None and start <= caret_at < end:
        end = max(start, caret_at - 80)
    return (start, end)


# ---------------------------------------------------------------------------------------------
# Responses


@dataclass
class Response:
    """One parsed response, with the connection it came from for failure messages."""

    connection: "Connection"
    raw: bytes
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    start: int = 0  # where this response begins in everything the connection received

    def header(self, name: str) -> str | None:
        """The value of the named header, or None; several fields with that name are joined."""
        values = self.header_values(name)
        return ", ".join(values) if values else None

    def header_values(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]

    def fail(self, expected: str, problem: str = "", caret_at: int | None = None) -> None:
        self.connection.fail(expected, problem, caret_at=caret_at)

    def expect_status(self, status: int, why: str = "") -> "Response":
        reason = reason_phrase(status)
        if self.status != status:
            self.fail(
                f"status {status} {reason}" + (f" ({why})" if why else ""),
                f"the server answered {self.status} {self.reason}.",
                caret_at=self.start + len("HTTP/1.1 "),
            )
        if self.reason != reason:
            self.fail(
                f"the reason phrase {reason!r} after {status} (RFC 9110 §15 wording)",
                f"the status line says {self.reason!r}.",
                caret_at=self.start + len("HTTP/1.1 200 "),
            )
        return self

    def expect_header(self, name: str, value: str | None = None, *, ignore_case: bool = False) -> "Response":
        """The header is present exactly once (any letter case in its name), with this value."""
        values = self.header_values(name)
        if not values:
            self.fail(f"a {name} header" + (f": {value}" if value is not None else ""), f"the response has no {name} header.")
        if len(values) > 1:
            self.fail(f"one {name} header", f"the response has {len(values)}: {values!r}.")
        if value is not None:
            got = values[0].lower() if ignore_case else values[0]
            want = value.lower() if ignore_case else value
            if got != want:
                self.fail(f"{name}: {value}", f"the response says {name}: {values[0]}.")
        return self

    def expect_content_type(self, media_type: str, charset: str | None = None) -> "Response":
        """Content-Type by meaning: media type case-insensitive, charset (if asked) too."""
        self.expect_header("Content-Type")
        value = self.header("Content-Type") or ""
        parts = [part.strip() for part in value.split(";")]
        params = dict(
            (key.strip().lower(), val.strip().strip('"').lower())
            for key, _, val in (p.partition("=") for p in parts[1:])
        )
        wanted = media_type + (f"; charset={charset}" if charset else "")
        if parts[0].lower() != media_type.lower():
            self.fail(f"Content-Type: {wanted}", f"the response says Content-Type: {value}.")
        if charset is not None and params.get("charset") != charset.lower():
            self.fail(f"Content-Type: {wanted}", f"the response says Content-Type: {value}.")
        if charset is None and "charset" in params:
            self.fail(
                f"Content-Type: {media_type} with no charset (the bytes go back as they came)",
                f"the response says Content-Type: {value}.",
            )
        return self

    def expect_body(self, body: bytes, why: str = "") -> "Response":
        if self.body != body:
            self.fail(
                f"the body {body!r}" + (f" ({why})" if why else ""),
                f"the body is {self.body[:300]!r}" + ("..." if len(self.body) > 300 else "") + ".",
                caret_at=self.start + len(self.raw) - len(self.body) + _first_difference(self.body, body),
            )
        return self

    def expect_text_error(self, status: int, why: str = "") -> "Response":
        """An error response: this status, a short text/plain; charset=utf-8 body (any wording)."""
        self.expect_status(status, why)
        self.expect_content_type("text/plain", charset="utf-8")
        if not self.body:
            self.fail("a short text/plain body saying what went wrong", "the body is empty.")
        return self


def _first_difference(a: bytes, b: bytes) -> int:
    for index, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return index
    return min(len(a), len(b))


# ---------------------------------------------------------------------------------------------
# Connections


@dataclass
class Hint:
    """Which task a test grades, so its failures can say which hint to read."""

    task: str = ""
    title: str = ""
    page: str = ""

    def render(self) -> str:
        if not self.task:
            return ""
        where = f" on the chapter page ({self.page})" if self.page else ""
        return f"Read hint {self.task} «{self.title}»{where}."


class Connection:
    """A client socket that keeps a transcript of both directions."""

    def __init__(self, address: tuple[str, int], timeout: float = DEFAULT_TIMEOUT, hint: Hint | None = None):
        self.address = address
        self.timeout = timeout
        self.hint = hint or Hint()
        self.sent = bytearray()
        self.segments = 0
        self.received = bytearray()
        self.position = 0  # how much of `received` earlier responses consumed
        self.eof = False
        self.reset = False
        self.sock = socket.create_connection(address, timeout=timeout)
        # Each send() leaves as its own TCP segment: tests that split a request mean it.
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    # -- failures ---------------------------------------------------------------------------

    def transcript(self, caret_at: int | None = None, note: str = "") -> str:
        segments = f", in {self.segments} segments" if self.segments > 1 else ""
        state = ""
        if self.reset:
            state = " then the connection was reset"
        elif self.eof:
            state = " then the server closed the connection"
        return (
            f"Sent ({len(self.sent)} bytes{segments}):\n{show_bytes(bytes(self.sent))}\n"
            f"Received ({len(self.received)} bytes{state}):\n"
            f"{show_bytes(bytes(self.received), caret_at, note)}"
        )

    def fail(self, expected: str, problem: str = "", caret_at: int | None = None, note: str = "") -> None:
        parts = [f"Expected: {expected}"]
        if problem:
            parts.append(f"Problem: {problem}")
        parts.append(self.transcript(caret_at, note or ("here" if caret_at is not None else "")))
        if self.hint.task:
            parts.append(self.hint.render())
        raise WireFailure("\n".join(parts))

    # -- sending ----------------------------------------------------------------------------

    def send(self, data: bytes) -> "Connection":
        """Send bytes as one segment."""
        try:
            self.sock.sendall(data)
        except OSError as error:
            self.sent += data
            self.fail("the server to accept the request bytes", f"sending failed: {error}.")
        self.sent += data
        self.segments += 1
        return self

    def send_in_pieces(self, data: bytes, size: int = 1, pause: float = 0.002) -> "Connection":
        """Send bytes `size` at a time with a pause between: the server sees many small reads."""
        for start in range(0, len(data), size):
            self.send(data[start : start + size])
            time.sleep(pause)
        return self

    def send_split(self, *pieces: bytes, pause: float = 0.05) -> "Connection":
        """Send each piece as its own segment, pausing between them."""
        for index, piece in enumerate(pieces):
            if index:
                time.sleep(pause)
            self.send(piece)
        return self

    def shutdown_write(self) -> "Connection":
        self.sock.shutdown(socket.SHUT_WR)
        return self

    # -- receiving --------------------------------------------------------------------------

    def _receive_more(self, why: str, timeout: float | None = None) -> bool:
        """Read one chunk into the transcript. False at EOF or reset; fails after the timeout."""
        if self.eof:
            return False
        self.sock.settimeout(self.timeout if timeout is None else timeout)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            waited = self.timeout if timeout is None else timeout
            self.fail(why, f"waited {waited:g} s and the server sent nothing more.", caret_at=len(self.received), note="nothing after this")
        except ConnectionResetError:
            self.eof = self.reset = True
            return False
        if not chunk:
            self.eof = True
            return False
        self.received += chunk
        return True

    def _need(self, count: int, why: str) -> None:
        while len(self.received) - self.position < count:
            if not self._receive_more(why):
                self.fail(why, "the connection ended too early.", caret_at=len(self.received), note="the response ends here")

    def _read_line(self, why: str) -> tuple[bytes, int]:
        """One CRLF-terminated line from the current position; a bare LF is a failure."""
        start = self.position
        while True:
            newline = self.received.find(b"\n", start)
            if newline >= 0:
                break
            start = len(self.received)
            if not self._receive_more(why):
                problem = "the server closed the connection without sending anything." if not self.received else "the connection ended in the middle of the head."
                self.fail(why, problem, caret_at=len(self.received), note="the response ends here")
        if newline == 0 or self.received[newline - 1] != 0x0D:
            self.fail(why, "a line of the head ends with a bare LF; HTTP lines end with CRLF (RFC 9112 §2.2).", caret_at=newline, note="expected \\r\\n here")
        line = bytes(self.received[self.position : newline - 1])
        line_start = self.position
        self.position = newline + 1
        return line, line_start

    def read_response(self, method: str = "GET", expect: str = "a response") -> Response:
        """Read and strictly parse one response; fails (with the transcript) if it is malformed."""
        start = self.position
        why = expect
        status_line, line_start = self._read_line(why)
        match = re.fullmatch(rb"HTTP/1\.1 (\d{3}) ([\x20-\x7e\x80-\xff\t]*)", status_line)
        if not match:
            bad = _status_line_problem(status_line)
            self.fail(why, f"the status line is not `HTTP/1.1 <3 digits> <reason>`: {bad[1]}", caret_at=line_start + bad[0])
        status = int(match[1])
        reason = match[2].decode("latin-1")
        headers = self._read_header_fields(why)
        response = Response(self, b"", status, reason, headers, b"", start)
        response.body = self._read_body(response, method, why)
        response.raw = bytes(self.received[start : self.position])
        return response

    def _read_header_fields(self, why: str) -> list[tuple[str, str]]:
        headers: list[tuple[str, str]] = []
        while True:
            line, line_start = self._read_line(why)
            if not line:
                return headers
            name, colon, value = line.partition(b":")
            if not colon or not TOKEN.fullmatch(name):
                column = len(name) if colon else 0
                self.fail(why, "this header line is not `Name: value` (RFC 9112 §5).", caret_at=line_start + column)
            headers.append((name.decode("ascii"), value.strip(b" \t").decode("latin-1")))

    def _read_body(self, response: Response, method: str, why: str) -> bytes:
        if 100 <= response.status < 200 or response.status in (204, 304) or method == "HEAD":
            return b""
        if (response.header("Transfer-Encoding") or "").lower().endswith("chunked"):
            return self._read_chunked_body(why)
        lengths = response.header_values("Content-Length")
        if not lengths:
            self.fail(
                why + " with a Content-Length header",
                "the response has no Content-Length, so the client cannot tell where the body ends.",
                caret_at=self.position - 2,
            )
        if len(lengths) > 1 or not lengths[0].isdigit():
            self.fail(why, f"Content-Length must be one number; the response has {lengths!r}.")
        length = int(lengths[0])
        self._need(length, f"{why}: a body of {length} bytes, as Content-Length says")
        body = bytes(self.received[self.position : self.position + length])
        self.position += length
        return body

    def _read_chunked_body(self, why: str) -> bytes:
        body = bytearray()
        while True:
            line, line_start = self._read_line(why)
            size_text = line.split(b";", 1)[0].strip()
            if not re.fullmatch(rb"[0-9A-Fa-f]+", size_text):
                self.fail(why, "a chunk size must be hexadecimal digits (RFC 9112 §7.1).", caret_at=line_start)
            size = int(size_text, 16)
            if size == 0:
                while self._read_line(why)[0]:
                    pass  # trailer fields
                return bytes(body)
            self._need(size + 2, why)
            body += self.received[self.position : self.position + size]
            if self.received[self.position + size : self.position + size + 2] != b"\r\n":
                self.fail(why, "each chunk's data must end with CRLF.", caret_at=self.position + size)
            self.position += size + 2

    def read_until_close(self, expect: str = "the server to close the connection") -> bytes:
        """Everything the server sends until it closes the connection."""
        while self._receive_more(expect):
            pass
        data = bytes(self.received[self.position :])
        self.position = len(self.received)
        return data

    def expect_closed(self, why: str = "the server to close the connection after its response") -> None:
        """Nothing more arrives, and the server closes the connection."""
        extra = self.read_until_close(why)
        if extra:
            self.fail(
                why,
                f"after the response (its Content-Length counted), {len(extra)} more bytes came.",
                caret_at=len(self.received) - len(extra),
                note="extra bytes start here",
            )

    def expect_nothing_yet(self, wait: float = 0.3, why: str = "the server to wait for the rest") -> None:
        """The server sends nothing (and stays open) for `wait` seconds."""
        self.sock.settimeout(wait)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            return
        except ConnectionResetError:
            chunk, self.reset = b"", True
        if chunk:
            self.received += chunk
            self.fail(why, "the server answered before the request was complete.", caret_at=len(self.received) - len(chunk))
        self.eof = True
        self.fail(why, "the server closed the connection before the request was complete.")

    # -- ending -----------------------------------------------------------------------------

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def reset_connection(self) -> None:
        """Close with an RST instead of a FIN, as a crashed or impatient client does."""
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.sock.close()
        except OSError:
            pass

    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def _status_line_problem(line: bytes) -> tuple[int, str]:
    """Where a status line goes wrong, for the caret, and what is wrong there."""
    expected = b"HTTP/1.1 "
    for index, byte in enumerate(expected):
        if index >= len(line) or line[index] != byte:
            return index, "it must start with `HTTP/1.1 ` (uppercase, one space)."
    code = line[len(expected) : len(expected) + 3]
    if len(code) < 3 or not code.isdigit():
        return len(expected), "the status code must be three digits."
    if line[len(expected) + 3 : len(expected) + 4] != b" ":
        return len(expected) + 3, "a single space must follow the status code, then the reason phrase."
    return len(expected) + 4, "the reason phrase has a character that is not allowed."

