"""Chapter 6, function by function: Accept-Encoding parsing, the gzip decision, what is
compressible, the ETag of the gzip form, and negotiate_encoding on whole responses.

Responses are built with the stable `Response(status, headers, body)`; requests with
`Request(method, target, version, headers, body)`. gzip bodies are decompressed, never
compared byte for byte.
"""

import gzip
import re

import pytest

from course.unit import header

ENTITY_TAG = re.compile(r'(W/)?"[\x21\x23-\x7e\x80-\xff]*"')


def vary_names(response):
    return {
        name.strip().lower()
        for key, value in response.headers
        if key.lower() == "vary"
        for name in value.split(",")
    }


def text_response(chapter_module, body=b"Hello, World!", status=200, content_type="text/plain; charset=utf-8", etag=None):
    headers = [("Content-Type", content_type)]
    if etag is not None:
        headers.append(("ETag", etag))
    return chapter_module("response").Response(status, headers, body)


# -- 6.1 parse_accept_encoding, accepts_gzip ---------------------------------------------------


@pytest.mark.task("6.1")
@pytest.mark.points(1)
@pytest.mark.parametrize(
    "value, weights",
    [
        ("gzip", {"gzip": 1.0}),
        ("gzip;q=0.8, BR, identity;q=0", {"gzip": 0.8, "br": 1.0, "identity": 0.0}),
        ("GZIP;Q=0.5", {"gzip": 0.5}),
        ("gzip ; q=0.25 ,\tdeflate", {"gzip": 0.25, "deflate": 1.0}),
        (", ,gzip,,", {"gzip": 1.0}),
        ("", {}),
        ("*;q=0.1", {"*": 0.1}),
    ],
    ids=["one", "weights", "case", "spaces", "empty-items", "empty-value", "star"],
)
def test_parse_accept_encoding(chapter_module, value, weights):
    """parse_accept_encoding gives {lower-case coding: weight}, 1.0 when no q is given."""
    got = chapter_module("encoding").parse_accept_encoding(value)
    assert got == weights, f"parse_accept_encoding({value!r}) gave {got!r}; expected {weights!r}"


@pytest.mark.task("6.1")
@pytest.mark.points(1)
def test_parse_accept_encoding_qvalue_edges(chapter_module):
    """`q=1.000`, `q=1.`, `q=0`, `q=0.001` are valid qvalues (RFC 9110 §12.4.2)."""
    parse = chapter_module("encoding").parse_accept_encoding
    cases = {"gzip;q=1.000": 1.0, "gzip;q=1.": 1.0, "gzip;q=0": 0.0, "gzip;q=0.001": 0.001}
    wrong = [f"  {value!r} gave {parse(value)!r}" for value, weight in cases.items() if parse(value) != {"gzip": weight}]
    assert not wrong, "each of these is a valid qvalue, to keep as the coding's weight:\n" + "\n".join(wrong)


@pytest.mark.task("6.1")
@pytest.mark.points(2)
def test_parse_accept_encoding_leaves_out_invalid_weights(chapter_module):
    """An item whose q is not a qvalue (`1.5`, `2`, `-1`, `0.0001`, `1e0`, `nan`, empty) is left out."""
    parse = chapter_module("encoding").parse_accept_encoding
    invalid = ["1.5", "2", "-1", "0.0001", "1.001", "1e0", "nan", "inf", "", "abc", "+1", "0x1"]
    wrong = []
    for q in invalid:
        try:
            got = parse(f"gzip;q={q}, br")
        except NotImplementedError:
            raise
        except Exception as error:  # float("abc") raising, say: the server would answer 500
            got = f"raised {type(error).__name__}: {error}"
        if got != {"br": 1.0}:
            wrong.append(f"  'gzip;q={q}, br' gave {got!r}")
    assert not wrong, (
        "qvalue = ( \"0\" [ \".\" 0*3DIGIT ] ) / ( \"1\" [ \".\" 0*3(\"0\") ] ) (RFC 9110 §12.4.2); float() "
        "accepts much more. An item with another q is left out ({'br': 1.0} expected):\n" + "\n".join(wrong)
    )


