"""The wire suites give full marks to a correct server that is not the reference solution.

Instructors grade submissions "structured their own way" with `--wire-only`, so suites 1..9
must grade what COURSE_SPEC.md fixes and nothing narrower: not header order or letter case,
not error wording, not extra headers, not how the bytes are split into sends, not the recv
size, not a lingering close, not how the server is built (`ch09_threading` is a poll-based
waiting room feeding a thread pool that owns a connection per turn). The servers in
`tests/course/independent/` (`ch03_bodies/`, `ch06_gzip/`, `ch09_threading/`) are written
from the spec alone, deliberately unlike `solutions/` in all those ways (see their README). A
wire test that fails one is narrower than the spec (or flaky), not a catch: fix the test,
keeping it able to catch the mutants in `tests/course/mutants/`.
"""

from pathlib import Path

from course.chapters import get_chapter
from course.grader import render_failures, run_suite

INDEPENDENT = Path(__file__).parent / "independent"


def test_independent_server_gets_full_marks_on_wire_suites_1_to_3():
    """An independent, spec-correct chapter-3 server gets full marks on wire suites 1..3."""
    suites = [get_chapter(number) for number in (1, 2, 3)]
    grade = run_suite(get_chapter(3), str(INDEPENDENT), wire_only=True, suites=suites)
    assert grade.tests and not grade.problem, grade.problem
    assert grade.full_marks, f"{grade.score}/{grade.max_score}\n{render_failures(grade)}"
    graded = {test.task.split(".")[0] for test in grade.tests}
    assert graded == {"1", "2", "3"}, f"suites graded: {sorted(graded)}"


def test_independent_server_gets_full_marks_on_wire_suites_1_to_6():
    """An independent, spec-correct chapter-6 server gets full marks on wire suites 1..6."""
    suites = [get_chapter(number) for number in range(1, 7)]
    grade = run_suite(get_chapter(6), str(INDEPENDENT), wire_only=True, suites=suites)
    assert grade.tests and not grade.problem, grade.problem
    assert grade.full_marks, f"{grade.score}/{grade.max_score}\n{render_failures(grade)}"
    graded = {test.task.split(".")[0] for test in grade.tests}
    assert graded == {"1", "2", "3", "4", "5", "6"}, f"suites graded: {sorted(graded)}"


def test_independent_server_gets_full_marks_on_wire_suites_1_to_9():
    """An independent, spec-correct chapter-9 server gets full marks on wire suites 1..9."""
    suites = [get_chapter(number) for number in range(1, 10)]
    grade = run_suite(get_chapter(9), str(INDEPENDENT), wire_only=True, suites=suites)
    assert grade.tests and not grade.problem, grade.problem
    assert grade.full_marks, f"{grade.score}/{grade.max_score}\n{render_failures(grade)}"
    graded = {test.task.split(".")[0] for test in grade.tests}
    assert graded == {str(number) for number in range(1, 10)}, f"suites graded: {sorted(graded)}"
