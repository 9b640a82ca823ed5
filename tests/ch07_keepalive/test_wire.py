"""Chapter 7 on the wire: persistent connections, pipelining, who closes, and the idle timeout.

Most tests here send several requests on one connection. Requests are told apart by their
answers: `GET /echo/{text}` answers with the text, `POST /echo` with the body. Pipelined
requests go out in one send; the responses are then read one after another by their
Content-Length, so a lost request, a response out of order, or a body sent for a HEAD shows
up as the wrong bytes in the wrong place.

Desync probes: a request the server must refuse (a bad Content-Length, a body too large, a
malformed head...) carries, where its body would be, a complete second request. A correct
server answers the first once and closes: it cannot tell where the next request starts. A
server that keeps the connection answers the hidden request too, as if a client had sent it
(request smuggling, RFC 9112 §11.2). The hidden request travels in the same segment as the
refused head, so a server's first recv takes it in and closing leaves nothing unread (unread
bytes would make the kernel reset the connection and could destroy the response). Nothing is
sent after a response the server may close on, except once the test has seen it stay open.

The chapter 7 server serves one connection at a time: every test closes its connection before
opening another, and the idle timeout is tested with a short `--keep-alive-timeout`.
"""

import http.client
import subprocess
import time

import h11
import httpx
import pytest
import requests

from course.pytest_plugin import require_tool

pytestmark = pytest.mark.wire

HELLO = b"Hello, World!"
# A whole request, sent where a refused request's body would be: a correct server never answers it.
SMUGGLED = b"GET /echo/smuggled HTTP/1.1\r\nHost: localhost\r\n\r\n"


def get(target=b"/", version=b"HTTP/1.1", extra=b""):
    return b"GET " + target + b" " + version + b"\r\nHost: localhost\r\n" + extra + b"\r\n"


def head(target=b"/", extra=b""):
    return b"HEAD " + target + b" HTTP/1.1\r\nHost: localhost\r\n" + extra + b"\r\n"


def post(body, target=b"/echo", version=b"HTTP/1.1", extra=b""):
    length = str(len(body)).encode("ascii")
    return b"POST " + target + b" " + version + b"\r\nHost: localhost\r\nContent-Length: " + length + b"\r\n" + extra + b"\r\n" + body


def fail_client(server, problem):
    pytest.fail(f"{problem}\n{server.hint.render()}", pytrace=False)


def connection_options(response):
    """The Connection options of a response, lower-case: `Connection: Close` -> {"close"}."""
    return {item.strip().lower() for value in response.header_values("Connection") for item in value.split(",") if item.strip()}


def expect_kept_open(response, why="HTTP/1.1 keeps the connection open by default"):
    """A response on a connection that stays open must not announce the close."""
    if "close" in connection_options(response):
        response.fail(
            f"no `Connection: close` ({why})",
            f"the response says Connection: {response.header('Connection')}; a client must then close the connection "
            "and open a new one for its next request (RFC 9112 §9.6).",
        )


def expect_close_announced(response, why):
    """A response after which the server closes says so, so that the client sends nothing more."""
    if "close" not in connection_options(response):
        said = response.header("Connection")
        response.fail(
            f"Connection: close ({why})",
            f"the response says Connection: {said}." if said else "the response has no Connection header.",
        )


def expect_answer(response, body, why=""):
    """200 OK with this body (HEAD: None, no body)."""
    response.expect_status(200, why)
    response.expect_body(b"" if body is None else body, why)
    return response


def send_and_read(connection, steps, why):
    """Send every request of `steps` in one segment, then read the answers in order."""
    connection.send(b"".join(raw for raw, _method, _body in steps))
    return read_answers(connection, steps, why)


def read_answers(connection, steps, why, kept_why="HTTP/1.1 keeps the connection open by default"):
    """The responses to `steps` (raw request, method, expected body or None for HEAD), in order;
    none may say `Connection: close`."""
    responses = []
    for number, (raw, method, body) in enumerate(steps, start=1):
        request_line = raw.split(b"\r\n", 1)[0].decode("latin-1")
        shown = "no body: it answers a HEAD" if body is None else f"the body {body!r}"
        response = connection.read_response(
            method=method, expect=f"response {number} of {len(steps)}, to `{request_line}`, with {shown} ({why})"
        )
        expect_answer(response, body, f"the answer to `{request_line}`")
        expect_kept_open(response, kept_why)
        responses.append(response)
    return responses


