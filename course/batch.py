"""Grade a folder of submissions in parallel: one gradebook row and one results.json each.

Strategy: every sub-folder (or .zip file) of the submissions folder is one submission. Each is
copied into a `Sandbox` of its own and graded there by the usual child pytest
(`grader.run_suite`), with a cap per test and per submission; a bounded pool of threads
(default: one per core) keeps that many children running at once. Whatever happens to a
submission (no package, import error, hang, crash, flood, stray processes, writes outside
its folder) it gets a row with a status and a one-line message, and every test it did not
pass scores 0. The test list is collected once up front, so a submission that never ran a
test still lists every test with its points. The grader makes itself a child subreaper, so
processes that escape their submission's process group are adopted and killed too, and it
checks at the end that the submissions folder itself was not changed.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
import zipfile
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from .chapters import Chapter
from .grader import Grade, Limits, TestResult, read_record, render_failures, render_table, results_json, run_suite, tail
from .isolation import (
    COPY_LIMIT,
    TRACKER,
    Sandbox,
    SubmissionTooLarge,
    become_subreaper,
    changes,
    kill_group,
    run_capped,
    sweep,
    tree_listing,
)

BATCH_TEST_TIMEOUT = 10.0
BATCH_SUBMISSION_TIMEOUT = 60.0
FLOOD_BYTES = 8 * 1024 * 1024  # a server that writes more than this in one test is flagged
STATUSES = ("ok", "partial", "zero", "timeout", "crashed", "missing", "error", "not graded")


@dataclass
class BatchOptions:
    chapter: Chapter
    wire_only: bool = False
    hidden: str | None = None
    limits: Limits = field(default_factory=lambda: Limits(BATCH_TEST_TIMEOUT, BATCH_SUBMISSION_TIMEOUT))
    jobs: int = 0  # 0: one per core
    scratch: Path | None = None  # where sandboxes are made (default: the system temp folder)


@dataclass
class SubmissionResult:
    name: str
    source: Path
    grade: Grade
    status: str
    message: str
    flags: list[str] = field(default_factory=list)
    seconds: float = 0.0
    log: str = ""  # the test process's own output (head and tail), for the report file

    @property
    def points(self) -> int:
        return self.grade.score

    @property
    def max_points(self) -> int:
        return self.grade.max_score


# ---------------------------------------------------------------------------------------------
# Finding the package in a submission


def locate_package(folder: Path, slug: str) -> Path | None:
    """The folder that holds `slug/` in a submission: itself, chapters/, or one folder down."""
    candidates = [folder, folder / "chapters"]
    for child in sorted(folder.iterdir()) if folder.is_dir() else []:
        if child.is_dir() and not child.is_symlink() and not child.name.startswith((".", "__")):
            candidates += [child, child / "chapters"]
    for candidate in candidates:
        if (candidate / slug).is_dir() and (candidate / slug / "__main__.py").is_file():
            return candidate
    for candidate in candidates:  # a package without __main__.py still gets graded (and fails)
        if (candidate / slug).is_dir():
            return candidate
    return None


def looks_like_the_package(folder: Path) -> bool:
    """A submission of the package's files themselves (server.py, __main__.py, ...) at the top."""
    return (folder / "__main__.py").is_file() or (folder / "server.py").is_file()


def prepare(sandbox: Sandbox, source: Path, slug: str) -> Path | None:
    """Copy the submission into the sandbox; return the folder to put on PYTHONPATH, or None."""
    if source.is_file() and source.suffix == ".zip":
        extract_zip(source, sandbox.submission)
    else:
        sandbox.copy_in(source)
    found = locate_package(sandbox.submission, slug)
    if found is None and looks_like_the_package(sandbox.submission):
        package = sandbox.submission / slug
        package.mkdir()
        for entry in list(sandbox.submission.iterdir()):
            if entry != package:
                shutil.move(str(entry), str(package / entry.name))
        found = sandbox.submission
    return found


