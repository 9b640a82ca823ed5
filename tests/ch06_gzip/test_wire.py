"""Chapter 6 on the wire: Accept-Encoding negotiation, gzip, Vary, an ETag per encoding.

A gzip body is never compared byte for byte: servers may compress at any level and write any
gzip header. It is decompressed with `gzip.decompress` and compared with the identity form.
What RFC 9110 leaves open is left open: ties between equal weights, invalid q-values, whether
a body of exactly `--gzip-min-size` bytes is compressed, the ETag's format, Vary on errors,
other content codings. Responses are read by their framing (Content-Length, or chunked from
chapter 8 on), never by waiting for the close, except after a request with `Connection: close`.
"""

import gzip
import http.client
import json
import random
import subprocess
import zlib

import h11
import httpx
import pytest
import requests

from course.oracle import h11_exchange
from course.pytest_plugin import require_tool
from course.wire import show_bytes

pytestmark = pytest.mark.wire

HELLO = b"Hello, World!"
GZIP_MAGIC = b"\x1f\x8b"


def request(method=b"GET", target=b"/", accept_encoding=None, extra=b"", body=None):
    """A request head (plus its body, with a Content-Length, when `body` is given)."""
    head = method + b" " + target + b" HTTP/1.1\r\nHost: localhost\r\n"
    if accept_encoding is not None:
        head += b"Accept-Encoding: " + accept_encoding + b"\r\n"
    head += extra
    if body is None:
        return head + b"\r\n"
    return head + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body


def echo(body, content_type, accept_encoding=b"gzip"):
    """POST /echo with this body and Content-Type."""
    return request(b"POST", b"/echo", accept_encoding, b"Content-Type: " + content_type + b"\r\n", body)


def said(accept_encoding):
    """How a test's expectation names the Accept-Encoding it sent."""
    if accept_encoding is None:
        return "no Accept-Encoding"
    return f"`Accept-Encoding: {accept_encoding.decode('latin-1')}`"


def fail_client(server, problem):
    pytest.fail(f"{problem}\n{server.hint.render()}", pytrace=False)


def is_chunked(response):
    return "chunked" in (response.header("Transfer-Encoding") or "").lower()


def content_coding(response):
    """The Content-Encoding, lower-case; "" when there is none."""
    return (response.header("Content-Encoding") or "").strip().lower()


def expect_gzip(response, original, why=""):
    """200, `Content-Encoding: gzip`, a Content-Length counting the compressed bytes, and a
    body that decompresses to `original`."""
    response.expect_status(200, why)
    codings = response.header_values("Content-Encoding")
    if [value.strip().lower() for value in codings] != ["gzip"]:
        response.fail(
            "Content-Encoding: gzip" + (f" ({why})" if why else ""),
            f"the response says Content-Encoding: {', '.join(codings)}." if codings else "the response has no Content-Encoding header.",
        )
    if not is_chunked(response):
        response.expect_header("Content-Length", str(len(response.body)))
    try:
        data = gzip.decompress(response.body)
    except (OSError, EOFError, zlib.error) as error:
        problem = f"gzip.decompress cannot read the body: {error}."
        if response.header("Content-Length") == str(len(original)):
            problem += (
                f" Content-Length is {len(original)}, the length of the uncompressed body: it must count"
                " the bytes actually sent, the compressed ones."
            )
        response.fail(f"a gzip body that decompresses to the {len(original)} bytes of the identity form", problem)
    if data != original:
        response.fail(
            f"a gzip body that decompresses to the identity form ({len(original)} bytes: {original[:60]!r}...)",
            f"it decompresses to {len(data)} bytes: {data[:60]!r}...",
        )
    return data


def expect_gzip_body(response):
    """The gzip body of a 200 whose identity form the test does not know in advance."""
    codings = [value.strip().lower() for value in response.header_values("Content-Encoding")]
    if codings != ["gzip"]:
        response.fail("Content-Encoding: gzip (JSON is compressible)", f"the response has Content-Encoding {codings or 'absent'}.")
    try:
        gzip.decompress(response.body)
    except (OSError, EOFError, zlib.error) as error:
        response.fail("a complete gzip body, its Content-Length counting the compressed bytes", f"gzip.decompress says: {error}.")
    return response.body


