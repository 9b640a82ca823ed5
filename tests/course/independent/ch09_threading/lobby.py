"""The lobby: where connections wait without holding a thread, and the server's main loop.

The main thread polls (`select.poll`) the listening socket, a wake-up socket pair, and every
connection that is not in a worker's hands. A connection waits here in one of three moods:

- *idle*: nothing of the next head yet. Closed silently after `--keep-alive-timeout`. A fresh
  connection's head clock runs from accept, so if `--header-timeout` is the shorter of the
  two, it is answered 408 instead.
- *arriving*: part of a head is here. Bytes are read as they come; once the head is complete
  (or provably bad) the connection and its bytes go to the worker pool. A head still
  incomplete `--header-timeout` after it began (after accept for the first request) is
  answered 408 and the connection closed.
- *closing*: a worker answered with `connection: close` and shut down its sending side; the
  lobby reads and throws away whatever the client still sends (so the kernel does not answer
  it with a reset that could destroy our response), until the client closes or 2 s pass.

Workers give connections back through a queue and a byte on the wake-up socket. SIGTERM or
SIGINT also writes to it (`signal.set_wakeup_fd`): the lobby closes the listener at once,
closes every waiting connection, waits up to `--grace` seconds for the requests that workers
hold (each answered with `connection: close`), and exits 0 - at once, even if some are cut.
"""

import collections
import os
import select
import signal
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from ch06_gzip.files import Tree
from ch06_gzip.protocol import parse_options

from .framing import head_ready
from .service import Context, build_routes, timeout_response, worker_turn

READ_SIZE = 16384
LINGER_SECONDS = 2.0
LINGER_BYTES = 4 * 1024 * 1024
LONGEST_NAP = 1.0


class Guest:
    """A connection while it is in the lobby (and the bytes it brought)."""

    def __init__(self, sock, peer, now, options):
        self.sock = sock
        self.peer = peer
        self.pending = bytearray()
        self.fresh = True  # no request served yet
        self.silent_at = now + options.keep_alive_timeout  # close without a word
        self.cutoff_at = now + options.header_timeout  # answer 408
        self.lingering = False
        self.discarded = 0


