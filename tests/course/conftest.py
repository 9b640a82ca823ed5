"""Shared by the course checks."""

import json
import subprocess
import sys
from dataclasses import dataclass

import pytest

from course.chapters import REPO_ROOT


@dataclass(frozen=True)
class SuiteSize:
    tests: int
    points: int


@pytest.fixture(scope="session")
def chapter1_suite(tmp_path_factory) -> SuiteSize:
    """How many tests and points chapter 1's suite has, read from a collect-only run, so the
    checks of the batch and Classroom grading follow the suite as it grows."""
    record = tmp_path_factory.mktemp("collect") / "record.jsonl"
    subprocess.run(
        [sys.executable, "-m", "pytest", "tests/ch01_accept_loop", "--collect-only", "-q", "-o", "addopts=",
         "-p", "no:cacheprovider", "--course-report", str(record)],
        cwd=REPO_ROOT, capture_output=True, check=True, timeout=120,
    )
    collected = [json.loads(line) for line in record.read_text().splitlines()]
    return SuiteSize(len(collected), sum(entry["points"] for entry in collected))
