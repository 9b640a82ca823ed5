"""The course's command line: `python -m course grade N`, `python -m course build [--check]`."""

from __future__ import annotations

import argparse
import sys

from .chapters import CHAPTERS, get_chapter


def chapter_argument(value: str):
    try:
        chapter = get_chapter(value)
    except KeyError as error:
        raise argparse.ArgumentTypeError(str(error.args[0])) from None
    if not chapter.ready:
        raise argparse.ArgumentTypeError(f"chapter {chapter.number} ({chapter.slug}) is not written yet")
    return chapter


def main(argv: list[str] | None = None) -> int:
    chapter_map = "\n".join(f"  {c.number}  {c.slug:<18} {c.title}{'' if c.ready else '  (coming)'}" for c in CHAPTERS)
    parser = argparse.ArgumentParser(
        prog="python -m course",
        description="HTTP from Scratch: grade a chapter, or regenerate the starters.",
        epilog="chapters:\n" + chapter_map,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)

    grade = commands.add_parser("grade", help="run a chapter's graded suite against an implementation")
    grade.add_argument("chapter", type=chapter_argument, help="chapter number (1) or slug (ch01_accept_loop)")
    grade.add_argument(
        "--impl",
        default="chapters",
        help="chapters (your work, the default), solutions, or PATH: a folder holding chNN_slug/ packages or a course checkout",
    )
    grade.add_argument("--wire-only", action="store_true", help="only the tests that talk to the server over a socket")
    grade.add_argument("--results-json", metavar="FILE", help="write Gradescope-shaped results to FILE")
    grade.add_argument("-v", "--verbose", action="store_true", help="also show pytest's own output")

    build = commands.add_parser("build", help="regenerate chapters/ from solutions/ (maintainers: this overwrites chapters/)")
    build.add_argument("--check", action="store_true", help="change nothing; fail if chapters/ is out of sync")

    arguments = parser.parse_args(argv)
    if arguments.command == "grade":
        from .grader import grade_command

        return grade_command(arguments.chapter, arguments.impl, arguments.wire_only, arguments.results_json, arguments.verbose)
    if arguments.command == "build":
        return build_command(arguments.check)
    return 2


def build_command(check: bool) -> int:
    from .chapters import REPO_ROOT
    from .generator import MarkerError, build, differences, generate

    try:
        if check:
            problems = differences(generate(), REPO_ROOT / "chapters")
            for problem in problems:
                print(problem)
            print("chapters/ is out of sync: run `python -m course build`" if problems else "chapters/ is in sync with solutions/")
            return 1 if problems else 0
        print(f"wrote {build()} files to chapters/")
        return 0
    except MarkerError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
