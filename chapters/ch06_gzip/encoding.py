"""Content negotiation on Accept-Encoding, and gzip (RFC 9110 §12.5.3, §8.4).

Strategy: `parse_accept_encoding` turns the header into {coding: weight}; `accepts_gzip`
reads the client's preference from it; `negotiate_encoding` takes the response a handler
built and, when it is a 200 of a compressible type, marks it `Vary: Accept-Encoding` and,
if the client prefers gzip and the body is large enough to be worth it, replaces the body by
its gzip form: Content-Length then counts the compressed bytes, and the ETag gets a suffix,
because the gzip bytes are a different representation (RFC 9110 §8.8.3). Everything here
works on whole bodies in memory, so files larger than GZIP_MAX_FILE go out uncompressed;
chapter 8's chunked responses lift that limit.
"""

import gzip
import re

from .response import Response, header_value

# --8<-- [start:constants]
# Media types worth compressing: text of any kind. Images, audio, video and archives are
# compressed already; gzip would only cost time (and often add bytes).
COMPRESSIBLE_TYPES = {
    "application/json",
    "application/javascript",
    "application/xml",
    "image/svg+xml",
}
# Larger files are sent as they are: compressing them here would hold the whole file in memory.
GZIP_MAX_FILE = 8 * 1024 * 1024
# RFC 9110 §12.4.2: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
QVALUE = re.compile(r"0(\.[0-9]{0,3})?|1(\.0{0,3})?")
# --8<-- [end:constants]


# --8<-- [start:parse_accept_encoding]
def parse_accept_encoding(value: str) -> dict[str, float]:
    """`gzip;q=0.8, BR, identity;q=0` -> {"gzip": 0.8, "br": 1.0, "identity": 0.0}.

    Codings are lower-cased (they are case-insensitive). An item whose weight is not a
    valid qvalue is left out: we cannot know what the client meant.
    """
    # TODO(task 6.1): Parse Accept-Encoding. Read section 6.1 of chapter 6 (docs/chapters/ch06_gzip.md).
    raise NotImplementedError("task 6.1 (Parse Accept-Encoding) is still to do: see docs/chapters/ch06_gzip.md")
# --8<-- [end:parse_accept_encoding]


# --8<-- [start:accepts_gzip]
def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether the client prefers a gzip response, given its Accept-Encoding (None if absent)."""
    # TODO(task 6.1): Parse Accept-Encoding. Read section 6.1 of chapter 6 (docs/chapters/ch06_gzip.md).
    raise NotImplementedError("task 6.1 (Parse Accept-Encoding) is still to do: see docs/chapters/ch06_gzip.md")
# --8<-- [end:accepts_gzip]


# --8<-- [start:is_compressible]
def is_compressible(content_type: str) -> bool:
    """Whether a Content-Type is text that gzip makes smaller (text/*, JSON, JS, SVG, XML)."""
    # TODO(task 6.2): Compress what pays, with Vary. Read section 6.2 of chapter 6 (docs/chapters/ch06_gzip.md).
    raise NotImplementedError("task 6.2 (Compress what pays, with Vary) is still to do: see docs/chapters/ch06_gzip.md")
# --8<-- [end:is_compressible]


# --8<-- [start:gzip_etag]
def gzip_etag(etag: str) -> str:
    """The entity-tag of the gzip form: `"abc"` -> `"abc-gzip"` (W/ kept)."""
    # TODO(task 6.3): An ETag per encoding. Read section 6.3 of chapter 6 (docs/chapters/ch06_gzip.md).
    raise NotImplementedError("task 6.3 (An ETag per encoding) is still to do: see docs/chapters/ch06_gzip.md")
# --8<-- [end:gzip_etag]


# --8<-- [start:body_bytes]
def body_bytes(response: Response) -> bytes:
    """The whole body, reading a file body from disk (callers check its size first)."""
    if response.file is None:
        return response.body
    with open(response.file.path, "rb") as file:
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
    # TODO(task 6.2): Compress what pays, with Vary. Read section 6.2 of chapter 6 (docs/chapters/ch06_gzip.md).
    raise NotImplementedError("task 6.2 (Compress what pays, with Vary) is still to do: see docs/chapters/ch06_gzip.md")
# --8<-- [end:negotiate_encoding]
