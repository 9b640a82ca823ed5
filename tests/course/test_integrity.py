"""The course checks itself: solutions pass, starters fail the right way, chapters/ is in sync.

Each chapter suite runs in a child pytest through the grader (exactly what a student's
`python -m course grade N` does), so these checks see what students and instructors see.
"""

import pytest

from course.chapters import REPO_ROOT, ready_chapters
from course.generator import differences, generate, regions_by_chapter
from course.grader import render_failures, run_suite

CHAPTERS = ready_chapters()
IDS = [chapter.slug for chapter in CHAPTERS]


def test_chapters_folder_matches_the_generator():
    """chapters/ is exactly what `python -m course build` makes from solutions/."""
    problems = differences(generate(), REPO_ROOT / "chapters")
    assert not problems, "chapters/ is out of sync; run `python -m course build`:\n" + "\n".join(problems)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=IDS)
def test_every_task_has_a_solution_region(chapter):
    """Each task of the chapter is a TODO somewhere in its starter."""
    regions = regions_by_chapter()[chapter.slug]
    marked = {region.task for _, region in regions}
    assert marked == set(chapter.tasks), f"tasks without a solution region: {set(chapter.tasks) - marked}"
    starter = "".join(path.read_text() for path in (REPO_ROOT / "chapters" / chapter.slug).rglob("*.py"))
    for task in chapter.tasks:
        assert f"TODO(task {task})" in starter


@pytest.mark.parametrize("chapter", CHAPTERS, ids=IDS)
def test_solution_passes_its_suite_and_every_earlier_one(chapter):
    """Solution N gets full marks on suites 1..N, every test of every task included."""
    suites = [c for c in CHAPTERS if c.number <= chapter.number]
    grade = run_suite(chapter, "solutions", suites=suites)
    assert grade.full_marks, f"{grade.score}/{grade.max_score} {grade.problem}\n{render_failures(grade)}"
    for suite in suites:
        tasks = {test.task for test in grade.tests if test.task.startswith(f"{suite.number}.")}
        assert tasks == set(suite.tasks), f"chapter {suite.number} tasks with no test: {set(suite.tasks) - tasks}"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=IDS)
def test_starter_fails_every_new_test_with_not_implemented_error(chapter):
    """Starter N fails each test of chapter N, and each failure is the starter's
    NotImplementedError (not some other crash)."""
    grade = run_suite(chapter, "chapters")
    assert grade.tests and not grade.problem, grade.problem
    passing = [test.nodeid for test in grade.tests if test.outcome == "passed"]
    assert not passing, f"the starter passes tests it should fail: {passing}"
    other = [f"{test.nodeid}:\n{test.output}" for test in grade.tests if "NotImplementedError" not in test.output]
    assert not other, "these fail for another reason than the starter's NotImplementedError:\n" + "\n\n".join(other)
