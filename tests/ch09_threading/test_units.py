"""Chapter 9, function by function: the workers (start_workers, work), the poller
(receive_head, hand_back, serve_forever), the clocks (enforce_deadlines) and shut_down.

Each test builds a `ThreadedServer(listener, Settings(...))` on a real listener (port 0) and
plays the clients on one end of `socket.socketpair()`s, the other end being the `Client`'s
connection. Threads the test starts (a worker, the poller) keep what they raise, and the
test raises it again: the starter's NotImplementedError shows up in the test that called it.
Workers are told to leave with a None in the `ready` queue, as `work` promises.
"""

import queue
import select
import socket
import threading
import time

import pytest

from course.wire import show_bytes

CLOSE = b"Connection: close\r\n"


def get(target=b"/", extra=b""):
    return b"GET " + target + b" HTTP/1.1\r\nHost: localhost\r\n" + extra + b"\r\n"


class Pool:
    """A ThreadedServer on a listener of its own, and everything to clean up after it."""

    def __init__(self, chapter_module, **settings):
        self.module = chapter_module("pool")
        server_module = chapter_module("server")
        self.listener = server_module.create_listener("127.0.0.1", 0)
        self.settings = server_module.Settings(**settings)
        self.server = self.module.ThreadedServer(self.listener, self.settings)
        self.sockets = [self.listener]
        self.threads = []

    def client(self, buffer=b""):
        """A Client whose connection is one end of a socket pair; the test holds the other end."""
        ours, theirs = socket.socketpair()
        ours.settimeout(3)  # as accept_all does: nothing a worker reads waits for ever
        theirs.settimeout(3)
        self.sockets += [ours, theirs]
        return self.module.Client(ours, "test client", buffer=buffer), theirs

    def watched(self, buffer=b"", seconds=5.0):
        """A Client the poller watches (as accept_all leaves it), with `seconds` left on its clock."""
        client, theirs = self.client(buffer)
        self.server.watch(client, seconds)
        return client, theirs

    def run(self, target, *args):
        """Run target(*args) on a thread that keeps what it raises."""
        runner = Runner(target, *args)
        self.threads.append(runner)
        return runner

    def close(self):
        for _ in range(len(self.server.workers) + len(self.threads)):
            self.server.ready.put(None)
        for runner in self.threads:
            runner.stop_polling.set()
            runner.thread.join(2)
        for sock in self.sockets + [self.server.wake_receiver, self.server.wake_sender]:
            sock.close()
        self.server.selector.close()


class Runner:
    """target(*args) on a daemon thread; `result()` waits for it and raises what it raised."""

    def __init__(self, target, *args):
        self.error = None
        self.stop_polling = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(target, args), daemon=True)
        self.thread.start()

    def _run(self, target, args):
        try:
            target(*args)
        except StopPolling:
            pass
        except BaseException as error:  # noqa: BLE001 - raised again in the test
            self.error = error

    def check(self):
        """Raise what the thread raised, if it has raised."""
        if self.error is not None:
            raise self.error

    def result(self, timeout):
        self.thread.join(timeout)
        if self.error is not None:
            raise self.error
        return not self.thread.is_alive()  # True once target has returned


class StopPolling(Exception):
    """Raised in the poller's thread to end serve_forever when a test is done with it."""


@pytest.fixture
def make_pool(chapter_module):
    pools = []

    def make(**settings):
        pool = Pool(chapter_module, **settings)
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        pool.close()


def read_until_close(sock, runner=None):
    """Everything until the other end closes; what came so far if it stays open 3 s.
    While it waits, what the `runner`'s thread raised (NotImplementedError...) is raised here."""
    received = bytearray()
    give_up = time.monotonic() + 3
    while time.monotonic() < give_up:
        if runner is not None:
            runner.check()
        if not readable(sock, 0.05):
            continue
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        received += chunk
    return bytes(received)


def status_and_body(data):
    head, _, body = data.partition(b"\r\n\r\n")
    status = head.split(b" ", 2)[1] if head.startswith(b"HTTP/1.1 ") else b""
    return status, body


