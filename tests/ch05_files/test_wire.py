"""Chapter 5 on the wire: a folder served under /files/, safely, with validators and uploads.

Every test builds its own folder in tmp_path and starts the server with `--directory` on it;
next to that folder lie files holding SECRET, which no response may ever contain. Paths are
sent as raw bytes, because real clients remove dot segments before sending. What the spec
leaves open is left open: header order and letter case, error wording, the format of an
ETag, a charset parameter on the media types (when there is one it is not graded), a
Location that is absolute or relative, a Content-Length on HEAD and 304 (absent, or the one
the 200 would have). No request sends Accept-Encoding, so the gzip chapter answers as this
one does; responses are read by their Content-Length, and a request that checks what follows
the response (HEAD, 304) says `Connection: close`.
"""

import os
import re
import struct
import threading
import time
import zlib
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path
from urllib.parse import quote, urljoin, urlsplit

import pytest

from course.pytest_plugin import require_module, require_tool

pytestmark = pytest.mark.wire

SECRET = b"TOP SECRET: this file lies outside the served folder\n"
INSIDE = b"a file inside the served folder\n"
# 2021-03-04 05:06:07.5 UTC. Real files have a fraction of a second in their time; HTTP dates
# have none, so a server must compare whole seconds.
MTIME = 1_614_834_367.5


def write(path: Path, data: bytes, mtime: float = MTIME) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (mtime, mtime))
    return path


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """tmp_path/site, the folder to serve; secrets and symlinks to them around it.

    tmp_path/secret.txt, tmp_path/outside/secret.txt and tmp_path/site-secret/secret.txt hold
    SECRET. The folder holds inside.txt, sub/inside.txt, a file named `back\\slash.txt`, and
    symlinks that lead out: out.txt -> ../secret.txt, outdir -> ../outside, and
    sibling -> ../site-secret, whose path starts with the served folder's own path.
    """
    root = tmp_path / "site"
    write(tmp_path / "secret.txt", SECRET)
    write(tmp_path / "outside" / "secret.txt", SECRET)
    write(tmp_path / "site-secret" / "secret.txt", SECRET)
    write(root / "inside.txt", INSIDE)
    write(root / "sub" / "inside.txt", INSIDE)
    write(root / "back\\slash.txt", INSIDE)
    (root / "out.txt").symlink_to(tmp_path / "secret.txt")
    (root / "outdir").symlink_to(tmp_path / "outside", target_is_directory=True)
    (root / "sibling").symlink_to(tmp_path / "site-secret", target_is_directory=True)
    return root


def serve(start_server, root: Path, *flags: str):
    return start_server("--directory", str(root), *flags)


def request(method: bytes, target: bytes, extra: bytes = b"", body: bytes | None = None) -> bytes:
    """A request head (plus its body, with a Content-Length, when `body` is given)."""
    head = method + b" " + target + b" HTTP/1.1\r\nHost: localhost\r\n" + extra
    if body is None:
        return head + b"\r\n"
    return head + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body


def get(server, target: bytes, expect: str = "200 OK with the file"):
    return server.exchange(request(b"GET", target), expect=expect)


def exchange_and_close(server, raw: bytes, expect: str):
    """Send `raw` (which says Connection: close), read one response, and check that nothing
    follows it: a HEAD or 304 response has no body, whatever its Content-Length says."""
    method = raw.split(b" ", 1)[0].decode("latin-1")
    with server.connect() as connection:
        connection.send(raw)
        response = connection.read_response(method=method, expect=expect)
        connection.expect_closed(
            f"nothing after the head of this {response.status} response (it has no body), then the close"
        )
        return response


def conditional(server, target: bytes, *fields: bytes, method: bytes = b"GET", expect: str = "a response"):
    """A request with these header fields (and Connection: close); nothing may follow the response."""
    extra = b"".join(field + b"\r\n" for field in fields) + b"Connection: close\r\n"
    return exchange_and_close(server, request(method, target, extra), expect)


def media_type(response) -> str:
    response.expect_header("Content-Type")
    return response.header("Content-Type").split(";")[0].strip().lower()


def expect_media_type(response, *allowed: str) -> None:
    """The Content-Type's media type is one of `allowed` (parameters such as charset not graded)."""
    if media_type(response) not in allowed:
        response.fail(
            f"Content-Type: {' or '.join(allowed)} (a charset parameter may follow)",
            f"the response says Content-Type: {response.header('Content-Type')}.",
        )


def expect_file(response, data: bytes, why: str = "") -> None:
    """200 OK, Content-Length counting the file's bytes, and the file's bytes."""
    response.expect_status(200, why)
    response.expect_header("Content-Length", str(len(data)))
    if response.body != data:
        if len(data) > 100_000:
            offset = next(i for i in range(0, len(data) + 1, 65536) if response.body[i : i + 65536] != data[i : i + 65536])
            response.fail(f"the file's {len(data)} bytes", f"the body differs from the file in the 64 KiB block at byte {offset}.")
        response.expect_body(data, why)