def extract_zip(archive: Path, target: Path) -> None:
    with zipfile.ZipFile(archive) as bundle:
        if sum(info.file_size for info in bundle.infolist()) > COPY_LIMIT:
            raise SubmissionTooLarge(f"the archive unpacks to more than {COPY_LIMIT // 2**20} MB")
        bundle.extractall(target)  # zipfile drops absolute paths and `..` parts


def discover(directory: Path, exclude: list[Path] = ()) -> list[Path]:
    """Every submission in `directory`: its sub-folders and .zip files, by name."""
    excluded = {path.resolve() for path in exclude}
    found = []
    for entry in sorted(directory.iterdir()):
        if entry.name.startswith((".", "__")) or entry.resolve() in excluded:
            continue
        if entry.is_dir() or (entry.is_file() and entry.suffix == ".zip"):
            found.append(entry)
    return found


def submission_name(source: Path) -> str:
    return source.stem if source.suffix == ".zip" else source.name


# ---------------------------------------------------------------------------------------------
# Grading one submission


def collect_roster(chapter: Chapter, wire_only: bool = False, hidden: str | None = None) -> list[TestResult]:
    """Every test of the chapter's suite with its points, collected without running any."""
    from .grader import pytest_command
    from .chapters import REPO_ROOT

    with tempfile.TemporaryDirectory(prefix="httpfs-roster-") as scratch:
        report = Path(scratch) / "record.jsonl"
        command = pytest_command(chapter, "solutions", report, wire_only, hidden=hidden) + ["--collect-only"]
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", PYTHONPATH=str(REPO_ROOT))
        run = run_capped(command, cwd=Path(scratch), env=env, timeout=120, token=os.urandom(8).hex())
        roster = read_record(report)
        if not roster:
            raise RuntimeError(f"could not collect the tests of chapter {chapter.number}:\n{tail(run.output, 30)}")
    for test in roster:
        test.output = ""
    return roster


def roster_grade(chapter: Chapter, impl: str, roster: list[TestResult], why: str) -> Grade:
    """A grade where no test ran: every test listed, 0 points each, and why."""
    grade = Grade(chapter, impl, problem=why)
    grade.tests = [
        TestResult(t.nodeid, t.name, t.title, t.task, t.points, t.wire, outcome="not run", output=why) for t in roster
    ]
    return grade


def grade_submission(
    source: Path, options: BatchOptions, roster: list[TestResult] | None = None, verbose: bool = False
) -> SubmissionResult:
    """Grade one submission in a sandbox of its own; never raises.

    `roster` (the collected test list) is needed only when no test runs; it is collected then
    if not given.
    """
    chapter, name = options.chapter, submission_name(source)
    started = time.monotonic()

    def no_test_ran(why: str) -> Grade:
        tests = roster if roster is not None else collect_roster(chapter, options.wire_only, options.hidden)
        return roster_grade(chapter, name, tests, why)

    sandbox = Sandbox(options.scratch)
    try:
        try:
            impl_dir = prepare(sandbox, source, chapter.slug)
        except (SubmissionTooLarge, OSError, zipfile.BadZipFile, shutil.Error) as error:
            grade = no_test_ran(f"the submission could not be copied for grading: {error}")
            return SubmissionResult(name, source, grade, "error", grade.problem, seconds=time.monotonic() - started)
        if impl_dir is None:
            why = (
                f"no {chapter.slug}/ package found (looked at the top, in chapters/, and one folder down)"
            )
            grade = no_test_ran(why)
            return SubmissionResult(name, source, grade, "missing", why, seconds=time.monotonic() - started)
        sandbox.remember()
        grade = run_suite(
            chapter, str(impl_dir), wire_only=options.wire_only, verbose=verbose, limits=options.limits,
            hidden=options.hidden, sandbox=sandbox,
        )
        grade.impl = name
        if not grade.tests:
            grade.tests = no_test_ran(grade.problem or "no test ran").tests
        return judge(name, source, grade, sandbox, time.monotonic() - started)
    except Exception as error:  # the grader's own failure must not end the batch
        grade = no_test_ran(f"the grader failed on this submission: {error!r}")
        return SubmissionResult(name, source, grade, "error", grade.problem, seconds=time.monotonic() - started)
    finally:
        sweep(sandbox.token, sandbox.root)
        sandbox.cleanup()