def expect_identity(response, original, why=""):
    """200 with the body as it is: no content coding, Content-Length of the body."""
    response.expect_status(200, why)
    coding = content_coding(response)
    if coding not in ("", "identity"):
        response.fail(f"no Content-Encoding: the body as it is ({why})", f"the response says Content-Encoding: {coding}.")
    if not is_chunked(response):
        response.expect_header("Content-Length", str(len(original)))
    response.expect_body(original, why)


def expect_not_encoded(response, why):
    """No content coding and no gzip bytes in the body (for responses that are not negotiated)."""
    coding = content_coding(response)
    if coding not in ("", "identity"):
        response.fail(f"no Content-Encoding ({why})", f"the response says Content-Encoding: {coding}.")
    if response.body.startswith(GZIP_MAGIC):
        response.fail(f"a body as it is, not gzip bytes ({why})", "the body starts with the gzip magic bytes 1f 8b.")


def expect_vary(response, why):
    """Vary lists Accept-Encoding (in any letter case, among other names or not)."""
    values = response.header_values("Vary")
    names = {name.strip().lower() for value in values for name in value.split(",")}
    if "accept-encoding" not in names:
        response.fail(
            f"Vary: Accept-Encoding ({why})",
            f"the response says Vary: {', '.join(values)}." if values else "the response has no Vary header.",
        )


def opaque_tag(etag):
    """An entity-tag without its weakness mark: W/"x" and "x" match in If-None-Match (RFC 9110 §8.8.3.2)."""
    return etag.strip().removeprefix("W/")


# -- The folder served under /files/ -----------------------------------------------------------

TEXT_FILES = {
    "page.html": (
        '<!doctype html>\n<html lang="fr"><head><meta charset="utf-8"><title>Café</title></head>\n<body>\n'
        + "".join(f"<p>Paragraphe {i} : le café est prêt, servez-vous.</p>\n" for i in range(60))
        + "</body></html>\n"
    ).encode("utf-8"),
    "style.css": "".join(f".item-{i} {{ margin: {i}px; color: #333; }}\n" for i in range(80)).encode(),
    "app.js": "".join(f"console.log('line {i}: ünïcode');\n" for i in range(80)).encode("utf-8"),
    "logo.svg": (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100">\n'
        + "".join(f'  <circle cx="{i}" cy="{i}" r="{i % 7 + 1}" fill="#c33"/>\n' for i in range(50))
        + "</svg>\n"
    ).encode(),
    "data.xml": (
        '<?xml version="1.0" encoding="utf-8"?>\n<items>\n'
        + "".join(f'  <item id="{i}">élément {i}</item>\n' for i in range(60))
        + "</items>\n"
    ).encode("utf-8"),
    "notes.txt": "".join(f"note {i}: compress me, I am plain text.\n" for i in range(60)).encode(),
    "data.json": json.dumps([{"id": i, "name": f"item {i}", "tags": ["a", "b"]} for i in range(40)]).encode(),
}
_noise = random.Random(6).randbytes(600)
# Repetitive on purpose: gzip would shrink them, yet images and archives are not compressed.
BINARY_FILES = {
    "image.png": b"\x89PNG\r\n\x1a\n" + _noise + bytes(2000),
    "archive.zip": b"PK\x03\x04" + _noise + bytes(2000),
    "data.bin": bytes(range(256)) * 8,
}
BIG_TEXT = "".join(f"line {i:06d}: the quick brown fox jumps over the lazy dog\n" for i in range(6000)).encode()


@pytest.fixture
def site(tmp_path):
    """A folder of text and binary files to serve with --directory."""
    root = tmp_path / "site"
    (root / "docs").mkdir(parents=True)
    for name, data in {**TEXT_FILES, **BINARY_FILES}.items():
        (root / name).write_bytes(data)
    (root / "big.txt").write_bytes(BIG_TEXT)
    (root / "docs" / "index.html").write_bytes(TEXT_FILES["page.html"])
    return root