def expect_no_secret(response) -> None:
    if SECRET.strip() in response.connection.received:
        response.fail(
            "404 Not Found, and nothing from outside the served folder",
            "the response contains the secret file that lies OUTSIDE the served folder.",
        )


def expect_location(response, request_url: str, path: str) -> str:
    """The Location header, resolved against the request's URL (RFC 9110 §10.2.2), names `path`."""
    response.expect_header("Location")
    location = response.header("Location")
    resolved = urlsplit(urljoin(request_url, location))
    if resolved.path != path:
        response.fail(
            f"a Location that leads to {path}",
            f"Location: {location} leads to {resolved.path} (resolved against {request_url}).",
        )
    return resolved.path


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A real PNG image of one colour, made with zlib: signature, IHDR, IDAT, IEND."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="20" height="10"><rect width="20" height="10" fill="teal"/></svg>\n'


# -- 5.1 Map a URL path to a file, safely -------------------------------------------------------


@pytest.mark.task("5.1")
@pytest.mark.points(2)
def test_serves_a_file(start_server, site):
    """GET /files/inside.txt answers 200 with the file's bytes."""
    server = serve(start_server, site)
    expect_file(get(server, b"/files/inside.txt", "200 OK with the content of inside.txt"), INSIDE)


@pytest.mark.task("5.1")
@pytest.mark.points(1)
def test_serves_a_file_in_a_subfolder(start_server, site):
    """GET /files/a/b/c.txt serves a file two folders down."""
    data = b"two folders down\n"
    write(site / "a" / "b" / "c.txt", data)
    server = serve(start_server, site)
    expect_file(get(server, b"/files/a/b/c.txt", "200 OK with the content of a/b/c.txt"), data)


@pytest.mark.task("5.1")
@pytest.mark.points(1)
def test_missing_file_is_404(start_server, site):
    """A file that does not exist is 404 Not Found."""
    server = serve(start_server, site)
    get(server, b"/files/no-such-file.txt", "404 Not Found: there is no such file").expect_text_error(404)


@pytest.mark.task("5.1")
@pytest.mark.points(2)
def test_non_ascii_file_name(start_server, site):
    """A percent-encoded UTF-8 name (`caf%C3%A9 menu.txt`) names the file `café menu.txt`."""
    data = "crème brûlée\n".encode()
    write(site / "café menu.txt", data)
    server = serve(start_server, site)
    expect_file(get(server, b"/files/caf%C3%A9%20menu.txt", "200 OK with the content of `caf\u00e9 menu.txt`"), data)


@pytest.mark.task("5.1")
@pytest.mark.points(2)
def test_files_routes_need_a_directory(start_server, site):
    """/files/... serves the folder given by --directory; without the flag, it is 404."""
    with_folder = serve(start_server, site)
    expect_file(get(with_folder, b"/files/inside.txt", "200 OK: --directory was given"), INSIDE)
    without = start_server()
    response = get(without, b"/files/inside.txt", "404 Not Found: no --directory, so there is nothing under /files/")
    response.expect_text_error(404, "the server was started without --directory")


# Raw paths below /files/ that must be 404: every way to step out of the folder, and the
# spellings that must be refused even when they would stay inside it. `{secret}` becomes the
# absolute path of tmp_path/secret.txt.
TRAVERSALS = [
    pytest.param(b"../secret.txt", id="dot-dot"),
    pytest.param(b"sub/../../secret.txt", id="dot-dot-after-a-folder"),
    pytest.param(b"%2e%2e/secret.txt", id="encoded-dot-dot"),
    pytest.param(b"%2E%2E/secret.txt", id="encoded-dot-dot-upper"),
    pytest.param(b".%2e/secret.txt", id="half-encoded-dot-dot"),
    pytest.param(b"sub/../sub/inside.txt", id="dot-dot-staying-inside"),
    pytest.param(b"sub/%2e%2e/sub/inside.txt", id="encoded-dot-dot-staying-inside"),
    pytest.param(b"./inside.txt", id="dot"),
    pytest.param(b"sub/%2e/inside.txt", id="encoded-dot"),
    pytest.param(b"sub//inside.txt", id="empty-segment"),
    pytest.param(b"{secret}", id="absolute-path"),
    pytest.param(b"..%2Fsecret.txt", id="encoded-slash-out"),
    pytest.param(b"sub%2Finside.txt", id="encoded-slash-staying-inside"),
    pytest.param(b"..%5Csecret.txt", id="encoded-backslash-out"),
    pytest.param(b"back%5Cslash.txt", id="encoded-backslash"),
    pytest.param(b"back\\slash.txt", id="backslash"),
    pytest.param(b"out.txt", id="symlink-to-a-file-outside"),
    pytest.param(b"outdir/secret.txt", id="symlink-to-a-folder-outside"),
    pytest.param(b"sibling/secret.txt", id="symlink-to-a-folder-whose-name-starts-like-the-root"),
]