def judge(name: str, source: Path, grade: Grade, sandbox: Sandbox, seconds: float) -> SubmissionResult:
    run = grade.run
    flags, notes = [], []
    leftovers = blamed_leftovers(grade)
    if leftovers:
        flags.append("left-processes")
        shown = "; ".join(leftover.command[:120] or f"pid {leftover.pid}" for leftover in leftovers[:3])
        notes.append(f"left {len(leftovers)} process(es) running after its tests, all killed: {shown}")
    written = sandbox.outside_writes()
    if written:
        flags.append("wrote-outside")
        notes.append(f"wrote outside its folder (inside the grading sandbox, so nothing real was touched): {', '.join(written[:5])}")
    flood = grade.notes.get("max_output_bytes", 0)
    if flood > FLOOD_BYTES:
        flags.append("output-flood")
        notes.append(f"a server wrote {flood / 2**20:.0f} MB to stdout/stderr during one test (only the last 64 KiB were kept)")
    if run is not None and run.output_bytes > FLOOD_BYTES:
        flags.append("output-flood")
        notes.append(f"the test process printed {run.output_bytes / 2**20:.0f} MB (only its head and tail were kept)")
    if sandbox.ignored_links:
        flags.append("links-dropped")
        notes.append(f"symbolic links pointing out of the submission were ignored: {', '.join(sandbox.ignored_links[:5])}")

    if run is not None and run.timed_out:
        status = "timeout"
    elif run is not None and run.returncode not in (0, 1):
        status = "crashed"
        if run.returncode is not None and run.returncode < 0:
            grade.problem = f"the test process was killed by signal {-run.returncode} (did the submission kill it?)"
    elif grade.max_score and grade.score == grade.max_score:
        status = "ok"
    elif grade.score == 0:
        status = "zero"
    else:
        status = "partial"
    message = explain(grade, status)
    message = " | ".join(part for part in [message, *notes] if part)
    log = run.output if run is not None else ""
    return SubmissionResult(name, source, grade, status, message, list(dict.fromkeys(flags)), seconds, log)


def blamed_leftovers(grade: Grade) -> list:
    """Processes the submission left behind. After a timeout or a crash, the servers the
    harness had running are left too, through no fault of the submission: those are not counted."""
    run = grade.run
    if run is None:
        return []
    if not run.timed_out and run.returncode in (0, 1):
        return list(run.leftovers)
    server = f"-m {grade.chapter.slug} "
    return [leftover for leftover in run.leftovers if server not in leftover.command + " "]


ERROR_LINE = re.compile(r"^(?:E\s+)?([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt)\b.*|Failed: Timeout.*)$")


def failure_gist(output: str) -> str:
    """One line that says why a test failed: its message, and the error its server raised."""
    lines = [line.rstrip() for line in output.splitlines()]
    meaningful = [
        line.strip()
        for line in lines
        if line.strip() and not line.startswith(("(error during", "---", "Traceback", "  File ", "    "))
        and not re.match(r"^\S+\.py:\d+: in ", line)
    ]
    expected = next((line for line in meaningful if line.startswith("Expected:")), "")
    problem = next((line for line in meaningful if line.startswith("Problem:")), "")
    e_lines = [line[1:].strip() for line in lines if line.startswith("E ")]
    if expected and problem:
        first = f"{expected} — {problem}"
    else:
        first = e_lines[0] if e_lines else (meaningful[0] if meaningful else "")
    errors = [match.group(1) for line in lines if (match := ERROR_LINE.match(line.strip()))]
    detail = errors[-1] if errors else ""
    gist = first if not detail or detail in first else f"{first} … {detail}"
    gist = re.sub(r"(127\.0\.0\.1|localhost)(:| port )\d+", r"\1\2PORT", gist)  # group failures across ports
    return gist[:300]


