"""Content negotiation on Accept-Encoding, and gzip (RFC 9110 §12.5.3, §8.4).

Strategy: `parse_accept_encoding` turns the header into {coding: weight}; `accepts_gzip`
reads the client's preference from it; `negotiate_encoding` takes the response a handler
built and, when it is a 200 of a compressible type, marks it `Vary: Accept-Encoding` and,
if the client prefers gzip and the body is large enough to be worth it, replaces the body by
its gzip form: Content-Length then counts the compressed bytes, and the ETag gets a suffix,
because the gzip bytes are a different representation (RFC 9110 §8.8.3). Small bodies are
compressed whole, in memory. Chapter 8 adds streams: a streamed body, or a file larger than
GZIP_MAX_FILE, is compressed piece by piece as it is sent, each piece flushed so the client
can decompress it on arrival; its compressed length is unknown until the end, so it goes out
chunked.
"""

import gzip
import re
import zlib
from collections.abc import Iterator

from .response import FileBody, Response, header_value

# --8<-- [start:constants]
# Media types worth compressing: text of any kind. Images, audio, video and archives are
# compressed already; gzip would only cost time (and often add bytes).
COMPRESSIBLE_TYPES = {
    "application/json",
    "application/javascript",
    "application/xml",
    "image/svg+xml",
}
# Larger files are compressed as a stream: compressing them whole would hold them in memory.
GZIP_MAX_FILE = 8 * 1024 * 1024
# A file compressed as a stream is read in blocks of this size.
STREAM_BLOCK = 64 * 1024
# RFC 9110 §12.4.2: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
QVALUE = re.compile(r"0(\.[0-9]{0,3})?|1(\.0{0,3})?")
# --8<-- [end:constants]


# --8<-- [start:parse_accept_encoding]
def parse_accept_encoding(value: str) -> dict[str, float]:
    """`gzip;q=0.8, BR, identity;q=0` -> {"gzip": 0.8, "br": 1.0, "identity": 0.0}.

    Codings are lower-cased (they are case-insensitive). An item whose weight is not a
    valid qvalue is left out: we cannot know what the client meant.
    """
    weights = {}
    # RFC 9110 §12.5.3: Accept-Encoding = #( codings [ weight ] ), weight = OWS ";" OWS "q=" qvalue
    for item in value.split(","):
        coding, *parameters = item.split(";")
        coding = coding.strip().lower()
        if not coding:
            continue  # RFC 9110 §5.6.1: empty list elements are allowed and mean nothing
        weight = 1.0
        for parameter in parameters:
            name, _equals, text = parameter.partition("=")
            if name.strip().lower() == "q":
                text = text.strip()
                weight = float(text) if QVALUE.fullmatch(text) else None
        if weight is not None:
            weights[coding] = weight
    return weights
# --8<-- [end:parse_accept_encoding]