@pytest.fixture
def files_server(start_server, site):
    """The server with the folder above under /files/."""
    return start_server("--directory", str(site))


# -- 6.1 Parse Accept-Encoding -----------------------------------------------------------------

# RFC 9110 §12.5.3 and §12.4.2: Accept-Encoding = #( codings [ weight ] ),
# weight = OWS ";" OWS "q=" qvalue; codings and "q" are case-insensitive; empty list elements
# are allowed (§5.6.1). `identity` not listed has no preference of its own (COURSE_SPEC §4.6).
# Each test sends its values one request at a time and stops at the first wrong answer.


def expect_gzip_for_each(server, values, why):
    for accept_encoding in values:
        response = server.exchange(
            request(accept_encoding=accept_encoding),
            expect=f"a gzip response to {said(accept_encoding)}, its Content-Length counting the compressed bytes",
        )
        expect_gzip(response, HELLO, f"{said(accept_encoding)}: {why}")


def expect_identity_for_each(server, values, why):
    for accept_encoding in values:
        response = server.exchange(
            request(accept_encoding=accept_encoding), expect=f"the body as it is, to {said(accept_encoding)}"
        )
        expect_identity(response, HELLO, f"{said(accept_encoding)}: {why}")


@pytest.mark.task("6.1")
@pytest.mark.points(3)
def test_gzip_named_in_any_case(server):
    """`gzip`, `GZIP` and `Gzip;Q=1` all ask for gzip: codings and `q` are case-insensitive."""
    expect_gzip_for_each(server, [b"gzip", b"GZIP", b"Gzip;Q=1"], "content codings are case-insensitive (RFC 9110 §8.4.1)")


@pytest.mark.task("6.1")
@pytest.mark.points(3)
def test_gzip_with_a_weight_is_still_preferred(server):
    """`gzip;q=0.5` alone, `q=1.000`, `q=0.001`, or identity weighing less: gzip."""
    expect_gzip_for_each(
        server,
        [b"gzip;q=0.5", b"gzip;q=1.000", b"gzip;q=0.001", b"identity;q=0.5, gzip;q=0.8"],
        "gzip is acceptable (q > 0) and no listed coding weighs more; an identity not listed has no preference of its own",
    )


@pytest.mark.task("6.1")
@pytest.mark.points(2)
def test_list_syntax_spaces_and_empty_elements(server):
    """Spaces and tabs around `;` and `,`, and empty list elements, are read as the RFC allows."""
    expect_gzip_for_each(
        server,
        [b"gzip ; q=0.8", b"identity;q=0.5,\tgzip\t;q=0.9", b", ,gzip,,"],
        "OWS may surround `;` and `,`, and empty elements mean nothing (RFC 9110 §5.6.1, §12.4.2)",
    )


@pytest.mark.task("6.1")
@pytest.mark.points(2)
def test_star_accepts_gzip(server):
    """`*` accepts gzip; `*;q=0, gzip` too: the named gzip wins over the star."""
    expect_gzip_for_each(server, [b"*", b"*;q=0, gzip"], "`*` stands for every coding not named (RFC 9110 §12.5.3)")


@pytest.mark.task("6.1")
@pytest.mark.points(3)
def test_no_gzip_unless_asked(server):
    """No Accept-Encoding, an empty one, or `identity` alone: the body as it is."""
    expect_identity_for_each(server, [None, b"", b"identity"], "the client did not ask for gzip")


@pytest.mark.task("6.1")
@pytest.mark.points(3)
def test_q_zero_refuses_gzip(server):
    """`gzip;q=0` (any case, `0.000`, with spaces, or beside `*`) refuses gzip."""
    expect_identity_for_each(
        server,
        [b"gzip;q=0", b"GZIP;Q=0", b"gzip;q=0.000", b"gzip ; q=0", b"gzip;q=0, *"],
        "q=0 means not acceptable (RFC 9110 §12.4.2), and a named coding is not covered by `*`",
    )