def explain(grade: Grade, status: str) -> str:
    counted = [t for t in grade.tests if t.counts]
    failed = [t for t in counted if t.outcome != "passed"]
    parts = []
    if grade.problem:
        parts.append(grade.problem.splitlines()[0])
    if failed and status not in ("missing",):
        # Tests that never ran (the run was cut short) say nothing of why: explain with those
        # that ran and failed, when there are any.
        ran = [t for t in failed if t.outcome != "not run"] or failed
        gists = Counter(failure_gist(t.output) or t.outcome for t in ran)
        gist, count = gists.most_common(1)[0]
        never_ran = len(failed) - len(ran)
        summary = f"{len(failed)}/{len(counted)} tests not passed" + (f" ({never_ran} never ran)" if never_ran else "")
        parts.append(f"{summary}; most often ({count}): {gist}")
    return " | ".join(parts)


# ---------------------------------------------------------------------------------------------
# The batch


class Progress:
    """A bar on a terminal's stderr; one plain line per finished submission otherwise."""

    def __init__(self, total: int, stream=None):
        self.stream = stream or sys.stderr
        self.total = total
        self.done = 0
        self.statuses: Counter = Counter()
        self.started = time.monotonic()
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.lock = threading.Lock()
        self.closed = threading.Event()
        if self.tty:  # keep the clock moving while long submissions run
            threading.Thread(target=self._tick, daemon=True).start()

    def _tick(self) -> None:
        while not self.closed.wait(1.0):
            with self.lock:
                self._draw()

    def finished(self, result: SubmissionResult) -> None:
        with self.lock:
            self.done += 1
            self.statuses[result.status] += 1
            if self.tty:
                self._draw()
            else:
                print(
                    f"[{self.done}/{self.total}] {result.name}: {result.points}/{result.max_points} {result.status}"
                    f" ({result.seconds:.1f} s)",
                    file=self.stream,
                    flush=True,
                )

    def _draw(self) -> None:
        width = 30
        filled = int(width * self.done / max(self.total, 1))
        elapsed = time.monotonic() - self.started
        eta = elapsed / self.done * (self.total - self.done) if self.done else 0
        counts = " ".join(f"{status} {n}" for status, n in sorted(self.statuses.items()))
        line = f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total}  {counts}  {clock(elapsed)} (eta {clock(eta)})"
        self.stream.write(line.ljust(100)[:160])
        self.stream.flush()

    def close(self) -> None:
        self.closed.set()
        with self.lock:
            if self.tty:
                self.stream.write("\n")
                self.stream.flush()


def clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}"


@dataclass
class BatchResult:
    chapter: Chapter
    results: list[SubmissionResult]
    roster: list[TestResult]
    seconds: float
    jobs: int
    tampered: list[str] = field(default_factory=list)  # changes found in the submissions folder itself
    strays: list = field(default_factory=list)  # orphans adopted by the batch and killed (no known owner)

    @property
    def graded(self) -> list[SubmissionResult]:
        return [result for result in self.results if result.status != "not graded"]

    @property
    def per_minute(self) -> float:
        return len(self.graded) / self.seconds * 60 if self.seconds else 0.0


