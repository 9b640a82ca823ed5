"""Grader fixture `exits_at_once` (broken): exits with status 0 before listening (a `main()` never called, say)."""

import sys

sys.exit(0)
