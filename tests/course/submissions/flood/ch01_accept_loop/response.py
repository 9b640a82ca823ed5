"""A small, correct build_response (the fixtures break other things)."""

REASON_PHRASES = {200: "OK", 400: "Bad Request", 404: "Not Found", 413: "Content Too Large", 505: "HTTP Version Not Supported"}


def build_response(status, headers, body):
    lines = [f"HTTP/1.1 {status} {REASON_PHRASES[status]}"] + [f"{name}: {value}" for name, value in headers]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


# Hostile: importing this module (the server does; so do the unit tests, inside the test
# process) writes 16 MB to stderr first.
import sys  # noqa: E402

for _ in range(256):
    sys.stderr.write("import-time flood " * 3640 + "\n")
