"""The pytest side of grading: options, markers, server fixtures, and the results record.

Strategy: every graded test carries `points(n)` and `task("N.k")` markers (checked at
collection). Fixtures start the implementation under test through the launch contract and
hand tests a `TestServer` whose connections know the test's task, so failures name the hint
to read. Failures are reported as the student-facing message alone, followed by what the
server wrote to stderr during the test. With `--course-report FILE`, every collected test is
written first and every result as it finishes (JSON lines), so a grader can count a test
that never ran (the test process died) as 0 instead of dropping it.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import shutil
import sys
import time
from pathlib import Path

import pytest

from .chapters import CHAPTERS, Chapter, get_chapter
from .harness import ImplementationNotFound, ServerDidNotStart, ServerProcess, launch_server, resolve_impl
from .wire import Connection, Hint, WireFailure

MISSING_TOOL = "missing tool:"
_course_report: "CourseReport | None" = None


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("course", "HTTP from Scratch grading")
    group.addoption(
        "--impl",
        default=os.environ.get("COURSE_IMPL", "chapters"),
        help="what to test: chapters (your work, the default), solutions, or a folder holding chNN_slug/ packages",
    )
    group.addoption(
        "--chapter",
        type=int,
        default=None,
        help="run every selected suite against this chapter's package (default: each suite's own chapter)",
    )
    group.addoption("--course-report", default=None, help="write each test's result to this file (JSON lines)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "points(n): how many points the test is worth")
    config.addinivalue_line("markers", "task(id): the numbered task the test grades, e.g. task('2.3')")
    config.addinivalue_line("markers", "wire: talks to the server over a socket through the launch contract only")
    bypass_proxies_for_loopback()
    global _course_report
    report_path = config.getoption("--course-report")
    _course_report = CourseReport(Path(report_path)) if report_path else None


def bypass_proxies_for_loopback() -> None:
    """Tests talk to 127.0.0.1 only. A proxy set in the environment (http_proxy, common on
    campus machines) would send curl, requests and httpx elsewhere: exempt the loopback."""
    for name in ("no_proxy", "NO_PROXY"):
        hosts = [host for host in os.environ.get(name, "").split(",") if host]
        os.environ[name] = ",".join(hosts + [host for host in ("127.0.0.1", "localhost") if host not in hosts])


# ---------------------------------------------------------------------------------------------
# Which chapter and implementation a test runs against


def suite_chapter(node: pytest.Item | pytest.Collector) -> Chapter | None:
    """The chapter whose suite holds this test (tests/chNN_slug/...), or None."""
    slugs = {chapter.slug: chapter for chapter in CHAPTERS}
    for part in Path(str(node.path)).parent.parts:
        if part in slugs:
            return slugs[part]
    return None


def target_chapter(node: pytest.Item) -> Chapter:
    chosen = node.config.getoption("--chapter")
    if chosen is not None:
        return get_chapter(chosen)
    chapter = suite_chapter(node)
    if chapter is None:
        raise pytest.UsageError(f"{node.nodeid} is not in a chapter's suite; pass --chapter N")
    return chapter


def marker_value(item: pytest.Item, name: str):
    marker = item.get_closest_marker(name)
    return marker.args[0] if marker and marker.args else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        chapter = suite_chapter(item)
        if chapter is None:
            continue
        points, task = marker_value(item, "points"), marker_value(item, "task")
        if not isinstance(points, int) or points <= 0:
            raise pytest.UsageError(f"{item.nodeid}: every graded test needs @pytest.mark.points(n) with n > 0")
        if task not in chapter.tasks:
            raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.task({task!r}) is not a task of chapter {chapter.number}")


def pytest_collection_finish(session: pytest.Session) -> None:
    if _course_report is not None:
        _course_report.write_collected(session.items)


# ---------------------------------------------------------------------------------------------
# Fixtures


class TestServer:
    """A running implementation for one test: connect to it, exchange requests, inspect it."""

    __test__ = False  # not a test class, whatever its name says

    def __init__(self, process: ServerProcess, hint: Hint):
        self.process = process
        self.hint = hint
        # Every server is started for one test, so all it ever wrote belongs to that test:
        # counting from "now" would hide a traceback printed just after the Listening line.
        self.stderr_start = 0
        self._connections: list[Connection] = []

    @property
    def address(self) -> tuple[str, int]:
        return self.process.address

    @property
    def port(self) -> int:
        return self.process.port

    @property
    def url(self) -> str:
        return self.process.url

    def connect(self, timeout: float | None = None) -> Connection:
        try:
            connection = Connection(self.address, hint=self.hint, **({"timeout": timeout} if timeout else {}))
        except OSError as error:
            raise WireFailure(
                f"Expected: the server to accept a TCP connection on {self.url}\n"
                f"Problem: connecting failed: {error}.\n{self.hint.render()}"
            ) from None
        self._connections.append(connection)
        return connection

    def exchange(self, request: bytes, method: str | None = None, expect: str = "a response"):
        """Open a connection, send `request` in one segment, read one response, close.

        Closing at once is what a polite client does: a server that waits for the client to
        close before it closes (to avoid an RST, RFC 9112 §9.6) is not kept waiting.
        """
        with self.connect() as connection:
            connection.send(request)
            method = method or request.split(b" ", 1)[0].decode("latin-1")
            return connection.read_response(method=method, expect=expect)

    def stderr_text(self) -> str:
        self.process.stderr.settle()
        return self.process.stderr.text(self.stderr_start)

    def close_connections(self) -> None:
        for connection in self._connections:
            connection.close()


@pytest.fixture
def chapter(request: pytest.FixtureRequest) -> Chapter:
    """The chapter whose package is under test."""
    return target_chapter(request.node)


@pytest.fixture
def impl_dir(request: pytest.FixtureRequest, chapter: Chapter) -> Path:
    try:
        return resolve_impl(request.config.getoption("--impl"), chapter.slug)
    except ImplementationNotFound as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture
def hint(request: pytest.FixtureRequest) -> Hint:
    task = marker_value(request.node, "task") or ""
    chapter = suite_chapter(request.node)
    if not task or chapter is None:
        return Hint()
    return Hint(task, chapter.task_title(task), chapter.page)


@pytest.fixture
def start_server(request: pytest.FixtureRequest, impl_dir: Path, chapter: Chapter, hint: Hint, tmp_path: Path):
    """Start the implementation under test with extra flags: `start_server("--max-head", "100")`."""
    started: list[TestServer] = []
    request.node._course_servers = started

    def start(*args: str, workdir: Path | None = None, unbuffered: bool = True) -> TestServer:
        try:
            process = launch_server(chapter.slug, impl_dir, list(args), workdir=workdir or tmp_path, unbuffered=unbuffered)
        except ServerDidNotStart as error:
            raise WireFailure(f"{error}\n{hint.render()}") from None
        server = TestServer(process, hint)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close_connections()
        server.process.stop()


@pytest.fixture
def server(start_server) -> TestServer:
    """The implementation under test, started with its default flags."""
    return start_server()


@pytest.fixture
def chapter_module(impl_dir: Path, chapter: Chapter):
    """Import a module of the package under test: `chapter_module("request")`."""

    def load(name: str):
        if str(impl_dir) not in sys.path:
            sys.path.insert(0, str(impl_dir))
        return importlib.import_module(f"{chapter.slug}.{name}")

    return load


# ---------------------------------------------------------------------------------------------
# Reporting


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    excinfo = call.excinfo
    if report.failed and excinfo is not None:
        if excinfo.errisinstance((WireFailure, ServerDidNotStart)):
            report.longrepr = str(excinfo.value)
        elif excinfo.errisinstance(NotImplementedError):
            report.longrepr = (
                f"NotImplementedError: {excinfo.value}\n"
                "This part of your starter is still a TODO: write it, then grade again."
            )
    if report.failed and call.when in ("setup", "call"):
        for index, server in enumerate(getattr(item, "_course_servers", [])):
            text = server.stderr_text().strip()
            title = "server stderr during this test" + (f" (server {index + 1})" if index else "")
            report.sections.append((title, text or "(nothing)"))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if _course_report is not None:
        _course_report.add(report)


def require_tool(path: str, why: str) -> None:
    """Skip, leaving the points total, when the machine lacks a tool: the machine's fault."""
    if not Path(path).exists() and not shutil.which(path):
        missing(f"{path} is not installed on this machine ({why})")