def readable(sock, timeout):
    return bool(select.select([sock], [], [], timeout)[0])


def is_watched(pool, client):
    """Whether the poller's selector watches this client's connection."""
    keys = pool.server.selector.get_map().values()
    return any(key.data is client or key.fileobj is client.connection for key in keys)


def expect_answer(theirs, body, why, runner=None):
    data = read_until_close(theirs, runner)
    status, got = status_and_body(data)
    assert (status, got) == (b"200", body), f"{why}: expected 200 with {body!r}; the client received:\n{show_bytes(data)}"


def fake_worker(pool, busy_for, done):
    """A worker holding a request for `busy_for` seconds, then leaving when the queue says so."""

    def work():
        time.sleep(busy_for)
        done.set()
        while pool.server.ready.get() is not None:
            pass

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    pool.server.workers.append(thread)
    return thread


# -- 9.1 start_workers, work ------------------------------------------------------------------------


@pytest.mark.task("9.1")
@pytest.mark.points(2)
def test_start_workers_starts_as_many_threads_as_settings_say(make_pool):
    """start_workers starts `settings.workers` threads and lists them in `server.workers`."""
    pool = make_pool(workers=3)
    before = set(threading.enumerate())
    pool.server.start_workers()
    started = [thread for thread in threading.enumerate() if thread not in before]
    assert len(started) == 3, f"Settings(workers=3): start_workers started {len(started)} thread(s)"
    assert sorted(map(id, pool.server.workers)) == sorted(map(id, started)), (
        "start_workers must list the threads it starts in server.workers: shut_down waits for them there"
    )


@pytest.mark.task("9.1")
@pytest.mark.points(3)
def test_workers_serve_the_clients_in_the_queue(make_pool):
    """The workers take clients from `ready`, answer them, and each leaves when it takes a None."""
    pool = make_pool(workers=2)
    pool.server.start_workers()
    ends = []
    for name in (b"one", b"two", b"three"):
        client, theirs = pool.client(get(b"/echo/" + name, CLOSE))
        pool.server.ready.put(client)
        ends.append((name, theirs))
    for name, theirs in ends:
        expect_answer(theirs, name, f"a client put in the ready queue with `GET /echo/{name.decode()}`")
        theirs.close()
    for _ in pool.server.workers:
        pool.server.ready.put(None)
    for worker in pool.server.workers:
        worker.join(3)
    alive = [worker.name for worker in pool.server.workers if worker.is_alive()]
    assert not alive, f"after one None per worker in the queue, these workers are still running: {alive}"


@pytest.mark.task("9.1")
@pytest.mark.points(2)
def test_work_serves_until_it_takes_none(make_pool):
    """work answers the client in the queue, then returns when it takes None."""
    pool = make_pool()
    client, theirs = pool.client(get(b"/echo/served", CLOSE))
    pool.server.ready.put(client)
    pool.server.ready.put(None)
    runner = pool.run(pool.server.work)
    expect_answer(theirs, b"served", "work took a client with `GET /echo/served` in its buffer", runner)
    theirs.close()
    assert runner.result(3), "work did not return after taking None from the queue"


@pytest.mark.task("9.1")
@pytest.mark.points(2)
def test_work_survives_a_client_that_vanished(make_pool):
    """A client gone before its answer (send fails) costs its connection only: work serves the next one."""
    pool = make_pool()
    gone, gone_end = pool.client(get(b"/echo/lost", CLOSE))
    gone_end.close()  # sending the answer fails: BrokenPipeError
    client, theirs = pool.client(get(b"/echo/next", CLOSE))
    for item in (gone, client, None):
        pool.server.ready.put(item)
    runner = pool.run(pool.server.work)
    expect_answer(theirs, b"next", "the client after one that vanished", runner)
    theirs.close()
    assert runner.result(3), "work did not return after taking None from the queue"
    assert gone.connection.fileno() == -1, "work must close the connection of a client it could not answer"