@pytest.mark.task("6.1")
@pytest.mark.points(2)
def test_identity_weighing_more_wins(server):
    """`identity;q=1, gzip;q=0.5`: the client prefers the body as it is."""
    expect_identity_for_each(server, [b"identity;q=1, gzip;q=0.5"], "identity weighs more than gzip")


@pytest.mark.task("6.1")
@pytest.mark.points(1)
def test_star_q0_refuses_gzip(server):
    """`*;q=0` refuses every coding not named, gzip included: no gzip (identity, or 406)."""
    response = server.exchange(request(accept_encoding=b"*;q=0"), expect="the body as it is (or 406), not gzip")
    if response.status == 406:
        return  # `*;q=0` refuses identity too: RFC 9110 §12.5.3 lets the server answer 406
    expect_identity(response, HELLO, "`*;q=0` refuses gzip")


@pytest.mark.task("6.1")
@pytest.mark.points(2)
def test_accept_encoding_fields_are_one_list(server):
    """Two Accept-Encoding fields count as one list (RFC 9110 §5.3): `identity;q=0.1` then `gzip`."""
    raw = request(extra=b"Accept-Encoding: identity;q=0.1\r\naccept-encoding: gzip\r\n")
    response = server.exchange(raw, expect="a gzip response: the two fields together say gzip;q=1, identity;q=0.1")
    expect_gzip(response, HELLO, "the second Accept-Encoding field names gzip")


@pytest.mark.task("6.1")
@pytest.mark.points(2)
def test_python_http_client_gets_identity(server):
    """http.client sends `Accept-Encoding: identity` and reads the body as it is."""
    client = http.client.HTTPConnection(server.process.host, server.port, timeout=3)
    try:
        client.request("GET", "/")
        response = client.getresponse()
        body = response.read()
    except (OSError, http.client.HTTPException) as error:
        fail_client(server, f"http.client sent GET / and could not read the response: {error!r}")
    finally:
        client.close()
    coding = response.getheader("Content-Encoding")
    if response.status != 200 or coding not in (None, "identity") or body != HELLO:
        fail_client(
            server,
            "http.client sent `Accept-Encoding: identity` and read "
            f"{response.status} {response.reason}, Content-Encoding {coding!r}, body {body[:60]!r}; "
            "expected 200, no Content-Encoding and b'Hello, World!'",
        )


# -- 6.2 Compress what pays, with Vary ---------------------------------------------------------


@pytest.mark.task("6.2")
@pytest.mark.points(4)
def test_gzip_response_is_framed_by_its_compressed_length(server):
    """GET / with gzip: Content-Encoding gzip, Content-Length of the compressed bytes, nothing after."""
    with server.connect() as connection:
        connection.send(request(accept_encoding=b"gzip", extra=b"Connection: close\r\n"))
        response = connection.read_response(
            expect="a gzip response whose Content-Length counts the compressed bytes sent"
        )
        expect_gzip(response, HELLO, "`Accept-Encoding: gzip`")
        connection.expect_closed(
            "nothing after the gzip body, then the close: Content-Length counts exactly the compressed bytes"
        )


@pytest.mark.task("6.2")
@pytest.mark.points(2)
def test_info_json_is_gzipped(server):
    """GET /info with gzip: application/json, gzip-encoded, and the JSON inside shows the header."""
    response = server.exchange(
        request(target=b"/info?x=1", accept_encoding=b"gzip"), expect="the /info JSON, gzip-encoded"
    )
    response.expect_status(200)
    data = gzip.decompress(expect_gzip_body(response))
    try:
        info = json.loads(data.decode("utf-8"))
        seen = info["headers"]["accept-encoding"]
    except (ValueError, KeyError, TypeError) as error:
        response.fail("the /info JSON inside the gzip body", f"the decompressed body is not it ({error!r}): {data[:200]!r}.")
    if seen != "gzip":
        response.fail("the /info JSON to report accept-encoding: gzip", f"it reports {seen!r}.")


