"""Chapter 9 on the wire: many clients at once, a bounded pool, 408 for slow heads, SIGTERM.

Concurrency is proved by order, never by a stopwatch: while a `GET /slow?seconds=S` runs, a
quick request on another connection must be answered before the slow one is; with
`--workers 2`, a third request must wait until one of two slow ones has answered (and not
until both have). Only the answers' order is checked, with a wide margin (the slow requests
take from 0.3 to 0.8 s, the quick ones milliseconds), so a loaded machine cannot make a test
fail. `answered(connection)` looks, without waiting, whether anything has arrived yet. Unlike
the earlier suites, tests hold many connections open at once: that is what they test.

Uploads at once: several clients POST different bodies to one path while others GET it; every
GET must be one whole body (spec §4.5 and §4.9), the Content-Length counted, never a prefix
or a mix, and the file left on disk is one whole body too.

What the spec leaves open is left open: the body of a /slow answer (only its status is read),
what an idle connection that never started a head gets when it is closed, whether a request
still running at SIGTERM is answered with `Connection: close`, and how a new connection is
turned away during the grace period (refused, or closed without an answer).
"""

import select
import signal
import socket
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import requests

from course.pytest_plugin import require_tool
from course.wire import WireFailure

pytestmark = pytest.mark.wire

HELLO = b"Hello, World!"


def get(target=b"/", extra=b""):
    return b"GET " + target + b" HTTP/1.1\r\nHost: localhost\r\n" + extra + b"\r\n"


def post(body, target=b"/echo", extra=b""):
    length = str(len(body)).encode("ascii")
    return b"POST " + target + b" HTTP/1.1\r\nHost: localhost\r\nContent-Length: " + length + b"\r\n" + extra + b"\r\n" + body


def slow(seconds):
    return get(b"/slow?seconds=" + seconds.encode("ascii"))


def fail(server, expected, problem):
    """A failure that no single connection's transcript explains."""
    raise WireFailure(f"Expected: {expected}\nProblem: {problem}\n{server.hint.render()}")


def answered(connection):
    """Whether anything (bytes, or the close) has arrived on the connection yet; never waits."""
    readable, _writable, _failed = select.select([connection.sock], [], [], 0)
    return bool(readable)


def expect_hello(response, why=""):
    response.expect_status(200, why).expect_body(HELLO, why)


def start_slow(server, seconds, timeout=3.0):
    """A connection with `GET /slow?seconds=S` sent on it; its answer is read later."""
    connection = server.connect(timeout=timeout)
    connection.send(slow(seconds))
    return connection


def read_slow(connection, seconds, why=""):
    response = connection.read_response(expect=f"the answer to GET /slow?seconds={seconds}" + (f" ({why})" if why else ""))
    response.expect_status(200, f"GET /slow?seconds={seconds}")
    return response


def in_threads(function, arguments):
    """Run function(argument) for each argument, all at once; the results in order. An
    exception in any thread (a failed expectation) is raised here."""
    with ThreadPoolExecutor(max_workers=len(arguments)) as pool:
        futures = [pool.submit(function, argument) for argument in arguments]
        return [future.result() for future in futures]


# -- 9.1 A bounded pool of workers -------------------------------------------------------------


@pytest.mark.task("9.1")
@pytest.mark.points(3)
def test_slow_requests_do_not_delay_other_clients(server):
    """While three `GET /slow?seconds=0.4` run, another client's `GET /` is answered at once."""
    running = [start_slow(server, "0.4") for _ in range(3)]
    with server.connect() as quick:
        quick.send(get())
        response = quick.read_response(expect="an answer to GET / while three /slow requests are still running")
        expect_hello(response)
        done = [number for number, connection in enumerate(running, start=1) if answered(connection)]
        if done:
            quick.fail(
                "GET / answered while the three /slow?seconds=0.4 requests on other connections still run",
                f"when GET / was answered, /slow request(s) {done} had already been answered: GET / waited for "
                "them, as if the server served one request at a time. A worker thread must serve each "
                "request, so that a slow handler holds up no one but its own client.",
            )
    for connection in running:
        read_slow(connection, "0.4")


