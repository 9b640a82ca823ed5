"""The throughput benchmark: requests/s and latency of `GET /`, side by side in one run.

`python -m course bench [--chapter N[,M...]] [--against stdlib,uvicorn]` measures a chapter's
solution against the standard library's `http.server.ThreadingHTTPServer` and uvicorn, the
targets of COURSE_SPEC §7 (chapter 9: at least 20 times ThreadingHTTPServer, at least on par
with uvicorn). It prints figures, never a pass or fail of the course: timings are noisy.

Strategy: the servers take turns, one at a time, so that none competes with another for the
cores. Each is started as a subprocess in its own process group and waited for by its
`Listening on http://H:P` line (the chapter through the grader's own `launch_server`; the
others are small scripts in bench_servers/), sent one request that must come back as
`200 Hello, World!` before any load (a server that answers something else gets a row saying
so, not figures), loaded for the same duration with the same number of connections, and
killed, process group and all, in a `finally`. The load comes from wrk when it is installed:
written in C, it is unlikely to be the bottleneck. Otherwise a load generator in Python
(below) does the same job: keep-alive `GET /` over C connections, each response read by its
Content-Length, a new connection whenever the server closes one (chapters 1-6 and the
stdlib's HTTP/1.0 close after every response). A Python client costs about as much CPU per
request as a Python server, so its figures are bounded by the tool, and the output says so.
Everything talks to 127.0.0.1, and every wait has a deadline: the run stops by itself.
"""

from __future__ import annotations

import errno
import http.client
import json
import math
import multiprocessing
import os
import platform
import queue
import re
import selectors
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass, field
from importlib.util import find_spec
from pathlib import Path
from typing import Callable

from .chapters import Chapter
from .harness import ServerDidNotStart, ServerProcess, launch_server

BENCH_SERVERS = Path(__file__).resolve().parent / "bench_servers"
HELLO = b"Hello, World!"
DEFAULT_AGAINST = ("stdlib", "uvicorn")
DEFAULT_DURATION = 5.0
# Each server is measured this many times, the servers taking turns, and its median round is
# the one reported: a shared machine's noise then hits every server alike.
DEFAULT_ROUNDS = 3
DEFAULT_CONNECTIONS = 50  # the spec's `wrk -c50`
TARGET_VS_STDLIB = 20.0  # COURSE_SPEC §7, for chapter 9
TARGET_VS_UVICORN = 1.0
UVICORN_INSTALL = "pip install -r requirements-bench.txt"

WRK_THREADS = 2  # `wrk -t2`: two client threads are plenty for one Python server
WRK_GRACE = 30.0  # wrk ends by itself after -d; past this extra time it is killed
SMOKE_TIMEOUT = 10.0  # the check request (a server that just started may still be importing)
START_TIMEOUT = 20.0  # a server's Listening line (uvicorn imports a lot)

# The Python load generator.
LOAD_REQUEST_TIMEOUT = 5.0  # a request unanswered this long counts as a timeout; reconnect
LOAD_RETRY_PAUSE = 0.05  # after a failed connect, so a dead server does not make us spin
LOAD_START_TIMEOUT = 30.0  # for the worker processes to start (spawn imports the course)
LOAD_EXIT_GRACE = 15.0  # past duration + this, the workers are killed
RECEIVE_SIZE = 65536


class LoadFailed(Exception):
    """The load tool itself failed (wrk exited with an error, workers never started)."""


@dataclass
class Load:
    """What one load run measured."""

    requests: int  # responses completed within the duration
    seconds: float  # the measured window
    requests_per_s: float
    p50_ms: float | None  # None when no request completed
    p99_ms: float | None
    errors: int  # connect, read, write errors and timeouts (Python tool: also "closed" unanswered)
    non_2xx: int  # complete responses with another status (wrk: status 400 and above)
    error_detail: dict[str, int] = field(default_factory=dict)
    reconnects: int | None = None  # connections the server closed (Python tool only)


@dataclass
class Row:
    """One server in the table: its figures, or why it has none."""

    name: str  # as in --against: "stdlib", "uvicorn", ...; "chapter 9" for the chapter
    label: str  # what exactly ran
    keep_alive: bool | None = None  # did the server keep the check request's connection open?
    load: Load | None = None
    note: str = ""  # why there are no figures
    parser: str = ""  # uvicorn: the HTTP parser it really used (h11 or httptools)
    rounds: list[float] = field(default_factory=list)  # requests/s of each round; `load` is the median one

    @property
    def shown_name(self) -> str:
        return f"{self.name} ({self.parser})" if self.parser else self.name


