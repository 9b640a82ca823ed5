"""Classic chapter 2 mistakes."""

from . import Mutant

CHAPTER = "ch02_headers"

READ_LOOP = '''    buffer = b""
    while True:
        split = maybe_split_head(buffer, max_head)
        if split is not None:
            return split
        chunk = connection.recv(RECEIVE_SIZE)
        if not chunk:
            raise ClientGone(f"the client closed after {len(buffer)} bytes of head")
        buffer += chunk'''

LIMIT_CHECK = '''    if len(head) > max_head or (end < 0 and len(buffer) >= max_head):'''

MUTANTS = [
    # -- 2.1 buffering and the head limit ------------------------------------------------------
    Mutant(
        CHAPTER,
        "single_recv",
        "assumes one recv() returns the whole head",
        "server.py",
        READ_LOOP,
        '''    buffer = connection.recv(RECEIVE_SIZE)
    if not buffer:
        raise ClientGone("the client closed before sending anything")
    return maybe_split_head(buffer, max_head) or (buffer, b"")''',
    ),
    Mutant(
        CHAPTER,
        "blank_line_searched_per_chunk",
        "looks for CR LF CR LF in each chunk instead of in everything received",
        "server.py",
        READ_LOOP,
        '''    buffer = b""
    while True:
        chunk = connection.recv(RECEIVE_SIZE)
        if not chunk:
            raise ClientGone(f"the client closed after {len(buffer)} bytes of head")
        buffer += chunk
        if b"\\r\\n\\r\\n" in chunk:
            return maybe_split_head(buffer, max_head)''',
    ),
    Mutant(
        CHAPTER,
        "head_limit_per_recv",
        "checks the head limit on each recv() instead of on everything received",
        "server.py",
        READ_LOOP,
        '''    buffer = b""
    while True:
        split = maybe_split_head(buffer, 1 << 62)
        if split is not None:
            return split
        chunk = connection.recv(RECEIVE_SIZE)
        if not chunk:
            raise ClientGone(f"the client closed after {len(buffer)} bytes of head")
        if len(chunk) > max_head:
            raise HttpError(431, "the request head is too large")
        buffer += chunk''',
    ),
    Mutant(
        CHAPTER,
        "head_limit_rejects_max_head",
        "refuses a head of exactly the limit (>= instead of >)",
        "request.py",
        LIMIT_CHECK,
        '''    if len(head) >= max_head or (end < 0 and len(buffer) >= max_head):''',
    ),
    Mutant(
        CHAPTER,
        "head_limit_without_blank_line",
        "leaves the blank line out of the head's size, so 8193..8196 bytes pass",
        "request.py",
        LIMIT_CHECK,
        '''    if (end >= 0 and end > max_head) or (end < 0 and len(buffer) > max_head):''',
    ),
    Mutant(
        CHAPTER,
        "no_head_limit",
        "has no limit on the size of the head",
        "request.py",
        LIMIT_CHECK + '''
        raise HttpError(431, f"the request head is larger than {max_head} bytes")''',
        "",
    ),
    Mutant(
        CHAPTER,
        "max_head_flag_ignored",
        "ignores --max-head and always uses 8192",
        "__main__.py",
        '''Settings(max_head=arguments.max_head)''',
        '''Settings()''',
    ),
    Mutant(
        CHAPTER,
        "bare_lf_accepted",
        "does not refuse bare LF line endings (and waits for a CR LF CR LF that never comes)",
        "request.py",
        '''    if head.count(b"\\n") != head.count(b"\\r\\n"):
        raise HttpError(400, "every line of the head must end with CRLF, not a bare LF")''',
        "",
    ),
    # -- 2.2 the request line ---------------------------------------------------------------
    Mutant(
        CHAPTER,
        "split_on_any_whitespace",
        "splits the request line on any run of whitespace (double spaces, tabs, trailing space pass)",
        "request.py",
        '''    parts = line.split(b" ")''',
        '''    parts = line.split()''',
    ),
    Mutant(
        CHAPTER,
        "version_case_insensitive",
        "accepts `http/1.1` (the HTTP name is case-sensitive)",
        "request.py",
        '''VERSION = re.compile(rb"HTTP/([0-9])\\.([0-9])")''',
        '''VERSION = re.compile(rb"HTTP/([0-9])\\.([0-9])", re.IGNORECASE)''',
    ),
    Mutant(
        CHAPTER,
        "version_numbers_any_length",
        "accepts several digits in a version number (HTTP/1.10 passes)",
        "request.py",
        '''VERSION = re.compile(rb"HTTP/([0-9])\\.([0-9])")''',
        '''VERSION = re.compile(rb"HTTP/([0-9]+)\\.([0-9]+)")''',
    ),
    Mutant(
        CHAPTER,
        "http2_answered_400",
        "answers HTTP/2.0 with 400 instead of 505",
        "request.py",
        '''        raise HttpError(505, f"HTTP/{major}.{minor} is not supported; this server speaks HTTP/1.1")''',
        '''        raise HttpError(400, f"HTTP/{major}.{minor} is not supported; this server speaks HTTP/1.1")''',
    ),
    Mutant(
        CHAPTER,
        "http2_served",
        "serves HTTP/2.0 (and every other version) as if it were HTTP/1.x",
        "request.py",
        '''    if major != 1:
        raise HttpError(505, f"HTTP/{major}.{minor} is not supported; this server speaks HTTP/1.1")''',
        "",
    ),
    Mutant(
        CHAPTER,
        "minor_versions_rejected",
        "answers 505 to HTTP/1.2..1.9 instead of serving them as 1.1",
        "request.py",
        '''    if major != 1:''',
        '''    if (major, minor) not in ((1, 0), (1, 1)):''',
    ),
    Mutant(
        CHAPTER,
        "version_kept_as_sent",
        "keeps the version as sent, so HTTP/1.2 escapes the HTTP/1.1 Host rule",
        "request.py",
        '''    return method.decode("ascii"), target.decode("ascii"), served_as''',
        '''    return method.decode("ascii"), target.decode("ascii"), version.decode("ascii")''',
    ),
    # -- 2.3 header fields ------------------------------------------------------------------
    Mutant(
        CHAPTER,
        "host_count_case_sensitive",
        "counts Host headers by exact name, so `hOsT:` is not a Host",
        "request.py",
        '''    if version == "HTTP/1.1" and len(request.header_values("Host")) != 1:''',
        '''    if version == "HTTP/1.1" and sum(1 for name, _ in headers if name == "Host") != 1:''',
    ),
    Mutant(
        CHAPTER,
        "user_agent_lookup_case_sensitive",
        "looks the User-Agent up by exact name, so `USER-AGENT:` is missed",
        "app.py",
        '''        user_agent = request.maybe_header("User-Agent") or ""''',
        '''        user_agent = dict(request.headers).get("User-Agent") or ""''',
    ),
    Mutant(
        CHAPTER,
        "whitespace_before_colon_accepted",
        "strips whitespace from the header name instead of refusing it",
        "request.py",
        '''    if not TOKEN.fullmatch(name):
        raise HttpError(400, "a header name must be a token, followed directly by its colon")''',
        '''    name = name.strip(b" \\t")
    if not TOKEN.fullmatch(name):
        raise HttpError(400, "a header name must be a token, followed directly by its colon")''',
    ),
    Mutant(
        CHAPTER,
        "control_bytes_in_value_accepted",
        "lets CR and NUL through inside a header value",
        "request.py",
        '''    if b"\\r" in value or b"\\n" in value or b"\\x00" in value:''',
        '''    if b"\\n" in value:''',
    ),
    Mutant(
        CHAPTER,
        "value_stripped_of_all_whitespace",
        "strips every kind of whitespace from values (a CR at the end of a value disappears)",
        "request.py",
        '''    value = value.strip(b" \\t")''',
        '''    value = value.strip()''',
    ),
    Mutant(
        CHAPTER,
        "host_not_required",
        "does not require a Host header in HTTP/1.1",
        "request.py",
        '''    if version == "HTTP/1.1" and len(request.header_values("Host")) != 1:''',
        '''    if False:''',
    ),
    Mutant(
        CHAPTER,
        "duplicate_host_accepted",
        "accepts two Host headers",
        "request.py",
        '''    if version == "HTTP/1.1" and len(request.header_values("Host")) != 1:''',
        '''    if version == "HTTP/1.1" and len(request.header_values("Host")) < 1:''',
    ),
    Mutant(
        CHAPTER,
        "host_required_in_http_1_0",
        "requires a Host header from HTTP/1.0 requests too",
        "request.py",
        '''    if version == "HTTP/1.1" and len(request.header_values("Host")) != 1:''',
        '''    if len(request.header_values("Host")) != 1:''',
    ),
    # -- 2.4 routes and responses -------------------------------------------------------------
    Mutant(
        CHAPTER,
        "content_length_in_characters",
        "counts Content-Length in characters of the decoded body instead of bytes",
        "response.py",
        '''    lines.append(f"Content-Length: {len(body)}")''',
        '''    lines.append(f"Content-Length: {len(body.decode('utf-8', 'replace'))}")''',
    ),
    Mutant(
        CHAPTER,
        "user_agent_reencoded_as_utf8",
        "sends the User-Agent back encoded as UTF-8 instead of as the bytes that came",
        "app.py",
        '''user_agent.encode("latin-1")''',
        '''user_agent.encode("utf-8")''',
    ),
    Mutant(
        CHAPTER,
        "user_agent_with_charset",
        "labels the echoed User-Agent `text/plain; charset=utf-8`",
        "app.py",
        '''        return Response(200, [("Content-Type", "text/plain")], user_agent.encode("latin-1"))''',
        '''        return Response(200, [("Content-Type", "text/plain; charset=utf-8")], user_agent.encode("latin-1"))''',
    ),
    Mutant(
        CHAPTER,
        "hello_everywhere",
        "answers Hello, World! on every path instead of 404",
        "app.py",
        '''    return text_response(404, f"There is nothing at {path}")''',
        '''    return text_response(200, "Hello, World!")''',
    ),
    Mutant(
        CHAPTER,
        "route_prefix_match",
        "routes by prefix, so /user-agent/more is answered as /user-agent",
        "app.py",
        '''    if path == "/user-agent":''',
        '''    if path.startswith("/user-agent"):''',
    ),
]
