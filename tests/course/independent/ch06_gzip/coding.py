"""Accept-Encoding negotiation (RFC 9110 §12.5.3) and gzip through raw zlib.

gzip is produced by `zlib.compressobj(wbits=31)`: a gzip member with mtime 0 and no file
name, so the same input always gives the same bytes. That is what lets HEAD and 304 report
the Content-Length a GET would send (a counting pass gives the same number as the real one)
and lets the gzip variant of a file carry a strong ETag of its own.
"""

import re
import zlib

LEVEL = 6
QVALUE = re.compile(r"0(\.[0-9]{0,3})?|1(\.0{0,3})?")
TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")

# Besides text/*: the types the spec names (JSON, JS, SVG, XML) and their structured kin.
COMPRESSIBLE = {
    "application/json",
    "application/javascript",
    "application/x-javascript",
    "application/ecmascript",
    "application/xml",
    "image/svg+xml",
}


def compressible(content_type):
    media = content_type.split(b";", 1)[0].strip().lower().decode("latin-1")
    return media.startswith("text/") or media in COMPRESSIBLE or media.endswith(("+json", "+xml"))


def preferences(values):
    """{coding: q} from every Accept-Encoding line; None when the header is absent.

    Elements with a malformed q are dropped (they neither ask for nor refuse a coding); a
    coding listed twice keeps its highest q.
    """
    if not values:
        return None
    found = {}
    for value in values:
        for element in value.decode("latin-1").split(","):
            coding, *params = [part.strip() for part in element.split(";")]
            if not coding or TOKEN.fullmatch(coding) is None:
                continue
            q = 1.0
            for param in params:
                name, _, raw = param.partition("=")
                if name.strip().lower() == "q":
                    raw = raw.strip()
                    q = float(raw) if QVALUE.fullmatch(raw) else None
            if q is None:
                continue
            coding = coding.lower()
            if coding == "x-gzip":  # RFC 9110 §8.4.1.3: treat as gzip
                coding = "gzip"
            found[coding] = max(found.get(coding, q), q)
    return found


def gzip_wanted(values):
    """Whether to answer in gzip: gzip acceptable (q > 0) and not beaten by identity.

    No header means identity (as browsers and servers behave); identity's own weight comes
    from an `identity` element or else `*`; when neither is there it has no preference of
    its own (spec §4.6), so any gzip q > 0 wins. A tie goes to gzip.
    """
    prefs = preferences(values)
    if prefs is None:
        return False
    gzip_q = prefs.get("gzip", prefs.get("*", 0.0))
    if gzip_q <= 0:
        return False
    identity_q = prefs.get("identity", prefs.get("*"))
    return identity_q is None or gzip_q >= identity_q


class Gzipper:
    """Incremental gzip: feed pieces, then finish; deterministic for equal input."""

    def __init__(self):
        self.engine = zlib.compressobj(LEVEL, zlib.DEFLATED, 31)

    def feed(self, data):
        return self.engine.compress(data)

    def finish(self):
        return self.engine.flush(zlib.Z_FINISH)


def gzip_bytes(data):
    engine = Gzipper()
    return engine.feed(data) + engine.finish()