@dataclass(frozen=True)
class Contender:
    """A server to compare the chapter with: one of the --against names."""

    name: str
    label: str
    script: str  # a module in bench_servers/
    args: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()  # Python packages it imports
    install: str = ""  # what to run when one is missing


CONTENDERS = {
    contender.name: contender
    for contender in (
        Contender(
            "stdlib",
            "http.server.ThreadingHTTPServer as shipped: HTTP/1.0, a new connection and thread per request",
            "stdlib_hello",
        ),
        Contender(
            "stdlib-http11",
            'the same with protocol_version = "HTTP/1.1": connections kept alive (Nagle on, as shipped)',
            "stdlib_hello",
            ("--http11",),
        ),
        Contender(
            "stdlib-http11-nodelay",
            "the same kept alive, and disable_nagle_algorithm = True (TCP_NODELAY)",
            "stdlib_hello",
            ("--http11", "--nodelay"),
        ),
        # `--http auto` is what `pip install uvicorn` users get: h11, or httptools if installed.
        Contender("uvicorn", "uvicorn, one worker, no access log", "uvicorn_hello", (), ("uvicorn",), UVICORN_INSTALL),
        Contender("uvicorn-h11", "uvicorn with --http h11", "uvicorn_hello", ("--http", "h11"), ("uvicorn",), UVICORN_INSTALL),
        Contender(
            "uvicorn-httptools",
            "uvicorn with --http httptools (a C parser)",
            "uvicorn_hello",
            ("--http", "httptools"),
            ("uvicorn", "httptools"),
            "pip install httptools (not in requirements-bench.txt)",
        ),
    )
}


# ---------------------------------------------------------------------------------------
# Servers


def launch_bench_server(contender: Contender) -> ServerProcess:
    """Start a bench_servers/ script as launch_server starts a chapter: `python -m SCRIPT
    --port 0`, bench_servers/ on PYTHONPATH, its own process group, a scratch directory."""
    scratch = tempfile.TemporaryDirectory(prefix="httpfs-bench-")
    server = ServerProcess(BENCH_SERVERS, contender.script, list(contender.args), Path(scratch.name))
    server.scratch = scratch  # removed when the server stops
    server.wait_until_listening(START_TIMEOUT)
    return server


def missing_packages(contender: Contender) -> list[str]:
    return [name for name in contender.needs if find_spec(name) is None]


def check_hello(address: tuple[str, int]) -> tuple[str | None, bool | None]:
    """Send one `GET /` and check the answer is 200 `Hello, World!`: (problem or None, whether
    the server kept the connection open). Loading a server that answers something else would
    measure nothing worth comparing."""
    connection = http.client.HTTPConnection(*address, timeout=SMOKE_TIMEOUT)
    try:
        connection.request("GET", "/")
        response = connection.getresponse()
        body = response.read()
        keep_alive = not response.will_close
    except (OSError, http.client.HTTPException) as error:
        return f"GET / failed: {type(error).__name__}: {error}", None
    finally:
        connection.close()
    if response.status != 200 or body != HELLO:
        shown = body[:60] + (b"..." if len(body) > 60 else b"")
        return f"GET / answered {response.status} {response.reason} {shown!r}, not 200 {HELLO!r}", keep_alive
    return None, keep_alive


def first_line(text: str) -> str:
    lines = [line for line in str(text).splitlines() if line.strip()]
    return lines[0] if lines else str(text)


def measure(row: Row, start: Callable[[], ServerProcess], load: Callable[[tuple[str, int]], Load]) -> Row:
    """Start a server, check it, load it, stop it. Fills row.load, or row.note with why not."""
    try:
        server = start()
    except ServerDidNotStart as error:
        # The first line says what went wrong; the last is the end of its stderr (the exception).
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        row.note = "did not start: " + lines[0] + (f" ... {lines[-1]}" if len(lines) > 2 else "")
        return row
    try:
        if server.slug == "uvicorn_hello":
            describe_uvicorn(server, row)
        problem, row.keep_alive = check_hello(server.address)
        if problem:
            row.note = problem
            return row
        row.load = load(server.address)
        if not server.is_running():
            row.note = f"the server exited during the run (status {server.process.returncode})"
    except LoadFailed as error:
        row.note = f"load failed: {error}"
    finally:
        server.stop()
    return row