def wait_briefly(connection, seconds):
    """What the server does in the next `seconds`: "closed", "data" (kept in the transcript) or "silent"."""
    connection.sock.settimeout(seconds)
    try:
        chunk = connection.sock.recv(65536)
    except TimeoutError:
        return "silent"
    except ConnectionResetError:
        connection.eof = connection.reset = True
        return "closed"
    if not chunk:
        connection.eof = True
        return "closed"
    connection.received += chunk
    return "data"


def expect_closed_without_a_second_response(connection, why):
    """The server sends nothing more and closes; a second response is the desync this chapter prevents."""
    start = connection.position
    while True:
        state = wait_briefly(connection, connection.timeout)
        extra = bytes(connection.received[start:])
        if extra.startswith(b"HTTP/"):
            connection.fail(
                why,
                "a second response came: the server read the bytes after the refused request as a new request. "
                "Those bytes were the refused request's body, or something the server cannot place: a client "
                "(or an attacker) just had a request answered that no one could see it send (RFC 9112 §11.2).",
                caret_at=start,
                note="this should not be here",
            )
        if state == "closed":
            break
        if state == "silent":
            connection.fail(why, f"the connection was still open {connection.timeout:g} s after the response.")
    if extra:
        connection.fail(why, f"after the response, {len(extra)} more bytes came.", caret_at=start, note="this should not be here")


# -- 7.1 Serve request after request on one connection ------------------------------------------


@pytest.mark.task("7.1")
@pytest.mark.points(4)
def test_requests_one_after_another_on_one_connection(server):
    """Six requests (GET, POST with bodies, HEAD) on one HTTP/1.1 connection, each answered; it stays open."""
    steps = [
        (get(b"/echo/first"), "GET", b"first"),
        (post(b"second, with a body"), "POST", b"second, with a body"),
        (get(b"/users/42"), "GET", b"user 42"),
        (head(b"/"), "HEAD", None),
        (post(b"fifth\r\n\r\nwith a blank line inside"), "POST", b"fifth\r\n\r\nwith a blank line inside"),
        (get(b"/"), "GET", HELLO),
    ]
    with server.connect() as connection:
        for step in steps:
            connection.send(step[0])
            read_answers(connection, [step], "sent after the previous answer, on the same connection")
        state = wait_briefly(connection, 0.3)
        if state != "silent":
            connection.fail(
                "the connection to stay open, waiting for the next request (HTTP/1.1 persists by default)",
                "the server closed the connection after its answers." if state == "closed" else "the server sent bytes no request asked for.",
            )
        connection.send(get(b"/echo/seventh"))
        read_answers(connection, [(get(b"/echo/seventh"), "GET", b"seventh")], "the connection is still open")


@pytest.mark.task("7.1")
@pytest.mark.points(4)
def test_pipelined_requests_are_answered_in_order(server):
    """Four requests sent at once are all answered, in the order they were sent."""
    steps = [
        (get(b"/echo/one"), "GET", b"one"),
        (get(b"/echo/two"), "GET", b"two"),
        (post(b"three"), "POST", b"three"),
        (get(b"/echo/four"), "GET", b"four"),
    ]
    with server.connect() as connection:
        send_and_read(connection, steps, "four requests sent in one segment: the bytes after each are the next one")


@pytest.mark.task("7.1")
@pytest.mark.points(3)
def test_next_request_in_the_same_segment_as_a_body(server):
    """A POST's body and the next request arrive together: the body ends at Content-Length, the rest is next."""
    steps = [(post(b"the body"), "POST", b"the body"), (get(b"/echo/next"), "GET", b"next")]
    with server.connect() as connection:
        send_and_read(connection, steps, "the bytes after the 8-byte body are the next request")


@pytest.mark.task("7.1")
@pytest.mark.points(3)
def test_pipeline_split_at_awkward_places(server):
    """Segments that end inside the next request's head, and inside its body, lose no byte."""
    steps = [
        (get(b"/echo/one"), "GET", b"one"),
        (post(b"two: the body"), "POST", b"two: the body"),
        (get(b"/echo/three"), "GET", b"three"),
    ]
    data = b"".join(raw for raw, _method, _body in steps)
    cut_in_head = len(steps[0][0]) + 12  # in the middle of the POST's request line
    cut_in_body = len(steps[0][0]) + len(steps[1][0]) - 6  # six bytes before the body's end
    with server.connect() as connection:
        connection.send_split(data[:cut_in_head], data[cut_in_head:cut_in_body], data[cut_in_body:])
        read_answers(connection, steps, "leftover bytes after each request are the start of the next one")


