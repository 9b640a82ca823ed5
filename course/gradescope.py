"""Gradescope: build the autograder bundle, and grade one submission inside it.

Strategy: `build_bundle` zips what grading needs and nothing else: the `course` package
(grader, harness, plugins), the chapter's suite (and the earlier ones it may import from),
hidden tests if asked for, `pyproject.toml` (pytest's markers), a minimal requirements
list pinned as the repository's `requirements.txt` pins them, `autograder.json` (the chapter and
the caps), and Gradescope's two entry points from `course/templates/gradescope/`:
`setup.sh` (a Python 3.11+ virtual environment with the requirements) and `run_autograder`,
which calls `python -m course.gradescope run`. That grades `/autograder/submission` exactly
as the batch grader grades one folder (scratch copy, caps, cleanup) and always writes
`/autograder/results/results.json` listing every test with its points. `--root` (or
`AUTOGRADER_ROOT` in the scripts) relocates `/autograder`, which is how the tests run a
bundle in a temporary folder.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
import time
import zipfile
from importlib import metadata
from pathlib import Path

from .chapters import REPO_ROOT, Chapter, get_chapter, ready_chapters
from .grader import Limits, results_json

CONFIG_NAME = "autograder.json"
TEMPLATES = Path(__file__).with_name("templates") / "gradescope"
REQUIREMENTS_FILE = REPO_ROOT / "requirements.txt"  # the one place the course's versions are declared
# A requirement line's distribution name, followed by extras, a version, a marker or nothing.
REQUIREMENT_NAME = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?=$|[\[;<>=!~@ ])")
ALWAYS_REQUIRED = ["pytest", "pytest-timeout"]
# Imports the suites may use, and the distribution that provides each.
KNOWN_DISTRIBUTIONS = {
    "h11": "h11",
    "httpx": "httpx",
    "requests": "requests",
    "pytest": "pytest",
    "playwright": "playwright",  # chapter 5's browser test; it also needs /usr/bin/chromium
}


def suites_for(chapter: Chapter) -> list[Chapter]:
    """The chapter's suite and every earlier one (a suite may import helpers from an earlier one)."""
    return [c for c in ready_chapters() if c.number <= chapter.number and (REPO_ROOT / "tests" / c.slug).is_dir()]


def imported_modules(folder: Path) -> set[str]:
    found = set()
    for path in folder.rglob("*.py"):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module.split(".")[0])
    return found


def normalized(distribution: str) -> str:
    """A distribution name as pip compares them (PEP 503): `Pytest_Timeout` is `pytest-timeout`."""
    return re.sub(r"[-_.]+", "-", distribution).lower()


def declared_requirements(path: Path = REQUIREMENTS_FILE) -> dict[str, str]:
    """{normalized distribution name: its requirement line} for each requirement in `path`.

    Comments, blank lines and pip options (`-r`, `--index-url`, ...) are skipped; a line is
    kept as written (`pytest==9.2.0`), so a range or an environment marker carries over too.
    """
    declared = {}
    if not path.is_file():
        return declared
    for line in path.read_text(encoding="utf-8").splitlines():
        line = re.sub(r"(^|\s)#.*", "", line).strip()  # pip: a comment starts at a # after white space
        name = REQUIREMENT_NAME.match(line)
        if name:
            declared[normalized(name.group(1))] = line
    return declared


def requirements(folders: list[Path], requirements_file: Path = REQUIREMENTS_FILE) -> list[str]:
    """Requirements for the suites in `folders`: pytest, pytest-timeout, what they import.

    Each is pinned as `requirements_file` pins it; one it does not name is pinned to the
    installed version (or left unpinned if it is not installed either).
    """
    needed = list(ALWAYS_REQUIRED)
    modules = set().union(*(imported_modules(folder) for folder in folders)) | imported_modules(Path(__file__).parent)
    for module, distribution in sorted(KNOWN_DISTRIBUTIONS.items()):
        if module in modules and distribution not in needed:
            needed.append(distribution)
    declared = declared_requirements(requirements_file)
    pinned = []
    for distribution in needed:
        if normalized(distribution) in declared:
            pinned.append(declared[normalized(distribution)])
            continue
        try:
            pinned.append(f"{distribution}=={metadata.version(distribution)}")
        except metadata.PackageNotFoundError:
            pinned.append(distribution)
    return pinned


