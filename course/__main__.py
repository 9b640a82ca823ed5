"""The course's command line: `python -m course grade N`, `python -m course build [--check]`,
`python -m course grade N --submissions DIR` (a whole class), `python -m course gradescope N`,
`python -m course bench` (throughput against the stdlib and uvicorn), `python -m course bench --memory`."""

from __future__ import annotations

import argparse
import os
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
    add_grading_options(grade)
    batch = grade.add_argument_group("grading a folder of submissions")
    batch.add_argument(
        "--submissions",
        metavar="DIR",
        help="grade every sub-folder (or .zip) of DIR, each a chNN_slug/ folder or a course checkout",
    )
    batch.add_argument("--jobs", type=positive_int, default=0, metavar="N", help="submissions graded at once (default: one per core)")
    batch.add_argument(
        "--gradebook",
        metavar="FILE",
        help="the CSV gradebook to write (default: gradebook-chNN_slug.csv); results go to FILE's name + -results/",
    )

    gradescope = commands.add_parser("gradescope", help="build a Gradescope autograder bundle (autograder.zip) for a chapter")
    gradescope.add_argument("chapter", type=chapter_argument, help="chapter number (1) or slug (ch01_accept_loop)")
    gradescope.add_argument("-o", "--output", default="autograder.zip", metavar="ZIP", help="where to write it (default: autograder.zip)")
    gradescope.add_argument("--wire-only", action="store_true", help="grade with the wire tests only")
    gradescope.add_argument(
        "--hidden-visibility",
        default="after_published",
        choices=["hidden", "after_due_date", "after_published", "visible"],
        help="when students see the hidden tests' results (Gradescope visibility; default after_published)",
    )
    add_grading_options(gradescope)

    build = commands.add_parser("build", help="regenerate chapters/ from solutions/ (maintainers: this overwrites chapters/)")
    build.add_argument("--check", action="store_true", help="change nothing; fail if chapters/ is out of sync")

    bench = commands.add_parser(
        "bench",
        help="measure a solution: throughput against the stdlib and uvicorn, or --memory (figures, not tests)",
        description=BENCH_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    bench.add_argument(
        "--chapter",
        type=bench_chapter_argument,
        default=None,
        help="the chapter whose server to measure, or several: 6,7,9 (default: 9 once it is written, else the latest; --memory: 5)",
    )
    bench.add_argument("--impl", default="solutions", help="solutions (the default), chapters, or PATH")
    throughput = bench.add_argument_group("throughput (the default benchmark)")
    throughput.add_argument(
        "--against",
        default=None,
        metavar="NAMES",
        help="servers to compare with, comma-separated (default: stdlib,uvicorn; "
        "also stdlib-http11, stdlib-http11-nodelay, uvicorn-h11, uvicorn-httptools; none for the chapter alone)",
    )
    throughput.add_argument("--duration", type=positive_float, default=None, metavar="S", help="seconds of load per server and round (default 5)")
    throughput.add_argument(
        "--rounds", type=positive_int, default=None, metavar="N", help="measure each server N times, taking turns; report the median (default 3)"
    )
    throughput.add_argument("--connections", type=positive_int, default=None, metavar="C", help="concurrent connections (default 50)")
    throughput.add_argument(
        "--tool", choices=["auto", "wrk", "python"], default=None, help="load generator (default auto: wrk when installed)"
    )
    throughput.add_argument("--json", metavar="FILE", default=None, help="also write the figures to FILE as JSON")
    memory = bench.add_argument_group("memory")
    memory.add_argument("--memory", action="store_true", help="peak memory of the server while it sends one large file")
    memory.add_argument("--size-mb", type=positive_int, default=None, help="size of the file to serve, in MiB (default 200)")

    arguments = parser.parse_args(argv)
    if arguments.command == "bench":
        return bench_command(arguments, bench)
    if arguments.command == "grade":
        return grade_dispatch(arguments, grade)
    if arguments.command == "gradescope":
        from .gradescope import build_bundle

        path = build_bundle(
            arguments.chapter,
            arguments.output,
            wire_only=arguments.wire_only,
            hidden=arguments.hidden,
            limits=limits_from(arguments, single=True),
            hidden_visibility=arguments.hidden_visibility,
        )
        print(f"Wrote {path}: upload it as the assignment's autograder (Configure Autograder > Zip file upload).")
        return 0
    if arguments.command == "build":
        return build_command(arguments.check)
    return 2


def positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return number


def positive_float(value: str) -> float:
    number = float(value)
    if number <= 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return number


def add_grading_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--hidden",
        metavar="DIR",
        help="also run the hidden tests in DIR/chNN_slug/ (instructors: tests students do not have)",
    )
    parser.add_argument(
        "--test-timeout", type=positive_float, metavar="S", help="cap on any one test, in seconds (20; 10 with --submissions)"
    )
    parser.add_argument(
        "--submission-timeout",
        type=positive_float,
        metavar="S",
        help="cap on grading one submission, its whole suite, in seconds (300; 60 with --submissions)",
    )
    parser.add_argument(
        "--start-timeout",
        type=positive_float,
        metavar="S",
        help="how long a server has to print its Listening line (half the test cap, at most 10)",
    )


