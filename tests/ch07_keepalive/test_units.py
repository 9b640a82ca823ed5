"""Chapter 7, function by function: Connection options, the keep-alive decision, the Connection
header of a response, how far a request was read (Exchange), the connection loop, and the wait
for the next request.

Requests are built with the stable `Request(method, target, version, headers, body)`. The
socket functions run on one end of a `socket.socketpair()` while the test plays the client on
the other; `handle_connection` runs on a thread, and an exception it raises (the starter's
NotImplementedError, say) is raised again in the test.
"""

import re
import socket
import threading
import time

import pytest

from course.wire import show_bytes

NEXT = b"GET /echo/next HTTP/1.1\r\nHost: localhost\r\n\r\n"
SMUGGLED = b"GET /echo/smuggled HTTP/1.1\r\nHost: localhost\r\n\r\n"


def make_request(chapter_module, version="HTTP/1.1", connection=(), method="GET", target="/"):
    """A request with a Host header and one Connection field per value in `connection`."""
    headers = [("Host", "localhost")] + [("Connection", value) for value in connection]
    return chapter_module("request").Request(method, target, version, headers, b"")


def shown(version, connection):
    fields = "".join(f", Connection: {value}" for value in connection)
    return f"{version}{fields}" if fields else f"{version} without Connection"


def post(body, target=b"/echo", extra=b""):
    return b"POST " + target + b" HTTP/1.1\r\nHost: localhost\r\nContent-Length: " + str(len(body)).encode() + b"\r\n" + extra + b"\r\n" + body


def parse_responses(data):
    """The responses in `data`, framed by Content-Length: [(status, {lower-case name: value}, body)]."""
    responses = []
    while data:
        head, blank, rest = data.partition(b"\r\n\r\n")
        if not blank:
            raise AssertionError(f"the bytes end in the middle of a response head:\n{show_bytes(data)}")
        lines = head.split(b"\r\n")
        match = re.fullmatch(rb"HTTP/1\.1 (\d{3}) .*", lines[0])
        if not match:
            raise AssertionError(f"this is not a status line: {lines[0]!r}\n{show_bytes(data)}")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
        length = int(headers.get("content-length", "0"))
        responses.append((int(match[1]), headers, rest[:length]))
        data = rest[length:]
    return responses


def options(headers):
    return {item.strip().lower() for item in headers.get("connection", "").split(",") if item.strip()}


def replaced_by_the_pool(chapter) -> bool:
    """From chapter 9 on, pool.py serves connections: handle_connection and
    wait_for_next_request (the serial loop of chapters 7 and 8) are gone, and chapter 9's
    suite grades what replaced them. Their tests then have nothing left to check."""
    return chapter.number >= 9


class Serving:
    """handle_connection on one end of a socketpair, on a thread; the test is the client."""

    def __init__(self, chapter_module, settings=None, listener=None):
        server = chapter_module("server")
        self.settings = settings or server.Settings()
        self.ours, self.client = socket.socketpair()
        self.client.settimeout(3)
        self.error = None
        self.received = bytearray()
        self.closed_at = None
        self.thread = threading.Thread(target=self._run, args=(server, listener), daemon=True)
        self.thread.start()

    def _run(self, server, listener):
        try:
            server.handle_connection(self.ours, self.settings, listener)
        except BaseException as error:  # noqa: BLE001 - raised again in the test, by finish()
            self.error = error
        finally:
            self.ours.close()  # as serve_forever does once handle_connection returns

    def send(self, data):
        """Send as the client; if handle_connection has already failed, raise its exception."""
        try:
            self.client.sendall(data)
        except OSError:
            self.finish()
            raise

    def receive(self):
        """One recv from the client's end: b"" at the close (or a reset), None after 3 s of silence."""
        try:
            return self.client.recv(65536)
        except TimeoutError:
            return None
        except ConnectionResetError:
            return b""

    def read_until_close(self):
        """Everything the server sends until it closes; None if it stays open 3 s."""
        while chunk := self.receive():
            self.received += chunk
        if chunk is None:
            return None
        self.closed_at = time.monotonic()
        return bytes(self.received)

    def read_one(self):
        """One response, framed by Content-Length; the bytes after it stay for the next call."""
        while True:
            head_end = self.received.find(b"\r\n\r\n")
            if head_end >= 0:
                match = re.search(rb"\r\ncontent-length:\s*(\d+)", bytes(self.received[:head_end]).lower())
                end = head_end + 4 + (int(match[1]) if match else 0)
                if len(self.received) >= end:
                    one = bytes(self.received[:end])
                    del self.received[:end]
                    return parse_responses(one)[0]
            chunk = self.receive()
            if not chunk:
                self.finish()
                raise AssertionError(f"handle_connection sent no complete response; it sent:\n{show_bytes(bytes(self.received))}")
            self.received += chunk

    def finish(self):
        """Close the client's end, let the thread end, and raise what handle_connection raised."""
        self.client.close()
        self.thread.join(5)
        if self.error is not None:
            raise self.error