def describe_uvicorn(server: ServerProcess, row: Row) -> None:
    """Add `version 0.54.0, h11 parser, asyncio loop` to the row, from the line uvicorn_hello.py
    writes to stderr just before its Listening line (stdout and stderr are read by separate
    threads, so it may take a moment to show up)."""
    deadline = time.monotonic() + 2.0
    while True:
        match = re.search(r"bench-server: uvicorn (\S+) http=(\S+) loop=(\S+)", server.stderr.text())
        if match or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    if match:
        version, row.parser, loop = match.groups()
        row.label += f"; version {version}, {row.parser} parser, {loop} loop"


# ---------------------------------------------------------------------------------------
# Load with wrk

TIME_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
WRK_NUMBER = r"([\d.]+)(us|ms|s|m|h)"


def wrk_command(url: str, duration: float, connections: int) -> list[str]:
    # wrk takes whole seconds, and at least as many connections as threads.
    seconds = max(1, round(duration))
    return ["wrk", f"-t{min(WRK_THREADS, connections)}", f"-c{connections}", f"-d{seconds}s", "--latency", url]


def run_wrk(address: tuple[str, int], duration: float, connections: int) -> Load:
    command = wrk_command(f"http://{address[0]}:{address[1]}/", duration, connections)
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        out, err = process.communicate(timeout=max(1, round(duration)) + WRK_GRACE)
    except subprocess.TimeoutExpired:
        raise LoadFailed(f"wrk was still running {WRK_GRACE:.0f} s after its duration: killed") from None
    finally:
        # Whatever happened, nothing of wrk's outlives the run.
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        process.wait()
    if process.returncode != 0:
        raise LoadFailed(f"{' '.join(command)} exited with status {process.returncode}: {first_line(err or out)}")
    try:
        return parse_wrk(out)
    except ValueError as error:
        raise LoadFailed(str(error)) from None


def to_seconds(number: str, unit: str) -> float:
    return float(number) * TIME_UNITS[unit]


def parse_wrk(text: str) -> Load:
    """Read wrk 4's report (`--latency`): requests/s, the 50% and 99% latencies of its
    distribution, socket errors and non-2xx responses (wrk counts status 400 and above).
    The socket-errors and non-2xx lines appear only when they are not zero."""
    rate = re.search(r"^Requests/sec:\s+([\d.]+)\s*$", text, re.M)
    total = re.search(r"^\s*(\d+) requests in " + WRK_NUMBER, text, re.M)
    if not rate or not total:
        raise ValueError(f"this is not a wrk report:\n{text}")
    requests = int(total[1])
    latency = {}
    for percent in ("50", "99"):
        match = re.search(rf"^\s+{percent}%\s+{WRK_NUMBER}\s*$", text, re.M)
        latency[percent] = round(to_seconds(*match.groups()) * 1000, 4) if match and requests else None
    errors = {"connect": 0, "read": 0, "write": 0, "timeout": 0}
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if socket_errors:
        errors = dict(zip(errors, map(int, socket_errors.groups())))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    return Load(
        requests=requests,
        seconds=to_seconds(total[2], total[3]),
        requests_per_s=float(rate[1]),
        p50_ms=latency["50"],
        p99_ms=latency["99"],
        errors=sum(errors.values()),
        non_2xx=int(non_2xx[1]) if non_2xx else 0,
        error_detail=errors,
    )