@pytest.mark.task("5.1")
@pytest.mark.points(1)
@pytest.mark.parametrize("path", TRAVERSALS)
def test_path_leaving_the_folder_is_404(start_server, site, path):
    """Dot and empty segments, absolute paths, encoded / or \\, backslashes, symlinks out: 404, no secret leaks."""
    path = path.replace(b"{secret}", quote(str(site.parent / "secret.txt")).encode())
    server = serve(start_server, site)
    response = get(
        server,
        b"/files/" + path,
        f"404 Not Found: `/files/{path.decode('latin-1')}` must not be served (COURSE_SPEC §4.5 lists what is refused)",
    )
    expect_no_secret(response)
    response.expect_text_error(404, "this path is refused, whatever it would lead to")


@pytest.mark.task("5.1")
@pytest.mark.points(1)
@pytest.mark.parametrize("path", [b"inside.txt%00.png", b"%00"], ids=["nul-inside-a-name", "nul-alone"])
def test_nul_in_the_path_is_400(start_server, site, path):
    """A NUL byte (%00) anywhere in the path is 400 Bad Request."""
    server = serve(start_server, site)
    response = get(server, b"/files/" + path, "400 Bad Request: no file name holds a NUL byte")
    response.expect_text_error(400, "a NUL in a path is a malformed request, not a missing file")


def post_and_maybe_continue(server, target: bytes, body: bytes, expect: str):
    """POST with `Expect: 100-continue`: the body goes only if the server asks for it, so a server
    that refuses on the head alone is not sent bytes it will never read."""
    head = request(b"POST", target, b"Expect: 100-continue\r\nContent-Length: " + str(len(body)).encode() + b"\r\n")
    with server.connect() as connection:
        connection.send(head)
        response = connection.read_response(method="POST", expect=expect)
        if response.status == 100:
            connection.send(body)
            response = connection.read_response(method="POST", expect=expect)
            while 100 <= response.status < 200:
                response = connection.read_response(method="POST", expect=expect)
        return response


@pytest.mark.task("5.1")
@pytest.mark.points(1)
@pytest.mark.parametrize(
    "path",
    [
        pytest.param(b"../escaped.txt", id="dot-dot"),
        pytest.param(b"sub/../escaped.txt", id="dot-dot-staying-inside"),
        pytest.param(b"outdir/new/escaped.txt", id="new-folder-under-a-symlink-outside"),
        pytest.param(b"sibling/escaped.txt", id="into-a-symlink-to-a-folder-whose-name-starts-like-the-root"),
    ],
)
def test_upload_leaving_the_folder_is_404(start_server, site, path):
    """POST to a path that leaves the folder (or spells a dot segment) is 404 and writes nothing."""
    server = serve(start_server, site)
    response = post_and_maybe_continue(
        server, b"/files/" + path, b"must not be written", f"404 Not Found: nothing may be written at {path.decode()}"
    )
    written = [str(found.relative_to(site.parent)) for found in site.parent.rglob("escaped*")]
    if written:
        response.fail("404 Not Found, and no file written", f"the server wrote {written} (paths relative to the folder's parent).")
    response.expect_text_error(404, "this path is refused")


# -- 5.2 Serve files: MIME types and streaming ---------------------------------------------------

MEDIA_TYPES = [
    pytest.param("page.html", b"<!doctype html><title>t</title>\n", ("text/html",), id="html"),
    pytest.param("style.css", b"body { color: teal; }\n", ("text/css",), id="css"),
    # RFC 9239 makes text/javascript the one to send; application/javascript is its obsolete alias.
    pytest.param("app.js", b"console.log('hi');\n", ("text/javascript", "application/javascript"), id="js"),
    pytest.param("image.png", png(2, 2, (255, 0, 0)), ("image/png",), id="png"),
    pytest.param("icon.svg", SVG, ("image/svg+xml",), id="svg"),
    pytest.param("data.json", b'{"ok": true}\n', ("application/json",), id="json"),
    pytest.param("notes.txt", b"plain text\n", ("text/plain",), id="txt"),
    pytest.param("archive.xyz123", b"\x00\x01 unknown", ("application/octet-stream",), id="unknown-extension"),
    pytest.param("README", b"no extension at all\n", ("application/octet-stream",), id="no-extension"),
]


@pytest.mark.task("5.2")
@pytest.mark.points(1)
@pytest.mark.parametrize("name, data, types", MEDIA_TYPES)
def test_content_type_from_the_extension(start_server, site, name, data, types):
    """The Content-Type comes from the extension; unknown or none is application/octet-stream."""
    write(site / name, data)
    server = serve(start_server, site)
    response = get(server, b"/files/" + name.encode(), f"200 OK with {name}, Content-Type: {types[0]}")
    expect_file(response, data)
    expect_media_type(response, *types)


