"""GitHub Classroom: turn the grader's results.json into the autograding reporter's input.

Strategy: GitHub Classroom's reporter action (`classroom-resources/autograding-grading-reporter`)
reads, for each runner id it is given, an environment variable `<ID>_RESULTS` holding
base64-encoded JSON with `max_score` and `tests[]` (each with `name`, `status` pass/fail and
`score`); it adds the scores up and reports `Points X/Y` to Classroom. This module converts
the Gradescope-shaped results.json that `python -m course grade N --results-json F` writes
into that shape, test by test, so Classroom gets partial credit per test, and prints the line
`result=...` that a workflow step appends to `$GITHUB_OUTPUT`. The workflow template is
`course/templates/classroom.yml`.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from pathlib import Path


def runner_result(results: dict) -> dict:
    tests = []
    for test in results.get("tests", []):
        passed = test.get("status") == "passed"
        tests.append(
            {
                "name": test.get("name", ""),
                "status": "pass" if passed else "fail",
                "message": "" if passed else (test.get("output") or "")[:2000],
                "score": test.get("score", 0),
                "max_score": test.get("max_score", 0),
                "test_code": "",
                "filename": "",
                "line_no": 0,
                "duration": 0,
            }
        )
    max_score = results.get("max_score", sum(t["max_score"] for t in tests))
    status = "pass" if tests and results.get("score", 0) == max_score else "fail"
    if not tests:
        status = "error"
    return {"version": 1, "status": status, "max_score": max_score, "tests": tests}


def encoded(results: dict) -> str:
    return base64.b64encode(json.dumps(runner_result(results)).encode("utf-8")).decode("ascii")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m course.classroom",
        description="Print `result=<base64>` for GitHub Classroom's autograding reporter, from a results.json.",
    )
    parser.add_argument("results_json", help="the file written by `python -m course grade N --results-json FILE`")
    arguments = parser.parse_args(argv)
    try:
        results = json.loads(Path(arguments.results_json).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        print(f"error: cannot read {arguments.results_json}: {error}", file=sys.stderr)
        results = {"score": 0, "max_score": 0, "tests": []}
    print(f"result={encoded(results)}")
    summary = f"{results.get('score', 0)}/{results.get('max_score', 0)} points"
    print(summary, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
