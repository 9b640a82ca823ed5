"""Run a chapter's server as a subprocess, exactly as the launch contract says (COURSE_SPEC §3).

Strategy: the server runs as `python -m chNN_slug --port 0 ...` with only the implementation
folder on PYTHONPATH, in its own process group (so teardown kills it and anything it spawned),
in a scratch working directory. Two threads drain its stdout and stderr into bounded buffers:
a chatty server can never block on a full pipe, the `Listening on` line is picked out of
stdout, and failure messages can show what the server logged while a test ran. Every wait
has a deadline, so a server that never starts, crashes or hangs fails in seconds.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from .chapters import REPO_ROOT

START_TIMEOUT = 10.0
STOP_TIMEOUT = 3.0
PIPE_KEEP_BYTES = 64 * 1024
LISTENING_LINE = re.compile(r"^Listening on http://(?P<host>[^\s/]+):(?P<port>\d+)$")


class ServerDidNotStart(Exception):
    """The server exited, hung or printed something else instead of `Listening on http://H:P`."""


class ImplementationNotFound(Exception):
    """--impl names a folder that holds no package for the chapter."""


def resolve_impl(impl: str | os.PathLike, slug: str) -> Path:
    """Turn `chapters`, `solutions` or a submission path into the folder that holds `slug/`.

    A submission may be the package folders themselves or a whole course checkout.
    """
    if str(impl) in ("chapters", "solutions"):
        return REPO_ROOT / str(impl)
    folder = Path(impl).expanduser().resolve()
    for candidate in (folder, folder / "chapters"):
        if (candidate / slug).is_dir():
            return candidate
    if folder.name == slug and folder.is_dir():
        return folder.parent
    raise ImplementationNotFound(f"{folder} holds no {slug}/ package (nor chapters/{slug}/)")


class PipeDrain:
    """Reads a pipe on a thread until EOF, keeping its first line and its last bytes."""

    def __init__(self, pipe, keep: int = PIPE_KEEP_BYTES):
        self._pipe = pipe
        self._keep = keep
        self._head = bytearray()  # the first bytes, up to 4 KiB: where the first line is
        self._tail = bytearray()  # the last `keep` bytes
        self.total = 0
        self.closed = False
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        fd = self._pipe.fileno()
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            with self._changed:
                if not chunk:
                    self.closed = True
                    self._changed.notify_all()
                    return
                self.total += len(chunk)
                self._head += chunk[: max(0, 4096 - len(self._head))]
                self._tail += chunk
                del self._tail[: max(0, len(self._tail) - self._keep)]
                self._changed.notify_all()

    def text(self, since: int = 0) -> str:
        """What the pipe carried from byte `since` on (only its last bytes if it was a flood)."""
        with self._changed:
            kept_from = self.total - len(self._tail)
            data = bytes(self._tail[max(0, since - kept_from) :])
        note = f"[... {kept_from - since} earlier bytes not kept ...]\n" if since < kept_from else ""
        return note + data.decode("utf-8", "replace")

    def wait_for_first_line(self, deadline: float, process: subprocess.Popen) -> str | None:
        """The first line, or None if the pipe closed or the deadline passed without one."""
        exited_at = None
        with self._changed:
            while b"\n" not in self._head:
                now = time.monotonic()
                if exited_at is None and process.poll() is not None:
                    exited_at = now  # give the drain thread a moment to read what it printed
                if self.closed or now >= deadline or (exited_at and now - exited_at > 0.5):
                    return None
                self._changed.wait(0.05)
            return bytes(self._head).split(b"\n", 1)[0].decode("utf-8", "replace").rstrip("\r")

    def wait_closed(self, timeout: float) -> None:
        self._thread.join(timeout)

    def settle(self, quiet: float = 0.05, limit: float = 0.3) -> None:
        """Wait until nothing new has arrived for `quiet` seconds (at most `limit`): when a
        test fails, the server's last words (a traceback) may still be on their way."""
        deadline = time.monotonic() + limit
        with self._changed:
            while not self.closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                before = self.total
                self._changed.wait(min(quiet, remaining))
                if self.total == before:
                    return


