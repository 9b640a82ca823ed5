"""Batch grading: a class of 30 submissions (correct, partial, broken, hostile) graded in one go.

The class is generated in a temporary folder (course/batch_bench.py: copies of the solution
in every layout, mutants, the starter, a folder without the package, and every fixture of
tests/course/submissions laid over the solution). The grader runs as an instructor runs it,
through the command line, with tight caps so this stays quick; `python -m course.batch_bench`
measures the throughput with the default caps. Checked: every submission gets a row and a
results.json listing every test, hostile ones get 0 for what they break and a message saying
why, no submission takes much longer than its cap, nothing a submission started is left
running, and the submissions folder is left as it was.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from course.batch import failure_gist, locate_package, Progress
from course.batch_bench import FIXTURE_BASE, FIXTURES, fixture_names, make_class, materialize_fixture
from course.chapters import REPO_ROOT, get_chapter
from course.isolation import tree_listing

pytestmark = pytest.mark.timeout(300)  # the class is graded once, in the first test that needs it

CHAPTER = get_chapter(1)
CAP = 10
CAPS = ["--test-timeout", "5", "--submission-timeout", str(CAP), "--start-timeout", "4"]
CAP_SLACK = 8  # seconds over the cap a capped submission may take: stop grace, cleanup, copying
FAST_MUTANTS = ["single_recv", "answers_without_reading"]
LEFTOVER_MARKER = "httpfs-fixture-leftover"


def processes_mentioning(*needles: str) -> list[str]:
    """Command lines of live processes whose command line, environment or cwd mention a needle."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        texts = []
        for part in ("cmdline", "environ"):
            try:
                texts.append(Path(f"/proc/{name}/{part}").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace"))
            except OSError:
                pass
        try:
            texts.append(os.readlink(f"/proc/{name}/cwd"))
        except OSError:
            pass
        if any(needle in text for needle in needles for text in texts):
            found.append(f"{name}: {texts[0][:200] if texts else ''}")
    return found


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    """The class of 30, graded once per worker (pyproject.toml sends whole files to a worker)."""
    return grade_class(tmp_path_factory.mktemp("batch"))


def grade_class(base: Path) -> dict:
    """Build the class of 30 in `base`, grade it through the CLI, and gather what it wrote."""
    submissions = base / "submissions"
    kinds = make_class(submissions, CHAPTER, 30, mutant_names=FAST_MUTANTS, fillers=("correct", "broken", "missing"))
    scratch = base / "scratch"  # the grader's TMPDIR: every sandbox lives under it
    scratch.mkdir()
    gradebook = base / "out" / "grades.csv"
    before = tree_listing(submissions)
    started = time.monotonic()
    completed = subprocess.run(
        [sys.executable, "-m", "course", "grade", "1", "--submissions", str(submissions), "--gradebook", str(gradebook),
         "--jobs", "2", *CAPS],
        cwd=REPO_ROOT,
        env=dict(os.environ, TMPDIR=str(scratch)),
        capture_output=True,
        text=True,
        timeout=400,
    )
    seconds = time.monotonic() - started
    with gradebook.open(newline="", encoding="utf-8") as stream:
        rows = {row["submission"]: row for row in csv.DictReader(stream)}
    results = {
        name: json.loads((gradebook.parent / "grades-results" / name / "results.json").read_text()) for name in rows
    }
    return {
        "kinds": kinds, "rows": rows, "results": results, "completed": completed, "seconds": seconds,
        "submissions": submissions, "before": before, "scratch": scratch, "base": base,
    }


def named(graded, kind):
    return [name for name, k in graded["kinds"].items() if k == kind]


def wire_points(result_json) -> int:
    return sum(test["score"] for test in result_json["tests"] if "wire" in test["tags"])


def test_every_submission_gets_a_row_and_a_full_results_file(graded_class, chapter1_suite):
    completed = graded_class["completed"]
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert len(graded_class["kinds"]) == 30
    assert sorted(graded_class["rows"]) == sorted(graded_class["kinds"])
    roster = None
    for name, result in graded_class["results"].items():
        titles = sorted(test["name"] for test in result["tests"])
        roster = roster or titles
        assert titles == roster, f"{name}: its results.json does not list every test"
        assert result["max_score"] == chapter1_suite.points and all(test["max_score"] > 0 for test in result["tests"])
        row = graded_class["rows"][name]
        assert row["max"] == str(chapter1_suite.points) and row["status"], row
        assert int(row["points"]) == result["score"]
    # The progress shows one plain line per submission (stderr is not a terminal here).
    assert completed.stderr.count("/30] ") == 30
    assert "submissions per minute" in completed.stdout and "distribution" in completed.stdout
    print(f"\n30 submissions graded in {graded_class['seconds']:.1f} s")


def test_scores_match_what_each_submission_is(graded_class, chapter1_suite):
    rows, results = graded_class["rows"], graded_class["results"]
    for name in named(graded_class, "correct"):
        assert (rows[name]["status"], rows[name]["points"]) == ("ok", str(chapter1_suite.points)), rows[name]
    for name in named(graded_class, "partial"):
        assert rows[name]["status"] in ("partial", "timeout") and 0 < int(rows[name]["points"]) < chapter1_suite.points, rows[name]
    for name in named(graded_class, "broken"):
        assert rows[name]["points"] == "0" and "NotImplementedError" in rows[name]["message"], rows[name]
    for name in named(graded_class, "missing"):
        assert rows[name]["status"] == "missing" and "no ch01_accept_loop/ package" in rows[name]["message"]
        assert all(test["score"] == 0 for test in results[name]["tests"])
    # The task columns add up to the points.
    for row in rows.values():
        task_total = sum(int(value) for key, value in row.items() if key[:1].isdigit())
        assert task_total == int(row["points"]), row


def hostile(graded, fixture):
    name = next(n for n, kind in graded["kinds"].items() if kind == f"hostile:{fixture}")
    return graded["rows"][name], graded["results"][name]


@pytest.mark.parametrize(
    "fixture, message",
    [
        ("import_error", "ModuleNotFoundError"),
        ("syntax_error", "SyntaxError"),
        ("never_listens", "Listening on"),
        ("wrong_port", "Connection refused"),
        ("exits_at_once", "exited with status 0"),
        ("busy_loop", ""),
        ("sleeps_in_handler", ""),
        ("kills_the_grader", "killed by signal"),
    ],
)
def test_broken_servers_score_0_on_the_wire_and_say_why(graded_class, fixture, message):
    row, result = hostile(graded_class, fixture)
    assert row["message"], row
    assert message in row["message"], row["message"]
    # A server that announces its port and accepts (into the backlog) but never answers may
    # keep the 2 points of "the port accepts connections"; every other wire test scores 0.
    assert wire_points(result) <= 2, [t["name"] for t in result["tests"] if "wire" in t["tags"] and t["score"]]
    assert float(row["seconds"]) <= CAP + CAP_SLACK, row


def test_hanging_servers_are_stopped_at_the_cap(graded_class):
    for fixture in ("busy_loop", "sleeps_in_handler"):
        row, _ = hostile(graded_class, fixture)
        assert row["status"] in ("timeout", "partial"), row
        assert float(row["seconds"]) <= CAP + CAP_SLACK, row
        if row["status"] == "timeout":
            assert f"did not finish within {CAP} s" in row["message"]


def test_every_submission_is_bounded_in_time(graded_class):
    for row in graded_class["rows"].values():
        assert float(row["seconds"]) <= CAP + CAP_SLACK, row


def test_the_killer_crashes_only_its_own_run(graded_class, chapter1_suite):
    row, result = hostile(graded_class, "kills_the_grader")
    assert (row["status"], row["points"]) == ("crashed", "0"), row
    assert len(result["tests"]) == chapter1_suite.tests


def test_flood_is_survived_and_flagged(graded_class):
    row, _ = hostile(graded_class, "flood")
    assert "output-flood" in row["flags"], row
    assert row["status"] in ("ok", "partial"), row


def test_processes_left_behind_are_killed_and_flagged(graded_class):
    row, _ = hostile(graded_class, "leaves_children")
    assert "left-processes" in row["flags"] and LEFTOVER_MARKER in row["message"], row
    time.sleep(0.2)
    left = processes_mentioning(LEFTOVER_MARKER, str(graded_class["base"]))
    assert not left, f"still running after the batch: {left}"


def test_writes_outside_land_in_the_sandbox_and_are_flagged(graded_class):
    row, _ = hostile(graded_class, "writes_outside")
    assert "wrote-outside" in row["flags"] and "ESCAPED-writes_outside.txt" in row["message"], row
    assert row["status"] == "ok", row  # it broke no graded behaviour: the score stands, the flag tells
    assert not list(graded_class["base"].rglob("ESCAPED-*")), "a write escaped the sandbox"
    assert not (Path.home() / "ESCAPED-writes_outside.txt").exists()


def test_the_submissions_folder_is_left_as_it_was(graded_class):
    assert tree_listing(graded_class["submissions"]) == graded_class["before"]
    assert "changed while grading" not in graded_class["completed"].stdout
    assert list(graded_class["scratch"].iterdir()) == [], "sandboxes were not cleaned up"


# -- small pieces ---------------------------------------------------------------------------


def test_fixtures_hold_only_the_files_they_change(tmp_path):
    for name in fixture_names():
        overlay = FIXTURES / name
        files = [path.relative_to(overlay) for path in overlay.rglob("*") if path.is_file() and "__pycache__" not in path.parts]
        assert files, f"{name}: an empty fixture is just the solution"
        for relative in files:
            assert relative.parts[0] == FIXTURE_BASE.name, f"{name}: {relative} is not in the {FIXTURE_BASE.name} package"
            original = FIXTURE_BASE.joinpath(*relative.parts[1:])
            assert not original.is_file() or original.read_bytes() != (overlay / relative).read_bytes(), (
                f"{name}: {relative} is a copy of the solution's: delete it, the solution is the base"
            )
        package = materialize_fixture(name, tmp_path / name) / FIXTURE_BASE.name
        assert sorted(path.name for path in package.iterdir()) == sorted(path.name for path in FIXTURE_BASE.glob("*.py"))
        for relative in files:
            assert (tmp_path / name / relative).read_bytes() == (overlay / relative).read_bytes()


def test_locate_package_accepts_every_layout(tmp_path):
    slug = CHAPTER.slug
    for layout in (f"a/{slug}", f"b/chapters/{slug}", f"c/repo-main/{slug}", f"d/repo-main/chapters/{slug}"):
        (tmp_path / layout).mkdir(parents=True)
        (tmp_path / layout / "__main__.py").write_text("")
    assert locate_package(tmp_path / "a", slug) == tmp_path / "a"
    assert locate_package(tmp_path / "b", slug) == tmp_path / "b" / "chapters"
    assert locate_package(tmp_path / "c", slug) == tmp_path / "c" / "repo-main"
    assert locate_package(tmp_path / "d", slug) == tmp_path / "d" / "repo-main" / "chapters"
    (tmp_path / "e").mkdir()
    assert locate_package(tmp_path / "e", slug) is None


def test_failure_gist_names_the_error_and_groups_ports():
    output = (
        "(error during test setup)\nThe server exited with status 1 before printing `Listening on http://HOST:PORT`.\n"
        "Its stderr:\n    Traceback (most recent call last):\n    ModuleNotFoundError: No module named 'x'\n"
    )
    assert failure_gist(output) == (
        "The server exited with status 1 before printing `Listening on http://HOST:PORT`. … ModuleNotFoundError: No module named 'x'"
    )
    refused = "Expected: the server to accept a TCP connection on http://127.0.0.1:{}\nProblem: connecting failed: refused.\n"
    assert failure_gist(refused.format(41234)) == failure_gist(refused.format(50001))


def test_progress_writes_plain_lines_when_not_a_terminal(tmp_path):
    class Result:
        name, points, max_points, status, seconds = "alice", 3, 36, "partial", 1.0

    path = tmp_path / "progress.txt"
    with path.open("w") as stream:
        progress = Progress(2, stream)
        progress.finished(Result())
        progress.close()
    assert path.read_text() == "[1/2] alice: 3/36 partial (1.0 s)\n"