@pytest.mark.task("7.1")
@pytest.mark.points(3)
def test_pipeline_one_byte_at_a_time(server):
    """Three pipelined requests (a POST among them) sent one byte per segment are all answered."""
    steps = [
        (get(b"/echo/one"), "GET", b"one"),
        (post(b"two"), "POST", b"two"),
        (get(b"/echo/three"), "GET", b"three"),
    ]
    with server.connect() as connection:
        connection.send_in_pieces(b"".join(raw for raw, _method, _body in steps), size=1, pause=0.001)
        read_answers(connection, steps, "each request is complete once its last byte has come")


@pytest.mark.task("7.1")
@pytest.mark.points(3)
def test_fifty_pipelined_requests(server):
    """Fifty requests in one send (GETs, POSTs and HEADs): fifty answers, in order, none lost."""
    steps = []
    for number in range(50):
        if number % 7 == 3:
            body = f"body of request {number}".encode()
            steps.append((post(body), "POST", body))
        elif number % 11 == 5:
            steps.append((head(b"/echo/h" + str(number).encode()), "HEAD", None))
        else:
            text = f"r{number}".encode()
            steps.append((get(b"/echo/" + text), "GET", text))
    with server.connect() as connection:
        send_and_read(connection, steps, "50 requests sent in one segment")


@pytest.mark.task("7.1")
@pytest.mark.points(3)
def test_head_in_a_pipeline_sends_no_body(server):
    """GET, HEAD, GET pipelined: the HEAD answer has no body, so the next response starts right after it."""
    steps = [(get(b"/echo/before"), "GET", b"before"), (head(b"/"), "HEAD", None), (get(b"/echo/after"), "GET", b"after")]
    with server.connect() as connection:
        send_and_read(connection, steps, "a HEAD response ends at its blank line, whatever its Content-Length says")


@pytest.mark.task("7.1")
@pytest.mark.points(2)
def test_python_http_client_reuses_its_connection(server):
    """http.client sends three requests through one HTTPConnection on one socket."""
    client = http.client.HTTPConnection(server.process.host, server.port, timeout=3)
    answers, sockets = [], []
    try:
        for method, path, body in (("GET", "/echo/one", None), ("POST", "/echo", b"two"), ("GET", "/users/3", None)):
            client.request(method, path, body=body)
            response = client.getresponse()
            answers.append((response.status, response.read(), response.getheader("Connection")))
            sockets.append(client.sock)  # http.client drops its socket when a response says close
    except (OSError, http.client.HTTPException) as error:
        fail_client(server, f"http.client sent {len(answers) + 1} requests on one HTTPConnection; request {len(answers) + 1} failed: {error!r} (answers so far: {answers!r})")
    finally:
        client.close()
    wanted = [(200, b"one"), (200, b"two"), (200, b"user 3")]
    if [answer[:2] for answer in answers] != wanted:
        fail_client(server, f"http.client read {answers!r}; expected {wanted!r}")
    if sockets[0] is None or any(sock is not sockets[0] for sock in sockets):
        fail_client(
            server,
            "http.client had to open a new connection: the server's responses (Connection headers "
            f"{[answer[2] for answer in answers]!r}) ended the connection it wanted to reuse",
        )


@pytest.mark.task("7.1")
@pytest.mark.points(2)
def test_requests_session_reuses_its_connection(server):
    """A requests.Session sends three requests on one connection (same client port each time)."""
    ports, answers = [], []
    with requests.Session() as session:
        session.trust_env = False  # no proxy from the environment: straight to the server
        try:
            for method, path, body in (("GET", "/echo/one", None), ("POST", "/echo", b"two"), ("GET", "/", None)):
                response = session.request(method, server.url + path, data=body, timeout=5, stream=True)
                ports.append(response.raw.connection.sock.getsockname()[1])
                answers.append((response.status_code, response.content))
        except requests.RequestException as error:
            fail_client(server, f"requests failed on request {len(answers) + 1} of 3: {error!r}")
    wanted = [(200, b"one"), (200, b"two"), (200, HELLO)]
    if answers != wanted:
        fail_client(server, f"requests read {answers!r}; expected {wanted!r}")
    if len(set(ports)) != 1:
        fail_client(server, f"requests used the client ports {ports}: it opened a new connection instead of reusing the first")