class ServerProcess:
    """One running server. Use `start_server` to make one, `stop` (or `with`) to end it."""

    def __init__(self, impl_dir: Path, slug: str, args: list[str], workdir: Path, unbuffered: bool = True):
        self.impl_dir = impl_dir
        self.slug = slug
        self.args = args
        self.workdir = workdir
        port = [] if "--port" in args else ["--port", "0"]
        # `-u` spares a server that forgets to flush its `Listening on` line; the launch contract
        # test of chapter 1 starts one without it, to check the flush.
        self.command = [sys.executable, *(["-u"] if unbuffered else []), "-m", slug, *port, *args]
        env = dict(os.environ)
        if not unbuffered:
            env.pop("PYTHONUNBUFFERED", None)
        env["PYTHONPATH"] = str(impl_dir)
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env.pop("PYTHONSTARTUP", None)
        self.process = subprocess.Popen(
            self.command,
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self.stdout = PipeDrain(self.process.stdout)
        self.stderr = PipeDrain(self.process.stderr)
        self.host = ""
        self.port = 0
        self.scratch: tempfile.TemporaryDirectory | None = None

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def describe_command(self) -> str:
        shown = ["python", *self.command[1:]]
        return f"PYTHONPATH={self.impl_dir} " + " ".join(shown)

    def wait_until_listening(self, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        line = self.stdout.wait_for_first_line(deadline, self.process)
        if line is None:
            self._raise_not_started(timeout)
        match = LISTENING_LINE.match(line)
        if not match or int(match["port"]) == 0:
            self.stop()
            raise ServerDidNotStart(
                f"The server's first line on stdout was {line!r}.\n"
                "Expected exactly: Listening on http://HOST:PORT, with the port it really "
                "listens on (see the launch contract in README.md)." + self._stderr_report()
            )
        self.host, self.port = match["host"], int(match["port"])

    def _raise_not_started(self, timeout: float) -> None:
        code = self.wait(0.5)  # a server that just crashed may not have been reaped yet
        self.stop()
        if code is None:
            what = f"did not print `Listening on http://HOST:PORT` within {timeout:.0f} s"
        else:
            what = f"exited with status {code} before printing `Listening on http://HOST:PORT`"
        raise ServerDidNotStart(
            f"The server {what}.\nCommand: {self.describe_command()}" + self._stderr_report()
        )

    def _stderr_report(self) -> str:
        self.stderr.wait_closed(0.5)
        text = self.stderr.text().rstrip()
        return "\nIts stderr:\n" + indent(text) if text else "\nIts stderr was empty."

    def is_running(self) -> bool:
        return self.process.poll() is None

    def signal(self, signum: int) -> None:
        if self.is_running():
            self.process.send_signal(signum)

    def wait(self, timeout: float) -> int | None:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self) -> None:
        """Stop the server and everything in its process group; never waits long."""
        if self.is_running():
            self._signal_group(signal.SIGTERM)
            if self.wait(STOP_TIMEOUT) is None:
                self._signal_group(signal.SIGKILL)
                self.wait(STOP_TIMEOUT)
        # Children left behind by the server share its group: end them too.
        self._signal_group(signal.SIGKILL)
        for drain, pipe in ((self.stdout, self.process.stdout), (self.stderr, self.process.stderr)):
            drain.wait_closed(0.5)
            pipe.close()
        if self.scratch is not None:
            self.scratch.cleanup()
            self.scratch = None

    def _signal_group(self, signum: int) -> None:
        try:
            os.killpg(self.process.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass

    def __enter__(self) -> "ServerProcess":
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


def launch_server(
    chapter_slug: str,
    impl: str | os.PathLike = "solutions",
    args: list[str] | tuple[str, ...] = (),
    workdir: str | os.PathLike | None = None,
    timeout: float = START_TIMEOUT,
    unbuffered: bool = True,
) -> ServerProcess:
    """Start `python -m <chapter_slug> --port 0 *args` from `impl` and wait for it to listen."""
    impl_dir = resolve_impl(impl, chapter_slug)
    scratch = None
    if workdir is None:
        scratch = tempfile.TemporaryDirectory(prefix="httpfs-server-")
        workdir = scratch.name
    server = ServerProcess(impl_dir, chapter_slug, [str(a) for a in args], Path(workdir), unbuffered)
    server.scratch = scratch  # removed when the server stops
    server.wait_until_listening(timeout)
    return server


def indent(text: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())