# -- 7.1 handle_connection: request after request --------------------------------------------------


@pytest.mark.task("7.1")
@pytest.mark.points(3)
def test_handle_connection_answers_pipelined_requests(chapter_module, chapter):
    """handle_connection answers three requests sent at once, in order, and closes after the one saying close."""
    if replaced_by_the_pool(chapter):
        return
    serving = Serving(chapter_module)
    data = b"GET /echo/one HTTP/1.1\r\nHost: localhost\r\n\r\n" + post(b"two") + b"GET /echo/three HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    serving.send(data)
    received = serving.read_until_close()
    serving.finish()
    assert received is not None, "handle_connection did not close the connection after `Connection: close`"
    bodies = [(status, body) for status, _headers, body in parse_responses(received)]
    assert bodies == [(200, b"one"), (200, b"two"), (200, b"three")], (
        f"three pipelined requests got these answers: {bodies!r}\nReceived:\n{show_bytes(received)}"
    )


@pytest.mark.task("7.1")
@pytest.mark.points(3)
def test_handle_connection_carries_leftover_bytes(chapter_module, chapter):
    """Bytes after a request (the next head, or part of it) are kept and start the next request."""
    if replaced_by_the_pool(chapter):
        return
    serving = Serving(chapter_module)
    data = post(b"first body") + b"GET /echo/second HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    cut = len(post(b"first body")) + 10  # the first request, and 10 bytes of the second
    serving.send(data[:cut])
    time.sleep(0.1)
    serving.send(data[cut:])
    received = serving.read_until_close()
    serving.finish()
    assert received is not None, "handle_connection did not close the connection after `Connection: close`"
    bodies = [(status, body) for status, _headers, body in parse_responses(received)]
    assert bodies == [(200, b"first body"), (200, b"second")], (
        "the 10 bytes that came with the first request are the start of the second; these answers "
        f"came: {bodies!r}\nReceived:\n{show_bytes(received)}"
    )


@pytest.mark.task("7.1")
@pytest.mark.points(2)
def test_handle_connection_waits_for_the_next_request(chapter_module, chapter):
    """After an answer, handle_connection keeps the connection and answers a request sent later."""
    if replaced_by_the_pool(chapter):
        return
    serving = Serving(chapter_module)
    serving.send(b"GET /echo/one HTTP/1.1\r\nHost: localhost\r\n\r\n")
    first = serving.read_one()
    time.sleep(0.1)
    serving.send(b"GET /echo/two HTTP/1.1\r\nHost: localhost\r\n\r\n")
    second = serving.read_one()
    serving.finish()
    assert (first[0], first[2], second[0], second[2]) == (200, b"one", 200, b"two"), (
        f"two requests sent one after the other got {first!r} and {second!r}"
    )


# -- 7.2 connection_options, wants_keep_alive, the Connection header ------------------------------


@pytest.mark.task("7.2")
@pytest.mark.points(1)
@pytest.mark.parametrize(
    "values, wanted",
    [
        ([], set()),
        (["close"], {"close"}),
        (["Keep-Alive, Upgrade"], {"keep-alive", "upgrade"}),
        ([" close ,\tx-trace "], {"close", "x-trace"}),
        ([", ,close,,"], {"close"}),
        (["keep-alive", "CLOSE"], {"keep-alive", "close"}),
    ],
    ids=["none", "one", "list-and-case", "spaces-and-tabs", "empty-items", "two-fields"],
)
def test_connection_options(chapter_module, values, wanted):
    """connection_options gives the lower-case tokens of every Connection field."""
    request = make_request(chapter_module, connection=values)
    got = chapter_module("request").connection_options(request)
    assert set(got) == wanted, f"connection_options for Connection fields {values!r} gave {got!r}; expected {wanted!r}"


