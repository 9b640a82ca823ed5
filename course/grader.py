"""Grade one implementation against one chapter's suite.

Strategy: the suite runs in a child pytest process (the course plugin writes every collected
test, then every result, to a JSON-lines record), so a submission that crashes, hangs or
floods output can never take the grader down with it. Scores are computed from the record:
a test that failed, errored, timed out, was skipped, or never ran scores 0 and stays in the
total; only a test skipped for a tool the machine lacks leaves the total. The table groups
tests by task; results.json has the Gradescope shape.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

from .chapters import REPO_ROOT, Chapter

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

    @property
    def score(self) -> int:
        return sum(test.score for test in self.tests if test.counts)

    @property
    def max_score(self) -> int:
        return sum(test.points for test in self.tests if test.counts)

    @property
    def full_marks(self) -> bool:
        return not self.problem and self.max_score > 0 and self.score == self.max_score


def pytest_command(
    chapter: Chapter, impl: str, report: Path, wire_only: bool, suites: list[Chapter] | None = None, extra_args: tuple[str, ...] = ()
) -> list[str]:
    paths = [str(REPO_ROOT / "tests" / suite.slug) for suite in (suites or [chapter])]
    command = [
        sys.executable, "-m", "pytest", *paths,
        "--impl", impl,
        "--chapter", str(chapter.number),
        "--course-report", str(report),
        "--timeout", str(TEST_TIMEOUT),
        "-o", "addopts=",
        "-p", "no:cacheprovider",
        "-q", "--tb=short", "--color=no",
    ]
    if wire_only:
        command += ["-m", "wire"]
    return command + list(extra_args)


def read_record(path: Path) -> list[TestResult]:
    tests: dict[str, TestResult] = {}
    if not path.exists():
        return []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut short when the test process died
        if record["kind"] == "collected":
            tests[record["nodeid"]] = TestResult(
                record["nodeid"], record["name"], record["title"], record["task"] or "", record["points"], record["wire"]
            )
        elif record["nodeid"] in tests:
            result = tests[record["nodeid"]]
            result.outcome, result.output, result.duration = record["outcome"], record["output"], record["duration"]
    for result in tests.values():
        if result.outcome == "not run":
            result.output = "This test never finished: the test process stopped (crashed or was killed) before it."
    return list(tests.values())


def run_suite(
    chapter: Chapter,
    impl: str,
    wire_only: bool = False,
    suites: list[Chapter] | None = None,
    verbose: bool = False,
    extra_args: tuple[str, ...] = (),
) -> Grade:
    """Run the chapter's suite (or `suites`) against `impl` and collect the grade.

    `extra_args` go to pytest as they are (the course checks pass `-x` to stop early).
    """
    grade = Grade(chapter, impl)
    with tempfile.TemporaryDirectory(prefix="httpfs-grade-") as scratch:
        report = Path(scratch) / "record.jsonl"
        command = pytest_command(chapter, impl, report, wire_only, suites, extra_args)
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        try:
            completed = subprocess.run(
                command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                timeout=SUITE_TIMEOUT, start_new_session=True,
            )
            output = completed.stdout.decode("utf-8", "replace")
            if completed.returncode not in (0, 1):
                grade.problem = f"pytest exited with status {completed.returncode}:\n{tail(output, 40)}"
        except subprocess.TimeoutExpired as expired:
            output = (expired.stdout or b"").decode("utf-8", "replace")
            grade.problem = f"the suite did not finish within {SUITE_TIMEOUT} s and was stopped"
        if verbose:
            print(output)
        grade.tests = read_record(report)
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


def results_json(grade: Grade, started: float) -> dict:
    """Gradescope's results.json shape: score, max_score, tests[] with name/score/max_score/output."""
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
                "visibility": "visible",
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


def grade_command(chapter: Chapter, impl: str, wire_only: bool, results_path: str | None, verbose: bool) -> int:
    started = time.time()
    grade = run_suite(chapter, impl, wire_only=wire_only, verbose=verbose)
    print(render_table(grade))
    failures = render_failures(grade)
    if failures:
        print("\nWhat failed, and what to read:\n")
        print(failures)
    if grade.problem:
        print(f"\nThe grading run itself had a problem: {grade.problem}")
    if results_path:
        Path(results_path).parent.mkdir(parents=True, exist_ok=True)
        Path(results_path).write_text(json.dumps(results_json(grade, started), indent=2) + "\n", encoding="utf-8")
        print(f"\nWrote {results_path}")
    verdict = "Full marks." if grade.full_marks else f"{grade.score}/{grade.max_score} points."
    print(f"\n{verdict}")
    return 0 if grade.full_marks else 1