@pytest.mark.task("7.1")
@pytest.mark.points(2)
def test_httpx_client_reuses_its_connection(server):
    """An httpx.Client sends three requests on one connection (same client address each time)."""
    addresses, answers = [], []
    with httpx.Client(trust_env=False, timeout=5) as client:
        try:
            for method, path, body in (("GET", "/echo/one", None), ("POST", "/echo", b"two"), ("HEAD", "/", None)):
                response = client.request(method, server.url + path, content=body)
                addresses.append(response.extensions["network_stream"].get_extra_info("client_addr"))
                answers.append((response.status_code, response.content))
        except httpx.HTTPError as error:
            fail_client(server, f"httpx failed on request {len(answers) + 1} of 3: {error!r}")
    wanted = [(200, b"one"), (200, b"two"), (200, b"")]
    if answers != wanted:
        fail_client(server, f"httpx read {answers!r}; expected {wanted!r}")
    if len(set(addresses)) != 1:
        fail_client(server, f"httpx connected from {addresses}: it opened a new connection instead of reusing the first")


@pytest.mark.task("7.1")
@pytest.mark.points(2)
def test_curl_reuses_the_connection_for_two_urls(server):
    """`curl URL1 URL2` fetches both on one connection: no new connect for the second."""
    require_tool("curl", "this test runs curl against your server")
    urls = [server.url + "/echo/one", server.url + "/echo/two"]
    # %{num_connects}: how many connections curl opened for each transfer (0 when it reused one).
    result = subprocess.run(
        ["curl", "--silent", "--show-error", "--verbose", "--max-time", "5", "--write-out", " %{num_connects}\n", *urls],
        capture_output=True,
        timeout=10,
        check=False,
    )
    log = result.stderr.decode("latin-1")
    if result.returncode != 0 or result.stdout.split()[0::2] != [b"one", b"two"]:
        fail_client(server, f"curl {' '.join(urls)} printed {result.stdout[:200]!r} (exit {result.returncode}); expected one, then two\n{log}")
    if result.stdout != b"one 1\ntwo 0\n":
        fail_client(server, f"curl opened a second connection for {urls[1]} instead of reusing the first (connects per URL: {result.stdout.split()[1::2]!r}); its log:\n{log}")


@pytest.mark.task("7.1")
@pytest.mark.points(2)
def test_strict_parser_reads_three_responses_on_one_connection(server):
    """h11, a strict HTTP/1.1 client, runs GET, POST and HEAD on one connection, cycle after cycle."""
    client = h11.Connection(h11.CLIENT)
    with server.connect() as connection:
        for method, target, body in (("GET", "/echo/one", b""), ("POST", "/echo", b"two"), ("HEAD", "/", b"")):
            headers = [("Host", "localhost")] + ([("Content-Length", str(len(body)))] if method == "POST" else [])
            data = client.send(h11.Request(method=method, target=target, headers=headers))
            data += client.send(h11.Data(data=body)) if body else b""
            data += client.send(h11.EndOfMessage())
            connection.send(data)
            events = []
            try:
                while not events or not isinstance(events[-1], h11.EndOfMessage):
                    event = client.next_event()
                    if event is h11.NEED_DATA:
                        seen = len(connection.received)
                        more = connection._receive_more(f"the response to {method} {target}")
                        client.receive_data(bytes(connection.received[seen:]) if more else b"")
                        continue
                    if isinstance(event, h11.ConnectionClosed):
                        connection.fail(f"a complete response to {method} {target}", "the server closed the connection first.")
                    events.append(event)
                client.start_next_cycle()
            except h11.ProtocolError as error:
                connection.fail(
                    f"a response to {method} {target} that h11 reads, after which it can send its next request",
                    f"h11 says: {error!r} (a response that says Connection: close ends the connection).",
                )
            status = events[0].status_code if isinstance(events[0], h11.Response) else None
            got = b"".join(bytes(event.data) for event in events if isinstance(event, h11.Data))
            wanted = {"GET": b"one", "POST": b"two", "HEAD": b""}[method]
            if status != 200 or got != wanted:
                connection.fail(f"200 with the body {wanted!r} to {method} {target}", f"h11 read status {status} and body {got!r}.")


# -- 7.2 Who closes: versions and Connection ----------------------------------------------------


