"""Broken: exits at once, status 0, before listening (a `main()` that is never called, say)."""

import sys

sys.exit(0)