def _add_tree(bundle: zipfile.ZipFile, folder: Path, arcname: str) -> None:
    for path in sorted(folder.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and not path.name.endswith(".pyc"):
            bundle.write(path, f"{arcname}/{path.relative_to(folder).as_posix()}")


def _add_text(bundle: zipfile.ZipFile, name: str, text: str, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=time.localtime()[:6])
    info.external_attr = (0o100755 if executable else 0o100644) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    bundle.writestr(info, text)


def build_bundle(
    chapter: Chapter,
    output: str | Path = "autograder.zip",
    *,
    wire_only: bool = False,
    hidden: str | Path | None = None,
    limits: Limits | None = None,
    hidden_visibility: str = "after_published",
) -> Path:
    """Write the Gradescope autograder zip for `chapter`; return its path."""
    limits = limits or Limits()
    suites = suites_for(chapter)
    test_folders = [REPO_ROOT / "tests" / suite.slug for suite in suites]
    hidden_folders = []
    if hidden:
        hidden_folders = [Path(hidden) / suite.slug for suite in suites if (Path(hidden) / suite.slug).is_dir()]
        if not hidden_folders:
            raise SystemExit(f"error: {hidden} holds no chNN_slug/ folder of hidden tests for chapters 1..{chapter.number}")
    config = {
        "chapter": chapter.number,
        "slug": chapter.slug,
        "wire_only": wire_only,
        "hidden": bool(hidden_folders),
        "hidden_visibility": hidden_visibility,
        "test_timeout": limits.test_timeout,
        "submission_timeout": limits.suite_timeout,
        "start_timeout": limits.start_timeout,
    }
    output = Path(output).expanduser().resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as bundle:
        _add_text(bundle, "setup.sh", (TEMPLATES / "setup.sh").read_text(), executable=True)
        _add_text(bundle, "run_autograder", (TEMPLATES / "run_autograder").read_text(), executable=True)
        _add_text(bundle, "requirements-autograder.txt", "\n".join(requirements(test_folders + hidden_folders)) + "\n")
        _add_text(bundle, CONFIG_NAME, json.dumps(config, indent=2) + "\n")
        _add_text(bundle, "pyproject.toml", (REPO_ROOT / "pyproject.toml").read_text())
        _add_tree(bundle, Path(__file__).parent, "course")
        _add_text(bundle, "tests/__init__.py", (REPO_ROOT / "tests" / "__init__.py").read_text())
        _add_text(bundle, "tests/conftest.py", (REPO_ROOT / "tests" / "conftest.py").read_text())
        for folder in test_folders:
            _add_tree(bundle, folder, f"tests/{folder.name}")
        for folder in hidden_folders:
            _add_tree(bundle, folder, f"hidden/{folder.name}")
    return output


def extract_bundle(archive: str | Path, target: str | Path) -> Path:
    """Unzip a bundle keeping the executable bits (zipfile alone drops them), as Gradescope does."""
    target = Path(target)
    with zipfile.ZipFile(archive) as bundle:
        for info in bundle.infolist():
            path = Path(bundle.extract(info, target))
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                path.chmod(mode)
    return target


# ---------------------------------------------------------------------------------------------
# Inside Gradescope


def run(root: Path) -> int:
    """Grade root/submission with the bundle in root/source; write root/results/results.json."""
    from .batch import BatchOptions, grade_submission
    from .isolation import become_subreaper

    started = time.time()
    results_path = root / "results" / "results.json"
    results_path.parent.mkdir(parents=True, exist_ok=True)
    config = json.loads((REPO_ROOT / CONFIG_NAME).read_text(encoding="utf-8"))
    chapter = get_chapter(config["chapter"])
    limits = Limits(config["test_timeout"], config["submission_timeout"], config.get("start_timeout"))
    hidden = str(REPO_ROOT / "hidden") if config.get("hidden") else None
    options = BatchOptions(chapter, config.get("wire_only", False), hidden, limits, jobs=1)
    become_subreaper()
    result = grade_submission(root / "submission", options)
    data = results_json(result.grade, started, config.get("hidden_visibility", "after_published"))
    summary = {
        "ok": "Full marks.",
        "partial": "Some tests did not pass: open each failed test below to see the bytes sent and received.",
        "zero": "No test passed: open the failed tests below to see why.",
        "missing": f"No {chapter.slug}/ folder was found in your submission. Upload the {chapter.slug} folder "
        "itself (or your whole repository).",
        "timeout": "Grading was stopped at its time limit; tests that had not finished score 0.",
        "crashed": "The test process was killed while grading your work.",
        "error": "The autograder could not grade this submission.",
    }.get(result.status, "")
    data["output"] = "\n".join(part for part in [summary, result.message, data["output"]] if part)
    data["execution_time"] = round(time.time() - started, 2)
    results_path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    print(f"{result.name}: {result.points}/{result.max_points} ({result.status}) -> {results_path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course.gradescope", description="Gradescope autograder entry points.")
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="grade /autograder/submission (what run_autograder calls)")
    run_parser.add_argument("--root", default="/autograder", help="the autograder tree (default: /autograder)")
    arguments = parser.parse_args(argv)
    if arguments.command == "run":
        return run(Path(arguments.root).resolve())
    return 2


if __name__ == "__main__":
    sys.exit(main())