class Lobby:
    def __init__(self, listener, ctx, pool):
        self.listener = listener
        self.ctx = ctx
        self.options = ctx.options
        self.pool = pool
        self.poller = select.poll()
        self.guests = {}  # fd -> Guest, only those in the lobby
        self.returns = collections.deque()  # from workers; deque appends are thread-safe
        self.wake_r, self.wake_w = socket.socketpair()
        self.wake_r.setblocking(False)
        self.wake_w.setblocking(False)
        self.busy = 0  # connections handed to the pool and not given back yet
        self.quiet = threading.Condition()
        self.stop_requested = False

    # ------------------------------------------------------------ from worker threads

    def welcome_back(self, guest):
        guest.fresh = False
        self.returns.append(guest)
        self._wake()

    def farewell(self, guest, abrupt=False):
        if abrupt or self.ctx.stopping.is_set():
            guest.sock.close()
            return
        try:
            guest.sock.shutdown(socket.SHUT_WR)
        except OSError:
            guest.sock.close()
            return
        guest.lingering = True
        self.returns.append(guest)
        self._wake()

    def _wake(self):
        try:
            self.wake_w.send(b"\x01")
        except OSError:  # full already (a wake-up is pending) or closed at exit
            pass

    def _turn(self, guest):
        try:
            worker_turn(guest, self.ctx, self)
        finally:
            with self.quiet:
                self.busy -= 1
                self.quiet.notify_all()

    # ------------------------------------------------------------ the loop

    def run(self):
        self.listener.setblocking(False)
        self.poller.register(self.listener, select.POLLIN)
        self.poller.register(self.wake_r, select.POLLIN)
        listener_fd, wake_fd = self.listener.fileno(), self.wake_r.fileno()
        while not self.stop_requested:
            nap = self._nap(time.monotonic())
            for fd, _mask in self.poller.poll(nap * 1000):
                if fd == listener_fd:
                    self._accept()
                elif fd == wake_fd:
                    self._drain_wake()
                elif fd in self.guests:
                    self._read(self.guests[fd])
            self._take_returns()
            self._expire(time.monotonic())
        return self._stop()

    def _nap(self, now):
        soonest = now + LONGEST_NAP
        for guest in self.guests.values():
            for moment in (guest.silent_at, guest.cutoff_at):
                if moment is not None and moment < soonest:
                    soonest = moment
        return max(0.0, soonest - now)

    def _accept(self):
        while True:
            try:
                sock, peer = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as problem:  # out of descriptors, a connection reset in the backlog...
                print(f"accept: {problem}", file=sys.stderr)
                return
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._seat(Guest(sock, peer, time.monotonic(), self.options))

    def _drain_wake(self):
        try:
            while self.wake_r.recv(4096):
                pass
        except (BlockingIOError, InterruptedError):
            pass

    def _seat(self, guest):
        self.guests[guest.sock.fileno()] = guest
        self.poller.register(guest.sock, select.POLLIN)

    def _unseat(self, guest):
        fd = guest.sock.fileno()
        self.poller.unregister(fd)
        del self.guests[fd]

    def _drop(self, guest):
        self._unseat(guest)
        guest.sock.close()

    def _take_returns(self):
        now = time.monotonic()
        while self.returns:
            guest = self.returns.popleft()
            if guest.lingering:
                guest.silent_at, guest.cutoff_at = now + LINGER_SECONDS, None
            elif guest.pending:
                guest.silent_at, guest.cutoff_at = None, now + self.options.header_timeout
            else:
                guest.silent_at, guest.cutoff_at = now + self.options.keep_alive_timeout, None
            self._seat(guest)

    def _read(self, guest):
        try:
            data = guest.sock.recv(READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._drop(guest)
            return
        if not data:
            self._drop(guest)
            return
        if guest.lingering:
            guest.discarded += len(data)
            if guest.discarded > LINGER_BYTES:
                self._drop(guest)
            return
        if not guest.pending:
            guest.silent_at = None
            if not guest.fresh:
                guest.cutoff_at = time.monotonic() + self.options.header_timeout
        guest.pending += data
        if head_ready(guest.pending, self.options.max_head):
            self._unseat(guest)
            with self.quiet:
                self.busy += 1
            self.pool.submit(self._turn, guest)

    def _expire(self, now):
        for guest in list(self.guests.values()):
            cutoff, silent = guest.cutoff_at, guest.silent_at
            if cutoff is not None and now >= cutoff and (silent is None or cutoff <= silent):
                try:
                    guest.sock.send(timeout_response())
                    guest.sock.shutdown(socket.SHUT_WR)
                except OSError:
                    self._drop(guest)
                    continue
                guest.pending.clear()
                guest.lingering = True
                guest.silent_at, guest.cutoff_at = now + LINGER_SECONDS, None
            elif silent is not None and now >= silent:
                self._drop(guest)

    # ------------------------------------------------------------ stopping

    def request_stop(self):
        self.stop_requested = True
        self.ctx.stopping.set()

    def _stop(self):
        self.poller.unregister(self.listener)
        self.listener.close()  # new connections are refused from now on
        for guest in list(self.guests.values()):
            self._drop(guest)
        deadline = time.monotonic() + self.options.grace
        with self.quiet:
            while self.busy > 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.quiet.wait(left)
            cut = self.busy
        while self.returns:
            self.returns.popleft().sock.close()
        if cut:
            print(f"grace period over: {cut} connection(s) cut off", file=sys.stderr)
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)
        self.pool.shutdown(wait=True)
        return 0


def main(argv):
    options = parse_options(argv)
    tree = Tree(options.directory) if options.directory else None
    ctx = Context(options, build_routes(tree is not None), tree, threading.Event())
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((options.host, options.port))
    listener.listen(128)
    pool = ThreadPoolExecutor(max_workers=max(1, options.workers), thread_name_prefix="worker")
    lobby = Lobby(listener, ctx, pool)

    def on_signal(signum, frame):
        if lobby.stop_requested:  # asked twice: stop now
            sys.stdout.flush()
            os._exit(0)
        lobby.request_stop()

    signal.set_wakeup_fd(lobby.wake_w.fileno())
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    host, port = listener.getsockname()[:2]
    print(f"Listening on http://{host}:{port}", flush=True)
    try:
        return lobby.run()
    finally:
        listener.close()
