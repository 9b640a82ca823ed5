"""Faulty variants of the reference solutions: the classic mistakes each chapter's suite must catch.

A mutant is a copy of `solutions/<chapter>/` with one exact text replacement in one file.
`tests/course/test_mutants.py` grades each one with its chapter's wire tests and requires it
to lose points: a suite is judged by the wrong implementations it catches.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass


@dataclass(frozen=True)
class Mutant:
    chapter: str  # the chapter slug, e.g. "ch02_headers"
    name: str  # short id, used as the test id
    mistake: str  # the mistake, as a student would make it
    file: str  # path inside the chapter package, e.g. "server.py"
    old: str  # exact text of the solution file; must occur exactly once
    new: str  # what the student wrote instead


def all_mutants() -> list[Mutant]:
    """The mutants of every chapter module in this package (one module per chapter slug)."""
    found: list[Mutant] = []
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        found.extend(module.MUTANTS)
    return found
