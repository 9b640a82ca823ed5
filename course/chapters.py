"""The course map: every chapter, its slug, and its numbered tasks.

One registry that the grader, the starter generator, the tests and the site all read, so a
chapter's number, slug and task titles are written down exactly once. Task N.k is graded by
the tests marked `task("N.k")` and explained by hint N.k on the chapter's page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Chapter:
    number: int
    slug: str
    title: str
    tasks: dict[str, str] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        """A chapter is ready once it has tasks: then it has a solution, a starter and a suite."""
        return bool(self.tasks)

    @property
    def page(self) -> str:
        return f"docs/chapters/{self.slug}.md"

    def task_title(self, task_id: str) -> str:
        return self.tasks.get(task_id, "")


CHAPTERS: list[Chapter] = [
    Chapter(
        1,
        "ch01_accept_loop",
        "The accept loop",
        {
            "1.1": "Open a listening socket",
            "1.2": "Read the request: loop on recv",
            "1.3": "Build a valid response",
            "1.4": "Serve one client after another, for ever",
        },
    ),
    Chapter(
        2,
        "ch02_headers",
        "Reading and parsing the head",
        {
            "2.1": "Buffer the head up to the blank line",
            "2.2": "Parse the request line",
            "2.3": "Parse the header fields",
            "2.4": "Route the request and answer errors",
        },
    ),
    Chapter(
        3,
        "ch03_bodies",
        "Request bodies",
        {
            "3.1": "Validate Content-Length",
            "3.2": "Read exactly the body",
            "3.3": "Echo the body back",
            "3.4": "Limits and 100-continue",
        },
    ),
    Chapter(
        4,
        "ch04_routing",
        "Routing",
        {
            "4.1": "Split the target and decode it",
            "4.2": "Match routes: priority, 404 and 405",
            "4.3": "Unknown methods (501), HEAD and Date",
            "4.4": "JSON routes: /info and /json",
        },
    ),
    Chapter(
        5,
        "ch05_files",
        "Static files",
        {
            "5.1": "Map a URL path to a file, safely",
            "5.2": "Serve files: MIME types and streaming",
            "5.3": "Validators and conditional GET",
            "5.4": "Directories: redirect and index",
            "5.5": "Atomic uploads",
        },
    ),
    Chapter(
        6,
        "ch06_gzip",
        "Compression",
        {
            "6.1": "Parse Accept-Encoding",
            "6.2": "Compress what pays, with Vary",
            "6.3": "An ETag per encoding",
        },
    ),
    Chapter(
        7,
        "ch07_keepalive",
        "Persistent connections",
        {
            "7.1": "Serve request after request on one connection",
            "7.2": "Who closes: versions and Connection",
            "7.3": "Close when the next request cannot be found",
            "7.4": "Close idle connections",
        },
    ),
    Chapter(
        8,
        "ch08_chunked",
        "Chunked transfer coding",
        {
            "8.1": "Choose the framing: the smuggling rules",
            "8.2": "Decode chunked bodies",
            "8.3": "Stream responses: chunked or close-delimited",
            "8.4": "Compress a stream as it goes",
        },
    ),
    Chapter(
        9,
        "ch09_threading",
        "Concurrency",
        {
            "9.1": "A bounded pool of workers",
            "9.2": "A poller for waiting connections",
            "9.3": "408 for heads that take too long",
            "9.4": "Shut down gracefully",
        },
    ),
]


def get_chapter(key: int | str) -> Chapter:
    """Look a chapter up by number (3, "3", "03") or slug ("ch03_bodies")."""
    for chapter in CHAPTERS:
        if str(key) == chapter.slug or str(key).lstrip("0") == str(chapter.number):
            return chapter
    known = ", ".join(f"{c.number} ({c.slug})" for c in CHAPTERS)
    raise KeyError(f"no chapter {key!r}; the chapters are {known}")


def ready_chapters() -> list[Chapter]:
    return [chapter for chapter in CHAPTERS if chapter.ready]


def chapter_of_task(task_id: str) -> Chapter:
    return get_chapter(task_id.split(".")[0])