@pytest.mark.task("9.1")
@pytest.mark.points(3)
def test_workers_bound_the_requests_served_at_once(start_server):
    """With `--workers 2`, two /slow requests run at once, and a third request waits for a free worker."""
    server = start_server("--workers", "2")
    long = start_slow(server, "0.8")
    time.sleep(0.1)  # the 0.8 s request has reached a worker
    short = start_slow(server, "0.4")
    time.sleep(0.15)  # and the 0.4 s one the other worker: both are busy
    with server.connect() as third:
        third.send(slow("0"))
        response = third.read_response(expect="an answer to GET /slow?seconds=0 once a worker is free")
        response.expect_status(200)
        if not answered(short):
            third.fail(
                "with --workers 2, this third request waits until one of the two running /slow requests is answered",
                "it was answered while both were still running (/slow?seconds=0.8 and /slow?seconds=0.4): the server "
                "served three requests at once with two workers. --workers N bounds how many threads serve "
                "requests; a request that finds them all busy waits in the queue.",
            )
        if answered(long):
            third.fail(
                "the two first requests served at once by the two workers: /slow?seconds=0.4, sent second, "
                "answered before /slow?seconds=0.8",
                "when this third request was answered, /slow?seconds=0.8 had been answered too: the server served "
                "the /slow requests one after the other, not two at a time.",
            )
    read_slow(short, "0.4")
    read_slow(long, "0.8")


@pytest.mark.task("9.1")
@pytest.mark.points(2)
def test_many_clients_at_once_each_get_their_own_answers(server):
    """Twelve clients on twelve threads, four POST /echo each on a kept-alive connection: no answer crosses over."""

    def client(number):
        with server.connect() as connection:
            for request_number in range(4):
                body = f"client {number:02d}, request {request_number}: ".encode() * (50 + 40 * number)
                connection.send(post(body))
                response = connection.read_response(method="POST", expect=f"the echo of client {number}'s request {request_number}")
                response.expect_status(200).expect_body(body, "each client gets the answer to its own request")

    in_threads(client, range(12))


UPLOAD_PATH = b"/files/shared/data.bin"


def upload(body):
    return post(body, UPLOAD_PATH, b"Content-Type: application/octet-stream\r\n")


def describe(body, bodies):
    """What a body that is none of `bodies` looks like: which bodies it mixes, and how long it is."""
    letters = sorted({chr(byte) for byte in set(body)})
    return (
        f"it has {len(body)} bytes, made of the letter(s) {', '.join(letters) or 'none'} "
        f"(the uploads were {', '.join(f'{len(b)} × {chr(b[0])}' for b in bodies)})."
    )


@pytest.mark.task("9.1")
@pytest.mark.points(3)
def test_concurrent_uploads_never_leave_a_torn_file(start_server, tmp_path):
    """Four clients upload different bodies to one path at once while two read it: every read is one whole body."""
    root = tmp_path / "served"
    root.mkdir()
    server = start_server("--directory", str(root))
    bodies = [letter * (150_000 + 60_000 * number) for number, letter in enumerate([b"A", b"B", b"C", b"D"])]
    server.exchange(upload(bodies[0]), method="POST", expect="201 Created for the first upload").expect_status(201)
    writing = threading.Event()
    writing.set()

    def writer(number):
        for _round in range(5):
            response = server.exchange(upload(bodies[number]), method="POST", expect="201 Created for each upload, however many run at once")
            response.expect_status(201, "an upload replacing the file while others do the same")

    def reader(_number):
        reads = 0
        while writing.is_set() or reads < 3:
            with server.connect() as connection:
                connection.send(get(UPLOAD_PATH))
                response = connection.read_response(expect="the whole file, as one of the uploads left it (never a file half written)")
                response.expect_status(200)
                if response.body not in bodies:
                    connection.fail(
                        "the file as one of the four uploads wrote it, whole: no reader ever sees half a file, "
                        "nor two uploads mixed",
                        describe(response.body, bodies),
                    )
            reads += 1
        return reads

    with ThreadPoolExecutor(max_workers=6) as pool:
        readers = [pool.submit(reader, number) for number in range(2)]
        writers = [pool.submit(writer, number) for number in range(4)]
        try:
            for future in writers:
                future.result()
        finally:
            writing.clear()
        for future in readers:
            future.result()
    final = server.exchange(get(UPLOAD_PATH), expect="the file, once every upload is done")
    final.expect_status(200)
    if final.body not in bodies:
        final.fail("the file as the last upload wrote it, whole", describe(final.body, bodies))
    on_disk = (root / "shared" / "data.bin").read_bytes()
    if on_disk not in bodies:
        fail(server, "the file on disk: one of the uploads, whole", describe(on_disk, bodies))