def run_batch(directory: Path, options: BatchOptions, on_result=None, exclude: list[Path] = ()) -> BatchResult:
    """Grade every submission in `directory`, `options.jobs` at a time."""
    started = time.monotonic()
    chapter = options.chapter
    submissions = discover(directory, list(exclude))
    roster = collect_roster(chapter, options.wire_only, options.hidden)
    jobs = options.jobs or os.cpu_count() or 1
    before = tree_listing(directory)
    become_subreaper()
    own_scratch = options.scratch is None
    scratch = Path(tempfile.mkdtemp(prefix="httpfs-batch-")) if own_scratch else options.scratch
    run_options = BatchOptions(chapter, options.wire_only, options.hidden, options.limits, jobs, scratch)
    results: dict[Path, SubmissionResult] = {}
    strays = []
    pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="grade")
    try:
        pending = {pool.submit(grade_submission, source, run_options, roster): source for source in submissions}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                source = pending.pop(future)
                results[source] = future.result()
                strays += TRACKER.kill_orphans()
                if on_result:
                    on_result(results[source])
    except KeyboardInterrupt:
        pool.shutdown(wait=False, cancel_futures=True)
        stop_everything(scratch)
        for source in submissions:
            if source not in results:
                why = "not graded: the batch was interrupted"
                grade = roster_grade(chapter, submission_name(source), roster, why)
                results[source] = SubmissionResult(submission_name(source), source, grade, "not graded", why)
    finally:
        pool.shutdown(wait=True)
        strays += TRACKER.kill_orphans()
        if own_scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    tampered = changes(before, tree_listing(directory))
    ordered = [results[source] for source in submissions]
    return BatchResult(chapter, ordered, roster, time.monotonic() - started, jobs, tampered, strays)


def stop_everything(scratch: Path) -> None:
    """On Ctrl-C: kill every running test process and whatever runs in the batch's scratch."""
    with TRACKER.lock:
        running = list(TRACKER.running)
    for pid in running:
        kill_group(pid)
    sweep("-", scratch)  # by working directory: everything inside the batch's sandboxes


# ---------------------------------------------------------------------------------------------
# Output: gradebook, results files, summary


def task_columns(chapter: Chapter, roster: list[TestResult]) -> list[tuple[str, str]]:
    """(task id, column header) for every task with graded tests; the header shows its points."""
    columns = []
    tasks = dict(chapter.tasks)
    for test in roster:
        tasks.setdefault(test.task, "")  # hidden tests may grade a task of an earlier chapter
    for task_id, title in tasks.items():
        points = sum(t.points for t in roster if t.task == task_id and t.counts)
        if points:
            columns.append((task_id, f"{task_id} {title} (/{points})".replace("  ", " ")))
    return columns


def write_gradebook(batch: BatchResult, path: Path) -> None:
    columns = task_columns(batch.chapter, batch.roster)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(
            ["submission", "status", "points", "max", "percent"] + [header for _, header in columns]
            + ["tests passed", "seconds", "flags", "message"]
        )
        for result in batch.results:
            grade = result.grade
            counted = [t for t in grade.tests if t.counts]
            per_task = [sum(t.score for t in counted if t.task == task_id) for task_id, _ in columns]
            percent = round(100 * grade.score / grade.max_score, 1) if grade.max_score else 0.0
            writer.writerow(
                [result.name, result.status, grade.score, grade.max_score, percent, *per_task,
                 f"{sum(t.outcome == 'passed' for t in counted)}/{len(counted)}", f"{result.seconds:.1f}",
                 " ".join(result.flags), result.message]
            )


def results_folder(gradebook: Path) -> Path:
    return gradebook.with_name(gradebook.stem + "-results")


