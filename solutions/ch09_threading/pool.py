"""Many clients at once: one poller thread, and a bounded pool of worker threads.

Strategy: a worker is a thread, and threads are few (`--workers`), so a worker must only
ever be busy with a request that is ready to be served. The poller (the main thread) waits
on every connection at once with `selectors`: the listener, connections that are idle
between requests, and connections whose head is still arriving. It reads what arrives into
the connection's buffer and asks `maybe_split_head` — the chapter 2 parser, unchanged,
because it never touched a socket — whether the head is complete. Only then does the
connection go into the work queue. A worker takes it, reads the body, runs the handler,
sends the response, and hands the connection back to the poller (or closes it). So an idle
keep-alive connection, or a client trickling its head byte by byte (slowloris), costs no
worker at all: the poller only keeps a clock for it — 408 once a started head is older than
`header_timeout`, a quiet close once an idle connection is older than `keep_alive_timeout`.

Shutting down (SIGTERM): stop accepting, close the connections that are idle or mid-head,
let the workers finish the requests they hold — for at most `grace` seconds — and exit.
"""

import queue
import selectors
import socket
import threading
import time
import traceback
from dataclasses import dataclass

from .request import HttpError, maybe_split_head, wants_keep_alive
from .response import Response
from .server import (
    RECEIVE_SIZE,
    ClientGone,
    Settings,
    close_gently,
    log,
    read_and_respond,
    send_response,
)

# How often, at least, the poller wakes up to look at its clocks (seconds).
TICK = 0.1


@dataclass
class Client:
    """A connection and what the poller knows about it."""

    connection: socket.socket
    address: str
    buffer: bytes = b""  # received, not yet served: the start of the next request
    deadline: float = 0.0  # when the poller gives up on it (time.monotonic())