def require_module(name: str, why: str) -> None:
    """Like require_tool, for a Python package that drives a tool (playwright)."""
    if importlib.util.find_spec(name) is None:
        missing(f"the Python package {name} is not installed ({why})")


def missing(what: str) -> None:
    """Skip as the machine's fault; CI sets HTTPFS_REQUIRE_TOOLS=1 so that nothing skips there."""
    if os.environ.get("HTTPFS_REQUIRE_TOOLS"):
        pytest.fail(f"{what}; HTTPFS_REQUIRE_TOOLS is set, so every tool must be present")
    pytest.skip(f"{MISSING_TOOL} {what}")


class CourseReport:
    """Writes one JSON line per collected test, then one per finished test."""

    def __init__(self, path: Path):
        self.path = path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text("")
        self.pending: dict[str, dict] = {}

    def _write(self, record: dict) -> None:
        with self.path.open("a", encoding="utf-8") as stream:
            stream.write(json.dumps(record) + "\n")

    def write_collected(self, items: list[pytest.Item]) -> None:
        for item in items:
            function = getattr(item, "obj", None)
            doc = (getattr(function, "__doc__", None) or "").strip().splitlines()
            title = doc[0] if doc else item.name.replace("_", " ")
            callspec = getattr(item, "callspec", None)
            if callspec is not None:
                title += f" [{callspec.id}]"
            self._write(
                {
                    "kind": "collected",
                    "nodeid": item.nodeid,
                    "name": item.name,
                    "title": title,
                    "task": marker_value(item, "task"),
                    "points": marker_value(item, "points") or 0,
                    "wire": item.get_closest_marker("wire") is not None,
                }
            )

    def add(self, report: pytest.TestReport) -> None:
        state = self.pending.setdefault(report.nodeid, {"outcome": "passed", "output": [], "duration": 0.0})
        state["duration"] += report.duration
        if report.skipped:
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            reason = reason.removeprefix("Skipped: ")
            state["outcome"] = "missing-tool" if reason.startswith(MISSING_TOOL) else "skipped"
            state["output"].append(reason)
        elif report.failed:
            state["outcome"] = "failed" if report.when == "call" else "error"
            text = report.longreprtext
            if report.when != "call":
                text = f"(error during test {report.when})\n{text}"
            state["output"].append(text)
            for title, content in report.sections:
                if title.startswith("server stderr"):
                    state["output"].append(f"--- {title} ---\n{content}")
        if report.when == "teardown":
            state = self.pending.pop(report.nodeid)
            self._write(
                {
                    "kind": "result",
                    "nodeid": report.nodeid,
                    "outcome": state["outcome"],
                    "output": "\n".join(state["output"]),
                    "duration": round(state["duration"], 3),
                    "finished": time.time(),
                }
            )