@pytest.mark.task("7.2")
@pytest.mark.points(1)
@pytest.mark.parametrize(
    "fields",
    [
        pytest.param(b"Connection: close\r\n", id="close"),
        pytest.param(b"Connection: Close\r\n", id="Close"),
        pytest.param(b"connection: CLOSE\r\n", id="CLOSE"),
        pytest.param(b"Connection: x-trace, Close\r\n", id="in-a-list"),
        pytest.param(b"Connection: keep-alive\r\nConnection: close\r\n", id="second-field"),
    ],
)
def test_connection_close_is_answered_and_honoured(server, fields):
    """`Connection: close` (any case, in a list, in a second field): the response says close, then the server closes."""
    shown = fields.decode().replace("\r\n", " ").strip()
    with server.connect() as connection:
        connection.send(get(b"/echo/bye", extra=fields))
        response = connection.read_response(expect=f"the answer to a request with `{shown}`")
        expect_answer(response, b"bye")
        expect_close_announced(response, "the client asked for the close: Connection options are case-insensitive tokens in a list (RFC 9110 §7.6.1)")
        connection.expect_closed("the server to close the connection after its response: the client said close")


@pytest.mark.task("7.2")
@pytest.mark.points(2)
def test_connection_close_at_the_end_of_a_pipeline(server):
    """GET, POST, then a GET with `Connection: close`, pipelined: three answers, the last says close, then the close."""
    steps = [(get(b"/echo/one"), "GET", b"one"), (post(b"two"), "POST", b"two")]
    last = get(b"/echo/three", extra=b"Connection: close\r\n")
    with server.connect() as connection:
        connection.send(b"".join(raw for raw, _method, _body in steps) + last)
        read_answers(connection, steps, "three requests sent in one segment; only the last says close")
        response = connection.read_response(expect="the answer to the third request, which says `Connection: close`")
        expect_answer(response, b"three")
        expect_close_announced(response, "the client asked for the close")
        connection.expect_closed("the server to close the connection after its third response")


@pytest.mark.task("7.2")
@pytest.mark.points(3)
def test_http10_closes_by_default(server):
    """An HTTP/1.0 request without `Connection: keep-alive` is answered, then the server closes."""
    with server.connect() as connection:
        connection.send(b"GET /echo/old HTTP/1.0\r\n\r\n")
        response = connection.read_response(expect="the answer to an HTTP/1.0 request (still an HTTP/1.1 status line)")
        expect_answer(response, b"old")
        if "keep-alive" in connection_options(response):
            response.fail(
                "no `Connection: keep-alive`: this connection is about to close",
                f"the response says Connection: {response.header('Connection')}, which tells an HTTP/1.0 client to send its next request on it.",
            )
        connection.expect_closed("the server to close the connection: HTTP/1.0 closes unless the client asks for keep-alive")


@pytest.mark.task("7.2")
@pytest.mark.points(2)
@pytest.mark.parametrize("option", [b"keep-alive", b"Keep-Alive"])
def test_http10_keep_alive_persists(server, option):
    """HTTP/1.0 with `Connection: keep-alive`: the connection persists; a request without it ends it."""
    keep = b"Connection: " + option + b"\r\n"
    steps = [(get(b"/echo/one", b"HTTP/1.0", keep), "GET", b"one"), (post(b"two", version=b"HTTP/1.0", extra=keep), "POST", b"two")]
    with server.connect() as connection:
        for step in steps:
            connection.send(step[0])
            said = f"HTTP/1.0 with `Connection: {option.decode()}`"
            read_answers(connection, [step], said, f"{said} keeps the connection open")
        connection.send(get(b"/echo/three", b"HTTP/1.0"))
        response = connection.read_response(expect="the answer to a third HTTP/1.0 request, this time without keep-alive")
        expect_answer(response, b"three")
        connection.expect_closed("the server to close the connection: the last HTTP/1.0 request did not ask for keep-alive")


@pytest.mark.task("7.2")
@pytest.mark.points(1)
def test_http11_with_keep_alive_option_persists(server):
    """HTTP/1.1 with `Connection: keep-alive` (as requests sends it) persists like plain HTTP/1.1."""
    keep = b"Connection: keep-alive\r\n"
    steps = [(get(b"/echo/one", extra=keep), "GET", b"one"), (get(b"/echo/two", extra=keep), "GET", b"two")]
    with server.connect() as connection:
        for step in steps:
            connection.send(step[0])
            read_answers(connection, [step], "a Connection option other than close does not end the connection")