@pytest.mark.task("9.1")
@pytest.mark.points(1)
def test_concurrent_uploads_into_new_folders_all_succeed(start_server, tmp_path):
    """Eight clients at once upload into the same new folders (`round/a/b/c/d/`): each upload gets 201."""
    root = tmp_path / "served"
    root.mkdir()
    server = start_server("--directory", str(root))

    def client(job):
        round_number, start, number = job
        target = f"/files/round{round_number}/a/b/c/d/file{number}.txt".encode()
        body = f"file {number} of round {round_number}".encode()
        with server.connect() as connection:
            start.wait(3)  # every client sends at the same moment
            connection.send(post(body, target))
            response = connection.read_response(
                method="POST", expect=f"201 Created for POST {target.decode()}, uploaded while seven others create the same folders"
            )
            response.expect_status(201, "another upload creating the same folder at the same time is no error")
        return target, body

    for round_number in range(3):
        start = threading.Barrier(8)
        for target, body in in_threads(client, [(round_number, start, number) for number in range(8)]):
            path = root.joinpath(*target.decode().removeprefix("/files/").split("/"))
            if not path.is_file() or path.read_bytes() != body:
                fail(server, f"{path} holding {body!r} after its 201", "the file is missing or holds something else.")


@pytest.mark.task("9.1")
@pytest.mark.points(2)
def test_httpx_and_requests_clients_in_parallel(server):
    """Four httpx clients on four threads wait on /slow while a requests client gets `GET /` at once."""
    connected = threading.Barrier(5)

    def slow_client(_number):
        with httpx.Client(timeout=5) as client:
            client.get(server.url + "/")  # connected, and kept alive for the next request
            connected.wait(5)
            return client.get(server.url + "/slow?seconds=0.4")

    with ThreadPoolExecutor(max_workers=4) as pool:
        slow_ones = [pool.submit(slow_client, number) for number in range(4)]
        try:
            connected.wait(5)
        except threading.BrokenBarrierError:
            for future in slow_ones:
                future.result()  # what went wrong in a client
            raise
        time.sleep(0.1)  # the four /slow requests are on their way
        quick = requests.get(server.url + "/", timeout=3)
        finished = sum(future.done() for future in slow_ones)
        responses = [future.result() for future in slow_ones]
    if quick.status_code != 200 or quick.content != HELLO:
        fail(server, "requests.get('/') to get 200 Hello, World!", f"it got {quick.status_code} {quick.content[:80]!r}.")
    if finished:
        fail(
            server,
            "GET / (requests) answered while four httpx clients wait on /slow?seconds=0.4",
            f"{finished} of the /slow requests had been answered before GET / was: it waited for them.",
        )
    statuses = [response.status_code for response in responses]
    if statuses != [200] * 4:
        fail(server, "200 for each httpx GET /slow?seconds=0.4", f"they got {statuses}.")


