"""Chapter 1 on the wire: any server that follows the launch contract can be graded by these.

Every request here is a valid HTTP/1.1 GET of `/`, so the tests keep passing against later
chapters, which answer `/` with the same Hello, World! response.
"""

import signal
import socket
import subprocess
import time

import h11
import http.client
import pytest

from course.oracle import h11_client, h11_events
from course.pytest_plugin import require_tool
from course.wire import WireFailure

pytestmark = pytest.mark.wire

GET = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"
GET_AND_CLOSE = b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"


def expect_hello(response):
    response.expect_status(200)
    response.expect_content_type("text/plain", charset="utf-8")
    response.expect_header("Content-Length", "13")
    response.expect_body(b"Hello, World!")


# -- 1.1 Open a listening socket ---------------------------------------------------------------


@pytest.mark.task("1.1")
@pytest.mark.points(2)
def test_listens_on_the_port_it_announces(server):
    """The `Listening on` line names a port that accepts connections."""
    with socket.create_connection(server.address, timeout=2):
        pass


@pytest.mark.task("1.1")
@pytest.mark.points(1)
def test_listening_line_is_flushed(start_server):
    """The `Listening on` line is flushed at once, even when stdout is a pipe (block-buffered)."""
    try:
        server = start_server(unbuffered=False)
    except WireFailure as failure:
        if "did not print" not in str(failure):
            raise  # it crashed or printed something else: that failure says it best
        raise WireFailure(
            "Expected: the `Listening on` line as soon as the socket listens, with stdout a pipe.\n"
            "Problem: it never arrived. When stdout is not a terminal, print() output waits in a "
            "buffer: print it with flush=True.\n" + str(failure)
        ) from None
    expect_hello(server.exchange(GET))


@pytest.mark.task("1.1")
@pytest.mark.points(2)
def test_restart_on_the_same_port_works_at_once(start_server):
    """A server restarted on the port it just used can bind it at once (SO_REUSEADDR)."""
    first = start_server()
    port = first.port
    # The side that closes first keeps the connection in TIME_WAIT: wait for the server's
    # close before closing, so the server's port is the one left in TIME_WAIT.
    for _ in range(3):
        with first.connect() as connection:
            connection.send(GET_AND_CLOSE)
            connection.read_response().expect_status(200)
            connection.expect_closed()
    first.process.stop()
    try:
        second = start_server("--port", str(port))
    except WireFailure as failure:
        raise WireFailure(
            f"Expected: a restarted server to listen again on port {port} at once.\n"
            "Problem: the second server did not start. Binding a port whose old connections are in "
            "TIME_WAIT fails with EADDRINUSE unless the listening socket sets SO_REUSEADDR first.\n"
            f"{failure}"
        ) from None
    expect_hello(second.exchange(GET))


# -- 1.2 Read the request: loop on recv ----------------------------------------------------------


@pytest.mark.task("1.2")
@pytest.mark.points(3)
def test_waits_for_the_whole_head_when_it_comes_in_pieces(server):
    """A request split into segments is answered only once its blank line has arrived."""
    connection = server.connect()
    connection.send(b"GET / HT")
    connection.expect_nothing_yet(0.3, "the server to keep reading: only `GET / HT` has arrived")
    connection.send(b"TP/1.1\r\nHost: loc")
    connection.expect_nothing_yet(0.2, "the server to keep reading: the blank line has not arrived")
    connection.send(b"alhost\r\n\r\n")
    expect_hello(connection.read_response())


