"""A small, correct build_response (the fixtures break other things)."""

REASON_PHRASES = {200: "OK", 400: "Bad Request", 404: "Not Found", 413: "Content Too Large", 505: "HTTP Version Not Supported"}


def build_response(status, headers, body):
    lines = [f"HTTP/1.1 {status} {REASON_PHRASES[status]}"] + [f"{name}: {value}" for name, value in headers]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
