"""Classic chapter 3 mistakes."""

from . import Mutant

CHAPTER = "ch03_bodies"

READ_BODY_LOOP = '''    received = bytearray(buffer)
    while True:
        split = maybe_split_body(received, length)
        if split is not None:
            return split
        # Never ask for more than the body still needs: what follows is not ours to read.
        chunk = connection.recv(min(RECEIVE_SIZE, length - len(received)))
        if not chunk:
            raise ClientGone(f"the client closed after {len(received)} of {length} body bytes")
        received += chunk'''

MUTANTS = [
    Mutant(
        CHAPTER,
        "body_prefix_dropped",
        "forgets the body bytes that arrived in the same recv as the head",
        "server.py",
        "    request.body, _next_request = read_body(connection, after_head, length)",
        '    request.body, _next_request = read_body(connection, b"", length)',
    ),
    Mutant(
        CHAPTER,
        "reads_until_close",
        "reads the body until the client closes instead of counting Content-Length bytes",
        "server.py",
        READ_BODY_LOOP,
        '''    received = bytearray(buffer)
    while True:
        chunk = connection.recv(RECEIVE_SIZE)
        if not chunk:
            return bytes(received[:length]), b""
        received += chunk''',
    ),
    Mutant(
        CHAPTER,
        "single_recv_for_the_body",
        "assumes one recv() returns the rest of the body",
        "server.py",
        READ_BODY_LOOP,
        '''    received = bytearray(buffer)
    if len(received) < length:
        received += connection.recv(length - len(received))
    return bytes(received[:length]), bytes(received[length:])''',
    ),
    Mutant(
        CHAPTER,
        "body_takes_everything_received",
        "takes everything received after the head as the body, even bytes past Content-Length",
        "request.py",
        "    return bytes(buffer[:length]), bytes(buffer[length:])",
        '    return bytes(buffer), b""',
    ),
    Mutant(
        CHAPTER,
        "int_for_content_length",
        "trusts int() to validate Content-Length (it takes +5, 1_0, -1)",
        "request.py",
        "            if not DIGITS.fullmatch(item):",
        '''            try:
                int(item)
            except ValueError:
                raise HttpError(400, "Content-Length must be a number") from None
            if False:''',
    ),
    Mutant(
        CHAPTER,
        "no_overflow_check",
        "accepts a Content-Length of any size, so an absurd one is 413 instead of 400",
        "request.py",
        '''            if len(item) > len(str(MAX_CONTENT_LENGTH)) or int(item) > MAX_CONTENT_LENGTH:
                raise HttpError(400, "Content-Length is too large to be a length")
''',
        "",
    ),
    Mutant(
        CHAPTER,
        "duplicates_not_compared",
        "takes one of several Content-Length values without checking that they agree",
        "request.py",
        "    if len(lengths) > 1:\n",
        "    if False:\n",
    ),
    Mutant(
        CHAPTER,
        "limit_checked_after_the_body",
        "reads the whole body before checking it against the limit",
        "server.py",
        "def read_request(connection: socket.socket, settings: Settings) -> Request:",
        '''def read_request(connection, settings):
    import dataclasses

    unlimited = dataclasses.replace(settings, max_body=2**63 - 1)
    request = read_request_without_limit(connection, unlimited)
    if len(request.body) > settings.max_body:
        raise HttpError(413, "the body is too large")
    return request


def read_request_without_limit(connection: socket.socket, settings: Settings) -> Request:''',
    ),
    Mutant(
        CHAPTER,
        "limit_off_by_one",
        "refuses a body of exactly the limit",
        "request.py",
        "    if length > max_body:",
        "    if length >= max_body:",
    ),
    Mutant(
        CHAPTER,
        "transfer_encoding_ignored",
        "ignores Transfer-Encoding and reads no body (or a wrong one)",
        "request.py",
        '''    if request.header_values("Transfer-Encoding"):
        raise HttpError(501, "Transfer-Encoding is not supported: send a Content-Length")
''',
        "",
    ),
    Mutant(
        CHAPTER,
        "transfer_encoding_only_chunked",
        "answers 501 only when Transfer-Encoding is exactly `chunked`",
        "request.py",
        '    if request.header_values("Transfer-Encoding"):',
        '    if request.header_values("Transfer-Encoding") == ["chunked"]:',
    ),
    Mutant(
        CHAPTER,
        "no_100_continue",
        "never sends 100 Continue, so a client that waits for it stalls",
        "server.py",
        "        connection.sendall(interim_response(100))",
        "        pass",
    ),
    Mutant(
        CHAPTER,
        "continue_before_the_decision",
        "sends 100 Continue before deciding whether the request will be refused (404, 413)",
        "server.py",
        "    length = body_length(request, settings.max_body)",
        '''    if expects_continue(request):
        connection.sendall(interim_response(100))
    length = body_length(request, settings.max_body)''',
    ),
    Mutant(
        CHAPTER,
        "route_checked_after_the_body",
        "reads the body (inviting it with 100 Continue) before finding out the path is unknown",
        "server.py",
        "    if maybe_find_route(request) is None:",
        "    if False:  # handle_request answers 404 once the body is read",
    ),
    Mutant(
        CHAPTER,
        "content_type_not_copied",
        "always answers application/octet-stream instead of the request's Content-Type",
        "app.py",
        '    content_type = request.maybe_header("Content-Type") or "application/octet-stream"',
        '    content_type = "application/octet-stream"',
    ),
    Mutant(
        CHAPTER,
        "wrong_default_content_type",
        "uses text/plain when the request has no Content-Type",
        "app.py",
        '    content_type = request.maybe_header("Content-Type") or "application/octet-stream"',
        '    content_type = request.maybe_header("Content-Type") or "text/plain"',
    ),
    Mutant(
        CHAPTER,
        "body_treated_as_text",
        "decodes the body as UTF-8 text and encodes it again",
        "app.py",
        "    return Response(200, [(\"Content-Type\", content_type)], request.body)",
        "    return Response(200, [(\"Content-Type\", content_type)], request.body.decode(\"utf-8\", \"replace\").encode(\"utf-8\"))",
    ),
    Mutant(
        CHAPTER,
        "spins_when_the_client_leaves",
        "loops for ever on recv() returning b'' when the client closes mid-body",
        "server.py",
        '''        if not chunk:
            raise ClientGone(f"the client closed after {len(received)} of {length} body bytes")
''',
        "",
    ),
    Mutant(
        CHAPTER,
        "continue_without_blank_line",
        "sends `HTTP/1.1 100 Continue` without the blank line that ends its head",
        "response.py",
        '''    return f"HTTP/1.1 {status} {REASON_PHRASES[status]}\\r\\n\\r\\n".encode("latin-1")''',
        '''    return f"HTTP/1.1 {status} {REASON_PHRASES[status]}\\r\\n".encode("latin-1")''',
    ),
]
