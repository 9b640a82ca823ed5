"""Classic chapter 7 mistakes: persistent connections, pipelining, who closes, the idle timeout."""

from . import Mutant

CHAPTER = "ch07_keepalive"

CLOSE_AFTER_RESPONSE = """        if not keep_alive:
            close_gently(connection)
            return
"""
BODY_LENGTH = "    length = body_length(request, settings.max_body)\n"
FIND_ROUTE = "    match = find_route(request, settings.router)\n"
KEEP_ALIVE_DECISION = "        keep_alive = exchange.complete and wants_keep_alive(request)\n"
CONNECTION_HEADER = """    if not keep_alive:
        headers.append(("Connection", "close"))
    elif request.version == "HTTP/1.0":
        # RFC 9112 §C.2.2: an HTTP/1.0 client keeps the connection only if we confirm it.
        headers.append(("Connection", "keep-alive"))
"""
SPLIT_OPTIONS = """        for item in value.split(","):
            item = item.strip(" \\t").lower()
"""
HTTP10_RULE = '    return "keep-alive" in options\n'
IDLE_SELECT = "    readable, _writable, _failed = select.select(watched, [], [], timeout)\n"
IDLE_CLOSE = """            log("closing an idle connection")
            return
"""


def keeps_after(status: int, reason: str) -> str:
    """read_request_body, refusing on the head as it should but treating a `status` as harmless."""
    return f"""    try:
        length = body_length(request, settings.max_body)
    except HttpError as error:
        if error.status == {status}:  # {reason}: carry on with the next request
            exchange.complete, exchange.rest = True, after_head
        raise
"""


