"""The book builds: `mkdocs build --strict` with every snippet found and every notebook executed."""

import os
import subprocess
import sys
from pathlib import Path

from course.chapters import REPO_ROOT


def test_site_builds_strictly(tmp_path):
    mkdocs = Path(sys.executable).with_name("mkdocs")
    command = [str(mkdocs) if mkdocs.exists() else "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")]
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    result = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stdout}\n{result.stderr}"
    pages = {path.relative_to(tmp_path / "site").as_posix() for path in (tmp_path / "site").rglob("index.html")}
    for page in ("index.html", "chapters/ch01_accept_loop/index.html", "instructors/index.html"):
        assert page in pages, f"{page} missing from the built site"