@pytest.mark.task("9.1")
@pytest.mark.points(2)
def test_curl_parallel_transfers(server):
    """`curl --parallel` fetches two /slow and a `GET /`: the quick one completes first."""
    require_tool("curl", "this test runs curl against your server")
    targets = ["/slow?seconds=0.4", "/slow?seconds=0.3", "/"]
    command = ["curl", "--silent", "--show-error", "--max-time", "5", "--parallel", "--parallel-immediate"]
    command += ["--write-out", "%{url_effective} %{http_code}\\n"]
    for target in targets:
        command += ["--output", "/dev/null", server.url + target]
    result = subprocess.run(command, capture_output=True, timeout=15, check=False)
    lines = result.stdout.decode("latin-1").split()
    if result.returncode != 0:
        fail(server, "curl --parallel to fetch all three URLs", f"curl exited {result.returncode}: {result.stderr.decode(errors='replace').strip()}")
    # curl writes each transfer's line as it completes: the order of completion.
    done = [(url.removeprefix(server.url), code) for url, code in zip(lines[::2], lines[1::2])]
    if sorted(done) != sorted((target, "200") for target in targets):
        fail(server, f"200 for each of {targets}", f"curl reported (URL, status): {done}.")
    if done[0][0] != "/":
        fail(
            server,
            "GET / to complete first: it needs no time, and the /slow ones run on other workers meanwhile",
            f"curl completed them in this order: {[target for target, _code in done]}.",
        )


# -- 9.2 A poller for waiting connections ------------------------------------------------------


@pytest.mark.task("9.2")
@pytest.mark.points(3)
def test_idle_connections_hold_no_worker(start_server):
    """With `--workers 2`, 30 idle kept-alive connections and 10 silent ones leave room for a new client."""
    server = start_server("--workers", "2")
    idle = []
    for number in range(30):
        connection = server.connect()
        connection.send(get(b"/echo/idle%d" % number))
        response = connection.read_response(
            expect=f"an answer on connection {number + 1} while the {number} before it sit idle (kept alive): with "
            "--workers 2, a connection waiting for its next request must not hold a worker"
        )
        response.expect_status(200).expect_body(b"idle%d" % number)
        idle.append(connection)
    silent = [server.connect() for _ in range(10)]
    with server.connect() as newcomer:
        newcomer.send(get())
        expect_hello(
            newcomer.read_response(expect="an answer to a new client while 40 connections sit idle (--workers 2)"),
            "idle connections cost no worker",
        )
    for number in (0, 29):
        idle[number].send(get(b"/echo/again"))
        response = idle[number].read_response(expect="an answer to a second request on a connection kept alive")
        response.expect_status(200).expect_body(b"again")
    for connection in idle + silent:
        connection.close()


@pytest.mark.task("9.2")
@pytest.mark.points(3)
def test_clients_trickling_their_heads_hold_no_worker(start_server):
    """With `--workers 2`, 20 clients each stuck halfway through a head do not keep a new client waiting."""
    server = start_server("--workers", "2")
    trickling = []
    for number in range(20):
        connection = server.connect()
        connection.send(b"GET /echo/late%d HTTP/1.1\r\nHost: lo" % number)
        trickling.append(connection)
    time.sleep(0.05)
    for connection in trickling:
        connection.send(b"cal")
    with server.connect() as newcomer:
        newcomer.send(get())
        expect_hello(
            newcomer.read_response(
                expect="an answer to a new client while 20 others are halfway through their heads (--workers 2): "
                "a worker takes a connection only once its head is complete"
            )
        )
    for number, connection in enumerate(trickling):
        connection.send(b"host\r\n\r\n")
        response = connection.read_response(expect="the answer to a head completed late (within --header-timeout)")
        response.expect_status(200).expect_body(b"late%d" % number)
        connection.close()


@pytest.mark.task("9.2")
@pytest.mark.points(2)
def test_bodies_sent_after_their_heads(server):
    """Eight POST /echo send their heads, then their bodies a moment later: each answer echoes its own body."""
    connections = []
    bodies = [f"body number {number} ".encode() * (10 + 100 * number) for number in range(8)]
    for body in bodies:
        connection = server.connect()
        request = post(body)
        connection.send(request[: -len(body)])
        connections.append(connection)
    time.sleep(0.1)  # every head is complete, and its request handed to a worker
    for connection, body in zip(connections, bodies):
        connection.send(body)
    for number, (connection, body) in enumerate(zip(connections, bodies)):
        response = connection.read_response(method="POST", expect=f"the echo of body {number}, sent 0.1 s after its head")
        response.expect_status(200).expect_body(body, "the body follows the head on the same connection, read whole by one reader")
        connection.close()