MUTANTS = [
    # -- 7.1 The connection loop, and the bytes it carries over ----------------------------------
    Mutant(
        CHAPTER,
        "closes_after_every_request",
        "still closes after every response, as in chapters 1-6, without saying so",
        "server.py",
        CLOSE_AFTER_RESPONSE,
        CLOSE_AFTER_RESPONSE.replace("if not keep_alive:", "if True:"),
    ),
    Mutant(
        CHAPTER,
        "leftover_bytes_dropped",
        "starts every request with an empty buffer, losing the pipelined bytes already received",
        "server.py",
        "        buffer = exchange.rest\n",
        '        buffer = b""\n',
    ),
    Mutant(
        CHAPTER,
        "waits_even_with_a_request_in_the_buffer",
        "waits for the socket to become readable before each request, even when the next one is already buffered",
        "server.py",
        "        if served and not buffer and not wait_for_next_request(",
        "        if served and not wait_for_next_request(",
    ),
    Mutant(
        CHAPTER,
        "bytes_after_a_body_dropped",
        "keeps leftover bytes after a request without a body, but drops those after a body",
        "server.py",
        "    exchange.complete, exchange.rest = True, rest\n",
        '    exchange.complete, exchange.rest = True, b""\n',
    ),
    Mutant(
        CHAPTER,
        "body_read_again_as_next_request",
        "carries over the bytes after the head, body included, instead of the bytes after the body",
        "server.py",
        "    exchange.complete, exchange.rest = True, rest\n",
        "    exchange.complete, exchange.rest = True, after_head\n",
    ),
    Mutant(
        CHAPTER,
        "head_body_sent_on_kept_connections",
        "leaves out a HEAD response's body only when the connection closes anyway",
        "server.py",
        '    if response.status == 304 or (request is not None and request.method == "HEAD"):',
        '    if response.status == 304 or (request is not None and request.method == "HEAD" and not keep_alive):',
    ),
    # -- 7.2 Who closes ---------------------------------------------------------------------------
    Mutant(
        CHAPTER,
        "http10_kept_by_default",
        "keeps every connection open, HTTP/1.0 ones without keep-alive included",
        "request.py",
        HTTP10_RULE,
        "    return True\n",
    ),
    Mutant(
        CHAPTER,
        "http10_keep_alive_ignored",
        "closes every HTTP/1.0 connection, even when the client asks for keep-alive",
        "request.py",
        HTTP10_RULE,
        "    return False\n",
    ),
    Mutant(
        CHAPTER,
        "connection_close_ignored",
        "keeps an HTTP/1.1 connection open even when the client says `Connection: close`",
        "request.py",
        '    if "close" in options:\n',
        "    if False:\n",
    ),
    Mutant(
        CHAPTER,
        "close_case_sensitive",
        "compares Connection options case-sensitively, so `Close` is not close",
        "request.py",
        SPLIT_OPTIONS,
        SPLIT_OPTIONS.replace(".lower()", ""),
    ),
    Mutant(
        CHAPTER,
        "first_option_only",
        "looks only at the first option of a Connection list, so `x-trace, Close` keeps the connection",
        "request.py",
        SPLIT_OPTIONS,
        SPLIT_OPTIONS.replace('value.split(",")', 'value.split(",")[:1]'),
    ),
    Mutant(
        CHAPTER,
        "whole_value_compared",
        "compares the whole Connection value with `close` instead of splitting the list",
        "request.py",
        SPLIT_OPTIONS,
        SPLIT_OPTIONS.replace('value.split(",")', "[value]"),
    ),
    Mutant(
        CHAPTER,
        "first_field_only",
        "reads only the first Connection field, so a second `Connection: close` is missed",
        "request.py",
        '    for value in request.header_values("Connection"):\n',
        '    for value in request.header_values("Connection")[:1]:\n',
    ),
    Mutant(
        CHAPTER,
        "close_header_on_kept_connections",
        "still sends `Connection: close` on every response, as in chapters 1-6, while keeping the connection",
        "server.py",
        CONNECTION_HEADER,
        CONNECTION_HEADER.replace("    if not keep_alive:", "    if True:"),
    ),
    Mutant(
        CHAPTER,
        "close_header_only_when_asked",
        "says `Connection: close` only when the client asked for it, not when the server itself decides to close",
        "server.py",
        CONNECTION_HEADER,
        CONNECTION_HEADER.replace("    if not keep_alive:", "    if not keep_alive and request is not None and not wants_keep_alive(request):"),
    ),
    Mutant(
        CHAPTER,
        "keep_alive_header_to_every_http10_client",
        "answers every HTTP/1.0 request with `Connection: keep-alive`, even when it is about to close",
        "server.py",
        CONNECTION_HEADER,
        """    if request is not None and request.version == "HTTP/1.0":
        # An HTTP/1.0 client keeps the connection only if we say keep-alive.
        headers.append(("Connection", "keep-alive"))
    elif not keep_alive:
        headers.append(("Connection", "close"))
""",
    ),
    Mutant(
        CHAPTER,
        "says_close_but_stays_open",
        "sends `Connection: close` and then waits for the client to close instead of closing",
        "server.py",
        CLOSE_AFTER_RESPONSE,
        """        if not keep_alive:
            pass  # the client reads `Connection: close` and closes: nothing to do
""",
    ),
    # -- 7.3 Close when the next request cannot be found ------------------------------------------
    Mutant(
        CHAPTER,
        "keeps_after_any_error",
        "decides keep-alive from the request's headers alone, even when its body was never read",
        "server.py",
        KEEP_ALIVE_DECISION,
        "        keep_alive = request is not None and wants_keep_alive(request)\n",
    ),
    Mutant(
        CHAPTER,
        "head_read_means_complete",
        "counts a request as complete once its head is read, so the bytes after a refused head are the next request",
        "server.py",
        BODY_LENGTH,
        "    exchange.complete, exchange.rest = True, after_head  # the head was read whole\n" + BODY_LENGTH,
    ),
    Mutant(
        CHAPTER,
        "keeps_after_bad_content_length",
        "keeps the connection after a 400 for an invalid Content-Length",
        "server.py",
        BODY_LENGTH,
        keeps_after(400, "only the length was wrong"),
    ),
    Mutant(
        CHAPTER,
        "keeps_after_413",
        "keeps the connection after a 413, as if the unread body were not there",
        "server.py",
        BODY_LENGTH,
        keeps_after(413, "the head was fine, the body is only too large"),
    ),
    Mutant(
        CHAPTER,
        "keeps_after_501",
        "keeps the connection after a 501 for a Transfer-Encoding it cannot read",
        "server.py",
        BODY_LENGTH,
        keeps_after(501, "the coding is only unsupported"),
    ),
    Mutant(
        CHAPTER,
        "keeps_after_431",
        "keeps reading after a 431, as if a head too large were harmless",
        "server.py",
        CLOSE_AFTER_RESPONSE,
        CLOSE_AFTER_RESPONSE.replace("if not keep_alive:", "if not keep_alive and exchange.response.status != 431:"),
    ),
    Mutant(
        CHAPTER,
        "refused_body_read_as_next_request",
        "keeps the connection after refusing a request with a body, and reads that body as the next request",
        "server.py",
        FIND_ROUTE,
        """    try:
        match = find_route(request, settings.router)
    except HttpError:
        exchange.complete, exchange.rest = True, after_head  # refused: the body is not ours to read
        raise
""",
    ),
    Mutant(
        CHAPTER,
        "refused_body_half_dropped",
        "keeps the connection after refusing a request with a body, dropping only the body bytes already received",
        "server.py",
        FIND_ROUTE,
        """    try:
        match = find_route(request, settings.router)
    except HttpError:
        exchange.complete, exchange.rest = True, b""  # refused: throw the body away
        raise
""",
    ),
    Mutant(
        CHAPTER,
        "closes_after_every_error",
        "closes after every error response, even when the request was read whole",
        "server.py",
        KEEP_ALIVE_DECISION,
        "        keep_alive = exchange.complete and wants_keep_alive(request) and exchange.response.status < 400\n",
    ),
    # -- 7.4 Close idle connections ---------------------------------------------------------------
    Mutant(
        CHAPTER,
        "no_idle_timeout",
        "waits for the next request for ever: an idle client holds the connection (and this serial server)",
        "server.py",
        IDLE_SELECT,
        IDLE_SELECT.replace("timeout)", "None)"),
    ),
    Mutant(
        CHAPTER,
        "fixed_one_second_timeout",
        "closes idle connections after a fixed second, whatever --keep-alive-timeout says",
        "server.py",
        IDLE_SELECT,
        IDLE_SELECT.replace("timeout)", "1.0)"),
    ),
    Mutant(
        CHAPTER,
        "timeout_flag_ignored",
        "accepts --keep-alive-timeout but never passes it on, so the timeout is always 5 s",
        "__main__.py",
        "arguments.gzip_min_size, arguments.keep_alive_timeout\n",
        "arguments.gzip_min_size\n",
    ),
    Mutant(
        CHAPTER,
        "timeout_flag_is_an_integer",
        "parses --keep-alive-timeout as an integer, so `0.8` is refused",
        "__main__.py",
        "        type=seconds,\n        default=5.0,\n",
        "        type=int,\n        default=5,\n",
    ),
    Mutant(
        CHAPTER,
        "answers_408_when_idle",
        "sends a 408 response to an idle client before closing, a response to no request",
        "server.py",
        IDLE_CLOSE,
        """            log("closing an idle connection")
            connection.sendall(b"HTTP/1.1 408 Request Timeout\\r\\nConnection: close\\r\\nContent-Length: 0\\r\\n\\r\\n")
            return
""",
    ),
]