# (version, Connection field values, whether the connection may carry another request)
KEEP_ALIVE = [
    ("HTTP/1.1", [], True),
    ("HTTP/1.1", ["keep-alive"], True),
    ("HTTP/1.1", ["Upgrade"], True),
    ("HTTP/1.1", ["close"], False),
    ("HTTP/1.1", ["Close"], False),
    ("HTTP/1.1", ["x-trace, close"], False),
    ("HTTP/1.1", ["keep-alive", "close"], False),
    ("HTTP/1.0", [], False),
    ("HTTP/1.0", ["keep-alive"], True),
    ("HTTP/1.0", ["Keep-Alive"], True),
    ("HTTP/1.0", ["Upgrade, keep-alive"], True),
    ("HTTP/1.0", ["keep-alive, close"], False),
    ("HTTP/1.0", ["Upgrade"], False),
]


@pytest.mark.task("7.2")
@pytest.mark.points(4)
def test_wants_keep_alive(chapter_module):
    """HTTP/1.1 persists unless `close`; HTTP/1.0 closes unless `keep-alive`; `close` always wins."""
    wants_keep_alive = chapter_module("request").wants_keep_alive
    wrong = []
    for version, values, wanted in KEEP_ALIVE:
        got = wants_keep_alive(make_request(chapter_module, version, values))
        if got != wanted:
            wrong.append(f"  {shown(version, values)}: gave {got!r}, expected {wanted}")
    assert not wrong, "wants_keep_alive decided these wrong (RFC 9112 §9.3):\n" + "\n".join(wrong)


def sent_by_send_response(chapter_module, request, keep_alive, status=200):
    """What send_response writes for a small text response: (status, headers, body)."""
    response = chapter_module("response").Response(status, [("Content-Type", "text/plain; charset=utf-8")], b"hi")
    ours, theirs = socket.socketpair()
    theirs.settimeout(3)
    try:
        chapter_module("server").send_response(ours, response, request, keep_alive)
        ours.close()
        data = b""
        while chunk := theirs.recv(65536):
            data += chunk
    finally:
        ours.close()
        theirs.close()
    return parse_responses(data)[0]


@pytest.mark.task("7.2")
@pytest.mark.points(2)
def test_send_response_says_close_when_closing(chapter_module):
    """send_response(..., keep_alive=False) sends `Connection: close`, for a request or none (a bad head)."""
    for request in (make_request(chapter_module), make_request(chapter_module, "HTTP/1.0"), None):
        _status, headers, body = sent_by_send_response(chapter_module, request, False, 200 if request else 400)
        which = "no request (the head could not be parsed)" if request is None else request.version
        assert "close" in options(headers), f"send_response with keep_alive=False and {which} sent Connection: {headers.get('connection')!r}"
        assert body == b"hi", f"send_response sent the body {body!r}; expected b'hi'"


@pytest.mark.task("7.2")
@pytest.mark.points(2)
def test_send_response_when_keeping_the_connection(chapter_module):
    """keep_alive=True: no `close`; to an HTTP/1.0 client, `Connection: keep-alive` (it persists only then)."""
    _status, headers, _body = sent_by_send_response(chapter_module, make_request(chapter_module), True)
    assert "close" not in options(headers), f"send_response with keep_alive=True sent Connection: {headers['connection']}"
    old = make_request(chapter_module, "HTTP/1.0", ["keep-alive"])
    _status, headers, _body = sent_by_send_response(chapter_module, old, True)
    assert options(headers) == {"keep-alive"}, (
        "an HTTP/1.0 client keeps the connection only if the response confirms it (RFC 9112 §C.2.2): "
        f"send_response sent Connection: {headers.get('connection')!r}; expected keep-alive"
    )


# -- 7.3 Exchange: how far the request was read ---------------------------------------------------


def read_exchange(chapter_module, buffer, later=b"", settings=None):
    """read_and_respond with `buffer` already received and `later` still in the socket:
    (the Exchange, the bytes read_and_respond left in the socket)."""
    server = chapter_module("server")
    ours, theirs = socket.socketpair()
    ours.settimeout(1)
    try:
        if later:
            theirs.sendall(later)
        exchange = server.read_and_respond(ours, buffer, settings or server.Settings())
        ours.setblocking(False)
        try:
            unread = ours.recv(65536)
        except BlockingIOError:
            unread = b""
    finally:
        ours.close()
        theirs.close()
    return exchange, unread


