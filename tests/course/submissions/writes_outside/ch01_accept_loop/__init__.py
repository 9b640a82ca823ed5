"""Grader fixture `writes_outside`: the reference server, writing outside its own folder.

When it starts serving, it writes next to its submission folder (where the other students'
submissions would be, were it not graded from a copy) and into the home folder. The guard
keeps this fixture from littering a real checkout or home if someone runs it outside the
grader; a real hostile submission would not be so polite, and the grader's sandbox does not
rely on that. See tests/course/submissions/README.md.
"""

from pathlib import Path

from . import server


def write_outside():
    here = Path(__file__).resolve()
    if "httpfs-sandbox-" in str(here):
        (here.parents[2] / "ESCAPED-writes_outside.txt").write_text("written next to the submission folder\n")
        (Path.home() / "ESCAPED-writes_outside.txt").write_text("written into HOME\n")


def serve_after_writing_outside(listener, serve=server.serve_forever):
    write_outside()
    serve(listener)


# The hostile change: __main__ imports serve_forever from .server after this runs, so it
# gets this one. The unit tests never serve, so only the server process writes.
server.serve_forever = serve_after_writing_outside
