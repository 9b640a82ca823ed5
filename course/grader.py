"""Grade one implementation against one chapter's suite.

Strategy: the suite runs in a child pytest process (the course plugin writes every collected
test, then every result, to a JSON-lines record), so a submission that crashes, hangs or
floods output can never take the grader down with it. Scores are computed from the record:
a test that failed, errored, timed out, was skipped, or never ran scores 0 and stays in the
total; only a test skipped for a tool the machine lacks leaves the total. The table groups
tests by task; results.json has the Gradescope shape. The child runs through
`isolation.run_capped`: its own session, a cap per test (pytest-timeout) and per suite (the
whole process group is killed), bounded output, and every process it left behind killed. A
submission given by path is graded from a scratch copy (`batch.grade_submission`), the way
the batch grader and the Gradescope bundle grade every submission.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .chapters import REPO_ROOT, Chapter
from .isolation import run_capped

if TYPE_CHECKING:
    from .isolation import Sandbox

SUITE_TIMEOUT = 300  # seconds for a whole suite, whatever the submission does
TEST_TIMEOUT = 20  # seconds for any one test


@dataclass
class TestResult:
    nodeid: str
    name: str
    title: str
    task: str
    points: int
    wire: bool
    outcome: str = "not run"
    output: str = ""
    duration: float = 0.0

    @property
    def counts(self) -> bool:
        """Whether the test is in the total: all are, except those skipped for a missing tool."""
        return self.outcome != "missing-tool"

    @property
    def score(self) -> int:
        return self.points if self.outcome == "passed" else 0


@dataclass
class Grade:
    chapter: Chapter
    impl: str
    tests: list[TestResult] = field(default_factory=list)
    problem: str = ""  # what went wrong with the run itself, if anything
    notes: dict = field(default_factory=dict, repr=False)  # what the grading plugin noticed (servers, output)
    run: object = field(default=None, repr=False)  # the isolation.RunResult of the child pytest, if any

    @property
    def score(self) -> int:
        return sum(test.score for test in self.tests if test.counts)

    @property
    def max_score(self) -> int:
        return sum(test.points for test in self.tests if test.counts)

    @property
    def full_marks(self) -> bool:
        return not self.problem and self.max_score > 0 and self.score == self.max_score


@dataclass
class Limits:
    """Time caps for one grading run: per test (pytest-timeout) and for the whole suite."""

    test_timeout: float = TEST_TIMEOUT
    suite_timeout: float = SUITE_TIMEOUT
    start_timeout: float | None = None  # seconds a server has to print its Listening line

    @property
    def server_start_timeout(self) -> float:
        """The start timeout: as asked, else the harness's, but always well inside one test's cap
        (a start cut short by the test timeout would not count towards failing fast)."""
        from .harness import START_TIMEOUT

        return self.start_timeout or min(START_TIMEOUT, max(2.0, self.test_timeout / 2))


def suite_paths(chapter: Chapter, suites: list[Chapter] | None = None, hidden: str | os.PathLike | None = None) -> list[str]:
    """The test folders to run: each suite's tests/chNN_slug/, plus its hidden tests if any."""
    paths = []
    for suite in suites or [chapter]:
        paths.append(str(REPO_ROOT / "tests" / suite.slug))
        if hidden and (Path(hidden) / suite.slug).is_dir():
            paths.append(str(Path(hidden).resolve() / suite.slug))
    return paths


def pytest_command(
    chapter: Chapter,
    impl: str,
    report: Path,
    wire_only: bool,
    suites: list[Chapter] | None = None,
    extra_args: tuple[str, ...] = (),
    *,
    limits: Limits | None = None,
    notes: Path | None = None,
    hidden: str | os.PathLike | None = None,
    basetemp: Path | None = None,
    capture: bool = True,
) -> list[str]:
    limits = limits or Limits()
    command = [
        sys.executable, "-m", "pytest", *suite_paths(chapter, suites, hidden),
        "--rootdir", str(REPO_ROOT),
        "-p", "course.pytest_plugin",  # also for hidden tests, which sit outside tests/
        "-p", "course.grading_plugin",
        "--impl", impl,
        "--chapter", str(chapter.number),
        "--course-report", str(report),
        "--timeout", f"{limits.test_timeout:g}",
        "-o", "addopts=",
        # Plugins a grading run never uses; loading them costs seconds per run.
        "-p", "no:nbmake", "-p", "no:xdist",
        "-p", "no:cacheprovider",
        "-q", "--tb=short", "--color=no",
    ]
    if notes is not None:
        command += ["--course-notes", str(notes)]
    command += ["--course-start-timeout", f"{limits.server_start_timeout:g}"]
    if basetemp is not None:
        command += ["--basetemp", str(basetemp)]
    if not capture:
        # A submission imported by a unit test may flood stdout: let it go to our bounded
        # drain instead of pytest's capture files.
        command += ["--capture=no"]
    if wire_only:
        command += ["-m", "wire"]
    return command + list(extra_args)


