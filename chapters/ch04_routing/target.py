"""The request target, taken apart: path, query string, percent-escapes (sans-I/O).

Strategy: `split_target` turns the target of the request line into its raw (still encoded)
path and query. The router splits the raw path into segments *before* decoding, so that an
encoded slash (`%2F`) stays inside its segment instead of making a new one; each segment is
then decoded with `percent_decode`. `parse_query` turns `a=1&b=x+y` into {name: [values]}.
Anything malformed raises HttpError(400).
"""

import re

from .request import HttpError

# RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), then "://" and the
# authority (host and port), which ends at the first "/", "?" or "#".
ABSOLUTE_FORM = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^/?#]*")
HEX_DIGITS = "0123456789abcdefABCDEF"


# --8<-- [start:split_target]
def split_target(target: str) -> tuple[str, str]:
    """The target of the request line -> (raw path, raw query), both still percent-encoded.

    >>> split_target("/users/42?tab=posts")
    ('/users/42', 'tab=posts')
    >>> split_target("http://example.com/users/42")
    ('/users/42', '')
    """
    # TODO(task 4.1): Split the target and decode it. Read section 4.1 of chapter 4 (docs/chapters/ch04_routing.md).
    raise NotImplementedError("task 4.1 (Split the target and decode it) is still to do: see docs/chapters/ch04_routing.md")
# --8<-- [end:split_target]


# --8<-- [start:percent_decode]
def percent_decode(text: str) -> str:
    """Replace each %XX by the byte XX, then read the bytes as UTF-8.

    >>> percent_decode("caf%C3%A9%20au%20lait")
    'café au lait'

    Raises HttpError(400) for a `%` not followed by two hex digits, or bytes that are not UTF-8.
    """
    # TODO(task 4.1): Split the target and decode it. Read section 4.1 of chapter 4 (docs/chapters/ch04_routing.md).
    raise NotImplementedError("task 4.1 (Split the target and decode it) is still to do: see docs/chapters/ch04_routing.md")
# --8<-- [end:percent_decode]


# --8<-- [start:parse_query]
def parse_query(query: str) -> dict[str, list[str]]:
    """`a=1&b=x+y&a=2` -> {"a": ["1", "2"], "b": ["x y"]}; a name without `=` gets "".

    Raises HttpError(400) for a bad percent-escape.
    """
    # TODO(task 4.1): Split the target and decode it. Read section 4.1 of chapter 4 (docs/chapters/ch04_routing.md).
    raise NotImplementedError("task 4.1 (Split the target and decode it) is still to do: see docs/chapters/ch04_routing.md")
# --8<-- [end:parse_query]