@pytest.mark.task("7.3")
@pytest.mark.points(3)
@pytest.mark.parametrize(
    "buffer, later, body",
    [
        pytest.param(b"GET /echo/one HTTP/1.1\r\nHost: localhost\r\n\r\n" + NEXT, b"", b"", id="get"),
        pytest.param(post(b"hello") + NEXT, b"", b"hello", id="post"),
        pytest.param(post(b"hello")[:-2], b"lo" + NEXT, b"hello", id="body-end-on-the-socket"),
        pytest.param(b"GET /nowhere HTTP/1.1\r\nHost: localhost\r\n\r\n" + NEXT, b"", b"", id="404-without-body"),
    ],
)
def test_exchange_is_complete_with_the_rest(chapter_module, buffer, later, body):
    """After a request read whole, the Exchange is complete and `rest` holds what came after it."""
    exchange, unread = read_exchange(chapter_module, buffer, later)
    assert exchange.request is not None and exchange.request.body == body, f"read_and_respond read the request {exchange.request!r}"
    assert exchange.complete is True, f"the request was read whole, yet Exchange.complete is {exchange.complete!r}"
    assert exchange.rest + unread == NEXT, (
        f"the bytes after the request are the next one, {NEXT!r}; Exchange.rest is {exchange.rest!r}"
        + (f" and {unread!r} was left in the socket" if unread else "")
    )