def read_record(path: Path) -> list[TestResult]:
    tests: dict[str, TestResult] = {}
    if not path.exists():
        return []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
            kind, nodeid = record["kind"], record["nodeid"]
        except (json.JSONDecodeError, KeyError, TypeError):
            continue  # a line cut short when the test process died
        if kind == "collected":
            tests[nodeid] = TestResult(
                nodeid, record["name"], record["title"], record["task"] or "", record["points"], record["wire"]
            )
        elif nodeid in tests:
            result = tests[nodeid]
            result.outcome, result.output, result.duration = record["outcome"], record["output"], record["duration"]
    for result in tests.values():
        if result.outcome == "not run":
            result.output = "This test never finished: the test process stopped (crashed or was killed) before it."
    return list(tests.values())


def read_notes(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def run_suite(
    chapter: Chapter,
    impl: str,
    wire_only: bool = False,
    suites: list[Chapter] | None = None,
    verbose: bool = False,
    extra_args: tuple[str, ...] = (),
    *,
    limits: Limits | None = None,
    hidden: str | os.PathLike | None = None,
    sandbox: "Sandbox | None" = None,
) -> Grade:
    """Run the chapter's suite (or `suites`) against `impl` and collect the grade.

    `extra_args` go to pytest as they are (the course checks pass `-x` to stop early).
    The child pytest runs in a session of its own: when `limits.suite_timeout` is hit, its
    whole process group is killed, and afterwards every process it started (found by a token
    in their environment) is killed too, so nothing a submission starts outlives its grading.
    With a `sandbox` the run uses the sandbox's HOME, TMPDIR and working directory.
    """
    limits = limits or Limits()
    grade = Grade(chapter, impl)
    with tempfile.TemporaryDirectory(prefix="httpfs-grade-") as scratch:
        report = Path(scratch) / "record.jsonl"
        notes_path = Path(scratch) / "notes.json"
        command = pytest_command(
            chapter, impl, report, wire_only, suites, extra_args,
            limits=limits, notes=notes_path, hidden=hidden,
            basetemp=sandbox.tmp / "pytest" if sandbox else None,
            capture=sandbox is None,
        )
        if sandbox is not None:
            env, cwd, token, root = sandbox.env(), sandbox.work, sandbox.token, sandbox.root
        else:
            env, cwd, token, root = dict(os.environ, PYTHONDONTWRITEBYTECODE="1"), REPO_ROOT, secrets.token_hex(12), None
        # The grader's own package must be importable whatever the working directory.
        env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
        run = run_capped(
            command, cwd=cwd, env=env, timeout=limits.suite_timeout, token=token, sandbox_root=root, show_output=verbose
        )
        grade.run = run
        if run.timed_out:
            grade.problem = f"the suite did not finish within {limits.suite_timeout:g} s and was stopped"
        elif run.returncode not in (0, 1):
            grade.problem = f"pytest exited with status {run.returncode}" + (f":\n{tail(run.output, 40)}" if run.output else "")
        grade.tests = read_record(report)
        grade.notes = read_notes(notes_path)
    if not grade.tests and not grade.problem:
        grade.problem = "no tests were collected"
    return grade


def tail(text: str, lines: int) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


# ---------------------------------------------------------------------------------------------
# Output


def task_rows(grade: Grade) -> list[tuple[str, str, str, str]]:
    rows = []
    for task_id, title in grade.chapter.tasks.items():
        tests = [t for t in grade.tests if t.task == task_id and t.counts]
        if not tests:
            continue
        passed = sum(t.outcome == "passed" for t in tests)
        rows.append((task_id, title, f"{passed}/{len(tests)}", f"{sum(t.score for t in tests)}/{sum(t.points for t in tests)}"))
    return rows


def render_table(grade: Grade) -> str:
    rows = task_rows(grade)
    width = max([len(title) for _, title, _, _ in rows] + [20])
    lines = [
        f"Chapter {grade.chapter.number} · {grade.chapter.title} — graded against {grade.impl}",
        "",
        f"  {'task':<5} {'':<{width}}  {'tests':>7}  {'points':>7}",
    ]
    for task_id, title, tests, points in rows:
        mark = "✓" if tests.split("/")[0] == tests.split("/")[1] else "✗"
        lines.append(f"{mark} {task_id:<5} {title:<{width}}  {tests:>7}  {points:>7}")
    lines.append(f"  {'':<5} {'total':<{width}}  {'':>7}  {grade.score:>3}/{grade.max_score:<3}")
    skipped = [t for t in grade.tests if not t.counts]
    if skipped:
        lines.append(f"\n{len(skipped)} test(s) skipped because this machine lacks a tool (not counted):")
        lines += [f"  - {t.title}: {t.output}" for t in skipped]
    return "\n".join(lines)


def render_failures(grade: Grade, limit_lines: int = 60) -> str:
    failed = [t for t in grade.tests if t.counts and t.outcome != "passed"]
    blocks = []
    first_with_output: dict[str, TestResult] = {}
    for test in failed:
        body = test.output.strip() or f"({test.outcome})"
        if body in first_with_output:
            body = f"(the same failure as «{first_with_output[body].title}» above)"
        else:
            first_with_output[body] = test
        body_lines = body.splitlines()
        if len(body_lines) > limit_lines:
            body = "\n".join(body_lines[:limit_lines] + [f"[... {len(body_lines) - limit_lines} more lines ...]"])
        blocks.append(f"✗ {test.task} · {test.title} [{test.outcome}, 0/{test.points}]\n{textwrap.indent(body, '  ')}")
    return "\n\n".join(blocks)


def results_json(grade: Grade, started: float, hidden_visibility: str = "after_published") -> dict:
    """Gradescope's results.json shape: score, max_score, tests[] with name/score/max_score/output.

    Hidden tests (those outside tests/, see `--hidden`) get `hidden_visibility`.
    """
    tests = []
    for test in grade.tests:
        task_title = grade.chapter.task_title(test.task)
        tests.append(
            {
                "name": f"{test.task} {task_title}: {test.title}",
                "number": test.task,
                # A test skipped for a tool the machine lacks is listed, but out of the total.
                "score": test.score if test.counts else 0,
                "max_score": test.points if test.counts else 0,
                "status": "passed" if test.outcome == "passed" else "failed",
                "output": test.output if test.outcome != "passed" else "",
                "tags": ["wire" if test.wire else "unit", f"task {test.task}"],
                "visibility": "visible" if test.nodeid.startswith("tests/") else hidden_visibility,
            }
        )
    result = {
        "score": grade.score,
        "max_score": grade.max_score,
        "execution_time": round(time.time() - started, 2),
        "output": f"Chapter {grade.chapter.number} ({grade.chapter.slug}) graded against {grade.impl}."
        + (f"\nThe run itself had a problem: {grade.problem}" if grade.problem else ""),
        "tests": tests,
    }
    return result


def grade_command(
    chapter: Chapter,
    impl: str,
    wire_only: bool,
    results_path: str | None,
    verbose: bool,
    *,
    hidden: str | None = None,
    limits: Limits | None = None,
) -> int:
    """Grade one implementation and print the table. A submission given by path (not
    `chapters` or `solutions`) is graded from a scratch copy, as the batch grader does."""
    started = time.time()
    status_note = ""
    if impl in ("chapters", "solutions"):
        grade = run_suite(chapter, impl, wire_only=wire_only, verbose=verbose, hidden=hidden, limits=limits)
    else:
        from .batch import BatchOptions, grade_submission

        options = BatchOptions(chapter, wire_only, hidden, limits or Limits())
        result = grade_submission(Path(impl).expanduser(), options, verbose=verbose)
        grade = result.grade
        grade.impl = impl
        if result.flags:
            status_note = f"\nFlagged ({', '.join(result.flags)}): {result.message}"
    print(render_table(grade))
    failures = render_failures(grade)
    if failures:
        print("\nWhat failed, and what to read:\n")
        print(failures)
    if grade.problem:
        print(f"\nThe grading run itself had a problem: {grade.problem}")
    if status_note:
        print(status_note)
    if results_path:
        Path(results_path).parent.mkdir(parents=True, exist_ok=True)
        Path(results_path).write_text(json.dumps(results_json(grade, started), indent=2) + "\n", encoding="utf-8")
        print(f"\nWrote {results_path}")
    verdict = "Full marks." if grade.full_marks else f"{grade.score}/{grade.max_score} points."
    print(f"\n{verdict}")
    return 0 if grade.full_marks else 1