@pytest.mark.task("5.2")
@pytest.mark.points(2)
def test_binary_file_byte_for_byte(start_server, site):
    """A binary file with every byte value 0-255 (CR, LF and NUL too) arrives unchanged."""
    data = bytes(range(256)) + b"\r\n\r\n" + bytes(range(255, -1, -1)) * 3
    write(site / "all-bytes.bin", data)
    server = serve(start_server, site)
    expect_file(get(server, b"/files/all-bytes.bin", "200 OK with the 1028 bytes of the file, unchanged"), data)


@pytest.mark.task("5.2")
@pytest.mark.points(1)
def test_empty_file(start_server, site):
    """An empty file is 200 OK with Content-Length: 0."""
    write(site / "empty.txt", b"")
    server = serve(start_server, site)
    expect_file(get(server, b"/files/empty.txt", "200 OK with Content-Length: 0"), b"")


@pytest.mark.task("5.2")
@pytest.mark.points(2)
def test_large_file_arrives_whole(start_server, site):
    """A 24 MiB file arrives whole, with a Content-Length of 25165824."""
    data = os.urandom(24 * 1024 * 1024)
    write(site / "large.bin", data)
    server = serve(start_server, site)
    with server.connect(timeout=10) as connection:
        connection.send(request(b"GET", b"/files/large.bin"))
        expect_file(connection.read_response(expect="200 OK with all 25165824 bytes of large.bin"), data)


def anonymous_memory_kib(pid: int) -> int:
    """The process's anonymous resident memory (its heap, not the files it maps), in KiB."""
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^RssAnon:\s*(\d+) kB", status, re.MULTILINE) or re.search(r"^VmRSS:\s*(\d+) kB", status, re.MULTILINE)
    return int(match[1])


@pytest.mark.task("5.2")
@pytest.mark.points(4)
def test_large_file_streams_in_bounded_memory(start_server, site):
    """Serving a 64 MiB file raises the server's memory by far less than 64 MiB: it streams."""
    size, allowed = 64 * 1024 * 1024, 24 * 1024
    with open(site / "huge.bin", "wb") as file:
        file.truncate(size)  # a sparse file: instant to make, 64 MiB to read
    server = serve(start_server, site)
    pid = server.process.process.pid
    expect_file(get(server, b"/files/inside.txt", "200 OK with inside.txt (a first request, to warm up)"), INSIDE)
    before = anonymous_memory_kib(pid)
    with server.connect(timeout=10) as connection:
        connection.send(request(b"GET", b"/files/huge.bin"))
        # Take the first MiB, then stop reading: the server, blocked on a full socket, now holds
        # whatever it holds while sending. A server that read the whole file holds all of it.
        while len(connection.received) < 1024 * 1024:
            chunk = connection.sock.recv(65536)
            if not chunk:
                break
            connection.received += chunk
        peak = before
        for _ in range(10):
            time.sleep(0.03)
            peak = max(peak, anonymous_memory_kib(pid))
        response = connection.read_response(expect="200 OK with all 67108864 bytes of huge.bin")
        response.expect_status(200)
        response.expect_header("Content-Length", str(size))
        if peak - before > allowed:
            response.fail(
                f"the server's memory to grow by less than {allowed // 1024} MiB while it sends a 64 MiB file",
                f"it grew by {(peak - before) / 1024:.0f} MiB (from {before / 1024:.0f} to {peak / 1024:.0f} MiB): "
                "read and send the file in small blocks, never whole.",
            )


@pytest.mark.task("5.2")
@pytest.mark.points(2)
def test_head_of_a_file(start_server, site):
    """HEAD of a file has the headers GET would have (Content-Length optional) and no body."""
    data = b"the HEAD of this file has no body\n"
    write(site / "head.txt", data)
    server = serve(start_server, site)
    full = get(server, b"/files/head.txt", "200 OK with head.txt")
    expect_file(full, data)
    response = exchange_and_close(
        server,
        request(b"HEAD", b"/files/head.txt", b"Connection: close\r\n"),
        "200 OK with the headers GET would send, and no body",
    )
    response.expect_status(200)
    for name in ("Content-Type", "ETag", "Last-Modified"):
        response.expect_header(name, full.header(name))
    if response.header_values("Content-Length"):
        response.expect_header("Content-Length", str(len(data)))


PAGE = b"""<!doctype html>
<html>
<head>
<meta charset="utf-8">
<title>Served from scratch</title>
<link rel="stylesheet" href="style.css">
<script src="js/app.js" defer></script>
</head>
<body>
<h1 id="title">A page served by my own server</h1>
<p id="status">the script did not run</p>
<img id="photo" src="img/photo.png" alt="a teal square">
<img id="icon" src="img/icon.svg" alt="a teal rectangle">
</body>
</html>
"""