# (bytes received, why the next request cannot be found)
CANNOT_FIND_NEXT = [
    (b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: +5\r\n\r\n", "an invalid Content-Length (400)"),
    (b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5, 6\r\n\r\n", "two different lengths (400)"),
    (b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5000000\r\n\r\n", "a body over the limit (413)"),
    (b"POST /echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n", "a Transfer-Encoding (501)"),
    (b"GET / HTTP/1.1\r\nHost localhost\r\n\r\n", "a malformed head (400)"),
    (b"GET / HTTP/1.1\nHost: localhost\n\n", "a bare-LF head (400)"),
    (b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Pad: " + b"p" * 9000 + b"\r\n\r\n", "a head over the 8 KiB limit (431)"),
    (post(b"hello", b"/nowhere"), "a body refused (404) before it was read"),
    (post(b"hello", b"/"), "a body refused (405) before it was read"),
    (post(b"hello", b"/nowhere", b"Expect: 100-continue\r\n")[:-5], "a body refused (404) before the client sent it"),
]


@pytest.mark.task("7.3")
@pytest.mark.points(4)
def test_exchange_is_incomplete_when_the_next_request_cannot_be_found(chapter_module):
    """After a framing error or a refused body, Exchange.complete is False (and a whole request's is True)."""
    exchange, _unread = read_exchange(chapter_module, b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
    assert exchange.complete is True, f"`GET /` was read whole, yet Exchange.complete is {exchange.complete!r}"
    wrong = []
    for buffer, why in CANNOT_FIND_NEXT:
        exchange, _unread = read_exchange(chapter_module, buffer + SMUGGLED)
        if exchange.complete is not False or exchange.response is None or exchange.response.status < 400:
            status = exchange.response.status if exchange.response is not None else None
            wrong.append(f"  {why}: complete={exchange.complete!r}, status {status}")
    assert not wrong, (
        "after these, where the next request starts is unknown, so the Exchange must be incomplete "
        "(and the connection will close):\n" + "\n".join(wrong)
    )


@pytest.mark.task("7.3")
@pytest.mark.points(2)
def test_handle_connection_closes_after_a_framing_error(chapter_module, chapter):
    """An invalid Content-Length followed by a whole request: one 400 with `Connection: close`, then the close."""
    if replaced_by_the_pool(chapter):
        return
    serving = Serving(chapter_module)
    serving.send(b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: +5\r\n\r\n" + SMUGGLED)
    received = serving.read_until_close()
    serving.finish()
    assert received is not None, "handle_connection kept the connection open after a 400 for an invalid Content-Length"
    responses = parse_responses(received)
    statuses = [status for status, _headers, _body in responses]
    assert statuses == [400], f"expected one 400 and nothing more; the statuses were {statuses}\nReceived:\n{show_bytes(received)}"
    assert "close" in options(responses[0][1]), f"the 400 said Connection: {responses[0][1].get('connection')!r}; expected close"


# -- 7.4 The idle timeout, and the wait for the next request --------------------------------------


@pytest.mark.task("7.4")
@pytest.mark.points(2)
def test_handle_connection_closes_an_idle_connection(chapter_module, chapter):
    """With keep_alive_timeout=0.3, the connection closes about 0.3 s after the last answer; the default is 5 s."""
    if replaced_by_the_pool(chapter):
        return
    server = chapter_module("server")
    serving = Serving(chapter_module, server.Settings(keep_alive_timeout=0.3))
    serving.send(b"GET /echo/one HTTP/1.1\r\nHost: localhost\r\n\r\n")
    answered = serving.read_one()
    start = time.monotonic()
    received = serving.read_until_close()
    serving.finish()
    assert answered[:1] == (200,) and received is not None, "handle_connection kept an idle connection open for 3 s (keep_alive_timeout=0.3)"
    waited = serving.closed_at - start
    assert 0.15 <= waited <= 2.5, f"the idle connection closed {waited:.2f} s after the answer; keep_alive_timeout was 0.3 s"
    assert received == b"", f"nothing may be sent to an idle client before the close; it got:\n{show_bytes(received)}"
    assert server.Settings().keep_alive_timeout == 5, f"the default keep_alive_timeout is {server.Settings().keep_alive_timeout}; the spec says 5 s"


@pytest.mark.task("7.4")
@pytest.mark.points(1)
def test_wait_for_next_request_sees_data_and_the_close(chapter_module, chapter):
    """wait_for_next_request is True at once when a byte is waiting, and when the client has closed."""
    if replaced_by_the_pool(chapter):
        return
    wait = chapter_module("server").wait_for_next_request
    for what in ("a byte", "the close"):
        ours, theirs = socket.socketpair()
        try:
            theirs.sendall(b"G") if what == "a byte" else theirs.close()
            start = time.monotonic()
            got = wait(ours, None, 5.0)
            took = time.monotonic() - start
        finally:
            ours.close()
            theirs.close()
        assert got is True and took < 1, f"with {what} waiting, wait_for_next_request gave {got!r} after {took:.2f} s; expected True at once"


@pytest.mark.task("7.4")
@pytest.mark.points(1)
def test_wait_for_next_request_gives_up_after_the_timeout(chapter_module, chapter):
    """With nothing sent, wait_for_next_request(..., 0.3) is False after about 0.3 s."""
    if replaced_by_the_pool(chapter):
        return
    wait = chapter_module("server").wait_for_next_request
    ours, theirs = socket.socketpair()
    try:
        start = time.monotonic()
        got = wait(ours, None, 0.3)
        took = time.monotonic() - start
    finally:
        ours.close()
        theirs.close()
    assert got is False and 0.2 <= took <= 2, f"wait_for_next_request(..., 0.3) gave {got!r} after {took:.2f} s; expected False after about 0.3 s"


@pytest.mark.task("7.4")
@pytest.mark.points(2)
def test_wait_for_next_request_gives_way_to_a_waiting_client(chapter_module, chapter):
    """One connection at a time: when another client waits on the listener, the idle wait ends at once (False)."""
    if replaced_by_the_pool(chapter):
        return
    server = chapter_module("server")
    listener = server.create_listener("127.0.0.1", 0)
    ours, theirs = socket.socketpair()
    other = None
    try:
        start = time.monotonic()
        got_alone = server.wait_for_next_request(ours, listener, 0.3)
        alone = time.monotonic() - start
        other = socket.create_connection(listener.getsockname(), timeout=3)
        start = time.monotonic()
        got_waiting = server.wait_for_next_request(ours, listener, 5.0)
        waiting = time.monotonic() - start
        theirs.sendall(b"G")
        got_data = server.wait_for_next_request(ours, listener, 5.0)
    finally:
        for sock in (ours, theirs, other, listener):
            if sock is not None:
                sock.close()
    assert got_alone is False and alone >= 0.2, f"with no one waiting, the wait gave {got_alone!r} after {alone:.2f} s; expected False after the 0.3 s timeout"
    assert got_waiting is False and waiting < 2, (
        f"with a client waiting on the listener, the wait gave {got_waiting!r} after {waiting:.2f} s; expected False at once "
        "(this serial server would keep the waiting client out for the whole idle time)"
    )
    assert got_data is True, f"with a byte from its own client waiting, the wait gave {got_data!r}; expected True"