class ThreadedServer:
    """The poller (run by serve_forever, in the main thread) and its pool of workers."""

    def __init__(self, listener: socket.socket, settings: Settings):
        self.listener = listener
        self.settings = settings
        self.selector = selectors.DefaultSelector()
        # Clients whose head is complete, waiting for a worker. Unbounded, but it holds only
        # clients the poller has accepted, and each holds at most one head. SimpleQueue (in C)
        # rather than Queue (Python code around a Condition): this hand-off happens for every
        # request, and the cheaper it is, the more requests per second.
        self.ready: queue.SimpleQueue[Client | None] = queue.SimpleQueue()
        # Clients the workers hand back, and a socket pair to wake the poller up for them:
        # the poller sleeps in select(), which only a socket (or the clock) can interrupt.
        self.handed_back: queue.SimpleQueue[Client] = queue.SimpleQueue()
        self.wake_receiver, self.wake_sender = socket.socketpair()
        self.stopping = threading.Event()
        self.workers: list[threading.Thread] = []
        self.next_check = 0.0  # when enforce_deadlines looks at the clocks again

    # -- the workers ------------------------------------------------------------------------

    # --8<-- [start:start_workers]
    def start_workers(self) -> None:
        """Start `settings.workers` threads, each taking clients from the queue for ever."""
        # BEGIN SOLUTION task 9.1
        for number in range(self.settings.workers):
            worker = threading.Thread(target=self.work, name=f"worker-{number + 1}", daemon=True)
            worker.start()
            self.workers.append(worker)
        # END SOLUTION
    # --8<-- [end:start_workers]

    # --8<-- [start:work]
    def work(self) -> None:
        """A worker's life: take a client whose head is complete, serve it, repeat.
        None in the queue means: the server is stopping, leave."""
        # BEGIN SOLUTION task 9.1
        while True:
            client = self.ready.get()
            if client is None:
                return
            try:
                self.serve(client)
            except OSError as error:
                # The client reset or vanished mid-response: that ends its connection only.
                log(f"{client.address}: connection lost: {error}")
                client.connection.close()
            except Exception:
                # A bug in a handler: it ends this connection, never the worker.
                log(f"{client.address}: error while serving:\n{traceback.format_exc()}")
                client.connection.close()
        # END SOLUTION
    # --8<-- [end:work]

    # --8<-- [start:serve]
    def serve(self, client: Client) -> None:
        """Serve the requests whose heads are already in the client's buffer, then hand the
        connection back to the poller, or close it."""
        connection = client.connection
        while True:
            try:
                exchange = read_and_respond(connection, client.buffer, self.settings)
            except ClientGone as gone:
                log(f"{client.address}: {gone}")
                connection.close()
                return
            request = exchange.request
            keep_alive = exchange.complete and wants_keep_alive(request) and not self.stopping.is_set()
            # RFC 9112 §6.3: an HTTP/1.0 client cannot read chunks: a stream ends with the connection.
            if keep_alive and exchange.response.stream is not None and request.version == "HTTP/1.0":
                keep_alive = False
            if request is not None and self.settings.access_log:
                log(f'"{request.method} {request.target} {request.version}" {exchange.response.status}')
            send_response(connection, exchange.response, request, keep_alive)
            if not keep_alive:
                close_gently(connection)
                connection.close()
                return
            client.buffer = exchange.rest
            # A pipelined head already received is served at once; anything less goes back to
            # the poller, which waits for the rest without holding this worker.
            if not self.has_complete_head(client):
                break
        self.hand_back(client)
    # --8<-- [end:serve]

    def has_complete_head(self, client: Client) -> bool:
        """Whether the buffer holds a whole head (or one already known to be bad)."""
        try:
            return maybe_split_head(client.buffer, self.settings.max_head) is not None
        except HttpError:
            return True  # a worker answers the error

    # --8<-- [start:hand_back]
    def hand_back(self, client: Client) -> None:
        """Give a kept-alive connection back to the poller (from a worker thread)."""
        # BEGIN SOLUTION task 9.2
        # The poller owns the selector: only it may register the connection again. So the
        # client goes into a queue, and one byte on the socket pair wakes the poller up.
        self.handed_back.put(client)
        self.wake_sender.send(b"!")
        # END SOLUTION
    # --8<-- [end:hand_back]

    # -- the poller ---------------------------------------------------------------------------

    # --8<-- [start:serve_forever]
    def serve_forever(self) -> None:
        """The poller's loop: accept, read heads, dispatch, take back, keep the clocks."""
        self.listener.setblocking(False)
        self.selector.register(self.listener, selectors.EVENT_READ)
        self.selector.register(self.wake_receiver, selectors.EVENT_READ)
        self.start_workers()
        while True:
            # BEGIN SOLUTION task 9.2
            for key, _events in self.selector.select(timeout=TICK):
                if key.fileobj is self.listener:
                    self.accept_all()
                elif key.fileobj is self.wake_receiver:
                    self.take_back()
                else:
                    self.receive_head(key.data)
            # END SOLUTION
            self.enforce_deadlines()
    # --8<-- [end:serve_forever]

    # --8<-- [start:accept_all]
    def accept_all(self) -> None:
        """Accept every connection waiting in the listen queue, and watch each for its head."""
        while True:
            try:
                connection, (host, port) = self.listener.accept()
            except BlockingIOError:
                return  # the queue is empty
            # Workers read bodies and send with blocking calls: each waits at most this long.
            connection.settimeout(self.settings.header_timeout)
            # A response leaves in one send; Nagle's algorithm would hold back the small
            # segments of the next one until the client acknowledges, and clients delay
            # their ACKs: together, up to 40 ms per response on a kept-alive connection.
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            client = Client(connection, f"{host}:{port}")
            self.watch(client, self.settings.keep_alive_timeout)
    # --8<-- [end:accept_all]

    def watch(self, client: Client, seconds: float) -> None:
        """Let the poller wait for the client's bytes, for at most `seconds`."""
        client.deadline = time.monotonic() + seconds
        self.selector.register(client.connection, selectors.EVENT_READ, client)

    def take_back(self) -> None:
        """Register again the connections workers handed back."""
        self.wake_receiver.recv(RECEIVE_SIZE)  # the wake-up bytes themselves mean nothing
        while not self.handed_back.empty():
            client = self.handed_back.get()
            # A head already started has header_timeout to finish; an idle connection waits
            # for a new request for keep_alive_timeout.
            self.watch(client, self.settings.header_timeout if client.buffer else self.settings.keep_alive_timeout)

    # --8<-- [start:receive_head]
    def receive_head(self, client: Client) -> None:
        """Read what arrived; once the head is complete, the client goes to the workers."""
        # BEGIN SOLUTION task 9.2
        try:
            chunk = client.connection.recv(RECEIVE_SIZE)
        except (BlockingIOError, TimeoutError):
            return  # nothing after all: wait again
        except OSError:
            chunk = b""  # reset by the client: the same as closed
        if not chunk:
            self.forget(client)
            client.connection.close()
            return
        if not client.buffer:
            # The first byte of a head starts its clock: the whole head must follow in time.
            client.deadline = time.monotonic() + self.settings.header_timeout
        client.buffer += chunk
        if self.has_complete_head(client):
            self.forget(client)
            self.ready.put(client)
        # END SOLUTION
    # --8<-- [end:receive_head]

    def forget(self, client: Client) -> None:
        """Stop watching the client's connection (a worker owns it now, or it is closed)."""
        self.selector.unregister(client.connection)

    # --8<-- [start:enforce_deadlines]
    def enforce_deadlines(self) -> None:
        """408 for a head that took too long; a quiet close for a connection idle too long."""
        now = time.monotonic()
        # Under load select() returns constantly; the clocks need a look only once per TICK.
        if now < self.next_check:
            return
        self.next_check = now + TICK
        waiting = [key.data for key in self.selector.get_map().values() if isinstance(key.data, Client)]
        for client in waiting:
            if now < client.deadline:
                continue
            self.forget(client)
            # BEGIN SOLUTION task 9.3
            if client.buffer:
                # RFC 9110 §15.5.9: 408, the server would not wait any longer for the request.
                # A slowloris client trickles its head to hold a connection for ever: not here.
                log(f"{client.address}: head not complete after {self.settings.header_timeout} s: 408")
                self.send_and_close(client, Response(408, [("Content-Type", "text/plain; charset=utf-8")], b"The request head took too long to arrive."))
            else:
                # RFC 9112 §9.5: an idle connection may be closed at any time.
                client.connection.close()
            # END SOLUTION
    # --8<-- [end:enforce_deadlines]

    def send_and_close(self, client: Client, response: Response) -> None:
        """A last response, then close. Short, so the poller can afford to send it itself."""
        try:
            client.connection.settimeout(1.0)
            send_response(client.connection, response, None, keep_alive=False)
        except OSError:
            pass  # the client is gone or not reading: closing is all that is left
        client.connection.close()

    # -- stopping -------------------------------------------------------------------------------

    # --8<-- [start:shut_down]
    def shut_down(self) -> None:
        """Stop accepting; close what waits in the poller; let the workers finish what they
        hold, within `settings.grace` seconds."""
        # BEGIN SOLUTION task 9.4
        self.stopping.set()
        self.listener.close()
        for key in list(self.selector.get_map().values()):
            if isinstance(key.data, Client):
                self.forget(key.data)
                key.data.connection.close()
        # One None per worker: each leaves once the clients queued before it are served.
        for _worker in self.workers:
            self.ready.put(None)
        deadline = time.monotonic() + self.settings.grace
        for worker in self.workers:
            worker.join(max(0.0, deadline - time.monotonic()))
        busy = sum(worker.is_alive() for worker in self.workers)
        if busy:
            log(f"{busy} request(s) still running after {self.settings.grace} s of grace: leaving them")
        # END SOLUTION
    # --8<-- [end:shut_down]
