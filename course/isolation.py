"""Run untrusted grading work in a child process that can be capped, cleaned up and watched.

Strategy: every grading run gets a `Sandbox`, a scratch folder with its own copy of the
submission, HOME, TMPDIR and working directory, and a random token put in the environment
of the child. The child (a pytest process that starts the student's server) runs in a
session of its own with a file-size limit; its output is drained into a bounded buffer; when
its time cap is hit its whole process group is killed. Afterwards every process that still
carries the token in its environment, or whose working directory is inside the sandbox, is
stopped and killed (Linux: found by scanning /proc), and a batch grader that made itself a
child subreaper also kills the orphans that slipped out of both nets. Writes outside the
submission's own folder but inside the sandbox (the sandbox root, HOME) are reported by
comparing listings before and after. None of this is an OS-level sandbox: a submission runs
as the grading user and can still reach absolute paths and the network (see the instructor
guide for what is and is not enforced).
"""

from __future__ import annotations

import ctypes
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .harness import PipeDrain

TOKEN_VARIABLE = "COURSE_GRADING_TOKEN"
FILE_SIZE_LIMIT = 256 * 1024 * 1024  # no file written by a graded process grows past this
COPY_LIMIT = 50 * 1024 * 1024  # a submission larger than this is not copied (nor graded)
OUTPUT_KEEP = 64 * 1024  # bytes of the child's own output kept for messages
SKIPPED_IN_COPY = {".git", "__pycache__", ".venv", "venv", "node_modules", ".mypy_cache", ".pytest_cache", ".ipynb_checkpoints"}

LAUNCHER = Path(__file__).with_name("launcher.py")  # limits, subreaper, leftover cleanup
STOP_GRACE = 3.0  # seconds the launcher has to clean up after SIGTERM before its group is killed


class SubmissionTooLarge(Exception):
    """The submission folder holds more than COPY_LIMIT bytes (after skipping caches and VCS)."""


# ---------------------------------------------------------------------------------------------
# Processes


@dataclass
class Leftover:
    pid: int
    command: str


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as stream:
            return stream.read()
    except OSError:
        return b""


def process_command(pid: int) -> str:
    return _read(f"/proc/{pid}/cmdline").replace(b"\0", b" ").decode("utf-8", "replace").strip()


def parent_pid(pid: int) -> int | None:
    stat = _read(f"/proc/{pid}/stat")
    try:
        return int(stat[stat.rindex(b")") + 2 :].split()[1])
    except (ValueError, IndexError):
        return None


def all_pids() -> list[int]:
    try:
        return [int(name) for name in os.listdir("/proc") if name.isdigit()]
    except OSError:  # no /proc (macOS): only process groups can be cleaned up
        return []


def marked_processes(token: str, root: Path | None = None) -> list[int]:
    """Processes carrying `token` in their environment, or working inside `root`."""
    marker = f"{TOKEN_VARIABLE}={token}".encode()
    own = os.getpid()
    found = []
    root_text = str(root) if root else None
    for pid in all_pids():
        if pid == own:
            continue
        if marker in _read(f"/proc/{pid}/environ").split(b"\0"):
            found.append(pid)
            continue
        if root_text:
            try:
                cwd = os.readlink(f"/proc/{pid}/cwd")
            except OSError:
                continue
            if cwd == root_text or cwd.startswith(root_text + os.sep):
                found.append(pid)
    return found


def _kill_all(pids: list[int]) -> None:
    # Stop them all first, so none can fork a replacement between our kills.
    for signum in (signal.SIGSTOP, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, signum)
            except (ProcessLookupError, PermissionError):
                pass
    for pid in pids:
        _reap(pid)


def _reap(pid: int) -> None:
    """Collect the exit status of `pid` if it is our child (an orphan we adopted)."""
    for _ in range(20):
        try:
            done, _status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return
        if done:
            return
        time.sleep(0.01)


def sweep(token: str, root: Path | None = None, rounds: int = 50) -> list[Leftover]:
    """Kill every process marked by `token` (or working in `root`) until none is left."""
    killed: dict[int, Leftover] = {}
    for _ in range(rounds):
        pids = marked_processes(token, root)
        if not pids:
            break
        for pid in pids:
            killed.setdefault(pid, Leftover(pid, process_command(pid)))
        _kill_all(pids)
    return list(killed.values())


def kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class ChildTracker:
    """Knows which of our direct children are grading runs, so adopted orphans can be killed.

    A process that made itself a child subreaper (`become_subreaper`) inherits every orphan
    among its descendants: a server's grandchild that daemonized, cleared its environment
    and left the sandbox still ends up as our child, and `kill_orphans` ends it.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running: set[int] = set()
        self.subreaper = False

    def start(self, command: list[str], **popen_arguments) -> subprocess.Popen:
        with self.lock:  # an orphan sweep never runs between fork and registration
            process = subprocess.Popen(command, **popen_arguments)
            self.running.add(process.pid)
        return process

    def finished(self, process: subprocess.Popen) -> None:
        with self.lock:
            self.running.discard(process.pid)

    def kill_orphans(self) -> list[Leftover]:
        if not self.subreaper:
            return []
        own = os.getpid()
        with self.lock:
            orphans = [pid for pid in all_pids() if pid not in self.running and parent_pid(pid) == own]
            found = [Leftover(pid, process_command(pid)) for pid in orphans]
            _kill_all(orphans)
        return [leftover for leftover in found if leftover.command]  # zombies have no command


TRACKER = ChildTracker()


def become_subreaper() -> bool:
    """Make this process adopt orphaned descendants (Linux PR_SET_CHILD_SUBREAPER)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        TRACKER.subreaper = libc.prctl(36, 1, 0, 0, 0) == 0  # 36 = PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        TRACKER.subreaper = False
    return TRACKER.subreaper


@dataclass
class RunResult:
    returncode: int | None
    output: str  # the head and the tail of what the child printed
    output_bytes: int
    timed_out: bool
    seconds: float
    leftovers: list[Leftover] = field(default_factory=list)


def run_capped(
    command: list[str],
    *,
    cwd: Path,
    env: dict[str, str],
    timeout: float,
    token: str,
    sandbox_root: Path | None = None,
    show_output: bool = False,
) -> RunResult:
    """Run `command` in its own session with a file-size limit; kill it all at `timeout`.

    With `show_output` the child writes to our stdout (a student grading in a terminal);
    otherwise its output is drained into a bounded buffer.
    """
    env = dict(env, **{TOKEN_VARIABLE: token})
    with tempfile.TemporaryDirectory(prefix="httpfs-run-") as private:
        leftovers_file = Path(private) / "leftovers.txt"
        launched = [sys.executable, str(LAUNCHER), str(FILE_SIZE_LIMIT), str(leftovers_file), *command]
        started = time.monotonic()
        process = TRACKER.start(
            launched,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=None if show_output else subprocess.PIPE,
            stderr=None if show_output else subprocess.STDOUT,
            start_new_session=True,
        )
        drain = None if show_output else PipeDrain(process.stdout, keep=OUTPUT_KEEP)
        timed_out = False
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            # The launcher kills the command and the orphans it adopted, then exits...
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(STOP_GRACE)
            except subprocess.TimeoutExpired:
                pass
            kill_group(process.pid)  # ...or, if it cannot, its whole process group dies now.
            process.wait()
        finally:
            TRACKER.finished(process)
        # The servers live in sessions of their own: a killed pytest leaves them behind, and a
        # submission may have forked more. The token finds them all (and the group the rest).
        kill_group(process.pid)
        leftovers = [
            Leftover(int(pid), command_text)
            for pid, _, command_text in (line.partition("\t") for line in _read(str(leftovers_file)).decode("utf-8", "replace").splitlines())
            if pid.isdigit()
        ]
        leftovers += sweep(token, sandbox_root)
    output, total = "", 0
    if drain is not None:
        drain.wait_closed(2.0)
        output, total = _head_and_tail(drain), drain.total
        process.stdout.close()
    # A timed-out run's killed test process shows up as a leftover of its own: not the submission's.
    leftovers = [leftover for leftover in leftovers if " -m pytest " not in f" {leftover.command} "]
    return RunResult(process.returncode, output, total, timed_out, time.monotonic() - started, leftovers)


def _head_and_tail(drain: PipeDrain) -> str:
    tail = drain.text()
    if drain.total <= OUTPUT_KEEP:
        return tail
    head = bytes(drain._head).decode("utf-8", "replace")  # noqa: SLF001 - the first 4 KiB
    return f"{head}\n[... {drain.total - len(head)} bytes in between not kept ...]\n{tail}"


