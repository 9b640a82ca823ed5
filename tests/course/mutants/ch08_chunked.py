"""Classic chapter 8 mistakes: chunked request bodies, the smuggling rules, streamed responses."""

from . import Mutant

CHAPTER = "ch08_chunked"

SIZE_CHECKS = """    if not HEX_DIGITS.fullmatch(size):
        raise HttpError(400, "a chunk size must be hexadecimal digits")
    if len(size.lstrip(b"0")) > MAX_SIZE_DIGITS:
        raise HttpError(400, "a chunk size is too large to be a size")
    return int(size, 16)"""
CRLF_CHECK = """        if buffer[data_end : data_end + 2] != b"\\r\\n":
            raise HttpError(400, "chunk data must be followed by CRLF, exactly where its size says")
"""
BOTH_FIELDS = """    if request.header_values("Content-Length"):
        raise HttpError(400, "a request must not have both Transfer-Encoding and Content-Length")
"""
OTHER_CODINGS = """    if len(codings) > 1:
        raise HttpError(501, f"the transfer coding {codings[0]} is not supported; only chunked is")
"""
HTTP10_RULE = """    if request.version == "HTTP/1.0":
        raise HttpError(400, "Transfer-Encoding is not allowed in an HTTP/1.0 request")
"""
READ_CHUNKED_LOOP = """    received = bytearray(buffer)
    # `received` only grows, so each call can go on where the last one stopped.
    progress = ChunkedProgress()
    while True:
        chunked = maybe_split_chunked(received, settings.max_body, settings.max_head, progress)
        if chunked is not None:
            return chunked
        received += receive(connection, CHUNKED_RECEIVE_SIZE, f"after {len(received)} bytes of a chunked body")"""
SYNC_FLUSH = "        compressed = compressor.compress(piece) + compressor.flush(zlib.Z_SYNC_FLUSH)"
STREAM_BRANCH = "        return Response(200, headers, stream=gzip_stream(response.stream))"