@pytest.mark.task("5.2")
@pytest.mark.points(5)
def test_a_browser_loads_a_page_with_css_script_and_images(start_server, site):
    """Headless Chromium loads index.html with its stylesheet, script and images, all applied."""
    require_tool("/usr/bin/chromium", "this test loads a page from your server in a headless browser")
    require_module("playwright", "it drives the browser: pip install -r requirements.txt")
    from playwright.sync_api import sync_playwright

    write(site / "demo" / "index.html", PAGE)
    write(site / "demo" / "style.css", b"#title { color: rgb(12, 34, 56); }\n")
    write(site / "demo" / "js" / "app.js", b'document.getElementById("status").textContent = "the script ran";\n')
    write(site / "demo" / "img" / "photo.png", png(6, 4, (0, 128, 128)))
    write(site / "demo" / "img" / "icon.svg", SVG)
    server = serve(start_server, site)
    base = server.url + "/files/demo/"
    wanted = [base, base + "style.css", base + "js/app.js", base + "img/photo.png", base + "img/icon.svg"]
    statuses: dict[str, int] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            timeout=10_000,
        )
        try:
            page = browser.new_page()
            page.on("response", lambda response: statuses.setdefault(response.url, response.status))
            page.goto(base, wait_until="load", timeout=5_000)
            seen = page.evaluate(
                """() => ({
                    color: getComputedStyle(document.getElementById("title")).color,
                    status: document.getElementById("status").textContent,
                    photo: document.getElementById("photo").naturalWidth,
                    icon: document.getElementById("icon").naturalWidth,
                })"""
            )
        finally:
            browser.close()
    problems = [f"{url} -> {statuses.get(url, 'never answered')}" for url in wanted if statuses.get(url) != 200]
    if seen["color"] != "rgb(12, 34, 56)":
        problems.append(f"the stylesheet was not applied (the title's colour is {seen['color']}): is style.css text/css?")
    if seen["status"] != "the script ran":
        problems.append(f"the script did not run (the paragraph says {seen['status']!r}): is app.js text/javascript?")
    if not seen["photo"]:
        problems.append("img/photo.png did not load as an image (naturalWidth 0): is it image/png, byte for byte?")
    if not seen["icon"]:
        problems.append("img/icon.svg did not load as an image (naturalWidth 0): is it image/svg+xml?")
    if problems:
        pytest.fail(
            f"Chromium loaded {base} and saw these problems:\n  " + "\n  ".join(problems)
            + f"\nEvery response it got: {statuses}\n{server.hint.render()}",
            pytrace=False,
        )


# -- 5.3 Validators and conditional GET ---------------------------------------------------------

IMF_FIXDATE = re.compile(
    r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT"
)
DATA = b"a file with validators\n"


def served_with_validators(start_server, site):
    """The server, and its 200 for validators.txt (which has ETag and Last-Modified)."""
    write(site / "validators.txt", DATA)
    server = serve(start_server, site)
    full = get(server, b"/files/validators.txt", "200 OK with validators.txt, its ETag and its Last-Modified")
    expect_file(full, DATA)
    full.expect_header("ETag")
    full.expect_header("Last-Modified")
    return server, full


def weak_form(etag: str) -> str:
    return etag if etag.startswith("W/") else "W/" + etag


def expect_not_modified(response, full) -> None:
    """304, with no Content-Length or the one the 200 had (its body is never sent)."""
    response.expect_status(304, "the client's copy is current")
    if response.header_values("Content-Length"):
        response.expect_header("Content-Length", full.header("Content-Length"))


def expect_modified(response) -> None:
    response.expect_status(200, "the client's copy is not current: the whole file again")
    response.expect_body(DATA)


@pytest.mark.task("5.3")
@pytest.mark.points(2)
def test_last_modified_and_etag(start_server, site):
    """A file comes with an ETag and a Last-Modified IMF-fixdate equal to its modification time."""
    _server, full = served_with_validators(start_server, site)
    value = full.header("Last-Modified")
    if not IMF_FIXDATE.fullmatch(value):
        full.fail("Last-Modified as an IMF-fixdate (RFC 9110 §5.6.7): Thu, 04 Mar 2021 05:06:07 GMT", f"it is {value!r}.")
    seconds = parsedate_to_datetime(value).timestamp()
    if not int(MTIME) <= seconds <= int(MTIME) + 1:
        full.fail(f"Last-Modified: {formatdate(MTIME, usegmt=True)} (the file's modification time)", f"it says {value}.")
    etag = full.header("ETag")
    if not re.fullmatch(r'(W/)?"[\x21\x23-\x7e\x80-\xff]*"', etag):
        full.fail('an ETag in double quotes, e.g. "1a-5f3b2c" (RFC 9110 §8.8.3)', f"it is {etag!r}.")


