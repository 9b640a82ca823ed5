"""Start the server: python -m <root>.ch08_chunked [--host H] [--port P] [--max-head BYTES]
[--max-body BYTES] [--directory D] [--gzip-min-size BYTES] [--keep-alive-timeout S].

Strategy: parse the launch-contract flags, open the listening socket, announce it on stdout
with the port it really got, then serve until SIGINT or SIGTERM, which end the process with
status 0. Nothing in this file is an exercise: the exercises are in request.py, response.py, server.py, app.py
and encoding.py.
"""

import argparse
import signal
from pathlib import Path

from .app import make_router
from .server import Settings, create_listener, log, serve_forever

# Flags that later chapters introduce. Accepting (and ignoring) them here lets one command
# line start any chapter's server.
LATER_FLAGS = (
    "--header-timeout",
    "--workers",
    "--grace",
)


class StopServer(BaseException):
    """Raised by the signal handler. A BaseException, so no `except Exception` swallows it."""


def stop(signum, frame):
    raise StopServer(signal.Signals(signum).name)


def seconds(text: str) -> float:
    """A duration flag: a number of seconds above 0 (0 would make socket calls non-blocking)."""
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text}: must be a number of seconds above 0")
    return value


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m ch08_chunked",
        description="Chapter 8: chunked request bodies and streamed responses.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port to listen on; 0 picks a free one (default 8080)")
    parser.add_argument("--max-head", type=int, default=8192, help="largest request head in bytes (default 8192)")
    parser.add_argument("--max-body", type=int, default=1048576, help="largest request body in bytes (default 1 MiB)")
    parser.add_argument("--directory", type=Path, help="folder to serve under /files/ (default: none)")
    parser.add_argument(
        "--gzip-min-size", type=int, default=0, help="smallest body in bytes worth compressing (default 0)"
    )
    parser.add_argument(
        "--keep-alive-timeout",
        type=seconds,
        default=5.0,
        help="seconds an idle connection is kept open for its next request (default 5)",
    )
    for flag in LATER_FLAGS:
        parser.add_argument(flag, help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    if arguments.directory is not None and not arguments.directory.is_dir():
        parser.error(f"--directory {arguments.directory}: not a folder")
    return arguments


def main(argv=None) -> int:
    arguments = parse_arguments(argv)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    listener = None
    try:
        listener = create_listener(arguments.host, arguments.port)
        host, port = listener.getsockname()[:2]
        # The one line on stdout: tools (and the grader) wait for it to know where to connect.
        print(f"Listening on http://{host}:{port}", flush=True)
        router = make_router(arguments.directory)
        settings = Settings(
            arguments.max_head, arguments.max_body, router, arguments.gzip_min_size, arguments.keep_alive_timeout
        )
        serve_forever(listener, settings)
    except StopServer as reason:
        log(f"stopping on {reason}")
    finally:
        if listener is not None:
            listener.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