MUTANTS = [
    # -- Reading chunk sizes -------------------------------------------------------------------
    Mutant(
        CHAPTER,
        "int_leniency",
        "reads chunk sizes with int(size, 16), which also takes `0x5`, `+5`, ` 5` and `5_0`",
        "request.py",
        SIZE_CHECKS,
        """    try:
        return int(size, 16)
    except ValueError:
        raise HttpError(400, "a chunk size must be hexadecimal digits") from None""",
    ),
    Mutant(
        CHAPTER,
        "non_hex_size_crashes",
        "calls int(size, 16) unchecked, so a size like `g` raises ValueError and the client gets no answer",
        "request.py",
        SIZE_CHECKS,
        "    return int(size, 16)",
    ),
    Mutant(
        CHAPTER,
        "extensions_not_ignored",
        "reads the whole size line as the size, so `5;a=b` is refused",
        "request.py",
        '    size, semicolon, _extensions = line.partition(b";")',
        '    size, semicolon = line, b""',
    ),
    Mutant(
        CHAPTER,
        "size_stripped",
        "strips whitespace around every size, so ` 5` is read as 5",
        "request.py",
        '    if semicolon:\n        size = size.rstrip(b" \\t")',
        "    size = size.strip()",
    ),
    Mutant(
        CHAPTER,
        "bare_lf_ends_chunk_lines",
        "ends chunk lines at LF and drops a CR before it, so bare-LF chunk lines are accepted",
        "request.py",
        """    end = buffer.find(b"\\r\\n", start)
    bare_lf = buffer.find(b"\\n", start)
    # RFC 9112 §7.1: chunk lines end with CRLF, exactly as the head's lines do.
    if bare_lf >= 0 and (end < 0 or bare_lf < end + 1):
        raise HttpError(400, "a chunk line must end with CRLF, not a bare LF")
    if end < 0:
        if len(buffer) - start > limit:
            raise HttpError(400, f"a chunk line is longer than {limit} bytes")
        return None
    if end - start > limit:
        raise HttpError(400, f"a chunk line is longer than {limit} bytes")
    return bytes(buffer[start:end]), end + 2""",
        """    end = buffer.find(b"\\n", start)
    if end < 0:
        return None
    return bytes(buffer[start:end]).removesuffix(b"\\r"), end + 1""",
    ),
    # -- Chunk data and the end of the body ----------------------------------------------------
    Mutant(
        CHAPTER,
        "crlf_after_data_skipped",
        "skips the two bytes after each chunk's data without checking they are CRLF",
        "request.py",
        CRLF_CHECK,
        "",
    ),
    Mutant(
        CHAPTER,
        "crlf_after_data_searched",
        "looks for the next CRLF after a chunk's data, so data longer than its size is accepted",
        "request.py",
        CRLF_CHECK + """        # A whole chunk: the next call need not read it again.
        progress.pieces.append((data_start, data_end))
        progress.total += size
        progress.position = data_end + 2""",
        """        next_line = buffer.find(b"\\r\\n", data_end)
        if next_line < 0:
            return None
        progress.pieces.append((data_start, data_end))
        progress.total += size
        progress.position = next_line + 2""",
    ),
    Mutant(
        CHAPTER,
        "trailer_section_not_read",
        "ends the body at the last chunk's line, leaving the trailer section to be read as the next request",
        "request.py",
        "        if size == 0:\n            break",
        """        if size == 0:
            body = b"".join(bytes(buffer[start:end]) for start, end in progress.pieces)
            return ChunkedBody(body, [], bytes(buffer[data_start:]))""",
    ),
    Mutant(
        CHAPTER,
        "trailers_merged",
        "merges the trailer fields into the head, so a Content-Type trailer types the echo",
        "server.py",
        "        request.body, request.trailers, rest = chunked.body, chunked.trailers, chunked.rest",
        "        request.body, request.trailers, rest = chunked.body, chunked.trailers, chunked.rest\n"
        "        request.headers += chunked.trailers",
    ),
    Mutant(
        CHAPTER,
        "bytes_after_chunked_body_lost",
        "drops the bytes received after the chunked body, and the pipelined request in them",
        "server.py",
        "        if chunked is not None:\n            return chunked\n        received += receive(",
        "        if chunked is not None:\n            return ChunkedBody(chunked.body, chunked.trailers, b\"\")\n"
        "        received += receive(",
    ),
    Mutant(
        CHAPTER,
        "one_recv_for_the_body",
        "expects the whole chunked body in the bytes already received, or in one more recv",
        "server.py",
        READ_CHUNKED_LOOP,
        """    received = bytearray(buffer)
    if maybe_split_chunked(received, settings.max_body, settings.max_head) is None:
        received += receive(connection, CHUNKED_RECEIVE_SIZE, "waiting for the chunked body")
    chunked = maybe_split_chunked(received, settings.max_body, settings.max_head)
    if chunked is None:
        raise HttpError(400, "the chunked body is incomplete")
    return chunked""",
    ),
    Mutant(
        CHAPTER,
        "max_body_not_applied",
        "never applies --max-body to a chunked body",
        "request.py",
        """        if progress.total + size > max_body:
            raise HttpError(413, f"the body is larger than {max_body} bytes")
""",
        "",
    ),
    Mutant(
        CHAPTER,
        "max_body_per_chunk",
        "applies --max-body to each chunk instead of to their total",
        "request.py",
        "        if progress.total + size > max_body:",
        "        if size > max_body:",
    ),
    Mutant(
        CHAPTER,
        "no_100_continue_for_chunked",
        "sends 100 Continue only for a Content-Length body, so a chunked client waits for ever",
        "server.py",
        "    if length != 0 and expects_continue(request):",
        "    if length and expects_continue(request):",
    ),
    # -- The smuggling rules -------------------------------------------------------------------
    Mutant(
        CHAPTER,
        "content_length_wins",
        "accepts Transfer-Encoding with Content-Length and frames the body by Content-Length",
        "request.py",
        BOTH_FIELDS,
        """    if request.header_values("Content-Length"):
        return body_length(request, max_body)
""",
    ),
    Mutant(
        CHAPTER,
        "chunked_wins",
        "accepts Transfer-Encoding with Content-Length, reads the body as chunked and keeps the connection",
        "request.py",
        BOTH_FIELDS,
        "",
    ),
    Mutant(
        CHAPTER,
        "both_fields_400_kept_open",
        "answers 400 to Transfer-Encoding with Content-Length, but keeps the connection and reads the body as a request",
        "server.py",
        "    length = maybe_body_length(request, settings.max_body)  # None: the body is chunked",
        """    if request.header_values("Transfer-Encoding") and request.header_values("Content-Length"):
        exchange.complete, exchange.rest = True, after_head
    length = maybe_body_length(request, settings.max_body)  # None: the body is chunked""",
    ),
    Mutant(
        CHAPTER,
        "chunked_anywhere",
        "checks that chunked is listed, not that it is last",
        "request.py",
        '    if not codings or codings[-1] != "chunked":',
        '    if "chunked" not in codings:',
    ),
    Mutant(
        CHAPTER,
        "other_codings_ignored",
        "ignores the codings before chunked (`gzip, chunked` is read as chunked)",
        "request.py",
        OTHER_CODINGS,
        "",
    ),
    Mutant(
        CHAPTER,
        "http10_transfer_encoding_accepted",
        "decodes a chunked body sent by an HTTP/1.0 client",
        "request.py",
        HTTP10_RULE,
        "",
    ),
    Mutant(
        CHAPTER,
        "codings_case_sensitive",
        "compares transfer codings case-sensitively, so `Chunked` is not chunked",
        "request.py",
        '            item = item.strip(" \\t").lower()\n            if item:\n                codings.append(item)',
        '            item = item.strip(" \\t")\n            if item:\n                codings.append(item)',
    ),
    Mutant(
        CHAPTER,
        "first_transfer_encoding_field_only",
        "reads only the first Transfer-Encoding field instead of the list of all of them",
        "request.py",
        '    for value in request.header_values("Transfer-Encoding"):',
        '    for value in request.header_values("Transfer-Encoding")[:1]:',
    ),
    # -- Streamed responses --------------------------------------------------------------------
    Mutant(
        CHAPTER,
        "chunk_size_in_decimal",
        "writes each chunk's size in decimal",
        "response.py",
        '    return f"{len(data):x}\\r\\n".encode("ascii") + data + b"\\r\\n"',
        '    return f"{len(data)}\\r\\n".encode("ascii") + data + b"\\r\\n"',
    ),
    Mutant(
        CHAPTER,
        "last_chunk_missing",
        "never sends the last chunk, so the client cannot tell the stream has ended",
        "server.py",
        "    if chunked:\n        connection.sendall(LAST_CHUNK)\n",
        "",
    ),
    Mutant(
        CHAPTER,
        "stream_chunked_to_http10",
        "sends the stream chunked to HTTP/1.0 clients too",
        "server.py",
        '        chunked = request is not None and request.version == "HTTP/1.1"',
        "        chunked = request is not None",
    ),
    Mutant(
        CHAPTER,
        "stream_kept_alive_for_http10",
        "keeps an HTTP/1.0 keep-alive connection open after a close-delimited stream",
        "server.py",
        '            if request.version == "HTTP/1.0":\n                keep_alive = False',
        "            pass",
    ),
    Mutant(
        CHAPTER,
        "stream_buffered",
        "collects every piece of the stream, then sends them as one chunk",
        "server.py",
        "    connection.sendall(head)\n    for piece in stream:",
        '    connection.sendall(head)\n    for piece in [b"".join(stream)]:',
    ),
    Mutant(
        CHAPTER,
        "stream_with_content_length",
        "sends a stream with the Content-Length of its first piece beside Transfer-Encoding",
        "response.py",
        "        if self.stream is not None:\n            return None",
        """        if self.stream is not None:
            first = next(self.stream, b"")
            self.stream = __import__("itertools").chain([first], self.stream)
            return len(first)""",
    ),
    Mutant(
        CHAPTER,
        "head_sends_the_stream",
        "sends the stream's body after the head of a HEAD response",
        "server.py",
        '    if response.status == 304 or (request is not None and request.method == "HEAD"):',
        '    if response.stream is None and (response.status == 304 or (request is not None and request.method == "HEAD")):',
    ),
    Mutant(
        CHAPTER,
        "stream_count_ignored",
        "ignores n and always streams 10 pieces",
        "app.py",
        "    return Response(200, [(\"Content-Type\", \"text/plain; charset=utf-8\")], stream=numbered_lines(int(count)))",
        "    return Response(200, [(\"Content-Type\", \"text/plain; charset=utf-8\")], stream=numbered_lines(10))",
    ),
    # -- gzip on a stream ----------------------------------------------------------------------
    Mutant(
        CHAPTER,
        "gzip_not_flushed",
        "compresses each piece without a flush, so nothing can be decompressed until the stream ends",
        "encoding.py",
        SYNC_FLUSH,
        "        compressed = compressor.compress(piece)",
    ),
    Mutant(
        CHAPTER,
        "gzip_trailer_missing",
        "never finishes the gzip stream (no final flush: no end block, CRC or length)",
        "encoding.py",
        "    yield compressor.flush()\n",
        "",
    ),
    Mutant(
        CHAPTER,
        "gzip_stream_compressed_whole",
        "compresses the whole stream at its end and sends it with a Content-Length",
        "encoding.py",
        STREAM_BRANCH,
        '        return Response(200, headers, gzip.compress(b"".join(response.stream), mtime=0))',
    ),
    Mutant(
        CHAPTER,
        "gzip_stream_without_content_encoding",
        "compresses the stream but forgets its Content-Encoding header",
        "encoding.py",
        STREAM_BRANCH,
        "        return Response(200, headers[1:], stream=gzip_stream(response.stream))",
    ),
    Mutant(
        CHAPTER,
        "stream_never_compressed",
        "never compresses a stream, even for a gzip client",
        "encoding.py",
        STREAM_BRANCH,
        "        return response",
    ),
]