@pytest.mark.task("5.3")
@pytest.mark.points(3)
def test_if_none_match_with_the_etag_is_304(start_server, site):
    """If-None-Match with the file's ETag is 304 Not Modified, with no body."""
    server, full = served_with_validators(start_server, site)
    etag = full.header("ETag")
    response = conditional(
        server, b"/files/validators.txt", b"If-None-Match: " + etag.encode("latin-1"),
        expect=f"304 Not Modified: If-None-Match names the current ETag {etag}",
    )
    expect_not_modified(response, full)


@pytest.mark.task("5.3")
@pytest.mark.points(1)
def test_304_repeats_the_etag(start_server, site):
    """A 304 carries the same ETag as the 200 (RFC 9110 §15.4.5)."""
    server, full = served_with_validators(start_server, site)
    etag = full.header("ETag")
    response = conditional(
        server, b"/files/validators.txt", b"If-None-Match: " + etag.encode("latin-1"), expect="304 Not Modified with its ETag"
    )
    expect_not_modified(response, full)
    response.expect_header("ETag", etag)


@pytest.mark.task("5.3")
@pytest.mark.points(1)
def test_if_none_match_star_is_304(start_server, site):
    """`If-None-Match: *` matches any current file: 304."""
    server, full = served_with_validators(start_server, site)
    response = conditional(server, b"/files/validators.txt", b"If-None-Match: *", expect="304 Not Modified: * matches any file")
    expect_not_modified(response, full)


@pytest.mark.task("5.3")
@pytest.mark.points(1)
def test_if_none_match_list_holding_the_etag_is_304(start_server, site):
    """An If-None-Match list of tags, one of them the file's, is 304."""
    server, full = served_with_validators(start_server, site)
    value = f'"not-this-one", {full.header("ETag")} ,"nor-this"'
    response = conditional(
        server, b"/files/validators.txt", b"If-None-Match: " + value.encode("latin-1"),
        expect="304 Not Modified: the list holds the current ETag",
    )
    expect_not_modified(response, full)


@pytest.mark.task("5.3")
@pytest.mark.points(1)
def test_if_none_match_uses_weak_comparison(start_server, site):
    """The weak form W/"..." of the ETag matches too: If-None-Match compares weakly (RFC 9110 §13.1.2)."""
    server, full = served_with_validators(start_server, site)
    value = weak_form(full.header("ETag"))
    response = conditional(
        server, b"/files/validators.txt", b"If-None-Match: " + value.encode("latin-1"),
        expect=f"304 Not Modified: {value} matches by the weak comparison",
    )
    expect_not_modified(response, full)


@pytest.mark.task("5.3")
@pytest.mark.points(2)
def test_if_none_match_with_another_tag_is_200(start_server, site):
    """If-None-Match with tags that are not the file's gets the whole file: 200."""
    server, _full = served_with_validators(start_server, site)
    response = conditional(
        server, b"/files/validators.txt", b'If-None-Match: "some-old-version", "another"',
        expect="200 OK with the file: no tag in If-None-Match is the current one",
    )
    expect_modified(response)


@pytest.mark.task("5.3")
@pytest.mark.points(2)
def test_if_modified_since_equal_to_last_modified_is_304(start_server, site):
    """If-Modified-Since with the Last-Modified the server sent is 304 (whole seconds compared)."""
    server, full = served_with_validators(start_server, site)
    value = full.header("Last-Modified")
    response = conditional(
        server, b"/files/validators.txt", b"If-Modified-Since: " + value.encode("latin-1"),
        expect=f"304 Not Modified: not modified since {value}, the file's own Last-Modified",
    )
    expect_not_modified(response, full)


@pytest.mark.task("5.3")
@pytest.mark.points(1)
@pytest.mark.parametrize(
    "value",
    [
        pytest.param(formatdate(MTIME + 86400, usegmt=True), id="imf-fixdate"),
        pytest.param("Friday, 05-Mar-21 05:06:07 GMT", id="rfc-850"),
        pytest.param("Fri Mar  5 05:06:07 2021", id="asctime"),
    ],
)
def test_if_modified_since_later_is_304(start_server, site, value):
    """If-Modified-Since a day after the file's time is 304, in each of the three HTTP-date formats."""
    server, full = served_with_validators(start_server, site)
    response = conditional(
        server, b"/files/validators.txt", b"If-Modified-Since: " + value.encode(),
        expect=f"304 Not Modified: the file has not changed since {value} (a recipient accepts all three date formats, RFC 9110 §5.6.7)",
    )
    expect_not_modified(response, full)


@pytest.mark.task("5.3")
@pytest.mark.points(2)
def test_if_modified_since_earlier_is_200(start_server, site):
    """If-Modified-Since a second before the file's time gets the whole file: 200."""
    server, _full = served_with_validators(start_server, site)
    value = formatdate(int(MTIME) - 1, usegmt=True)
    response = conditional(
        server, b"/files/validators.txt", b"If-Modified-Since: " + value.encode(),
        expect=f"200 OK with the file: it changed after {value}",
    )
    expect_modified(response)


