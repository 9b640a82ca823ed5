"""Hostile: a correct server that writes files outside its own folder when it starts.

Next to its submission folder (where the other students' submissions would be, were it not
graded from a copy) and into the home folder. The guard keeps this fixture from littering a
real checkout or home if someone runs it outside the grader; a real hostile submission would
not be so polite, and the grader's sandbox does not rely on that.
"""

import sys
from pathlib import Path

from .server import serve_forever, start

here = Path(__file__).resolve()
if "httpfs-sandbox-" in str(here):
    (here.parents[2] / "ESCAPED-writes_outside.txt").write_text("written next to the submission folder\n")
    (Path.home() / "ESCAPED-writes_outside.txt").write_text("written into HOME\n")
serve_forever(start(sys.argv[1:]))
