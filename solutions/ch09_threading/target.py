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
    # RFC 9112 §3.2.2: a server must accept the absolute form, as a proxy would receive it;
    # the part after the authority is the path. An absolute URI without a path means "/".
    absolute = ABSOLUTE_FORM.match(target)
    if absolute:
        target = target[absolute.end() :]
        if not target.startswith("/"):
            target = "/" + target
    # RFC 9112 §3.2.1: otherwise only the origin form, which starts with "/", names a resource.
    if not target.startswith("/"):
        raise HttpError(400, "the request target must start with / (or be an absolute URL)")
    path, _question_mark, query = target.partition("?")
    return path, query
# --8<-- [end:split_target]


# --8<-- [start:percent_decode]
def percent_decode(text: str) -> str:
    """Replace each %XX by the byte XX, then read the bytes as UTF-8.

    >>> percent_decode("caf%C3%A9%20au%20lait")
    'café au lait'

    Raises HttpError(400) for a `%` not followed by two hex digits, or bytes that are not UTF-8.
    """
    # RFC 3986 §2.1: pct-encoded = "%" HEXDIG HEXDIG. The escapes stand for bytes, and a
    # character beyond ASCII takes several of them (é is %C3%A9), so decode all bytes first.
    decoded = bytearray()
    index = 0
    while index < len(text):
        character = text[index]
        if character != "%":
            decoded += character.encode("utf-8")
            index += 1
            continue
        escape = text[index + 1 : index + 3]
        if len(escape) != 2 or escape[0] not in HEX_DIGITS or escape[1] not in HEX_DIGITS:
            raise HttpError(400, f"a % must be followed by two hex digits, not {escape!r}")
        decoded.append(int(escape, 16))
        index += 3
    try:
        return decoded.decode("utf-8")
    except UnicodeDecodeError:
        raise HttpError(400, "the percent-escapes in the target are not UTF-8") from None
# --8<-- [end:percent_decode]


# --8<-- [start:parse_query]
def parse_query(query: str) -> dict[str, list[str]]:
    """`a=1&b=x+y&a=2` -> {"a": ["1", "2"], "b": ["x y"]}; a name without `=` gets "".

    Raises HttpError(400) for a bad percent-escape.
    """
    values: dict[str, list[str]] = {}
    for pair in query.split("&"):
        if not pair:
            continue  # "a=1&&b=2" and a trailing "&" add nothing
        name, _equals, value = pair.partition("=")
        # HTML forms encode a space as "+" in the query (application/x-www-form-urlencoded),
        # so "+" means a space there; a real "+" arrives as %2B.
        name = percent_decode(name.replace("+", " "))
        value = percent_decode(value.replace("+", " "))
        values.setdefault(name, []).append(value)
    return values
# --8<-- [end:parse_query]