def write_submission_files(result: SubmissionResult, folder: Path, started: float, hidden_visibility: str = "after_published") -> None:
    """results.json (Gradescope's shape) and report.txt (the table, the failures, the log)."""
    target = folder / result.name
    target.mkdir(parents=True, exist_ok=True)
    data = results_json(result.grade, started, hidden_visibility)
    data["execution_time"] = round(result.seconds, 2)
    data["output"] = f"{data['output']}\nStatus: {result.status}." + (f"\n{result.message}" if result.message else "")
    (target / "results.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    report = [render_table(result.grade), "", f"Status: {result.status}", f"Message: {result.message or '-'}"]
    failures = render_failures(result.grade, limit_lines=40)
    if failures:
        report += ["", "What failed:", "", failures]
    if result.log:
        report += ["", "The test process's own output (head and tail):", "", tail(result.log, 200)]
    (target / "report.txt").write_text("\n".join(report) + "\n", encoding="utf-8")


def render_summary(batch: BatchResult) -> str:
    results = batch.results
    interrupted = len(results) - len(batch.graded)
    lines = [
        (f"INTERRUPTED: {interrupted} submission(s) not graded (status 'not graded').\n" if interrupted else "")
        + f"Graded {len(batch.graded)} submission(s) of chapter {batch.chapter.number} ({batch.chapter.slug}) in "
        f"{batch.seconds:.1f} s with {batch.jobs} job(s): {batch.per_minute:.1f} submissions per minute."
    ]
    if not results:
        return lines[0]
    counts = Counter(result.status for result in results)
    lines.append("  status:  " + " · ".join(f"{status} {counts[status]}" for status in STATUSES if counts[status]))
    maximum = max(result.max_points for result in results) or 1
    scores = [result.points for result in results]
    lines.append(
        f"  points:  mean {statistics.mean(scores):.1f} · median {statistics.median(scores):g} · "
        f"min {min(scores)} · max {max(scores)}  (out of {maximum})"
    )
    lines.append("  distribution:")
    buckets = [("0%", lambda p: p == 0)] + [
        (f"{max(low, 1)}-{low + 19}%", lambda p, low=low: low <= p < low + 20 and p > 0) for low in range(0, 100, 20)
    ] + [("100%", lambda p: p >= 100)]
    percents = [100 * result.points / maximum for result in results]
    widest = max(1, max(sum(1 for p in percents if test(p)) for _, test in buckets))
    for label, test in buckets:
        count = sum(1 for p in percents if test(p))
        lines.append(f"    {label:>8} {'█' * round(24 * count / widest):<24} {count}")
    flagged = [result for result in results if result.flags]
    if flagged:
        lines.append("  flagged (scores stand; read the message column):")
        lines += [f"    {result.name}: {', '.join(result.flags)}" for result in flagged]
    if batch.strays:
        lines.append(f"  {len(batch.strays)} orphaned process(es) escaped their submission's cleanup and were killed by the batch")
    if batch.tampered:
        lines.append("  WARNING: the submissions folder changed while grading: " + ", ".join(batch.tampered[:10]))
    return "\n".join(lines)


def batch_command(
    chapter: Chapter,
    submissions: str,
    gradebook: str | None,
    jobs: int,
    wire_only: bool,
    hidden: str | None,
    limits: Limits,
) -> int:
    directory = Path(submissions).expanduser().resolve()
    if not directory.is_dir():
        print(f"error: {directory} is not a folder of submissions", file=sys.stderr)
        return 2
    gradebook_path = Path(gradebook or f"gradebook-{chapter.slug}.csv").expanduser().resolve()
    output_folder = results_folder(gradebook_path)
    found = discover(directory, [output_folder, gradebook_path])
    if not found:
        print(f"error: {directory} holds no submission folders", file=sys.stderr)
        return 2
    options = BatchOptions(chapter, wire_only, hidden, limits, jobs)
    progress = Progress(len(found))
    print(
        f"Grading {len(found)} submission(s) of chapter {chapter.number} with {jobs or os.cpu_count()} job(s); "
        f"caps: {limits.test_timeout:g} s per test, {limits.suite_timeout:g} s per submission, "
        f"{limits.server_start_timeout:g} s for a server to start.",
        file=sys.stderr,
    )
    started = time.time()
    if output_folder.exists():
        shutil.rmtree(output_folder)

    def on_result(result: SubmissionResult) -> None:
        write_submission_files(result, output_folder, started)
        progress.finished(result)

    try:
        batch = run_batch(directory, options, on_result=on_result, exclude=[output_folder, gradebook_path])
    finally:
        progress.close()
    for result in batch.results:
        if result.status == "not graded":
            write_submission_files(result, output_folder, started)
    write_gradebook(batch, gradebook_path)
    print(render_summary(batch))
    print(f"Gradebook: {gradebook_path}\nResults:   {output_folder}/<submission>/results.json (and report.txt)")
    return 130 if any(result.status == "not graded" for result in batch.results) else 0