@pytest.mark.task("6.2")
@pytest.mark.points(2)
def test_echo_of_utf8_text_is_gzipped_exactly(server):
    """POST /echo of UTF-8 text with gzip: the decompressed body is the same bytes, type copied."""
    body = "Grüße aus Köln, 東京 and São Paulo — ünïcödé text.\r\n".encode("utf-8") * 40
    response = server.exchange(
        echo(body, b"text/plain; charset=utf-8"), expect="the echo, gzip-encoded (a 200 of text)"
    )
    expect_gzip(response, body, "text/plain is compressible")
    response.expect_header("Content-Type", "text/plain; charset=utf-8")


COMPRESSIBLE = [
    b"Text/HTML; Charset=UTF-8",
    b"text/css",
    b"application/json; charset=utf-8",
    b"application/javascript",
    b"image/svg+xml",
    b"application/xml",
]


@pytest.mark.task("6.2")
@pytest.mark.points(3)
def test_compressible_types_are_gzipped(server):
    """text/*, JSON, JS, SVG and XML are compressed, the media type read case-insensitively."""
    body = b"<x>compressible " * 30 + b"</x>"
    for content_type in COMPRESSIBLE:
        response = server.exchange(echo(body, content_type), expect=f"the echo of {content_type.decode()}, gzip-encoded")
        expect_gzip(response, body, f"{content_type.decode()} is compressible")


@pytest.mark.task("6.2")
@pytest.mark.points(2)
def test_incompressible_types_are_not_gzipped(server):
    """Images, archives and application/octet-stream go out as they are, even to a gzip client."""
    body = b"\x89PNG\r\n\x1a\n" + bytes(1000)
    for content_type in (b"image/png", b"application/zip", None):
        extra = b"" if content_type is None else b"Content-Type: " + content_type + b"\r\n"
        kind = "application/octet-stream" if content_type is None else content_type.decode()
        response = server.exchange(
            request(b"POST", b"/echo", b"gzip", extra, body), expect=f"the echo of {kind}, as it is"
        )
        expect_identity(response, body, f"{kind} is not a compressible type")


@pytest.mark.task("6.2")
@pytest.mark.points(3)
def test_text_files_are_gzipped(files_server):
    """Files of text types (.html, .css, .js, .svg, .xml, .txt, .json) come gzip-encoded."""
    for name, data in TEXT_FILES.items():
        response = files_server.exchange(
            request(target=b"/files/" + name.encode(), accept_encoding=b"gzip"),
            expect=f"/files/{name} gzip-encoded, its Content-Length counting the compressed bytes",
        )
        expect_gzip(response, data, f"{name} is text")


@pytest.mark.task("6.2")
@pytest.mark.points(3)
def test_binary_files_are_not_gzipped(files_server):
    """Files of binary types (.png, .zip, an unknown extension) go out as they are."""
    for name, data in BINARY_FILES.items():
        response = files_server.exchange(
            request(target=b"/files/" + name.encode(), accept_encoding=b"gzip"), expect=f"/files/{name} as it is"
        )
        expect_identity(response, data, f"{name} is not text: gzip would only cost time")


@pytest.mark.task("6.2")
@pytest.mark.points(2)
def test_large_text_file_is_gzipped(files_server):
    """A 360 KB text file decompresses to the same bytes."""
    response = files_server.exchange(
        request(target=b"/files/big.txt", accept_encoding=b"gzip"), expect="/files/big.txt gzip-encoded"
    )
    expect_gzip(response, BIG_TEXT, "a large text file is compressible too")