# -- 9.2 receive_head, hand_back, serve_forever ----------------------------------------------------------


@pytest.mark.task("9.2")
@pytest.mark.points(2)
def test_receive_head_keeps_a_partial_head(make_pool):
    """receive_head adds what arrived to the client's buffer; with the head incomplete, the poller keeps watching."""
    pool = make_pool()
    client, theirs = pool.watched()
    theirs.sendall(b"GET / HTTP/1.1\r\nHo")
    assert readable(client.connection, 2)
    pool.server.receive_head(client)
    assert client.buffer == b"GET / HTTP/1.1\r\nHo", f"after receive_head, the client's buffer is {client.buffer!r}"
    assert is_watched(pool, client), "a client whose head is not complete stays watched by the poller"
    assert pool.server.ready.empty(), "a client whose head is not complete must not go to the workers yet"
    assert client.connection.fileno() != -1, "receive_head closed a connection whose head was only incomplete"


@pytest.mark.task("9.2")
@pytest.mark.points(3)
def test_receive_head_hands_a_complete_head_to_the_workers(make_pool):
    """Once the head is complete, the client goes into `ready` and the poller stops watching it."""
    pool = make_pool()
    client, theirs = pool.watched(buffer=b"GET /echo/x HTTP/1.1\r\nHost: lo")
    theirs.sendall(b"calhost\r\n\r\n")
    assert readable(client.connection, 2)
    pool.server.receive_head(client)
    try:
        queued = pool.server.ready.get_nowait()
    except queue.Empty:
        queued = None
    assert queued is client, "with its head complete, the client must be put in the ready queue for a worker"
    assert client.buffer == b"GET /echo/x HTTP/1.1\r\nHost: localhost\r\n\r\n", (
        f"the whole head must be in the client's buffer for the worker; it is {client.buffer!r}"
    )
    assert not is_watched(pool, client), (
        "a client handed to a worker must no longer be watched: the poller would read its body, or queue it twice"
    )


@pytest.mark.task("9.2")
@pytest.mark.points(1)
def test_receive_head_closes_when_the_client_leaves(make_pool):
    """A client that closes its end is forgotten and its connection closed."""
    pool = make_pool()
    client, theirs = pool.watched()
    theirs.close()
    assert readable(client.connection, 2)
    pool.server.receive_head(client)
    assert not is_watched(pool, client), "a connection the client closed must no longer be watched"
    assert client.connection.fileno() == -1, "receive_head must close a connection the client closed"
    assert pool.server.ready.empty()


@pytest.mark.task("9.2")
@pytest.mark.points(2)
def test_receive_head_starts_the_header_clock_at_the_first_byte(make_pool):
    """The first byte of a head sets the deadline to now + header_timeout; later bytes do not push it back."""
    pool = make_pool(header_timeout=2.0, keep_alive_timeout=100.0)
    client, theirs = pool.watched(seconds=100.0)
    theirs.sendall(b"G")
    assert readable(client.connection, 2)
    pool.server.receive_head(client)
    left = client.deadline - time.monotonic()
    assert 1.0 < left <= 2.0, (
        f"after the first byte of a head, the client has {left:.1f} s left; expected header_timeout (2 s): the "
        "whole head must arrive within it"
    )
    first_deadline = client.deadline
    time.sleep(0.05)
    theirs.sendall(b"ET / HTTP/1.1\r\n")
    assert readable(client.connection, 2)
    pool.server.receive_head(client)
    assert client.deadline == first_deadline, (
        "more bytes of the same head moved the deadline: a client sending a byte now and then would never "
        "time out (slowloris)"
    )


