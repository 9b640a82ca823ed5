"""The whole server: option parsing, a regex-based head parser, the connection loop.

Written from the course spec alone, in a style of its own: header names go out in lower
case with `server` and `date` extras, the status line and headers leave in one send and the
body in another, the head is read 1 KiB at a time and the body with exact-size
`recv_into`, the connection is closed right after the response (no lingering), and the
head is parsed by matching whole lines with regular expressions inside a small class.
"""

import re
import signal
import socket
import sys
from email.utils import formatdate

SERVER_NAME = b"indie-fixture/3"
HEAD_READ = 1024
CLIENT_TIMEOUT = 30.0
# Content-Length values past a signed 64-bit integer count as overflow (spec: 400).
LENGTH_CEILING = 2**63 - 1

REASONS = {
    100: "Continue",
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Content Too Large",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
    505: "HTTP Version Not Supported",
}


class Shutdown(BaseException):
    """Raised by the signal handler; BaseException so no `except Exception` swallows it."""


class Refusal(Exception):
    """The request cannot be served: answer `status` with a short plain-text note."""

    def __init__(self, status, note, extra=()):
        super().__init__(note)
        self.status = status
        self.note = note
        self.extra = list(extra)


# ---------------------------------------------------------------- options

OPTION_DEFAULTS = {"host": "127.0.0.1", "port": 8080, "max-head": 8192, "max-body": 1048576}


def read_options(argv):
    """Known flags as `--name V` or `--name=V`; any other `--flag [value]` is skipped."""
    options = dict(OPTION_DEFAULTS)
    position = 0
    while position < len(argv):
        word = argv[position]
        position += 1
        if not word.startswith("--"):
            continue
        name, has_equals, value = word[2:].partition("=")
        if not has_equals:
            if position < len(argv) and not argv[position].startswith("--"):
                value = argv[position]
                position += 1
            else:
                value = None
        if name not in options:
            continue
        if value is None:
            raise SystemExit(f"--{name} needs a value")
        options[name] = value if name == "host" else int(value)
    return options


# ---------------------------------------------------------------- parsing

TCHAR = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]"
REQUEST_LINE = re.compile(
    rb"(?P<method>" + TCHAR + rb"+) (?P<target>[^\x00-\x20\x7f]+) HTTP/(?P<major>[0-9])\.(?P<minor>[0-9])"
)
FIELD_LINE = re.compile(rb"(?P<name>" + TCHAR + rb"+):[ \t]*(?P<value>.*?)[ \t]*", re.DOTALL)
BARE_LF = re.compile(rb"(?<!\r)\n")
FORBIDDEN_IN_LINE = re.compile(rb"[\r\n\x00]")
DIGITS = re.compile(rb"[0-9]+")


class RequestHead:
    """A parsed head: method, target, (major, minor) version and a multimap of fields."""

    def __init__(self, method, target, version, fields):
        self.method = method
        self.target = target
        self.version = version
        self.fields = fields

    @classmethod
    def from_bytes(cls, head):
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
        return cls(match["method"], match["target"], version, fields)

    def first(self, name, default=None):
        values = self.fields.get(name)
        return values[0] if values else default

    def path(self):
        return self.target.split(b"?", 1)[0]

    def wants_continue(self):
        # RFC 9110 section 10.1.1: an HTTP/1.0 request's 100-continue is ignored.
        if self.version < (1, 1):
            return False
        return any(v.lower() == b"100-continue" for v in self.fields.get(b"expect", []))

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


# ---------------------------------------------------------------- responses

def send_reply(conn, status, fields, body):
    lines = [f"HTTP/1.1 {status} {REASONS[status]}".encode("ascii")]
    lines.append(b"server: " + SERVER_NAME)
    lines.append(b"date: " + formatdate(usegmt=True).encode("ascii"))
    lines.append(b"connection: Close")
    lines.extend(name + b": " + value for name, value in fields)
    lines.append(b"content-length: " + str(len(body)).encode("ascii"))
    conn.sendall(b"\r\n".join(lines) + b"\r\n\r\n")
    if body:
        conn.sendall(body)


def send_refusal(conn, refusal):
    text = f"{refusal.status} - {refusal.note}\n".encode("utf-8")
    fields = [(b"content-type", b"text/plain; charset=utf-8")] + refusal.extra
    send_reply(conn, refusal.status, fields, text)


# ---------------------------------------------------------------- routes

def hello(head, body):
    return 200, [(b"content-type", b"text/plain; charset=utf-8")], b"Hello, World!"


def user_agent(head, body):
    return 200, [(b"content-type", b"text/plain")], head.first(b"user-agent", b"")


def echo(head, body):
    kind = head.first(b"content-type", b"application/octet-stream")
    return 200, [(b"content-type", kind)], body


def pick_route(head):
    """The handler for this request, or Refusal(404/405)."""
    path = head.path()
    if path == b"/":
        return hello
    if path == b"/user-agent":
        return user_agent
    if path == b"/echo":
        if head.method != b"POST":
            raise Refusal(405, "only POST goes to /echo", [(b"allow", b"POST")])
        return echo
    raise Refusal(404, "nothing lives at that path")


# ---------------------------------------------------------------- one connection

class Gone(Exception):
    """The client closed before sending a whole request."""


def read_head(conn, max_head, piece_size=HEAD_READ):
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
        piece = conn.recv(piece_size)
        if not piece:
            raise Gone()
        buffer += piece


def read_exactly(conn, already, length):
    """`length` body bytes: those that came with the head first, then never a byte more."""
    if len(already) >= length:
        return already[:length]
    body = bytearray(length)
    view = memoryview(body)
    view[: len(already)] = already
    filled = len(already)
    while filled < length:
        count = conn.recv_into(view[filled:], length - filled)
        if count == 0:
            raise Gone()
        filled += count
    return bytes(body)


def serve_connection(conn, options):
    conn.settimeout(CLIENT_TIMEOUT)
    try:
        raw, after = read_head(conn, options["max-head"])
        head = RequestHead.from_bytes(raw)
        if b"transfer-encoding" in head.fields:
            raise Refusal(501, "Transfer-Encoding is not supported yet")
        length = head.declared_length()
        try:
            handler = pick_route(head)
        except Refusal:
            # Without 100-continue the client is sending the body anyway: take it in
            # (when it is within the limit) so the answer is not lost to a reset.
            if length and (head.wants_continue() or length > options["max-body"]):
                raise
            read_exactly(conn, after, length)
            raise
        if length > options["max-body"]:
            raise Refusal(413, f"body is over {options['max-body']} bytes")
        if length and head.wants_continue() and len(after) < length:
            conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        body = read_exactly(conn, after, length)
        status, fields, payload = handler(head, body)
        send_reply(conn, status, fields, payload)
    except Refusal as refusal:
        send_refusal(conn, refusal)
    except Gone:
        pass


# ---------------------------------------------------------------- main loop

def on_signal(signum, frame):
    raise Shutdown()


def run(argv):
    options = read_options(argv)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((options["host"], options["port"]))
        listener.listen(32)
        host, port = listener.getsockname()[:2]
        print(f"Listening on http://{host}:{port}", flush=True)
        while True:
            conn, peer = listener.accept()
            try:
                serve_connection(conn, options)
            except Exception as problem:  # a client's trouble never stops us
                print(f"{peer}: {type(problem).__name__}: {problem}", file=sys.stderr)
            finally:
                conn.close()
    except Shutdown:
        return 0
    finally:
        listener.close()