@pytest.mark.task("6.2")
@pytest.mark.points(4)
def test_vary_on_both_forms(files_server):
    """Vary: Accept-Encoding is on the gzip form and on the identity form of a compressible 200."""
    for target, data in ((b"/", HELLO), (b"/files/page.html", TEXT_FILES["page.html"])):
        for accept_encoding in (b"gzip", None, b"gzip;q=0"):
            response = files_server.exchange(
                request(target=target, accept_encoding=accept_encoding), expect=f"GET {target.decode()}"
            )
            if accept_encoding == b"gzip":
                expect_gzip(response, data)
            else:
                expect_identity(response, data)
            expect_vary(
                response,
                f"the response to GET {target.decode()} depends on Accept-Encoding, whichever form this client "
                "got: a cache must not hand it to a client that asked differently (RFC 9110 §12.5.5)",
            )


@pytest.mark.task("6.2")
@pytest.mark.points(4)
def test_only_200_responses_are_negotiated(files_server):
    """404, 405, 400, 301 and 201 are not gzip-encoded, even to a gzip client; a 200 is."""
    response = files_server.exchange(
        request(target=b"/files/notes.txt", accept_encoding=b"gzip"), expect="a 200 of text, gzip-encoded"
    )
    expect_gzip(response, TEXT_FILES["notes.txt"])
    errors = [
        (request(target=b"/nowhere", accept_encoding=b"gzip"), 404),
        (request(b"POST", b"/", b"gzip", body=b""), 405),
        (request(b"POST", b"/json", b"gzip", b"Content-Type: application/json\r\n", b'{"oops": '), 400),
    ]
    for raw, status in errors:
        response = files_server.exchange(raw, expect=f"{status}, its text body as it is")
        response.expect_text_error(status)
        expect_not_encoded(response, "only 200 responses are negotiated")
    others = [
        (request(target=b"/files/docs", accept_encoding=b"gzip"), 301),
        (request(b"POST", b"/files/upload/new.txt", b"gzip", b"Content-Type: text/plain\r\n", b"new text " * 20), 201),
    ]
    for raw, status in others:
        response = files_server.exchange(raw, expect=f"{status}, not gzip-encoded")
        response.expect_status(status)
        expect_not_encoded(response, "only 200 responses are negotiated")


@pytest.mark.task("6.2")
@pytest.mark.points(4)
def test_gzip_min_size_flag(start_server):
    """With `--gzip-min-size 200`, a 13-byte or 50-byte body goes as it is, a 1500-byte one is gzipped."""
    server = start_server("--gzip-min-size", "200")
    response = server.exchange(request(accept_encoding=b"gzip"), expect="`Hello, World!` as it is: 13 bytes < 200")
    expect_identity(response, HELLO, "13 bytes is below --gzip-min-size 200")
    small = b"x" * 50
    response = server.exchange(echo(small, b"text/plain"), expect="the 50-byte echo as it is: 50 < 200")
    expect_identity(response, small, "50 bytes is below --gzip-min-size 200")
    large = b"a larger text body " * 80
    response = server.exchange(echo(large, b"text/plain"), expect="the 1520-byte echo, gzip-encoded")
    expect_gzip(response, large, "1520 bytes is above --gzip-min-size 200")


@pytest.mark.task("6.2")
@pytest.mark.points(2)
def test_tiny_bodies_are_gzipped_by_default(server):
    """The default --gzip-min-size is 0: even `me` (2 bytes) is gzipped for a gzip client."""
    response = server.exchange(request(target=b"/users/me", accept_encoding=b"gzip"), expect="`me`, gzip-encoded")
    expect_gzip(response, b"me", "the default threshold is 0")


@pytest.mark.task("6.2")
@pytest.mark.points(4)
def test_head_reports_what_get_sends(files_server):
    """HEAD with gzip has the Content-Length, Content-Encoding and ETag that GET with gzip has, no body."""
    for target in (b"/", b"/files/style.css"):
        get = files_server.exchange(request(target=target, accept_encoding=b"gzip"), expect="the gzip GET response")
        expect_gzip_body(get)
        with files_server.connect() as connection:
            connection.send(request(b"HEAD", target, b"gzip", b"Connection: close\r\n"))
            head = connection.read_response(method="HEAD", expect=f"the head of the gzip GET {target.decode()} response")
            head.expect_status(200)
            for name in ("Content-Encoding", "Content-Length", "Transfer-Encoding", "ETag"):
                if head.header(name) != get.header(name):
                    head.fail(
                        f"{name}: {get.header(name)} on HEAD, as on GET with the same Accept-Encoding (RFC 9110 §9.3.2)",
                        f"HEAD says {name}: {head.header(name)}." if head.header(name) else f"HEAD has no {name}.",
                    )
            connection.expect_closed("nothing after the blank line, then the close: a HEAD response has no body")