@pytest.mark.task("7.2")
@pytest.mark.points(1)
def test_http1x_served_as_11_persists(server):
    """`HTTP/1.5` is served as HTTP/1.1 (RFC 9110 §6.2), so it persists by default too."""
    steps = [(get(b"/echo/one", b"HTTP/1.5"), "GET", b"one"), (get(b"/echo/two", b"HTTP/1.5"), "GET", b"two")]
    with server.connect() as connection:
        for step in steps:
            connection.send(step[0])
            read_answers(connection, [step], "HTTP/1.5 is served as HTTP/1.1, which persists")


# -- 7.3 Close when the next request cannot be found --------------------------------------------

# (head of a request the server must refuse, its status, why): the SMUGGLED request follows.
FRAMING_ERRORS = [
    pytest.param(b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: +48\r\n\r\n", 400, "`+48` is not a valid Content-Length", id="invalid-length"),
    pytest.param(
        b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 48\r\nContent-Length: 10\r\n\r\n",
        400, "two different Content-Length values", id="differing-lengths",
    ),
    pytest.param(b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5000000\r\n\r\n", 413, "the body is over the 1 MiB limit", id="413-too-large"),
    pytest.param(b"POST /echo HTTP/1.1\nHost: localhost\nContent-Length: 48\n\n", 400, "the head's lines end in a bare LF", id="bare-LF-head"),
    pytest.param(b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length : 48\r\n\r\n", 400, "a space before a header's colon", id="space-before-colon"),
    pytest.param(b"POST /echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n", 501, "a Transfer-Encoding this chapter cannot read", id="transfer-encoding"),
]


@pytest.mark.task("7.3")
@pytest.mark.points(2)
@pytest.mark.parametrize("refused, status, why", FRAMING_ERRORS)
def test_framing_error_closes_the_connection(server, chapter, refused, status, why):
    """A request refused because its framing is unknown is answered once, then the server closes (desync probe)."""
    if status == 501 and chapter.number >= 8:
        status = 400  # from chapter 8 on, the chunked body is read: `GET /echo/...` is no chunk size
    with server.connect() as connection:
        connection.send(refused + SMUGGLED)
        response = connection.read_response(method="POST", expect=f"{status} at once: {why}")
        response.expect_text_error(status, why)
        expect_closed_without_a_second_response(
            connection, "the close, and no second response: the bytes after the refused head are not a request to answer"
        )
        expect_close_announced(response, "where this request ends cannot be known, so the server closes")


@pytest.mark.task("7.3")
@pytest.mark.points(2)
def test_head_too_large_closes_the_connection(start_server):
    """With `--max-head 256`, a 400-byte head gets 431, then the close; the request after it is not answered."""
    server = start_server("--max-head", "256")
    refused = b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Padding: " + b"p" * 340 + b"\r\n\r\n"
    with server.connect() as connection:
        connection.send(refused + SMUGGLED)
        response = connection.read_response(expect="431 at once: the head is over --max-head 256")
        response.expect_text_error(431, "the head is over --max-head 256")
        expect_closed_without_a_second_response(connection, "the close, and no answer to the request after the refused head")
        expect_close_announced(response, "the head was not read whole, so the server closes")


@pytest.mark.task("7.3")
@pytest.mark.points(3)
@pytest.mark.parametrize(
    "target, status",
    [pytest.param(b"/nowhere", 404, id="404-unknown-path"), pytest.param(b"/", 405, id="405-wrong-method")],
)
def test_refused_body_is_drained_or_the_connection_closed(server, target, status):
    """A POST refused on its head: the server closes, or drains the body; its bytes are never read as a request."""
    body = SMUGGLED
    raw = post(body, target)
    first, rest = raw[: len(raw) - len(body) + 20], body[20:]  # the head and the body's first 20 bytes; the rest
    with server.connect() as connection:
        connection.send(first)
        # A server may answer at once, or drain the whole body first: then it waits for the rest.
        drains_first = wait_briefly(connection, 1.0) == "silent"
        if drains_first:
            connection.send(rest)
        response = connection.read_response(method="POST", expect=f"{status}: the request is refused on its head")
        response.expect_text_error(status)
        state = wait_briefly(connection, 0.5)
        if state == "closed":
            expect_close_announced(response, "the server closed the connection after it")
            return
        if state == "data":
            connection.fail(
                "nothing more: the refused request's body must be drained (or the connection closed)",
                "more bytes came: the server read the body's bytes as a new request.",
                caret_at=response.start + len(response.raw),
                note="this should not be here",
            )
        # Still open and silent: the server drains the body. Send its end (if it is not sent yet), then a real next request.
        expect_kept_open(response, "the server kept the connection, to drain the body")
        connection.send((b"" if drains_first else rest) + get(b"/echo/next"))
        answer = connection.read_response(expect="the answer to `GET /echo/next`, sent after the refused request's whole body")
        if answer.body == b"smuggled":
            answer.fail(
                "the answer to `GET /echo/next`",
                "the server answered the refused request's body as if it were a request: it must skip (drain) those bytes.",
            )
        expect_answer(answer, b"next", "the answer to `GET /echo/next`: the refused request's whole body is skipped, then this request read")


@pytest.mark.task("7.3")
@pytest.mark.points(2)
def test_errors_with_intact_framing_keep_the_connection(server):
    """A 404 to a GET and a 400 to bad JSON whose body was read leave the next request findable: it is answered."""
    bad_json = b'{"oops": '
    with server.connect() as connection:
        connection.send(get(b"/nowhere"))
        response = connection.read_response(expect="404 to GET /nowhere")
        response.expect_text_error(404)
        expect_kept_open(response, "the request was read whole, so the next one can be found")
        connection.send(post(bad_json, b"/json", extra=b"Content-Type: application/json\r\n"))
        response = connection.read_response(expect="400 to POST /json with a body that is not JSON")
        response.expect_text_error(400)
        expect_kept_open(response, "the request, body included, was read whole")
        connection.send(get(b"/echo/next"))
        read_answers(connection, [(get(b"/echo/next"), "GET", b"next")], "after two errors that left the framing intact")


# -- 7.4 Close idle connections -----------------------------------------------------------------


def seconds_until_closed(connection, limit, why):
    """How long the server takes to close the connection; fails if it sends anything or takes over `limit` s."""
    start = time.monotonic()
    while True:
        remaining = limit - (time.monotonic() - start)
        if remaining <= 0:
            connection.fail(why, f"the connection was still open after {limit:g} s.")
        state = wait_briefly(connection, remaining)
        if state == "closed":
            return time.monotonic() - start
        if state == "data":
            connection.fail(
                why + ", without a word",
                "the server sent bytes to a client that had sent no request: a response to nothing "
                "(a 408 here would be read as the answer to the client's next request).",
                caret_at=len(connection.received) - 1,
            )


@pytest.mark.task("7.4")
@pytest.mark.points(4)
def test_idle_connection_is_closed_after_the_timeout(start_server):
    """With `--keep-alive-timeout 0.8`: a request after 0.2 s idle is answered; after 0.8 s idle the server closes."""
    server = start_server("--keep-alive-timeout", "0.8")
    with server.connect(timeout=5) as connection:
        connection.send(get(b"/echo/one"))
        read_answers(connection, [(get(b"/echo/one"), "GET", b"one")], "the first request")
        time.sleep(0.2)
        connection.send(get(b"/echo/two"))
        read_answers(connection, [(get(b"/echo/two"), "GET", b"two")], "sent 0.2 s after the first answer, well within 0.8 s")
        waited = seconds_until_closed(connection, 4.0, "the server to close the connection once it has been idle for 0.8 s")
        if waited < 0.4:
            connection.fail(
                "the close after 0.8 idle seconds (--keep-alive-timeout 0.8)",
                f"the server closed the connection {waited:.2f} s after its last response.",
            )
    with server.connect() as connection:
        connection.send(get(b"/echo/again", extra=b"Connection: close\r\n"))
        response = connection.read_response(expect="the answer to a new client, after the idle connection was closed")
        expect_answer(response, b"again")


@pytest.mark.task("7.4")
@pytest.mark.points(2)
def test_default_timeout_keeps_an_idle_connection_for_a_while(server):
    """With the default timeout (5 s), a request sent after 1.5 idle seconds is answered on the same connection."""
    with server.connect() as connection:
        connection.send(get(b"/echo/one"))
        read_answers(connection, [(get(b"/echo/one"), "GET", b"one")], "the first request")
        time.sleep(1.5)
        connection.send(get(b"/echo/two"))
        read_answers(connection, [(get(b"/echo/two"), "GET", b"two")], "sent after 1.5 idle seconds: the default --keep-alive-timeout is 5 s")
