"""A suite is judged by the wrong implementations it catches: every mutant must lose points.

Each mutant is a copy of a solution with one classic mistake (tests/course/mutants/); it is
graded on its chapter's wire tests alone, as an instructor grades a submission with
`--wire-only`, and stops at the first failing test.
"""

import shutil

import pytest

from course.chapters import REPO_ROOT, get_chapter
from course.grader import run_suite

from .mutants import Mutant, all_mutants

MUTANTS = all_mutants()


def make_mutant(mutant: Mutant, folder) -> None:
    package = folder / mutant.chapter
    shutil.copytree(REPO_ROOT / "solutions" / mutant.chapter, package, ignore=shutil.ignore_patterns("__pycache__"))
    path = package / mutant.file
    text = path.read_text()
    assert text.count(mutant.old) == 1, f"{mutant.name}: the text to replace must occur exactly once in {mutant.file}"
    path.write_text(text.replace(mutant.old, mutant.new))


@pytest.mark.parametrize("mutant", MUTANTS, ids=[f"{m.chapter}-{m.name}" for m in MUTANTS])
def test_mutant_loses_points(mutant, tmp_path):
    make_mutant(mutant, tmp_path)
    grade = run_suite(get_chapter(mutant.chapter), str(tmp_path), wire_only=True, extra_args=("-x",))
    assert grade.tests, grade.problem
    assert grade.score < grade.max_score, f"the {mutant.chapter} wire tests give full marks to a server that {mutant.mistake}"