@pytest.mark.task("6.2")
@pytest.mark.points(2)
def test_curl_compressed(files_server):
    """curl --compressed gets page.html compressed and prints it decompressed, byte for byte."""
    require_tool("curl", "this test runs curl against your server")
    url = files_server.url + "/files/page.html"
    result = subprocess.run(
        ["curl", "--silent", "--show-error", "--max-time", "5", "--compressed", "--dump-header", "-", url],
        capture_output=True,
        timeout=10,
    )
    if result.returncode != 0:
        fail_client(files_server, f"curl --compressed {url} failed (exit {result.returncode}): {result.stderr.decode(errors='replace').strip()}")
    head, _, body = result.stdout.partition(b"\r\n\r\n")
    codings = [line.split(b":", 1)[1].strip().lower() for line in head.split(b"\r\n") if line.lower().startswith(b"content-encoding:")]
    if not head.startswith(b"HTTP/1.1 200 ") or codings in ([], [b"identity"]) or body != TEXT_FILES["page.html"]:
        fail_client(
            files_server,
            f"curl --compressed {url} expected 200 with a Content-Encoding, decoded to the file's "
            f"{len(TEXT_FILES['page.html'])} bytes; it printed the head:\n{head.decode('latin-1')}\n"
            f"and {len(body)} bytes of body: {body[:80]!r}...",
        )


@pytest.mark.task("6.2")
@pytest.mark.points(2)
def test_requests_and_httpx_decode_the_gzip_body(files_server):
    """requests and httpx (which send `Accept-Encoding: gzip, deflate`) read app.js compressed and decode it."""
    url = files_server.url + "/files/app.js"
    with requests.Session() as session:
        session.trust_env = False  # no proxy from the environment: straight to the server
        try:
            response = session.get(url, timeout=5)
            got = ("requests", response.status_code, response.headers.get("Content-Encoding"), response.content)
        except requests.RequestException as error:
            fail_client(files_server, f"requests could not GET {url}: {error!r}")
    with httpx.Client(trust_env=False, timeout=5) as client:
        try:
            response = client.get(url)
            got_httpx = ("httpx", response.status_code, response.headers.get("Content-Encoding"), response.content)
        except httpx.HTTPError as error:
            fail_client(files_server, f"httpx could not GET {url}: {error!r}")
    for name, status, coding, content in (got, got_httpx):
        if status != 200 or coding in (None, "identity") or content != TEXT_FILES["app.js"]:
            fail_client(
                files_server,
                f"{name} sent `Accept-Encoding: gzip, deflate` and read {status}, Content-Encoding {coding!r} "
                f"and {len(content)} decoded bytes {content[:60]!r}...; expected 200, a compressed response, "
                f"and the {len(TEXT_FILES['app.js'])} bytes of app.js",
            )


@pytest.mark.task("6.2")
@pytest.mark.points(2)
def test_strict_parser_reads_gzip_responses(server):
    """h11, a strict HTTP/1.1 parser, reads gzip GET and HEAD responses whole, nothing after."""
    for method in ("GET", "HEAD"):
        data, events = h11_exchange(server, method, "/", [("Host", "localhost"), ("Accept-Encoding", "gzip")])
        responses = [event for event in events if isinstance(event, h11.Response)]
        body = b"".join(bytes(event.data) for event in events if isinstance(event, h11.Data))
        complete = bool(events) and isinstance(events[-1], h11.EndOfMessage)
        wanted = b"" if method == "HEAD" else HELLO
        try:
            decoded = gzip.decompress(body) if body else b""
        except (OSError, EOFError, zlib.error) as error:
            decoded = f"<not gzip: {error}>".encode()
        if len(responses) != 1 or responses[0].status_code != 200 or not complete or decoded != wanted:
            fail_client(
                server,
                f"h11 expected one complete 200 response to {method} / with "
                + ("no body" if method == "HEAD" else "a gzip body of `Hello, World!`")
                + f"; it read the events {events!r}\nReceived:\n{show_bytes(data)}",
            )