@pytest.mark.task("9.2")
@pytest.mark.points(2)
def test_pipelined_requests_on_many_connections(server):
    """Eight connections each send three requests at once: each gets its three answers, in order."""
    connections = []
    for number in range(8):
        connection = server.connect()
        connection.send(get(b"/echo/c%d-first" % number) + post(b"c%d-second" % number) + get(b"/echo/c%d-third" % number))
        connections.append(connection)
    for number, connection in enumerate(connections):
        for index, (method, body) in enumerate([("GET", b"c%d-first"), ("POST", b"c%d-second"), ("GET", b"c%d-third")], start=1):
            response = connection.read_response(
                method=method,
                expect=f"answer {index} of 3 to requests pipelined in one send: the requests already received "
                "are served without waiting for more bytes",
            )
            response.expect_status(200).expect_body(body % number)
        connection.close()


# -- 9.3 408 for heads that take too long --------------------------------------------------------

# A long keep-alive timeout, so that only the header timeout can end these connections.
HEADER_TIMEOUT = ("--header-timeout", "0.3", "--keep-alive-timeout", "30")


@pytest.mark.task("9.3")
@pytest.mark.points(3)
def test_a_head_that_stops_halfway_gets_408(start_server):
    """With `--header-timeout 0.3`, a head that stops halfway gets `408 Request Timeout`, then the close."""
    server = start_server(*HEADER_TIMEOUT)
    with server.connect(timeout=3) as connection:
        connection.send(b"GET / HTTP/1.1\r\nHost: localhost\r\n")
        response = connection.read_response(expect="408 Request Timeout once the head has taken longer than --header-timeout 0.3")
        response.expect_text_error(408, "the head was not complete after --header-timeout")
        connection.expect_closed("the server to close the connection after its 408")
    expect_hello(server.exchange(get()), "the server goes on serving other clients")


@pytest.mark.task("9.3")
@pytest.mark.points(3)
def test_a_head_trickled_byte_by_byte_gets_408(start_server):
    """A client sending a byte of its head every 0.1 s is cut off with 408 after `--header-timeout 0.3`."""
    server = start_server(*HEADER_TIMEOUT)
    head = get(extra=b"X-Padding: " + b"x" * 100 + b"\r\n")  # would take 14 s at this pace
    with server.connect(timeout=3) as connection:
        give_up = time.monotonic() + 3
        for index in range(len(head)):
            if answered(connection) or time.monotonic() > give_up:
                break
            try:
                connection.sock.sendall(head[index : index + 1])
            except OSError:
                break  # closed by the server: its answer is read below
            connection.sent += head[index : index + 1]
            connection.segments += 1
            time.sleep(0.1)
        if not answered(connection):
            connection.fail(
                "408 Request Timeout once the head has taken 0.3 s (--header-timeout), however steadily its bytes come",
                "after 3 s of one byte every 0.1 s, the server had sent nothing: the header timeout counts from the "
                "head's first byte, not from the last byte received (or a client sending a byte now and then "
                "holds the connection for ever: slowloris).",
            )
        response = connection.read_response(expect="408 Request Timeout for a head trickled too slowly")
        response.expect_text_error(408, "the head was not complete 0.3 s after its first byte")