@pytest.mark.task("1.2")
@pytest.mark.points(2)
def test_blank_line_split_between_segments(server):
    """The CR LF CR LF that ends the head may be split across two reads."""
    connection = server.connect()
    connection.send(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r")
    connection.expect_nothing_yet(0.3, "the server to wait for the final \\n of the blank line")
    connection.send(b"\n")
    expect_hello(connection.read_response())


@pytest.mark.task("1.2")
@pytest.mark.points(2)
def test_one_byte_per_segment(server):
    """A request that arrives one byte per segment is still answered."""
    connection = server.connect()
    connection.send_in_pieces(GET, size=1)
    expect_hello(connection.read_response())


# -- 1.3 Build a valid response -------------------------------------------------------------------


@pytest.mark.task("1.3")
@pytest.mark.points(3)
def test_answers_hello_world(server):
    """200 OK, text/plain; charset=utf-8, Content-Length 13, body Hello, World!"""
    expect_hello(server.exchange(GET))


@pytest.mark.task("1.3")
@pytest.mark.points(2)
def test_response_satisfies_a_strict_parser(server):
    """h11, a strict HTTP/1.1 implementation, accepts the response byte for byte."""
    connection = server.connect()
    connection.send(GET_AND_CLOSE)
    data = connection.read_until_close("a response, then the connection closed")
    client, _sent = h11_client("GET", "/", [("Host", "localhost"), ("Connection", "close")])
    events = h11_events(client, data, connection)
    body = b"".join(bytes(event.data) for event in events if isinstance(event, h11.Data))
    if not events or not isinstance(events[-1], h11.EndOfMessage) or body != b"Hello, World!":
        connection.fail("a complete response whose body is Hello, World!", f"h11 read these events: {events!r}.")


@pytest.mark.task("1.3")
@pytest.mark.points(1)
def test_python_http_client_reads_the_response(server):
    """The standard library's http.client reads the response."""
    client = http.client.HTTPConnection(server.process.host, server.port, timeout=3)
    try:
        client.request("GET", "/")
        response = client.getresponse()
        assert (response.status, response.reason) == (200, "OK"), f"http.client saw {response.status} {response.reason}"
        assert response.read() == b"Hello, World!", "http.client read a different body"
    finally:
        client.close()


@pytest.mark.task("1.3")
@pytest.mark.points(1)
def test_curl_reads_the_response(server):
    """curl reads the response and reports no error."""
    require_tool("curl", "this test runs curl against your server")
    result = subprocess.run(
        ["curl", "--silent", "--show-error", "--max-time", "5", "--include", server.url + "/"],
        capture_output=True,
        timeout=10,
    )
    assert result.returncode == 0, f"curl failed (exit {result.returncode}): {result.stderr.decode(errors='replace')}"
    assert result.stdout.endswith(b"\r\n\r\nHello, World!"), f"curl printed {result.stdout!r}"


# -- 1.4 Serve one client after another, for ever --------------------------------------------


@pytest.mark.task("1.4")
@pytest.mark.points(2)
def test_closes_the_connection_after_the_response(server):
    """After its response (with Connection: close) the server closes the connection."""
    connection = server.connect()
    connection.send(GET_AND_CLOSE)
    response = connection.read_response()
    expect_hello(response)
    response.expect_header("Connection", "close", ignore_case=True)
    connection.expect_closed()


@pytest.mark.task("1.4")
@pytest.mark.points(2)
def test_serves_many_clients_one_after_another(server):
    """Twenty clients in a row each get a full response."""
    for _ in range(20):
        expect_hello(server.exchange(GET))


@pytest.mark.task("1.4")
@pytest.mark.points(2)
def test_survives_a_client_that_leaves_without_a_word(server):
    """A client that connects and closes without sending anything does not stop the server."""
    server.connect().close()
    expect_hello(server.exchange(GET))


@pytest.mark.task("1.4")
@pytest.mark.points(2)
def test_survives_clients_that_reset(server):
    """Clients that reset the connection (RST) mid-request or before reading do not stop it."""
    mid_request = server.connect()
    mid_request.send(b"GET / HTTP/1.1\r\nHo")
    time.sleep(0.05)
    mid_request.reset_connection()
    before_reading = server.connect()
    before_reading.send(GET)
    before_reading.reset_connection()
    time.sleep(0.05)
    expect_hello(server.exchange(GET))


@pytest.mark.task("1.4")
@pytest.mark.points(1)
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stops_with_status_0_on_signal(server, signum):
    """SIGTERM and SIGINT stop the server with exit status 0."""
    expect_hello(server.exchange(GET))
    server.process.signal(signum)
    status = server.process.wait(5)
    name = signal.Signals(signum).name
    if status is None:
        raise WireFailure(f"Expected: the server to exit after {name}.\nProblem: it was still running 5 s later.")
    if status != 0:
        raise WireFailure(f"Expected: exit status 0 after {name}.\nProblem: it exited with status {status}.")
