"""One package per chapter: `python -m <this folder>.chNN_slug --port 0` starts that chapter's server."""
