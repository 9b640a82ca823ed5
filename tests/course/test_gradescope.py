"""The Gradescope bundle, run in a simulated /autograder tree (source, submission, results).

The bundle is built as an instructor builds it (`python -m course gradescope 1 -o ...`, here
with one hidden test), unzipped into `<tmp>/autograder/source` keeping executable bits,
`run_autograder` is copied to `<tmp>/autograder/` as Gradescope does, and run there with
AUTOGRADER_ROOT pointing at the tree (and this venv's Python instead of the one setup.sh
would install). The results.json it writes must list every test with its points.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path

import pytest

from course import gradescope
from course.batch import collect_roster
from course.batch_bench import materialize_fixture
from course.chapters import REPO_ROOT, get_chapter
from course.gradescope import extract_bundle

CHAPTER = get_chapter(1)
SLUG = CHAPTER.slug
HIDDEN_TEST = '''"""A hidden test: students do not have it."""

import pytest


@pytest.mark.task("1.3")
@pytest.mark.points(1)
def test_hidden_answers_twice(server):
    """Two requests in a row are both answered (hidden)."""
    for _ in range(2):
        server.exchange(b"GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n").expect_status(200)
'''


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("gradescope")
    hidden = base / "hidden" / SLUG
    hidden.mkdir(parents=True)
    (hidden / "test_hidden_ch01.py").write_text(HIDDEN_TEST)
    output = base / "autograder.zip"
    subprocess.run(
        [sys.executable, "-m", "course", "gradescope", "1", "-o", str(output), "--hidden", str(base / "hidden")],
        cwd=REPO_ROOT, check=True, capture_output=True, timeout=60,
    )
    return output


def simulate(bundle: Path, root: Path, fill_submission) -> dict:
    """Lay out root/{source,submission,results} like Gradescope, run run_autograder, read results.json."""
    extract_bundle(bundle, root / "source")
    shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
    (root / "submission").mkdir()
    (root / "results").mkdir()
    fill_submission(root / "submission")
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), AUTOGRADER_PYTHON=sys.executable)
    # Generous: the course checks run this beside other grading work on two cores.
    completed = subprocess.run([str(root / "run_autograder")], cwd="/", env=env, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return json.loads((root / "results" / "results.json").read_text())


def package_copy(source: Path, into: str = ""):
    def fill(submission: Path) -> None:
        shutil.copytree(source, submission / into / SLUG, ignore=shutil.ignore_patterns("__pycache__"))

    return fill


@pytest.fixture(scope="module")
def runs(bundle, tmp_path_factory):
    """Four submissions graded in parallel: correct, a course checkout of the starter, empty, hostile."""
    base = tmp_path_factory.mktemp("autograder")
    cases = {
        "correct": package_copy(REPO_ROOT / "solutions" / SLUG),
        "checkout": package_copy(REPO_ROOT / "chapters" / SLUG, "chapters"),
        "empty": lambda submission: (submission / "README.md").write_text("oops\n"),
        "hostile": lambda submission: materialize_fixture("kills_the_grader", submission),
    }
    with ThreadPoolExecutor(2) as pool:
        futures = {name: pool.submit(simulate, bundle, base / name / "autograder", fill) for name, fill in cases.items()}
        return {name: future.result() for name, future in futures.items()}


def test_bundle_holds_the_entry_points_the_suites_and_requirements(bundle):
    with zipfile.ZipFile(bundle) as archive:
        names = set(archive.namelist())
        modes = {info.filename: (info.external_attr >> 16) & 0o777 for info in archive.infolist()}
        requirements = archive.read("requirements-autograder.txt").decode()
        config = json.loads(archive.read("autograder.json"))
    for name in ("setup.sh", "run_autograder"):
        assert name in names and modes[name] & 0o111, f"{name} missing or not executable"
    for name in ("course/grader.py", "course/harness.py", "course/pytest_plugin.py", "course/launcher.py",
                 "tests/conftest.py", f"tests/{SLUG}/test_wire.py", f"hidden/{SLUG}/test_hidden_ch01.py", "pyproject.toml"):
        assert name in names, name
    assert not any("__pycache__" in name or name.startswith("solutions/") for name in names)
    packages = {line.split("==")[0] for line in requirements.split()}
    assert {"pytest", "pytest-timeout", "h11"} <= packages
    assert set(requirements.splitlines()) <= set(gradescope.declared_requirements().values()), "pinned as requirements.txt pins them"
    assert config["chapter"] == 1 and config["hidden"] is True


def test_requirements_are_pinned_from_requirements_txt(tmp_path):
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "test_x.py").write_text("import h11\nimport httpx\n")
    pins = tmp_path / "requirements.txt"
    pins.write_text("# pins\n-r other.txt\nPytest==0.0.1  # a comment\nhttpx >= 0.1 ; python_version >= '3.11'\n")
    assert gradescope.requirements([suite], pins)[:4] == [
        "Pytest==0.0.1",  # as written there
        f"pytest-timeout=={metadata.version('pytest-timeout')}",  # not there: the installed version
        f"h11=={metadata.version('h11')}",
        "httpx >= 0.1 ; python_version >= '3.11'",
    ]


def test_setup_script_is_valid_bash(bundle, tmp_path):
    extract_bundle(bundle, tmp_path)
    subprocess.run(["bash", "-n", str(tmp_path / "setup.sh")], check=True)
    subprocess.run(["bash", "-n", str(tmp_path / "run_autograder")], check=True)


def test_results_list_every_test_with_its_points(runs):
    roster = collect_roster(CHAPTER)
    expected = sum(test.points for test in roster) + 1  # the hidden test is worth 1
    for name, results in runs.items():
        assert len(results["tests"]) == len(roster) + 1, name
        assert sum(test["max_score"] for test in results["tests"]) == expected == results["max_score"], name
        assert all(test["max_score"] > 0 and "name" in test for test in results["tests"]), name
    assert runs["correct"]["score"] == expected
    assert all(test["status"] == "passed" for test in runs["correct"]["tests"])


def test_hidden_tests_are_hidden_until_published(runs):
    hidden = [test for test in runs["correct"]["tests"] if "(hidden)" in test["name"]]
    assert len(hidden) == 1 and hidden[0]["visibility"] == "after_published"
    visible = [test for test in runs["correct"]["tests"] if test is not hidden[0]]
    assert all(test["visibility"] == "visible" for test in visible)


def test_broken_empty_and_hostile_submissions_score_0_with_a_reason(runs):
    assert runs["checkout"]["score"] == 0 and "NotImplementedError" in json.dumps(runs["checkout"]["tests"])
    assert runs["empty"]["score"] == 0 and f"No {SLUG}/ folder was found" in runs["empty"]["output"]
    assert runs["hostile"]["score"] == 0 and "killed" in runs["hostile"]["output"]