# ---------------------------------------------------------------------------------------------
# Files


def _listing(root: Path, skip: set[Path]) -> dict[str, tuple[int, int]]:
    found: dict[str, tuple[int, int]] = {}
    for folder, folders, files in os.walk(root):
        here = Path(folder)
        folders[:] = [name for name in folders if here / name not in skip]
        for name in files + [name for name in folders if (here / name).is_symlink()]:
            path = here / name
            try:
                info = path.lstat()
            except OSError:
                continue
            found[str(path.relative_to(root))] = (info.st_size, info.st_mtime_ns)
    return found


def tree_listing(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under `root` with its size and modification time, to compare later."""
    return _listing(root, set())


def changes(before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]) -> list[str]:
    added = [f"+ {path}" for path in sorted(after.keys() - before.keys())]
    removed = [f"- {path}" for path in sorted(before.keys() - after.keys())]
    changed = [f"~ {path}" for path in sorted(before.keys() & after.keys()) if before[path] != after[path]]
    return added + removed + changed


class Sandbox:
    """A scratch folder for one grading run.

        root/
          submission/   a copy of the submission: its own folder, it may write there
          home/         HOME
          tmp/          TMPDIR (pytest's temporary folders and the servers' working folders)
          work/         the working directory of the test process
    """

    def __init__(self, base: Path | None = None):
        self.root = Path(tempfile.mkdtemp(prefix="httpfs-sandbox-", dir=base)).resolve()
        self.submission = self.root / "submission"
        self.home = self.root / "home"
        self.tmp = self.root / "tmp"
        self.work = self.root / "work"
        for folder in (self.submission, self.home, self.tmp, self.work):
            folder.mkdir()
        self.token = secrets.token_hex(12)
        self.ignored_links: list[str] = []
        self._before: dict[str, tuple[int, int]] = {}

    def copy_in(self, source: Path, into: Path | None = None) -> Path:
        """Copy the submission (caches and VCS folders skipped, size capped) into the sandbox."""
        target = into or self.submission
        copied = 0

        def copy_file(src: str, dst: str) -> None:
            nonlocal copied
            copied += os.lstat(src).st_size
            if copied > COPY_LIMIT:
                raise SubmissionTooLarge(f"the submission holds more than {COPY_LIMIT // 2**20} MB of files")
            shutil.copy2(src, dst, follow_symlinks=False)

        ignore = shutil.ignore_patterns(*SKIPPED_IN_COPY)
        shutil.copytree(source, target, symlinks=True, ignore=ignore, copy_function=copy_file, dirs_exist_ok=True)
        self._drop_escaping_links(target)
        return target

    def _drop_escaping_links(self, target: Path) -> None:
        """A symlink out of the submission could point at another student's folder: drop it."""
        for folder, folders, files in os.walk(target):
            for name in folders + files:
                path = Path(folder) / name
                if path.is_symlink():
                    resolved = path.resolve()
                    if resolved != target and target not in resolved.parents:
                        path.unlink()
                        self.ignored_links.append(str(path.relative_to(target)))

    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        env = dict(os.environ if base is None else base)
        # Keep packages installed with `pip install --user` importable under the new HOME.
        import site

        env.setdefault("PYTHONUSERBASE", site.getuserbase())
        env.update(
            HOME=str(self.home),
            TMPDIR=str(self.tmp),
            TMP=str(self.tmp),
            TEMP=str(self.tmp),
            PYTHONDONTWRITEBYTECODE="1",
        )
        for name in ("PYTHONSTARTUP", "PYTHONINSPECT", "COURSE_IMPL"):
            env.pop(name, None)
        return env

    def remember(self) -> None:
        """Take the listing that `outside_writes` compares against (after copying in)."""
        self._before = self._outside_listing()

    def _outside_listing(self) -> dict[str, tuple[int, int]]:
        return _listing(self.root, {self.submission, self.tmp, self.work})

    def outside_writes(self) -> list[str]:
        """Files created, removed or changed in the sandbox outside the submission's own folder."""
        return changes(self._before, self._outside_listing())

    def cleanup(self) -> None:
        def make_writable(function, path, _error):
            try:
                os.chmod(path, 0o700)
                function(path)
            except OSError:
                pass

        shutil.rmtree(self.root, onerror=make_writable)

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc_info) -> None:
        self.cleanup()