@pytest.mark.task("5.3")
@pytest.mark.points(1)
def test_invalid_if_modified_since_is_ignored(start_server, site):
    """An If-Modified-Since that is not a date is ignored (RFC 9110 §13.1.3): 200."""
    server, _full = served_with_validators(start_server, site)
    response = conditional(
        server, b"/files/validators.txt", b"If-Modified-Since: yesterday, around noon",
        expect="200 OK with the file: a field value that is not a date is ignored",
    )
    expect_modified(response)


@pytest.mark.task("5.3")
@pytest.mark.points(2)
def test_if_none_match_wins_over_if_modified_since(start_server, site):
    """With If-None-Match present, If-Modified-Since is ignored: other tag + later date is 200."""
    server, _full = served_with_validators(start_server, site)
    later = formatdate(MTIME + 86400, usegmt=True)
    response = conditional(
        server, b"/files/validators.txt", b'If-None-Match: "some-old-version"', b"If-Modified-Since: " + later.encode(),
        expect="200 OK with the file: If-None-Match does not match, and then If-Modified-Since is not even looked at (RFC 9110 §13.2.2)",
    )
    expect_modified(response)


@pytest.mark.task("5.3")
@pytest.mark.points(1)
def test_matching_if_none_match_ignores_an_earlier_date(start_server, site):
    """A matching If-None-Match is 304 even with an If-Modified-Since before the file's time."""
    server, full = served_with_validators(start_server, site)
    earlier = formatdate(int(MTIME) - 86400, usegmt=True)
    response = conditional(
        server, b"/files/validators.txt", b"If-None-Match: " + full.header("ETag").encode("latin-1"),
        b"If-Modified-Since: " + earlier.encode(),
        expect="304 Not Modified: If-None-Match matches, and If-Modified-Since is ignored (RFC 9110 §13.2.2)",
    )
    expect_not_modified(response, full)


@pytest.mark.task("5.3")
@pytest.mark.points(2)
def test_changed_file_gets_a_new_etag(start_server, site):
    """After the file changes (same size, later time), its old ETag gets 200 with the new content."""
    server, full = served_with_validators(start_server, site)
    old_etag = full.header("ETag")
    new_data = DATA.upper()  # the same length: only the content and the time tell
    write(site / "validators.txt", new_data, MTIME + 10)
    response = conditional(
        server, b"/files/validators.txt", b"If-None-Match: " + old_etag.encode("latin-1"),
        expect=f"200 OK with the new content: {old_etag} was the ETag of the old one",
    )
    response.expect_status(200, "the file changed since the client got that ETag")
    response.expect_body(new_data, "the file's new content")
    response.expect_header("ETag")
    if response.header("ETag") == old_etag:
        response.fail("a new ETag for the new content", f"the ETag is still {old_etag}.")


# -- 5.4 Directories: redirect and index --------------------------------------------------------

INDEX = b"<!doctype html><title>docs</title><p>the docs folder</p>\n"


@pytest.mark.task("5.4")
@pytest.mark.points(2)
def test_folder_with_slash_serves_its_index(start_server, site):
    """GET /files/docs/ serves docs/index.html as text/html."""
    write(site / "docs" / "index.html", INDEX)
    server = serve(start_server, site)
    response = get(server, b"/files/docs/", "200 OK with docs/index.html")
    expect_file(response, INDEX)
    expect_media_type(response, "text/html")


@pytest.mark.task("5.4")
@pytest.mark.points(2)
def test_root_folder_serves_its_index(start_server, site):
    """GET /files/ serves the folder's own index.html; GET /files redirects to /files/."""
    write(site / "index.html", INDEX)
    server = serve(start_server, site)
    expect_file(get(server, b"/files/", "200 OK with index.html of the served folder"), INDEX)
    response = get(server, b"/files", "301 Moved Permanently to /files/")
    response.expect_status(301, "the served folder without its slash")
    expect_location(response, server.url + "/files", "/files/")


@pytest.mark.task("5.4")
@pytest.mark.points(2)
def test_folder_without_index_is_404(start_server, site):
    """A folder with no index.html, asked for with its slash, is 404 (no listing)."""
    (site / "empty").mkdir()
    server = serve(start_server, site)
    get(server, b"/files/empty/", "404 Not Found: the folder has no index.html").expect_text_error(404)
    get(server, b"/files/sub/", "404 Not Found: the folder has no index.html").expect_text_error(404)


@pytest.mark.task("5.4")
@pytest.mark.points(2)
@pytest.mark.parametrize("folder", [b"docs", b"docs/deeper"], ids=["one-level", "two-levels"])
def test_folder_without_slash_redirects(start_server, site, folder):
    """GET /files/docs is 301 with a Location leading to /files/docs/, which serves the index."""
    write(site / "docs" / "index.html", INDEX)
    write(site / "docs" / "deeper" / "index.html", INDEX)
    server = serve(start_server, site)
    path = "/files/" + folder.decode()
    response = get(server, path.encode(), f"301 Moved Permanently to {path}/")
    response.expect_status(301, "a folder asked for without its slash")
    target = expect_location(response, server.url + path, path + "/")
    expect_file(get(server, target.encode(), f"200 OK with the index, at the redirect's {target}"), INDEX)