@pytest.mark.task("9.3")
@pytest.mark.points(2)
def test_heads_that_arrive_in_time_are_served(start_server):
    """A head sent in pieces within `--header-timeout 0.5` is answered; after 0.6 s idle, the next head gets its own 0.5 s."""
    server = start_server("--header-timeout", "0.5", "--keep-alive-timeout", "30")
    with server.connect() as connection:
        connection.send_split(b"GET /echo/first HTTP/1.1\r\n", b"Host: local", b"host\r\n", b"\r\n", pause=0.03)
        response = connection.read_response(expect="the answer to a head sent in four pieces over 0.1 s (--header-timeout 0.5)")
        response.expect_status(200, "the head was complete 0.1 s after its first byte").expect_body(b"first")
        time.sleep(0.6)  # idle: longer than the header timeout, far less than the keep-alive timeout
        connection.send_split(b"GET /echo/second HTTP/1.1\r\n", b"Host: localhost\r\n", b"\r\n", pause=0.1)
        response = connection.read_response(
            expect="the answer to a second head, sent in pieces over 0.2 s after 0.6 s idle: its clock starts with its "
            "first byte (the idle time counts against --keep-alive-timeout, 30 s here)"
        )
        why = "this head was complete 0.2 s after its first byte; the idle time before it does not count"
        response.expect_status(200, why).expect_body(b"second")


# -- 9.4 Shut down gracefully -------------------------------------------------------------------


def expect_exit_0(server, within, why):
    status = server.process.wait(within)
    if status is None:
        fail(server, f"the server to exit after SIGTERM ({why})", f"it was still running {within:g} s later.")
    if status != 0:
        fail(server, "exit status 0 after SIGTERM (launch contract)", f"it exited with status {status}.")


def expect_turned_away(server):
    """A new connection is refused, or closed without an answer; an answer is a failure."""
    try:
        probe = socket.create_connection(server.address, timeout=3)
    except OSError:
        return  # refused: the listener is closed
    with probe:
        try:
            probe.sendall(get())
            data = probe.recv(65536)
        except TimeoutError:
            data = b""
        except OSError:
            return  # reset: turned away
    if data:
        fail(
            server,
            "SIGTERM stops accepting: a new connection is refused (or closed without an answer)",
            f"a connection opened 0.2 s after SIGTERM, while a request was still running, got an answer: {data[:60]!r}...",
        )


@pytest.mark.task("9.4")
@pytest.mark.points(3)
def test_sigterm_lets_the_request_in_flight_finish(server):
    """SIGTERM during a `/slow?seconds=0.7`: its answer still comes whole, new clients are turned away, the exit status is 0."""
    in_flight = start_slow(server, "0.7", timeout=5)
    time.sleep(0.25)  # the request is running on a worker
    server.process.signal(signal.SIGTERM)
    time.sleep(0.2)
    expect_turned_away(server)
    response = in_flight.read_response(expect="the whole answer to GET /slow?seconds=0.7, a request running when SIGTERM came")
    response.expect_status(200, "SIGTERM lets the requests in flight finish")
    in_flight.close()  # as a client does once it has its answer: the server need not wait for it
    expect_exit_0(server, 5, "once the request in flight is answered")


@pytest.mark.task("9.4")
@pytest.mark.points(2)
def test_sigterm_gives_up_after_the_grace_period(start_server):
    """With `--grace 0.3`, SIGTERM during a `/slow?seconds=30` ends the server, with status 0, within a few seconds."""
    server = start_server("--grace", "0.3")
    start_slow(server, "30")
    time.sleep(0.2)  # the request is running on a worker
    server.process.signal(signal.SIGTERM)
    expect_exit_0(server, 4, "--grace 0.3: a request still running after the grace period is given up")


@pytest.mark.task("9.4")
@pytest.mark.points(2)
def test_sigterm_does_not_wait_for_idle_connections(server):
    """SIGTERM with only idle connections open (kept alive, or silent) ends the server at once, with status 0."""
    idle = []
    for _ in range(3):
        connection = server.connect()
        connection.send(get())
        expect_hello(connection.read_response(expect="the answer to GET / (the connection then stays open, idle)"))
        idle.append(connection)
    idle.append(server.connect())
    time.sleep(0.1)
    server.process.signal(signal.SIGTERM)
    expect_exit_0(server, 3, "no request is running; idle connections are simply closed, the default grace and keep-alive timeouts need not pass")
