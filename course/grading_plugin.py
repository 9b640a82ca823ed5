"""A pytest plugin the grader adds to every graded run: fail fast on dead servers, take notes.

Strategy: the course plugin (`course.pytest_plugin`) starts the server under test through
`launch_server` for every test that needs one. When a server does not print its `Listening
on` line before the start timeout, every later test would wait the same timeout again; this
plugin wraps `launch_server` so that, after two such timeouts in a row (one could be a
machine too busy for a moment), later starts fail at once with the same message (a test still scores 0 for it, it just does not cost another wait). It also
writes notes for the grader (`--course-notes FILE`, one JSON object): how many servers were
started and the most any of them wrote to stdout and stderr, so a submission that floods its
output can be told apart from one that is merely wrong.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from . import pytest_plugin
from .harness import START_TIMEOUT, ServerDidNotStart, ServerProcess

_state = {
    "servers_started": 0,
    "start_failures": 0,
    "start_timeouts": 0,
    "max_output_bytes": 0,
    "start_timeout": START_TIMEOUT,
    "first_timeout": "",
    "timeouts_in_a_row": 0,
}
TIMEOUTS_BEFORE_GIVING_UP = 2
_servers: list[ServerProcess] = []


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("course-grading", "HTTP from Scratch grader")
    group.addoption("--course-notes", default=None, help="write notes about the run (servers, output) to this file")
    group.addoption("--course-start-timeout", type=float, default=None, help="seconds a server has to print its Listening line")


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--course-start-timeout"):
        _state["start_timeout"] = config.getoption("--course-start-timeout")
    original = pytest_plugin.launch_server
    if getattr(original, "_course_guarded", False):
        return

    def guarded_launch(chapter_slug, impl="solutions", args=(), workdir=None, timeout=None, **options):
        timeout = _state["start_timeout"] if timeout is None else timeout
        if _state["timeouts_in_a_row"] >= TIMEOUTS_BEFORE_GIVING_UP:
            _state["start_failures"] += 1
            raise ServerDidNotStart(
                _state["first_timeout"] + "\n(Not started again for this test: it did not start in time in the earlier tests.)"
            )
        started = time.monotonic()
        try:
            server = original(chapter_slug, impl, args, workdir=workdir, timeout=timeout, **options)
        except ServerDidNotStart as error:
            _state["start_failures"] += 1
            if time.monotonic() - started >= timeout * 0.9:  # it hung rather than failed
                _state["start_timeouts"] += 1
                _state["timeouts_in_a_row"] += 1
                _state["first_timeout"] = str(error)
            else:
                _state["timeouts_in_a_row"] = 0
            raise
        _state["timeouts_in_a_row"] = 0
        _state["servers_started"] += 1
        _servers.append(server)
        return server

    guarded_launch._course_guarded = True
    pytest_plugin.launch_server = guarded_launch


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    _measure()


def _measure() -> None:
    for server in _servers:
        output = server.stdout.total + server.stderr.total
        _state["max_output_bytes"] = max(_state["max_output_bytes"], output)
    del _servers[:]


def pytest_sessionfinish(session: pytest.Session) -> None:
    _measure()
    path = session.config.getoption("--course-notes")
    if path:
        notes = {key: value for key, value in _state.items() if key not in ("first_timeout", "timeouts_in_a_row")}
        Path(path).write_text(json.dumps(notes) + "\n", encoding="utf-8")