def limits_from(arguments: argparse.Namespace, single: bool):
    from .batch import BATCH_SUBMISSION_TIMEOUT, BATCH_TEST_TIMEOUT
    from .grader import SUITE_TIMEOUT, TEST_TIMEOUT, Limits

    test_default, suite_default = (TEST_TIMEOUT, SUITE_TIMEOUT) if single else (BATCH_TEST_TIMEOUT, BATCH_SUBMISSION_TIMEOUT)
    return Limits(arguments.test_timeout or test_default, arguments.submission_timeout or suite_default, arguments.start_timeout)


def grade_dispatch(arguments: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if arguments.submissions:
        if arguments.impl != "chapters":
            parser.error("--impl and --submissions do not go together: --submissions grades every folder in DIR")
        if arguments.results_json:
            parser.error("--results-json is for one submission; --submissions writes one results.json per submission")
        from .batch import batch_command

        return batch_command(
            arguments.chapter,
            arguments.submissions,
            arguments.gradebook,
            arguments.jobs or os.cpu_count() or 1,
            arguments.wire_only,
            arguments.hidden,
            limits_from(arguments, single=False),
        )
    if arguments.gradebook or arguments.jobs:
        parser.error("--gradebook and --jobs go with --submissions DIR")
    from .grader import grade_command

    return grade_command(
        arguments.chapter,
        arguments.impl,
        arguments.wire_only,
        arguments.results_json,
        arguments.verbose,
        hidden=arguments.hidden,
        limits=limits_from(arguments, single=True),
    )


BENCH_DESCRIPTION = """\
Benchmarks print figures; they never pass or fail the course (timings are noisy).

Throughput (the default): requests/s and latency of GET / ("Hello, World!") for a chapter's
solution, the standard library's http.server.ThreadingHTTPServer and uvicorn, one after
another in one run, each loaded the same way, then the ratios and the targets of the spec
(chapter 9: at least 20x ThreadingHTTPServer, at least 1x uvicorn). The load comes from wrk
when it is installed (apt-get install wrk; `wrk -t2 -c50 -d10s --latency`), otherwise from
the course's Python load generator, which bounds the figures. uvicorn is installed for the
benchmark only: pip install -r requirements-bench.txt (without it, its row says so).
Everything runs on 127.0.0.1 and stops by itself; one server at a time, killed at the end.
Each server must first answer one GET / with 200 "Hello, World!", else its row says why.
Columns: conn. (did the server keep the connection alive), requests/s, p50 and p99 latency,
errors (connect, read, write, timeout) / responses that were not 2xx. Exit status 1 only
when a chapter could not be measured; the targets are reported, not enforced.

  python -m course bench                                   chapter 9 (or the latest) vs stdlib, uvicorn
  python -m course bench --chapter 6,7,9 --against stdlib,stdlib-http11,uvicorn
  python -m course bench --duration 3 --connections 10 --tool python --json bench.json

Memory: python -m course bench --memory [--chapter 5] [--size-mb 200] serves a large file
and reports how much the server's peak resident memory rose (target: under 32 MiB).
"""


def bench_chapter_argument(value: str):
    """One chapter, or several separated by commas (throughput only: `--chapter 6,7,9`). Any
    chapter of the map: one not marked ready may still have its solution written (the
    benchmark checks that the package is there)."""
    try:
        return [get_chapter(part.strip()) for part in value.split(",") if part.strip()]
    except KeyError as error:
        raise argparse.ArgumentTypeError(str(error.args[0])) from None


def bench_command(arguments: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    throughput_options = ("against", "duration", "rounds", "connections", "tool", "json")
    if arguments.memory:
        given = [f"--{name}" for name in throughput_options if getattr(arguments, name) is not None]
        if given:
            verb = "goes" if len(given) == 1 else "go"
            parser.error(f"{', '.join(given)} {verb} with the throughput benchmark, not --memory")
        return memory_command(arguments, parser)
    if arguments.size_mb is not None:
        parser.error("--size-mb goes with --memory")
    return throughput_command(arguments, parser)


def memory_command(arguments: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from .bench import memory_benchmark

    if arguments.chapter and len(arguments.chapter) > 1:
        parser.error("the memory benchmark measures one chapter at a time")
    chapter = arguments.chapter[0] if arguments.chapter else get_chapter(5)
    if not chapter.ready:
        parser.error(f"argument --chapter: chapter {chapter.number} ({chapter.slug}) is not written yet")
    if chapter.number < 5:
        parser.error("the memory benchmark serves a file: it needs chapter 5 or later")
    return memory_benchmark(chapter, arguments.size_mb or 200, arguments.impl)


def throughput_command(arguments: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from .chapters import ready_chapters
    from .harness import ImplementationNotFound, resolve_impl
    from .throughput import DEFAULT_AGAINST, DEFAULT_DURATION, DEFAULT_ROUNDS, LoadFailed, parse_against, throughput_benchmark

    chapters = arguments.chapter
    if not chapters:
        nine = get_chapter(9)
        chapters = [nine if nine.ready else ready_chapters()[-1]]
    for chapter in chapters:
        try:
            folder = resolve_impl(arguments.impl, chapter.slug)
        except ImplementationNotFound as error:
            parser.error(str(error) if chapter.ready else f"chapter {chapter.number} ({chapter.slug}) is not written yet: {error}")
        if not (folder / chapter.slug).is_dir():
            parser.error(f"{folder} holds no {chapter.slug}/ package" + ("" if chapter.ready else ": that chapter is not written yet"))
    try:
        against = parse_against(arguments.against if arguments.against is not None else ",".join(DEFAULT_AGAINST))
    except ValueError as error:
        parser.error(f"--against: {error}")
    try:
        return throughput_benchmark(
            chapters,
            against,
            duration=arguments.duration or DEFAULT_DURATION,
            rounds=arguments.rounds or DEFAULT_ROUNDS,
            connections=arguments.connections or 50,
            tool=arguments.tool or "auto",
            impl=arguments.impl,
            json_path=arguments.json,
        )
    except LoadFailed as error:  # --tool wrk without wrk
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # the servers and load processes were stopped on the way out
        print("\ninterrupted", file=sys.stderr)
        return 130


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


def run() -> int:
    try:
        return main()
    except BrokenPipeError:
        # The reader went away (`python -m course grade 4 | head`): not an error of ours. Point
        # stdout at /dev/null so that Python's final flush does not complain again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    raise SystemExit(run())
