"""Generate the student starters in chapters/ from the reference solutions in solutions/.

Strategy: solutions/ is the only hand-written server code. Every file is copied; in a Python
file, each region between the whole-line markers `# BEGIN SOLUTION task N.k` and
`# END SOLUTION` becomes a two-line stub at the marker's indentation: a TODO naming the task
and the chapter section to read, then `raise NotImplementedError`. Markers must pair up, never
nest, sit inside a function (an indented line) and name a task of their own chapter; anything
else is an error with its file and line. `--check` compares the result with chapters/ on disk.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from .chapters import REPO_ROOT, Chapter, get_chapter

BEGIN = re.compile(r"^(?P<indent>[ \t]*)# BEGIN SOLUTION task (?P<task>\d+\.\d+)[ \t]*$")
END = re.compile(r"^[ \t]*# END SOLUTION[ \t]*$")
ANY_MARKER = re.compile(r"(BEGIN|END)\s+SOLUTION")
SKIPPED_NAMES = {"__pycache__", ".pytest_cache", ".ipynb_checkpoints"}


class MarkerError(Exception):
    """A solution region is malformed: unpaired, nested, misspelled or misplaced."""


@dataclass
class Region:
    task: str
    begin_line: int  # 1-based line numbers of the markers
    end_line: int


def stub_lines(indent: str, task: str, chapter: Chapter) -> list[str]:
    title = chapter.task_title(task)
    return [
        f"{indent}# TODO(task {task}): {title}. Read section {task} of chapter {chapter.number} ({chapter.page}).\n",
        f'{indent}raise NotImplementedError("task {task} ({title}) is still to do: see {chapter.page}")\n',
    ]


def starter_text(text: str, chapter: Chapter, source_name: str) -> tuple[str, list[Region]]:
    """The starter version of one solution file's text, and the regions it replaced."""
    output: list[str] = []
    regions: list[Region] = []
    open_region: tuple[int, str, str] | None = None  # (line number, indent, task)
    for number, line in enumerate(text.splitlines(keepends=True), start=1):
        begin, end = BEGIN.match(line.rstrip("\n")), END.match(line.rstrip("\n"))
        where = f"{source_name}:{number}"
        if begin:
            if open_region:
                raise MarkerError(f"{where}: BEGIN SOLUTION inside the region opened at line {open_region[0]} (regions cannot nest)")
            if not begin["indent"]:
                raise MarkerError(f"{where}: a solution region must sit inside a function body (indented), so the starter still imports")
            task = begin["task"]
            if task not in chapter.tasks:
                raise MarkerError(f"{where}: task {task} is not a task of chapter {chapter.number} ({', '.join(chapter.tasks)})")
            open_region = (number, begin["indent"], task)
        elif end:
            if not open_region:
                raise MarkerError(f"{where}: END SOLUTION without a BEGIN SOLUTION before it")
            regions.append(Region(open_region[2], open_region[0], number))
            output.extend(stub_lines(open_region[1], open_region[2], chapter))
            open_region = None
        elif ANY_MARKER.search(line):
            raise MarkerError(
                f"{where}: {line.strip()!r} looks like a marker but is not one of the whole-line forms "
                "`# BEGIN SOLUTION task N.k` / `# END SOLUTION`"
            )
        elif not open_region:
            output.append(line)
    if open_region:
        raise MarkerError(f"{source_name}:{open_region[0]}: BEGIN SOLUTION is never closed by END SOLUTION")
    return "".join(output), regions


def chapter_of_package(package: Path) -> Chapter | None:
    try:
        return get_chapter(package.name)
    except KeyError:
        return None


def generate(solutions: Path = REPO_ROOT / "solutions") -> dict[Path, bytes]:
    """Every starter file, as relative path -> content, for every chapter package in `solutions`."""
    files: dict[Path, bytes] = {}
    for path in sorted(solutions.rglob("*")):
        relative = path.relative_to(solutions)
        if path.is_dir() or SKIPPED_NAMES & set(relative.parts) or path.suffix == ".pyc":
            continue
        chapter = chapter_of_package(solutions / relative.parts[0]) if len(relative.parts) > 1 else None
        if path.suffix == ".py" and chapter is not None:
            text, _ = starter_text(path.read_text(encoding="utf-8"), chapter, f"solutions/{relative}")
            files[relative] = text.encode("utf-8")
        else:
            files[relative] = path.read_bytes()
    return files


def regions_by_chapter(solutions: Path = REPO_ROOT / "solutions") -> dict[str, list[tuple[str, Region]]]:
    """For each chapter slug, the (file, region) pairs its solution marks."""
    found: dict[str, list[tuple[str, Region]]] = {}
    for package in sorted(p for p in solutions.iterdir() if p.is_dir()):
        chapter = chapter_of_package(package)
        if chapter is None:
            continue
        for path in sorted(package.rglob("*.py")):
            name = f"solutions/{path.relative_to(solutions)}"
            _, regions = starter_text(path.read_text(encoding="utf-8"), chapter, name)
            found.setdefault(chapter.slug, []).extend((name, region) for region in regions)
    return found


def differences(expected: dict[Path, bytes], chapters: Path) -> list[str]:
    """How chapters/ on disk differs from the generator's output (empty when in sync)."""
    actual = {
        path.relative_to(chapters): path
        for path in chapters.rglob("*")
        if path.is_file() and not SKIPPED_NAMES & set(path.relative_to(chapters).parts) and path.suffix != ".pyc"
    }
    problems = [f"missing: chapters/{p}" for p in sorted(set(expected) - set(actual))]
    problems += [f"not generated (remove it or add it to solutions/): chapters/{p}" for p in sorted(set(actual) - set(expected))]
    problems += [
        f"differs from the generator's output: chapters/{p}"
        for p in sorted(set(expected) & set(actual))
        if actual[p].read_bytes() != expected[p]
    ]
    return problems


def build(chapters: Path = REPO_ROOT / "chapters", solutions: Path = REPO_ROOT / "solutions") -> int:
    """Rewrite chapters/ from solutions/; returns the number of files written."""
    expected = generate(solutions)  # raises MarkerError before anything is touched
    if chapters.exists():
        shutil.rmtree(chapters)
    for relative, content in expected.items():
        target = chapters / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    return len(expected)
