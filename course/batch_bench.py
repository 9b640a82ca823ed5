"""Measure batch grading: build a class of submissions, grade it, report submissions per minute.

    python -m course.batch_bench [--count 30] [--jobs 2] [--keep DIR]

Strategy: a realistic class folder is generated from what the repository already has, never
committed as copies: correct submissions (copies of `solutions/chNN_slug`, in every layout a
student may hand in: the package folder, a course checkout, one folder down, the package's
files at the top, a .zip), partial ones (the chapter's mutants from `tests/course/mutants`,
each a classic mistake), broken ones (the generated starter, a folder without the package),
and the hostile and broken fixtures of `tests/course/submissions` (each one the chapter 1
solution with a few files replaced: `materialize_fixture`). The batch grader is then
run on it as an instructor would (`python -m course grade N --submissions DIR`), and the
wall-clock time gives the throughput. `tests/course/test_batch.py` grades the same kind of
folder with tight caps.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter
from pathlib import Path

from .chapters import REPO_ROOT, Chapter, get_chapter

FIXTURES = REPO_ROOT / "tests" / "course" / "submissions"
# Every fixture is this package with the fixture's own files laid over it.
FIXTURE_BASE = REPO_ROOT / "solutions" / "ch01_accept_loop"
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc")


def fixture_names() -> list[str]:
    return sorted(path.name for path in FIXTURES.iterdir() if path.is_dir() and not path.name.startswith((".", "_")))


def materialize_fixture(name: str, destination: Path) -> Path:
    """Write fixture `name` as a complete submission in `destination` (which may exist).

    A fixture folder holds only the files that make it broken or hostile, at their place in a
    submission (`<name>/ch01_accept_loop/server.py`, say). The submission is the chapter 1
    solution, copied to `destination/ch01_accept_loop/`, with those files copied over it.
    """
    overlay = FIXTURES / name
    if not overlay.is_dir() or name.startswith((".", "_")):
        raise ValueError(f"no fixture {name!r} in {FIXTURES} (there are: {', '.join(fixture_names())})")
    destination = Path(destination)
    shutil.copytree(FIXTURE_BASE, destination / FIXTURE_BASE.name, ignore=IGNORED, dirs_exist_ok=True)
    shutil.copytree(overlay, destination, ignore=IGNORED, dirs_exist_ok=True)
    return destination


def chapter_mutants(chapter: Chapter) -> list:
    sys.path.insert(0, str(REPO_ROOT))
    try:
        from tests.course.mutants import all_mutants
    finally:
        sys.path.remove(str(REPO_ROOT))
    return [mutant for mutant in all_mutants() if mutant.chapter == chapter.slug]


def _copy_package(source: Path, target: Path) -> None:
    shutil.copytree(source, target, ignore=IGNORED)


def make_class(
    target: Path,
    chapter: Chapter,
    count: int = 30,
    mutant_names: list[str] | None = None,
    fillers: tuple[str, ...] = ("correct", "partial", "broken"),
    hostile: bool = True,
) -> dict[str, str]:
    """Fill `target` with `count` submissions; return {submission name: kind}.

    Kinds: correct, partial, broken, missing, hostile:<fixture>. Every layout of a correct
    submission, every fixture and every mutant (or those in `mutant_names`) is included once
    (when `count` allows), then the rest cycles through the kinds in `fillers` (correct, partial, broken, missing).
    """
    target.mkdir(parents=True, exist_ok=True)
    slug = chapter.slug
    solution, starter = REPO_ROOT / "solutions" / slug, REPO_ROOT / "chapters" / slug
    kinds: dict[str, str] = {}

    def correct(name: str, layout: str) -> None:
        folder = target / name
        if layout == "package":
            _copy_package(solution, folder / slug)
        elif layout == "checkout":
            _copy_package(solution, folder / "chapters" / slug)
            (folder / "README.md").parent.mkdir(parents=True, exist_ok=True)
            (folder / "README.md").write_text("a student's course checkout\n")
        elif layout == "nested":
            _copy_package(solution, folder / "http-from-scratch-main" / slug)
        elif layout == "flat":
            _copy_package(solution, folder)
        elif layout == "zip":
            with zipfile.ZipFile(target / f"{name}.zip", "w") as archive:
                for path in sorted(solution.rglob("*.py")):
                    archive.write(path, f"{slug}/{path.relative_to(solution).as_posix()}")
            kinds[name] = "correct"
            return
        kinds[name] = "correct"

    def broken(name: str) -> None:
        _copy_package(starter, target / name / slug)
        kinds[name] = "broken"

    def missing(name: str) -> None:
        (target / name).mkdir()
        (target / name / "notes.txt").write_text("I could not get it to work\n")
        kinds[name] = "missing"

    def hostile_maker(fixture: str):
        def hostile(name: str) -> None:
            materialize_fixture(fixture, target / name)
            kinds[name] = f"hostile:{fixture}"

        hostile.label = fixture
        return hostile

    def partial_maker(mutant):
        def partial(name: str) -> None:
            package = target / name / slug
            _copy_package(solution, package)
            path = package / mutant.file
            path.write_text(path.read_text().replace(mutant.old, mutant.new, 1))
            kinds[name] = "partial"

        partial.label = f"mutant-{mutant.name}"
        return partial

    correct_makers = [lambda name, layout=layout: correct(name, layout) for layout in ("package", "checkout", "nested", "flat", "zip")]
    fixtures = fixture_names() if hostile and slug == "ch01_accept_loop" and FIXTURES.is_dir() else []
    hostile_makers = [hostile_maker(fixture) for fixture in fixtures]
    mutants = chapter_mutants(chapter)
    chosen = [mutant for mutant in mutants if mutant_names is None or mutant.name in mutant_names]
    partial_makers = [partial_maker(mutant) for mutant in chosen or mutants]
    makers = correct_makers + hostile_makers + partial_makers + [broken, missing]
    by_kind = {"correct": [correct_makers[0]], "partial": partial_makers, "broken": [broken], "missing": [missing]}
    cycle = [maker for kind in fillers for maker in by_kind[kind]]
    while len(makers) < count:
        makers.append(cycle[len(makers) % len(cycle)])
    for index, make in enumerate(makers[:count]):
        label = getattr(make, "label", "")
        make(f"student{index + 1:02d}" + (f"-{label}" if label else ""))
    return kinds


def run(count: int, jobs: int, chapter: Chapter, keep: Path | None, caps: list[str], hostile: bool = True) -> int:
    scratch = Path(tempfile.mkdtemp(prefix="httpfs-bench-"))
    try:
        submissions = (keep or scratch) / "submissions"
        if submissions.exists():
            shutil.rmtree(submissions)
        kinds = make_class(submissions, chapter, count, hostile=hostile)
        gradebook = (keep or scratch) / "gradebook.csv"
        command = [
            sys.executable, "-m", "course", "grade", str(chapter.number), "--submissions", str(submissions),
            "--gradebook", str(gradebook), "--jobs", str(jobs), *caps,
        ]
        mix = Counter(kind.split(":")[0] for kind in kinds.values())
        print(f"{len(kinds)} submissions ({', '.join(f'{n} {k}' for k, n in sorted(mix.items()))}), {jobs} job(s), "
              f"{os.cpu_count()} core(s)", flush=True)
        started = time.monotonic()
        completed = subprocess.run(command, cwd=REPO_ROOT)
        seconds = time.monotonic() - started
        with gradebook.open(newline="", encoding="utf-8") as stream:
            rows = list(csv.DictReader(stream))
        print(f"\nThroughput: {len(rows)} submissions in {seconds:.1f} s = {len(rows) / seconds * 60:.1f} submissions per minute "
              f"(wall clock of the whole command, test collection included).")
        return completed.returncode
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course.batch_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=30, help="submissions in the class (default 30)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="parallel submissions (default: cores)")
    parser.add_argument("--chapter", default="1", help="chapter number or slug (default 1)")
    parser.add_argument("--keep", type=Path, help="build the class and gradebook in this folder and keep them")
    parser.add_argument(
        "--no-hostile", action="store_true", help="a typical class: correct, partial and broken submissions, no hostile fixtures"
    )
    parser.add_argument("caps", nargs="*", help="extra grader options after --, e.g. -- --submission-timeout 30")
    arguments = parser.parse_args(argv)
    return run(arguments.count, arguments.jobs, get_chapter(arguments.chapter), arguments.keep, arguments.caps,
               hostile=not arguments.no_hostile)


if __name__ == "__main__":
    sys.exit(main())