# (Accept-Encoding value or None, whether the client prefers gzip)
ACCEPTS_GZIP = [
    (None, False),
    ("", False),
    ("gzip", True),
    ("GZIP", True),
    ("Gzip;Q=1", True),
    ("gzip;q=0.5", True),
    ("gzip;q=0", False),
    ("gzip;q=0.000", False),
    ("identity", False),
    ("identity;q=1, gzip;q=0.5", False),
    ("identity;q=0.5, gzip;q=0.8", True),
    ("*", True),
    ("*;q=0", False),
    ("*;q=0, gzip", True),
    ("gzip;q=0, *", False),
    ("deflate, br", False),
]


@pytest.mark.task("6.1")
@pytest.mark.points(3)
def test_accepts_gzip(chapter_module):
    """accepts_gzip follows q-values, `*`, `identity` and case, and says no without a header."""
    accepts_gzip = chapter_module("encoding").accepts_gzip
    wrong = [f"  accepts_gzip({value!r}) gave {accepts_gzip(value)!r}; expected {want}" for value, want in ACCEPTS_GZIP if accepts_gzip(value) != want]
    assert not wrong, "\n".join(wrong)


# -- 6.2 is_compressible, negotiate_encoding ---------------------------------------------------


@pytest.mark.task("6.2")
@pytest.mark.points(2)
def test_is_compressible(chapter_module):
    """Text, JSON, JS, SVG and XML are compressible (parameters and case aside); images, archives are not."""
    is_compressible = chapter_module("encoding").is_compressible
    yes = [
        "text/plain",
        "text/html; charset=utf-8",
        "Text/CSS",
        "text/javascript",
        "application/json",
        "Application/JSON; charset=UTF-8",
        "application/javascript",
        "image/svg+xml",
        "application/xml",
    ]
    no = ["image/png", "image/jpeg", "application/octet-stream", "application/zip", "application/gzip", "video/mp4", ""]
    wrong = [f"  is_compressible({t!r}) gave {is_compressible(t)!r}; expected True" for t in yes if is_compressible(t) is not True]
    wrong += [f"  is_compressible({t!r}) gave {is_compressible(t)!r}; expected False" for t in no if is_compressible(t) is not False]
    assert not wrong, "\n".join(wrong)


@pytest.mark.task("6.2")
@pytest.mark.points(2)
def test_negotiate_encoding_compresses(chapter_module):
    """A text 200 for a gzip client: gzip body, Content-Encoding, Vary, other headers kept."""
    body = "Grüße, café, 東京. ".encode("utf-8") * 20
    response = text_response(chapter_module, body)
    result = chapter_module("encoding").negotiate_encoding("gzip", response, 0)
    assert result.status == 200, f"the status became {result.status}"
    assert header(result, "Content-Encoding") == "gzip", f"the headers are {result.headers!r}: no Content-Encoding: gzip"
    assert "accept-encoding" in vary_names(result), f"the headers are {result.headers!r}: no Vary: Accept-Encoding"
    assert header(result, "Content-Type") == "text/plain; charset=utf-8", f"the Content-Type was lost: {result.headers!r}"
    assert gzip.decompress(result.body) == body, "the body does not decompress to the original"
    assert result.content_length == len(result.body), "content_length must count the compressed bytes"


@pytest.mark.task("6.2")
@pytest.mark.points(2)
def test_negotiate_encoding_identity_has_vary(chapter_module):
    """A text 200 for a client without gzip: the same body, no Content-Encoding, but Vary."""
    for accept_encoding in (None, "gzip;q=0", "identity"):
        response = text_response(chapter_module)
        result = chapter_module("encoding").negotiate_encoding(accept_encoding, response, 0)
        assert result.body == b"Hello, World!", f"Accept-Encoding {accept_encoding!r}: the body became {result.body!r}"
        assert header(result, "Content-Encoding") is None, f"Accept-Encoding {accept_encoding!r}: {result.headers!r}"
        assert "accept-encoding" in vary_names(result), (
            f"Accept-Encoding {accept_encoding!r}: the identity form needs Vary: Accept-Encoding too; "
            f"the headers are {result.headers!r}"
        )