# -- 6.3 An ETag per encoding ------------------------------------------------------------------


def file_etags(server, target=b"/files/page.html"):
    """(ETag of the gzip form, ETag of the identity form) of a text file."""
    data = TEXT_FILES["page.html"]
    zipped = server.exchange(request(target=target, accept_encoding=b"gzip"), expect="the gzip form, with an ETag")
    expect_gzip(zipped, data)
    zipped.expect_header("ETag")
    plain = server.exchange(request(target=target), expect="the identity form, with an ETag")
    expect_identity(plain, data)
    plain.expect_header("ETag")
    return zipped.header("ETag"), plain.header("ETag")


@pytest.mark.task("6.3")
@pytest.mark.points(3)
def test_etag_differs_per_encoding(files_server):
    """The gzip and identity forms of one file have different entity-tags."""
    gzip_etag, identity_etag = file_etags(files_server)
    if opaque_tag(gzip_etag) == opaque_tag(identity_etag):
        fail_client(
            files_server,
            f"the gzip form of /files/page.html has ETag {gzip_etag} and the identity form ETag {identity_etag}: "
            "they are different bytes, so they need different entity-tags (and W/ alone does not make "
            "them differ: If-None-Match compares weakly)",
        )


@pytest.mark.task("6.3")
@pytest.mark.points(3)
def test_each_form_is_304_with_its_own_etag(files_server):
    """If-None-Match with the gzip ETag and gzip, or the identity ETag and no gzip: 304 Not Modified."""
    gzip_etag, identity_etag = file_etags(files_server)
    for etag, accept_encoding in ((gzip_etag, b"gzip"), (identity_etag, None)):
        extra = b"If-None-Match: " + etag.encode("latin-1") + b"\r\n"
        response = files_server.exchange(
            request(target=b"/files/page.html", accept_encoding=accept_encoding, extra=extra),
            expect=f"304 Not Modified: If-None-Match names the ETag of the form {said(accept_encoding)} gets",
        )
        response.expect_status(304, "the client holds the current copy of this form")


@pytest.mark.task("6.3")
@pytest.mark.points(4)
def test_identity_etag_does_not_match_the_gzip_form(files_server):
    """If-None-Match with the identity ETag and gzip: 200 with the gzip body, not 304."""
    _gzip_etag, identity_etag = file_etags(files_server)
    extra = b"If-None-Match: " + identity_etag.encode("latin-1") + b"\r\n"
    response = files_server.exchange(
        request(target=b"/files/page.html", accept_encoding=b"gzip", extra=extra),
        expect="200 with the gzip form: the client holds the identity form, not this one",
    )
    expect_gzip(
        response,
        TEXT_FILES["page.html"],
        "the 304 is decided after negotiation, on the ETag of the form this client would get",
    )


@pytest.mark.task("6.3")
@pytest.mark.points(2)
def test_gzip_etag_does_not_match_the_identity_form(files_server):
    """If-None-Match with the gzip ETag and no Accept-Encoding: 200 with the identity body."""
    gzip_etag, _identity_etag = file_etags(files_server)
    extra = b"If-None-Match: " + gzip_etag.encode("latin-1") + b"\r\n"
    response = files_server.exchange(
        request(target=b"/files/page.html", extra=extra),
        expect="200 with the identity form: the client holds the gzip form, not this one",
    )
    expect_identity(response, TEXT_FILES["page.html"], "the ETag names the gzip form")