@pytest.mark.task("9.2")
@pytest.mark.points(2)
def test_hand_back_gives_the_connection_to_the_poller(make_pool):
    """hand_back (from a worker) queues the client and wakes the poller, whose take_back watches it again."""
    pool = make_pool(keep_alive_timeout=7.0)
    client, _theirs = pool.client()
    pool.run(pool.server.hand_back, client).result(3)
    assert readable(pool.server.wake_receiver, 1), (
        "after hand_back, the poller sleeping in select() must wake up: send a byte on server.wake_sender"
    )
    pool.server.wake_receiver.settimeout(1)
    pool.server.take_back()
    assert is_watched(pool, client), "take_back found no client handed back in server.handed_back"
    left = client.deadline - time.monotonic()
    assert 6.0 < left <= 7.0, f"an idle connection handed back has keep_alive_timeout (7 s) left; it has {left:.1f} s"


def start_polling(pool):
    """serve_forever on a thread, which a test ends by setting runner.stop_polling."""
    server = pool.server
    check_clocks = server.enforce_deadlines

    def enforce_deadlines_or_stop():
        if runner.stop_polling.is_set():
            raise StopPolling
        check_clocks()

    server.enforce_deadlines = enforce_deadlines_or_stop
    runner = pool.run(server.serve_forever)
    return runner


def connect(pool):
    connection = socket.create_connection(pool.listener.getsockname(), timeout=3)
    pool.sockets.append(connection)
    return connection


def read_response(sock, runner):
    """One response framed by Content-Length; fails with what came (and what the poller raised)."""
    received = b""
    give_up = time.monotonic() + 3
    while b"\r\n\r\n" not in received or len(received.partition(b"\r\n\r\n")[2]) < content_length(received):
        runner.check()
        chunk = sock.recv(65536) if readable(sock, 0.05) else None
        if chunk == b"" or time.monotonic() > give_up:
            raise AssertionError(f"no complete response came; received:\n{show_bytes(received)}")
        received += chunk or b""
    return status_and_body(received)


def content_length(received):
    head = received.partition(b"\r\n\r\n")[0].lower()
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip() == b"content-length":
            return int(value)
    return 0


@pytest.mark.task("9.2")
@pytest.mark.points(3)
def test_serve_forever_keeps_serving_while_a_slow_request_runs(make_pool):
    """serve_forever answers a second client while a /slow request runs, and a kept-alive connection's next request."""
    pool = make_pool(workers=2)
    runner = start_polling(pool)
    slow = connect(pool)
    slow.sendall(get(b"/slow?seconds=0.3"))
    quick = connect(pool)
    quick.sendall(get(b"/echo/one"))
    assert read_response(quick, runner) == (b"200", b"one"), "the answer to GET /echo/one"
    assert not readable(slow, 0), "GET /echo/one, on another connection, waited for /slow?seconds=0.3 to finish"
    time.sleep(0.1)  # the connection goes back to the poller, idle
    quick.sendall(get(b"/echo/two"))
    assert read_response(quick, runner) == (b"200", b"two"), "a second request on a kept-alive connection"
    assert read_response(slow, runner)[0] == b"200", "the answer to /slow?seconds=0.3"
    runner.stop_polling.set()
    runner.result(2)


# -- 9.3 enforce_deadlines ---------------------------------------------------------------------------------------


def expire(client):
    client.deadline = time.monotonic() - 1.0


@pytest.mark.task("9.3")
@pytest.mark.points(3)
def test_enforce_deadlines_answers_408_to_a_late_head(make_pool):
    """A client whose head started and whose deadline has passed gets 408 Request Timeout, then the close."""
    pool = make_pool()
    client, theirs = pool.watched(buffer=b"GET / HTTP/1.1\r\nHost: lo")
    expire(client)
    pool.server.next_check = 0.0
    pool.server.enforce_deadlines()
    data = read_until_close(theirs)
    assert data.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), f"expected a 408 Request Timeout; the client received:\n{show_bytes(data)}"
    body = data.partition(b"\r\n\r\n")[2]
    assert body and content_length(data) == len(body), f"a 408 with a short body, framed by Content-Length:\n{show_bytes(data)}"
    assert client.connection.fileno() == -1, "after its 408, the connection must be closed"
    assert not is_watched(pool, client), "a connection timed out must no longer be watched"