def wrk_version() -> str:
    """`wrk 4.1.0` or so, from the first line of `wrk --version` (which exits with status 1)."""
    try:
        result = subprocess.run(["wrk", "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "wrk"
    match = re.search(r"wrk\s+(?:\S*?/)?(\d[\w.]*)", result.stdout + result.stderr)
    return f"wrk {match[1]}" if match else "wrk"


# ---------------------------------------------------------------------------------------
# Load with the course's Python load generator


def load_processes(connections: int) -> int:
    """Client processes: two, like `wrk -t2`, more on a big machine; never more than the
    connections. Each runs its connections on one selector, without threads: a Python client
    would spend its time on the GIL otherwise."""
    cores = os.cpu_count() or 1
    return max(1, min(connections, max(2, min(4, cores // 2))))


def run_python_load(address: tuple[str, int], duration: float, connections: int, processes: int | None = None) -> Load:
    """Load `address` for `duration` seconds over `connections` connections, split among a
    few processes (multiprocessing, spawned: no threads or sockets inherited from us), which
    start together and send their figures back; any still running after the hard cap are killed."""
    processes = processes or load_processes(connections)
    shares = [connections // processes + (1 if i < connections % processes else 0) for i in range(processes)]
    context = multiprocessing.get_context("spawn")
    messages = context.Queue()
    go = context.Event()
    start_at = context.Value("d", 0.0)
    workers = [
        context.Process(
            target=load_worker, args=(index, address, share, duration, messages, go, start_at), daemon=True
        )
        for index, share in enumerate(shares)
    ]
    results = []
    try:
        for worker in workers:
            worker.start()
        ready = 0
        deadline = time.monotonic() + LOAD_START_TIMEOUT
        while ready < len(workers):
            kind, *rest = get_message(messages, deadline, workers, "the load generator's processes did not start")
            ready += kind == "ready"
        # One start time for all: CLOCK_MONOTONIC is the same clock in every process on a machine.
        start_at.value = time.monotonic() + 0.05
        go.set()
        deadline = start_at.value + duration + LOAD_EXIT_GRACE
        while len(results) < len(workers):
            kind, *rest = get_message(messages, deadline, workers, "the load generator's processes did not finish")
            if kind == "result":
                results.append(rest[0])
            elif kind == "crashed":
                raise LoadFailed(f"a load generator process crashed: {rest[0]}")
    finally:
        for worker in workers:
            if worker.pid is None:
                continue  # never started
            worker.join(timeout=2)
            if worker.is_alive():
                worker.kill()
                worker.join(timeout=2)
        messages.close()
    return merge_results(results)


def get_message(messages, deadline: float, workers, what: str) -> tuple:
    """The next message from the workers; LoadFailed at the deadline or as soon as a worker
    has died without a word (one that could not even start, say)."""
    while True:
        try:
            return messages.get(timeout=min(0.2, max(0.01, deadline - time.monotonic())))
        except queue.Empty:
            pass
        dead = [worker for worker in workers if worker.exitcode not in (None, 0)]
        if dead:
            raise LoadFailed(f"{what}: a process exited with status {dead[0].exitcode}")
        if time.monotonic() >= deadline:
            raise LoadFailed(what)


def merge_results(results: list[dict]) -> Load:
    requests = sum(result["requests"] for result in results)
    seconds = max(result["seconds"] for result in results)
    histogram: dict[int, int] = {}
    errors: dict[str, int] = {}
    for result in results:
        for bucket, count in result["histogram"].items():
            histogram[bucket] = histogram.get(bucket, 0) + count
        for kind, count in result["errors"].items():
            errors[kind] = errors.get(kind, 0) + count
    return Load(
        requests=requests,
        seconds=seconds,
        requests_per_s=requests / seconds if seconds > 0 else 0.0,
        p50_ms=percentile_ms(histogram, 0.50),
        p99_ms=percentile_ms(histogram, 0.99),
        errors=sum(errors.values()),
        non_2xx=sum(result["non_2xx"] for result in results),
        error_detail=errors,
        reconnects=sum(result["reconnects"] for result in results),
    )


def latency_bucket(microseconds: int) -> int:
    """Latencies are counted in buckets that keep 7 significant bits (under 1% error), so a
    long run sends back a few hundred counters instead of a million numbers."""
    if microseconds < 128:
        return microseconds
    shift = microseconds.bit_length() - 7
    return (microseconds >> shift) << shift


def percentile_ms(histogram: dict[int, int], fraction: float) -> float | None:
    total = sum(histogram.values())
    if not total:
        return None
    rank = math.ceil(fraction * total)
    seen = 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        if seen >= rank:
            return bucket / 1000
    return max(histogram) / 1000


class Client:
    """One connection of the load generator and the request it is waiting for."""

    __slots__ = ("sock", "state", "buffer", "sent_at", "retry_at", "length", "keep_alive", "status", "head_done")

    def __init__(self):
        self.sock: socket.socket | None = None
        self.state = "idle"  # idle, connecting, reading
        self.buffer = b""
        self.sent_at = 0.0
        self.retry_at = 0.0
        self.reset_response()

    def reset_response(self) -> None:
        self.head_done = False
        self.length: int | None = None  # None: the body ends when the server closes
        self.keep_alive = False
        self.status = 0


def load_worker(index, address, connections, duration, messages, go, start_at) -> None:
    """One process of the Python load generator (runs in a spawned process)."""
    try:
        messages.put(("ready", index))
        if not go.wait(LOAD_START_TIMEOUT):
            return
        messages.put(("result", run_connections(address, connections, start_at.value, duration)))
    except BaseException as error:  # report, do not hang the parent until its deadline
        messages.put(("crashed", f"{type(error).__name__}: {error}"))


def run_connections(address: tuple[str, int], connections: int, start: float, duration: float) -> dict:
    """Keep `connections` connections busy with `GET /` until start + duration; count what
    comes back. One selector, non-blocking sockets: connecting, sending and reading never wait
    on one connection while another has work."""
    request = f"GET / HTTP/1.1\r\nHost: {address[0]}:{address[1]}\r\n\r\n".encode()
    selector = selectors.DefaultSelector()
    figures = {"requests": 0, "non_2xx": 0, "reconnects": 0, "histogram": {}, "errors": {}}
    histogram = figures["histogram"]
    errors = figures["errors"]
    deadline = start + duration

    def fail(client: Client, kind: str, now: float, pause: float = 0.0) -> None:
        """Count the error and start again on a new connection: at once after a lost
        connection (as wrk does), at the next sweep after a failed connect (no spinning)."""
        errors[kind] = errors.get(kind, 0) + 1
        drop(client)
        client.retry_at = now + pause
        if not pause:
            connect(client, now)

    def drop(client: Client) -> None:
        if client.sock is not None:
            selector.unregister(client.sock)
            client.sock.close()
            client.sock = None
        client.state = "idle"
        client.buffer = b""

    def connect(client: Client, now: float) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        code = sock.connect_ex(address)
        client.sock = sock
        client.sent_at = now
        if code in (0, errno.EINPROGRESS):
            client.state = "connecting"
            selector.register(sock, selectors.EVENT_WRITE, client)
        else:
            selector.register(sock, selectors.EVENT_WRITE, client)
            fail(client, "connect", now, LOAD_RETRY_PAUSE)

    def send(client: Client, now: float) -> None:
        # The request is 40-odd bytes: it always fits the socket's empty send buffer.
        try:
            client.sock.send(request)
        except OSError:
            fail(client, "write", now)
            return
        client.state = "reading"
        client.sent_at = now
        client.reset_response()
        selector.modify(client.sock, selectors.EVENT_READ, client)

    def finish(client: Client, now: float) -> None:
        """A whole response arrived: count it, then ask again (or reconnect if it closes)."""
        figures["requests"] += 1
        if not 200 <= client.status < 300:
            figures["non_2xx"] += 1
        bucket = latency_bucket(int((now - client.sent_at) * 1e6))
        histogram[bucket] = histogram.get(bucket, 0) + 1
        if client.keep_alive:
            send(client, now)
        else:
            figures["reconnects"] += 1
            drop(client)
            connect(client, now)

    def parse_head(client: Client) -> bool:
        """Status, framing and persistence from the head; False if it is not complete yet."""
        head, found, rest = client.buffer.partition(b"\r\n\r\n")
        if not found:
            return False
        lines = head.split(b"\r\n")
        version, _, rest_of_line = lines[0].partition(b" ")
        client.status = int(rest_of_line[:3])
        fields = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            fields[name.strip().lower()] = value.strip().lower()
        connection = fields.get(b"connection", b"")
        if version == b"HTTP/1.1":
            client.keep_alive = b"close" not in connection
        else:
            client.keep_alive = b"keep-alive" in connection
        if b"content-length" in fields:
            client.length = int(fields[b"content-length"])
        else:
            client.keep_alive = False  # the body runs until the close (chunked is never sent for GET /)
        client.buffer = rest
        client.head_done = True
        return True

    def readable(client: Client, now: float) -> None:
        try:
            data = client.sock.recv(RECEIVE_SIZE)
        except OSError:
            fail(client, "read", now)
            return
        if not data:
            if client.head_done and client.length is None:
                finish(client, now)  # a close-delimited body is complete
            elif not client.buffer and not client.head_done:
                # Closed without a byte of an answer: a server may close a kept-alive connection
                # while our next request is on its way (RFC 9112 §9.5); wrk counts it as a read
                # error too. Counted apart, as "closed", so the two causes can be told apart.
                fail(client, "closed", now)
            else:
                fail(client, "read", now)  # closed in the middle of a response
            return
        client.buffer += data
        if not client.head_done and not parse_head(client):
            return
        if client.length is not None and len(client.buffer) >= client.length:
            client.buffer = client.buffer[client.length :]
            finish(client, now)

    while time.monotonic() < start:
        time.sleep(max(0.0, start - time.monotonic()))
    clients = [Client() for _ in range(connections)]
    now = time.monotonic()
    for client in clients:
        connect(client, now)
    next_sweep = now + 0.25
    while now < deadline:
        timeout = min(deadline, next_sweep) - now
        for key, _events in selector.select(max(0.0, timeout)):
            client = key.data
            now = time.monotonic()
            if now >= deadline:
                break
            if client.sock is None or key.fileobj is not client.sock:
                continue  # this connection was dropped earlier in the same round
            if client.state == "connecting":
                code = client.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if code:
                    fail(client, "connect", now, LOAD_RETRY_PAUSE)
                else:
                    send(client, now)
            elif client.state == "reading":
                try:
                    readable(client, now)
                except (ValueError, IndexError):
                    fail(client, "bad response", now)
        now = time.monotonic()
        if now >= next_sweep:
            # Every quarter second: reconnect after failures, and give up on stuck requests.
            next_sweep = now + 0.25
            for client in clients:
                if client.state == "idle" and now >= client.retry_at:
                    connect(client, now)
                elif client.state != "idle" and now - client.sent_at > LOAD_REQUEST_TIMEOUT:
                    fail(client, "timeout", now)
    for client in clients:
        drop(client)
    selector.close()
    figures["seconds"] = duration
    return figures


# ---------------------------------------------------------------------------------------
# The run and its report


@dataclass
class Report:
    chapters: list[int]
    impl: str
    tool: str
    tool_detail: str
    duration_s: float
    connections: int
    machine: dict
    rows: list[Row]
    ratios: list[dict]
    rounds: int = 1

    def to_json(self) -> dict:
        return asdict(self)


def machine_facts() -> dict:
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 1
    return {
        "cores": os.cpu_count() or 1,
        "usable_cores": usable,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": f"{platform.system()} {platform.release()} {platform.machine()}",
        # Other work on the machine steals cores from the servers and the load tool alike.
        "load_average": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
    }


def parse_against(text: str) -> list[str]:
    """`stdlib,uvicorn` into names; unknown names raise ValueError."""
    names = [name.strip() for name in text.split(",") if name.strip() and name.strip() != "none"]
    unknown = [name for name in names if name not in CONTENDERS]
    if unknown:
        raise ValueError(f"unknown server {', '.join(unknown)}: choose from {', '.join(CONTENDERS)} (or none)")
    return list(dict.fromkeys(names))


def choose_tool(tool: str) -> str:
    """`wrk` or `python`. auto: wrk when it is on PATH. Raises LoadFailed for a missing wrk."""
    if tool == "python":
        return "python"
    if shutil.which("wrk"):
        return "wrk"
    if tool == "wrk":
        raise LoadFailed("wrk is not installed (Debian: apt-get install wrk); --tool python uses the course's load generator")
    return "python"


def throughput_benchmark(
    chapters: Chapter | list[Chapter],
    against: list[str] | tuple[str, ...] = DEFAULT_AGAINST,
    duration: float = DEFAULT_DURATION,
    connections: int = DEFAULT_CONNECTIONS,
    tool: str = "auto",
    impl: str = "solutions",
    json_path: str | os.PathLike | None = None,
    rounds: int = DEFAULT_ROUNDS,
) -> int:
    """Measure each chapter's server (usually one) and each server of `against`, one after
    another; print the table and the ratios. 0 when every chapter's row has figures, 1 when
    one has none (the spec's targets are reported, not enforced: a noisy run fails nothing)."""
    chapters = [chapters] if isinstance(chapters, Chapter) else list(chapters)
    tool = choose_tool(tool)
    if tool == "wrk":
        duration = float(max(1, round(duration)))  # wrk's -d counts whole seconds
        load = lambda address: run_wrk(address, duration, connections)  # noqa: E731
        command = " ".join(wrk_command("http://127.0.0.1:PORT/", duration, connections))
        tool_detail = f"{wrk_version()} ({command})"
    else:
        load = lambda address: run_python_load(address, duration, connections)  # noqa: E731
        tool_detail = (
            f"the course's Python load generator ({load_processes(connections)} processes, keep-alive, "
            "a new connection when the server closes one)"
        )
    machine = machine_facts()
    print(
        f"Throughput of GET / on 127.0.0.1: {duration:g} s per server, {rounds} round(s) with the servers taking "
        f"turns, {connections} connections, load by {tool}."
    )
    if tool == "python":
        print("The Python load generator bounds the figures (install wrk for truer ones: apt-get install wrk).")
    chapter_rows: list[Row] = []
    # (row, how to start its server): every server that can be measured, in table order.
    turns: list[tuple[Row, Callable[[], ServerProcess]]] = []
    for chapter in chapters:
        # Like the other contenders, no line on stderr per request: the figures are the
        # server's, not its log's. Chapter 9 has the flag; earlier chapters always log.
        flags = ("--no-access-log",) if chapter.number >= 9 else ()
        shown = " ".join(("--port 0",) + flags)
        row = Row(f"chapter {chapter.number}", f"{chapter.slug} from {impl} (python -m {chapter.slug} {shown})")
        chapter_rows.append(row)
        turns.append((row, lambda slug=chapter.slug, flags=flags: launch_server(slug, impl, flags, timeout=START_TIMEOUT)))
    others = []
    for name in against:
        contender = CONTENDERS[name]
        row = Row(name, contender.label)
        others.append(row)
        missing = missing_packages(contender)
        if missing:
            # "not installed: pip install -r requirements-bench.txt" for uvicorn itself.
            row.note = ("not installed" if missing == ["uvicorn"] else f"{', '.join(missing)} not installed") + f": {contender.install}"
            continue
        turns.append((row, lambda contender=contender: launch_bench_server(contender)))
    results: dict[str, list[Row]] = {row.name: [] for row, _start in turns}
    for number in range(1, rounds + 1):
        for row, start in turns:
            print(f"  round {number}/{rounds}: measuring {row.name}...", flush=True)
            results[row.name].append(measure(Row(row.name, row.label), start, load))
    for row, _start in turns:
        take_median(row, results[row.name])
    ratios = [ratio for row in chapter_rows for ratio in compute_ratios(row, others)]
    machine["load_average_after"] = machine_facts()["load_average"]
    report = Report(
        [chapter.number for chapter in chapters], str(impl), tool, tool_detail, duration, connections, machine,
        chapter_rows + others, ratios, rounds,
    )
    print()
    print(format_report(report))
    if json_path:
        Path(json_path).write_text(json.dumps(report.to_json(), indent=2) + "\n")
        print(f"\nWrote the figures to {json_path}")
    return 0 if all(row.load and row.load.requests for row in chapter_rows) else 1


def take_median(row: Row, measured: list[Row]) -> None:
    """Fill `row` from its rounds: the figures of the median round (by requests/s), every
    round's requests/s, or the first reason a round had no figures."""
    with_figures = sorted((one for one in measured if one.load and one.load.requests), key=lambda one: one.load.requests_per_s)
    row.rounds = [one.load.requests_per_s for one in measured if one.load and one.load.requests]
    chosen = with_figures[(len(with_figures) - 1) // 2] if with_figures else measured[0]
    row.load, row.keep_alive, row.note = chosen.load, chosen.keep_alive, chosen.note
    row.label, row.parser = measured[0].label, measured[0].parser
    if with_figures and len(with_figures) < len(measured):
        row.note = f"{len(measured) - len(with_figures)} of {len(measured)} rounds without figures"


def compute_ratios(chapter_row: Row, others: list[Row]) -> list[dict]:
    """chapter / X for each other server, with the spec's target for stdlib and uvicorn.
    The two target lines are always there, as n/a when their server was not measured."""
    ratios = []
    targets = {"stdlib": TARGET_VS_STDLIB, "uvicorn": TARGET_VS_UVICORN}
    by_name = {row.name: row for row in others}
    for name in [*targets, *(row.name for row in others if row.name not in targets)]:
        row = by_name.get(name)
        entry = {"name": f"{chapter_row.name} / {name}", "value": None, "target": targets.get(name), "met": None, "why": ""}
        if row is None:
            entry["why"] = f"{name} not in --against"
        elif not (row.load and row.load.requests_per_s):
            entry["why"] = f"{name}: no figures"
        elif not (chapter_row.load and chapter_row.load.requests):
            entry["why"] = f"{chapter_row.name}: no figures"
        else:
            entry["value"] = chapter_row.load.requests_per_s / row.load.requests_per_s
            if entry["target"] is not None:
                entry["met"] = entry["value"] >= entry["target"]
        ratios.append(entry)
    return ratios


def format_number(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def format_report(report: Report) -> str:
    lines = []
    width = max(len("server"), *(len(row.shown_name) for row in report.rows))
    header = f"{'server':<{width}}  {'conn.':<5}  {'requests/s':>10}  {'p50 ms':>8}  {'p99 ms':>8}  {'errors / non-2xx':>16}"
    lines += [header, "-" * len(header)]
    for row in report.rows:
        connection = {True: "keep", False: "close", None: "-"}[row.keep_alive]
        if row.load is None:
            lines.append(f"{row.shown_name:<{width}}  {connection:<5}  {row.note}")
            continue
        load = row.load
        errors = f"{load.errors:,} / {load.non_2xx:,}"
        line = (
            f"{row.shown_name:<{width}}  {connection:<5}  {format_number(load.requests_per_s, 0):>10}  "
            f"{format_number(load.p50_ms):>8}  {format_number(load.p99_ms):>8}  {errors:>16}"
        )
        lines.append(line + (f"  ({row.note})" if row.note else ""))
    lines.append("")
    lines.append("conn.: whether the server kept the connection of a plain HTTP/1.1 GET / open.")
    if any(row.load and row.load.errors for row in report.rows):
        details = [
            f"{row.name}: " + ", ".join(f"{kind} {count:,}" for kind, count in row.load.error_detail.items() if count)
            for row in report.rows
            if row.load and row.load.errors
        ]
        lines.append("errors: " + "; ".join(details))
    for row in report.rows:
        lines.append(f"  {row.shown_name:<{width}}  {row.label}")
    if any(len(row.rounds) > 1 for row in report.rows):
        lines.append("requests/s of each round (the table shows each server's median round):")
        for row in report.rows:
            if row.rounds:
                lines.append(f"  {row.shown_name:<{width}}  " + " / ".join(format_number(value, 0) for value in row.rounds))
    lines.append("")
    spec_note = "" if report.chapters == [9] else " (COURSE_SPEC §7 sets the targets for chapter 9)"
    lines.append(f"ratios of requests/s{spec_note}:")
    name_width = max(len(ratio["name"]) for ratio in report.ratios)
    for ratio in report.ratios:
        value = f"{ratio['value']:.2f}x" if ratio["value"] is not None else "n/a"
        target = f"target >= {ratio['target']:g}x" if ratio["target"] is not None else ""
        verdict = {True: "met", False: "not met", None: ""}[ratio["met"]]
        if ratio["value"] is None:
            verdict = f"({ratio['why']})"
        lines.append(f"  {ratio['name']:<{name_width}}  {value:>8}  {target:<15} {verdict}".rstrip())
    lines.append("")
    machine = report.machine
    lines.append(
        f"machine: {machine['cores']} cores ({machine['usable_cores']} usable), {machine['python']}, "
        f"{machine['platform']}; the load tool and each server share these cores"
        + (
            f" (load average {machine['load_average']:g} before the run, {machine['load_average_after']:g} after)"
            if machine.get("load_average") is not None
            else ""
        )
    )
    lines.append(
        f"load: {report.tool_detail}; {report.duration_s:g} s per server and round, {report.rounds} round(s), "
        f"{report.connections} connections"
    )
    if report.tool == "python":
        lines.append(
            "note: the Python load generator costs about as much CPU per request as a Python server, so "
            "these figures are bounded by the tool (fast servers look slower than they are); wrk gives truer ones."
        )
    return "\n".join(lines)
