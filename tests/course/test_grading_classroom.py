"""The GitHub Classroom workflow template: its grading step, run here as Actions would run it.

The workflow checks out the student's repository as `submission/` and the course as
`grader/`. The test lays out such a workspace (grader = this checkout, submission = a
student's repository holding the solution), runs the `Grade the chapter` step's script with
bash and the step's environment, and decodes what it appended to $GITHUB_OUTPUT: the
reporter's input, whose test scores must add up to the points.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from course.chapters import REPO_ROOT
from course.classroom import runner_result

TEMPLATE = REPO_ROOT / "course" / "templates" / "classroom.yml"


def load_workflow() -> dict:
    return yaml.safe_load(TEMPLATE.read_text())


def step(workflow: dict, step_id: str) -> dict:
    steps = workflow["jobs"]["run-autograding-tests"]["steps"]
    return next(s for s in steps if s.get("id") == step_id)


def test_workflow_reports_the_grade_step_to_classroom():
    workflow = load_workflow()
    assert workflow["permissions"]["checks"] == "write"
    steps = workflow["jobs"]["run-autograding-tests"]["steps"]
    reporter = steps[-1]
    assert reporter["uses"].startswith("classroom-resources/autograding-grading-reporter@")
    assert reporter["with"]["runners"] == "grade"
    assert reporter["env"]["GRADE_RESULTS"] == "${{ steps.grade.outputs.result }}"
    checkouts = [s["with"]["path"] for s in steps if s.get("uses", "").startswith("actions/checkout@")]
    assert checkouts == ["submission", "grader"]


def test_grade_step_writes_points_for_the_reporter(chapter1_suite, tmp_path):
    workflow = load_workflow()
    grade = step(workflow, "grade")
    workspace = tmp_path / "workspace"
    (workspace / "submission" / "chapters").mkdir(parents=True)
    shutil.copytree(REPO_ROOT / "solutions" / "ch01_accept_loop", workspace / "submission" / "chapters" / "ch01_accept_loop",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (workspace / "grader").symlink_to(REPO_ROOT)
    output, runner_temp = tmp_path / "github_output", tmp_path / "runner_temp"
    runner_temp.mkdir()
    env = dict(os.environ, **{k: str(v) for k, v in workflow["env"].items()})
    env.update(GITHUB_OUTPUT=str(output), RUNNER_TEMP=str(runner_temp), GITHUB_WORKSPACE=str(workspace))
    # setup-python puts its interpreter first on PATH; here, this test's interpreter.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    completed = subprocess.run(
        ["bash", "-e", "-c", grade["run"]], cwd=workspace / grade["working-directory"], env=env,
        capture_output=True, text=True, timeout=120,
    )
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
    line = next(line for line in output.read_text().splitlines() if line.startswith("result="))
    result = json.loads(base64.b64decode(line.removeprefix("result=")))
    assert result["max_score"] == chapter1_suite.points, completed.stdout[-3000:]
    assert sum(test["score"] for test in result["tests"]) == chapter1_suite.points
    assert result["status"] == "pass" and all(test["status"] == "pass" for test in result["tests"])


def test_partial_credit_is_kept_test_by_test():
    results = {
        "score": 3,
        "max_score": 5,
        "tests": [
            {"name": "a", "score": 3, "max_score": 3, "status": "passed", "output": ""},
            {"name": "b", "score": 0, "max_score": 2, "status": "failed", "output": "Expected: 200\nProblem: 404"},
        ],
    }
    result = runner_result(results)
    assert result["max_score"] == 5 and result["status"] == "fail"
    assert [(t["status"], t["score"]) for t in result["tests"]] == [("pass", 3), ("fail", 0)]
    assert result["tests"][1]["message"].startswith("Expected: 200")