@pytest.mark.task("6.2")
@pytest.mark.points(2)
def test_negotiate_encoding_threshold(chapter_module):
    """A body shorter than min_size stays as it is; one of at least min_size bytes is compressed."""
    negotiate = chapter_module("encoding").negotiate_encoding
    body = b"x" * 100
    below = negotiate("gzip", text_response(chapter_module, body), 101)
    assert below.body == body and header(below, "Content-Encoding") is None, "100 bytes with min_size 101 must stay as it is"
    at = negotiate("gzip", text_response(chapter_module, body), 100)
    assert header(at, "Content-Encoding") == "gzip", "100 bytes with min_size 100 is large enough to compress"
    assert gzip.decompress(at.body) == body


@pytest.mark.task("6.2")
@pytest.mark.points(2)
def test_negotiate_encoding_leaves_others_alone(chapter_module):
    """An image 200 and a text 404 go out untouched: no gzip, no Vary, same body."""
    negotiate = chapter_module("encoding").negotiate_encoding
    image = text_response(chapter_module, bytes(500), content_type="image/png")
    result = negotiate("gzip", image, 0)
    assert result.body == bytes(500) and header(result, "Content-Encoding") is None, "image/png must not be compressed"
    assert not vary_names(result), f"an image is not negotiated: no Vary; the headers are {result.headers!r}"
    error = text_response(chapter_module, b"There is nothing here " * 10, status=404)
    result = negotiate("gzip", error, 0)
    assert result.status == 404 and header(result, "Content-Encoding") is None, "only 200 responses are negotiated"
    assert result.body == b"There is nothing here " * 10


@pytest.mark.task("6.2")
@pytest.mark.points(2)
def test_handle_request_end_to_end(chapter_module):
    """handle_request(GET / with `Accept-Encoding: gzip`) answers `Hello, World!` gzipped."""
    Request = chapter_module("request").Request
    request = Request("GET", "/", "HTTP/1.1", [("Host", "localhost"), ("Accept-Encoding", "gzip")], b"")
    response = chapter_module("app").handle_request(request)
    assert response.status == 200, f"the status is {response.status}"
    assert header(response, "Content-Encoding") == "gzip", f"the headers are {response.headers!r}"
    assert gzip.decompress(response.body) == b"Hello, World!"
    plain = Request("GET", "/", "HTTP/1.1", [("Host", "localhost")], b"")
    response = chapter_module("app").handle_request(plain)
    assert response.body == b"Hello, World!" and header(response, "Content-Encoding") is None


# -- 6.3 gzip_etag -----------------------------------------------------------------------------


@pytest.mark.task("6.3")
@pytest.mark.points(1)
@pytest.mark.parametrize("etag", ['"abc"', '"5a-17f3c2"', 'W/"abc"'], ids=["strong", "file-style", "weak"])
def test_gzip_etag(chapter_module, etag):
    """gzip_etag gives another valid entity-tag, weak if the original was, the same each time."""
    gzip_etag = chapter_module("encoding").gzip_etag
    got = gzip_etag(etag)
    assert ENTITY_TAG.fullmatch(got), f"gzip_etag({etag!r}) gave {got!r}, which is not an entity-tag (RFC 9110 §8.8.3)"
    assert got.removeprefix("W/") != etag.removeprefix("W/"), f"gzip_etag({etag!r}) gave {got!r}: it must differ"
    assert got.startswith("W/") == etag.startswith("W/"), f"gzip_etag({etag!r}) gave {got!r}: keep W/ as it was"
    assert gzip_etag(etag) == got, "gzip_etag must give the same tag for the same input"


@pytest.mark.task("6.3")
@pytest.mark.points(2)
def test_negotiate_encoding_changes_the_etag(chapter_module):
    """The gzip form carries gzip_etag(ETag); the identity form keeps the ETag."""
    encoding = chapter_module("encoding")
    zipped = encoding.negotiate_encoding("gzip", text_response(chapter_module, etag='"v1"'), 0)
    assert header(zipped, "ETag") == encoding.gzip_etag('"v1"'), f"the gzip form's headers are {zipped.headers!r}"
    plain = encoding.negotiate_encoding(None, text_response(chapter_module, etag='"v1"'), 0)
    assert header(plain, "ETag") == '"v1"', f"the identity form's headers are {plain.headers!r}"