# -- 5.5 Atomic uploads -------------------------------------------------------------------------


def upload(server, target: bytes, body: bytes, timeout: float | None = None):
    with server.connect(timeout=timeout) as connection:
        connection.send(request(b"POST", target, b"Content-Type: application/octet-stream\r\n", body))
        return connection.read_response(method="POST", expect=f"201 Created: {len(body)} bytes stored at {target.decode()}")


def expect_created(response, server, target: bytes) -> None:
    response.expect_status(201, "the file was stored")
    expect_location(response, server.url + target.decode(), target.decode())


@pytest.mark.task("5.5")
@pytest.mark.points(3)
def test_upload_then_download(start_server, site):
    """POST /files/upload.bin is 201 with a Location; GET then returns the same bytes."""
    body = bytes(range(256)) * 40 + b"\r\n\r\nthe end"
    server = serve(start_server, site)
    expect_created(upload(server, b"/files/upload.bin", body), server, b"/files/upload.bin")
    expect_file(get(server, b"/files/upload.bin", "200 OK with the uploaded bytes"), body)


@pytest.mark.task("5.5")
@pytest.mark.points(2)
def test_upload_creates_missing_folders(start_server, site):
    """POST /files/new/deeper/note.txt creates the missing folders inside the root."""
    body = b"in a folder that did not exist\n"
    server = serve(start_server, site)
    expect_created(upload(server, b"/files/new/deeper/note.txt", body), server, b"/files/new/deeper/note.txt")
    expect_file(get(server, b"/files/new/deeper/note.txt", "200 OK with the uploaded file"), body)


@pytest.mark.task("5.5")
@pytest.mark.points(2)
def test_upload_replaces_a_file(start_server, site):
    """A second POST to the same path replaces the file: a shorter body leaves no old tail."""
    server = serve(start_server, site)
    expect_created(upload(server, b"/files/sub/inside.txt", b"a much longer first version\n"), server, b"/files/sub/inside.txt")
    expect_created(upload(server, b"/files/sub/inside.txt", b"second\n"), server, b"/files/sub/inside.txt")
    expect_file(get(server, b"/files/sub/inside.txt", "200 OK with the second version only"), b"second\n")


@pytest.mark.task("5.5")
@pytest.mark.points(3)
def test_reader_of_the_old_file_is_not_torn(start_server, site):
    """A reader halfway through the old file still reads the old file whole after an upload replaces it."""
    size = 512 * 1024
    old, new = bytes([0x6F]) * size, bytes([0x4E]) * size  # "ooo...", "NNN..."
    write(site / "report.bin", old)
    server = serve(start_server, site)
    with open(site / "report.bin", "rb") as reader:
        first_half = reader.read(size // 2)
        response = upload(server, b"/files/report.bin", new)
        second_half = reader.read()
    expect_created(response, server, b"/files/report.bin")
    if first_half + second_half != old:
        mixed = (second_half[:1] or b"nothing").decode("latin-1")
        response.fail(
            "a reader that opened the old file to keep reading the old file, whole",
            f"its second half now reads {len(second_half)} bytes of {mixed!r}: the upload wrote over the old "
            "file in place. Write a new file next to it, then rename it over the old one (atomic).",
        )
    expect_file(get(server, b"/files/report.bin", "200 OK with the new version"), new)


@pytest.mark.task("5.5")
@pytest.mark.points(2)
def test_readers_never_see_a_partial_upload(start_server, site):
    """A reader polling the file while 3 uploads of 4 MiB replace it only ever sees whole versions."""
    size = 4 * 1024 * 1024
    versions = [bytes([0x61 + n]) * size for n in range(4)]  # "aaa...", "bbb...", ...
    target = write(site / "polled.bin", versions[0])
    server = serve(start_server, site, "--max-body", str(2 * size))
    seen: list[str] = []
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            try:
                data = target.read_bytes()
            except FileNotFoundError:
                seen.append("no file at all")
                continue
            if data not in versions:
                seen.append(f"{len(data)} bytes, not one whole version")

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    try:
        for number, version in enumerate(versions[1:], start=1):
            response = upload(server, b"/files/polled.bin", version, timeout=10)
            response.expect_status(201, f"upload {number} of 3 was stored")
    finally:
        stop.set()
        poller.join(5)
    if seen:
        response.fail(
            "a reader of polled.bin to see each version whole, never half-written",
            f"while the uploads ran, the reader saw: {sorted(set(seen))}.",
        )
    with server.connect(timeout=10) as connection:
        connection.send(request(b"GET", b"/files/polled.bin"))
        expect_file(connection.read_response(expect="200 OK with the last version"), versions[3])