# --8<-- [start:accepts_gzip]
def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether the client prefers a gzip response, given its Accept-Encoding (None if absent)."""
    # No Accept-Encoding: the client said nothing; the unencoded form is the safe answer.
    if accept_encoding is None:
        return False
    weights = parse_accept_encoding(accept_encoding)
    # gzip's weight: its own entry ("x-gzip" is an old name for it, RFC 9110 §8.4.1.3),
    # else the "*" entry, which covers every coding not named; not accepted otherwise.
    gzip_weight = weights.get("gzip", weights.get("x-gzip", weights.get("*", 0.0)))
    if gzip_weight == 0:
        return False  # "gzip;q=0" (or "*;q=0" without gzip named) refuses it
    # identity has no preference of its own when it is not listed: only an identity listed
    # with a higher weight than gzip's wins over gzip.
    identity_weight = weights.get("identity")
    return identity_weight is None or identity_weight <= gzip_weight
# --8<-- [end:accepts_gzip]


# --8<-- [start:is_compressible]
def is_compressible(content_type: str) -> bool:
    """Whether a Content-Type is text that gzip makes smaller (text/*, JSON, JS, SVG, XML)."""
    media_type = content_type.split(";")[0].strip().lower()
    return (
        media_type.startswith("text/")
        or media_type in COMPRESSIBLE_TYPES
        or media_type.endswith("+json")
        or media_type.endswith("+xml")
    )
# --8<-- [end:is_compressible]


# --8<-- [start:gzip_etag]
def gzip_etag(etag: str) -> str:
    """The entity-tag of the gzip form: `"abc"` -> `"abc-gzip"` (W/ kept)."""
    # RFC 9110 §8.8.3: a strong tag names exact bytes; the gzip bytes need a tag of their own,
    # or a cache holding one form could answer a 304 for the other.
    return etag[:-1] + '-gzip"'
# --8<-- [end:gzip_etag]


# --8<-- [start:body_bytes]
def body_bytes(response: Response) -> bytes:
    """The whole body, reading a file body from disk (callers check its size first)."""
    if response.file is None:
        return response.body
    with response.file.open() as file:
        return file.read(response.file.size)
# --8<-- [end:body_bytes]


# --8<-- [start:negotiate_encoding]
def negotiate_encoding(accept_encoding: str | None, response: Response, min_size: int) -> Response:
    """The response to send: `response` itself, or its gzip form when the client prefers gzip,
    the type is compressible and the body has at least `min_size` bytes."""
    content_type = header_value(response, "Content-Type") or ""
    # Only a 200 is negotiated; errors and redirects go out as they are.
    if response.status != 200 or not is_compressible(content_type):
        return response
    # RFC 9110 §12.5.5: the answer depends on Accept-Encoding; caches must know it, whichever
    # form this particular client gets.
    response.headers.append(("Vary", "Accept-Encoding"))
    if not accepts_gzip(accept_encoding):
        return response
    headers = [("Content-Encoding", "gzip")]
    for name, value in response.headers:
        if name.lower() == "etag":
            value = gzip_etag(value)
        headers.append((name, value))
    if response.stream is not None:
        # A stream's size is unknown, so the threshold cannot apply: it is compressed as it goes.
        return Response(200, headers, stream=gzip_stream(response.stream))
    if response.content_length < min_size:
        return response
    if response.file is not None and response.file.size > GZIP_MAX_FILE:
        # Too large to compress in memory: compressed block by block as it is sent, a stream.
        return Response(200, headers, stream=gzip_stream(file_blocks(response.file)))
    # mtime=0: the same body always compresses to the same bytes (and the same length).
    return Response(200, headers, gzip.compress(body_bytes(response), mtime=0))
# --8<-- [end:negotiate_encoding]


# --8<-- [start:gzip_stream]
def gzip_stream(pieces: Iterator[bytes]) -> Iterator[bytes]:
    """The gzip form of a stream, piece by piece: each piece is compressed and flushed as it
    comes, so the client can decompress everything received so far."""
    # wbits 31 = a 32 KiB window (15) + 16: write the gzip header and trailer, not raw zlib.
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
    for piece in pieces:
        # Z_SYNC_FLUSH pushes out everything compressed so far, ending on a byte boundary:
        # a few bytes of cost per piece, and the receiver is never left waiting.
        compressed = compressor.compress(piece) + compressor.flush(zlib.Z_SYNC_FLUSH)
        if compressed:
            yield compressed
    # The final block and the gzip trailer (CRC-32 and length of the uncompressed data).
    yield compressor.flush()
# --8<-- [end:gzip_stream]


def file_blocks(body: FileBody) -> Iterator[bytes]:
    """A file body's `size` bytes, in blocks of STREAM_BLOCK: a stream of its content."""
    with body.open() as file:
        remaining = body.size
        while remaining > 0:
            block = file.read(min(STREAM_BLOCK, remaining))
            if not block:
                raise OSError(f"{body.path} shrank while it was being sent")
            remaining -= len(block)
            yield block