@pytest.mark.task("9.3")
@pytest.mark.points(1)
def test_enforce_deadlines_closes_an_idle_connection_quietly(make_pool):
    """A connection idle past its deadline (no head started) is closed without a response."""
    pool = make_pool()
    client, theirs = pool.watched()
    expire(client)
    pool.server.next_check = 0.0
    pool.server.enforce_deadlines()
    data = read_until_close(theirs)
    assert data == b"", f"an idle connection is closed quietly (RFC 9112 §9.8); the client received:\n{show_bytes(data)}"
    assert client.connection.fileno() == -1, "the idle connection must be closed"
    assert not is_watched(pool, client), "a closed connection must no longer be watched"


@pytest.mark.task("9.3")
@pytest.mark.points(2)
def test_enforce_deadlines_spares_clients_with_time_left(make_pool):
    """Only the client whose deadline has passed is cut off; the others stay open and watched."""
    pool = make_pool()
    late, late_end = pool.watched(buffer=b"GET / HT", seconds=10)
    expire(late)
    on_time, on_time_end = pool.watched(buffer=b"GET / HT", seconds=10)
    idle, idle_end = pool.watched(seconds=10)
    pool.server.next_check = 0.0
    pool.server.enforce_deadlines()
    assert read_until_close(late_end).startswith(b"HTTP/1.1 408 "), "the late client gets its 408"
    for name, client, end in (("a head with 10 s left", on_time, on_time_end), ("an idle connection with 10 s left", idle, idle_end)):
        assert is_watched(pool, client) and client.connection.fileno() != -1, f"{name} must stay watched"
        assert not readable(end, 0.05), f"{name} received something, or was closed"


# -- 9.4 shut_down ----------------------------------------------------------------------------------------------


@pytest.mark.task("9.4")
@pytest.mark.points(2)
def test_shut_down_closes_the_listener_and_the_waiting_connections(make_pool):
    """shut_down sets `stopping`, closes the listener and the connections the poller watches, and returns."""
    pool = make_pool(grace=5.0)
    _idle, idle_end = pool.watched()
    _mid_head, mid_head_end = pool.watched(buffer=b"GET / HT")
    started = time.monotonic()
    pool.run(pool.server.shut_down).result(3)
    assert time.monotonic() - started < 2, "with no worker busy, shut_down must not wait for the grace period"
    assert pool.server.stopping.is_set(), "shut_down must set server.stopping: workers then close connections after their answer"
    assert pool.listener.fileno() == -1, "shut_down must close the listener: new connections are refused"
    for name, end in (("an idle connection", idle_end), ("a connection halfway through its head", mid_head_end)):
        assert readable(end, 1) and end.recv(100) == b"", f"shut_down must close {name}"


@pytest.mark.task("9.4")
@pytest.mark.points(3)
def test_shut_down_waits_for_the_workers(make_pool):
    """shut_down lets a worker finish the request it holds (0.2 s) before it returns."""
    pool = make_pool(grace=5.0)
    done = threading.Event()
    fake_worker(pool, 0.2, done)
    started = time.monotonic()
    finished = pool.run(pool.server.shut_down).result(4)
    assert finished, "shut_down did not return within 4 s, though its only worker was done after 0.2 s"
    assert done.is_set(), "shut_down returned while a worker was still serving a request"
    assert time.monotonic() - started < 3, "shut_down kept waiting after the worker had finished"


@pytest.mark.task("9.4")
@pytest.mark.points(2)
def test_shut_down_gives_up_after_the_grace(make_pool):
    """A worker still busy after `settings.grace` (0.2 s) is left behind: shut_down returns."""
    pool = make_pool(grace=0.2)
    fake_worker(pool, 30, threading.Event())
    started = time.monotonic()
    finished = pool.run(pool.server.shut_down).result(3)
    elapsed = time.monotonic() - started
    assert finished and elapsed < 2, (
        "with grace=0.2 and a worker busy for 30 s, shut_down must return after about 0.2 s; "
        + (f"it took {elapsed:.1f} s" if finished else "it was still waiting after 3 s")
    )
