"""Chapter 5, function by function: safe paths, media types, validators, folders and uploads.

The functions of files.py are called directly, on folders built in tmp_path; requests are made
with the stable `Request(method, target, version, headers, body)`. `send_file` writes to one
end of a socketpair and the test reads the other.
"""

import os
import socket
import threading
from pathlib import Path

import pytest

from course.unit import header

SECRET = b"outside the root\n"


def refusal(chapter_module, function, *args):
    """The HttpError status `function(*args)` raises, or a description of what it did instead."""
    HttpError = chapter_module("request").HttpError
    try:
        result = function(*args)
    except HttpError as error:
        return error.status
    except NotImplementedError:
        raise
    except Exception as error:  # the server would answer 500, or drop the connection
        return f"{type(error).__name__}: {error}"
    return f"returned {result!r}"


def make_request(chapter_module, method="GET", target="/files/x.txt", headers=()):
    return chapter_module("request").Request(method, target, "HTTP/1.1", [("Host", "localhost"), *headers], b"")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """tmp_path/site (resolved), with a file, a folder, and symlinks leading out of it."""
    site = (tmp_path / "site").resolve()
    (site / "sub").mkdir(parents=True)
    (site / "sub" / "a.txt").write_text("a\n")
    (tmp_path / "secret.txt").write_bytes(SECRET)
    (tmp_path / "site-secret").mkdir()
    (site / "out.txt").symlink_to(tmp_path / "secret.txt")
    (site / "sibling").symlink_to(tmp_path / "site-secret", target_is_directory=True)
    (site / "alias").symlink_to(site / "sub", target_is_directory=True)
    return site


# -- 5.1 safe_segments, resolve_inside ---------------------------------------------------------


DECODED = {
    "a.txt": ["a.txt"],
    "docs/guide/intro.html": ["docs", "guide", "intro.html"],
    "caf%C3%A9%20menu.txt": ["café menu.txt"],
    "..hidden/a..b/...": ["..hidden", "a..b", "..."],
}


@pytest.mark.task("5.1")
@pytest.mark.points(2)
def test_safe_segments_splits_and_decodes(chapter_module):
    """safe_segments splits at / and decodes each segment; dots inside a name are fine."""
    safe_segments = chapter_module("files").safe_segments
    wrong = {raw: got for raw, segments in DECODED.items() if (got := safe_segments(raw)) != segments}
    assert not wrong, f"safe_segments returned {wrong}; expected {({raw: DECODED[raw] for raw in wrong})}"


REFUSED = {
    "dot segments": ["..", "../x", "a/../b", "a/..", ".", "./a", "a/./b", "%2e%2e/x", "%2E%2E/x", ".%2e/x", "%2e./x", "a/%2e"],
    "empty segments and absolute paths": ["a//b", "/etc/passwd", "a/", "//x"],
    "separators hidden in a segment": ["a%2Fb", "..%2Fx", "a%2fb", "a%5Cb", "..%5Cx", "a\\b", "..\\x"],
}


@pytest.mark.task("5.1")
@pytest.mark.points(1)
@pytest.mark.parametrize("kind", list(REFUSED))
def test_safe_segments_refuses(chapter_module, kind):
    """safe_segments raises HttpError(404) for dot segments, empty segments and hidden separators."""
    safe_segments = chapter_module("files").safe_segments
    wrong = {raw: got for raw in REFUSED[kind] if (got := refusal(chapter_module, safe_segments, raw)) != 404}
    assert not wrong, f"safe_segments must raise HttpError(404) for each of these {kind}; instead: {wrong}"


@pytest.mark.task("5.1")
@pytest.mark.points(1)
def test_safe_segments_nul_is_400(chapter_module):
    """safe_segments raises HttpError(400) for a NUL, encoded (%00) or not."""
    safe_segments = chapter_module("files").safe_segments
    wrong = {raw: got for raw in ["a.txt%00.png", "%00", "a\x00b"] if (got := refusal(chapter_module, safe_segments, raw)) != 400}
    assert not wrong, f"safe_segments must raise HttpError(400) for a NUL; instead: {wrong}"


@pytest.mark.task("5.1")
@pytest.mark.points(1)
def test_resolve_inside_accepts_paths_inside(chapter_module, root):
    """resolve_inside returns the resolved path of a file inside, symlinks inside followed."""
    resolve_inside = chapter_module("files").resolve_inside
    assert resolve_inside(root, ["sub", "a.txt"]) == root / "sub" / "a.txt"
    assert resolve_inside(root, ["alias", "a.txt"]) == root / "sub" / "a.txt", "alias -> sub is a symlink inside the root"
    assert resolve_inside(root, ["sub", "new.txt"]) == root / "sub" / "new.txt", "a file to be created is not an error"


@pytest.mark.task("5.1")
@pytest.mark.points(2)
def test_resolve_inside_refuses_symlinks_out(chapter_module, root):
    """resolve_inside raises HttpError(404) when symlinks lead outside, even to `site-secret` next to `site`."""
    resolve_inside = chapter_module("files").resolve_inside
    leading_out = [["out.txt"], ["sibling", "secret.txt"], ["sibling"]]
    wrong = {"/".join(segments): got for segments in leading_out if (got := refusal(chapter_module, resolve_inside, root, segments)) != 404}
    assert not wrong, f"resolve_inside must raise HttpError(404) for these paths, which lead outside {root}; instead: {wrong}"


# -- 5.2 media_type_for, send_file -------------------------------------------------------------


@pytest.mark.task("5.2")
@pytest.mark.points(2)
def test_media_type_for(chapter_module):
    """media_type_for maps html, css, js, png, svg, json, txt; anything else is application/octet-stream."""
    media_type_for = chapter_module("files").media_type_for
    expected = {
        "index.html": {"text/html"},
        "style.css": {"text/css"},
        "app.js": {"text/javascript", "application/javascript"},
        "logo.png": {"image/png"},
        "icon.svg": {"image/svg+xml"},
        "data.json": {"application/json"},
        "notes.txt": {"text/plain"},
        "archive.xyz123": {"application/octet-stream"},
        "Makefile": {"application/octet-stream"},
        "notes.txt.bak": {"application/octet-stream"},
    }
    wrong = {}
    for name, allowed in expected.items():
        got = media_type_for(name)
        if got.split(";")[0].strip().lower() not in allowed:
            wrong[name] = got
    assert not wrong, f"media_type_for gave the wrong type for {wrong}"


@pytest.mark.task("5.2")
@pytest.mark.points(1)
def test_media_type_for_ignores_letter_case(chapter_module):
    """media_type_for reads the extension case-insensitively: PHOTO.PNG is image/png."""
    media_type_for = chapter_module("files").media_type_for
    for name, wanted in [("PHOTO.PNG", "image/png"), ("Index.HTML", "text/html"), ("data.Json", "application/json")]:
        got = media_type_for(name)
        assert got.split(";")[0].strip().lower() == wanted, f"media_type_for({name!r}) gave {got!r}; expected {wanted}"


@pytest.mark.task("5.2")
@pytest.mark.points(2)
def test_send_file_sends_the_head_then_every_byte(chapter_module, tmp_path):
    """send_file sends the head, then the file's bytes, exactly FileBody.size of them."""
    FileBody = chapter_module("response").FileBody
    send_file = chapter_module("server").send_file
    data = os.urandom(300_000)
    path = tmp_path / "data.bin"
    path.write_bytes(data)
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 300000\r\n\r\n"
    ours, theirs = socket.socketpair()
    received = bytearray()

    def read_all():
        while chunk := theirs.recv(65536):
            received.extend(chunk)

    reader = threading.Thread(target=read_all, daemon=True)
    reader.start()
    try:
        send_file(ours, head, FileBody(path, len(data)))
    finally:
        ours.close()
        reader.join(5)
        theirs.close()
    assert bytes(received[: len(head)]) == head, f"send_file did not start with the head; it sent {bytes(received[:80])!r}"
    body = bytes(received[len(head) :])
    assert len(body) == len(data), f"send_file sent {len(body)} body bytes; the file has {len(data)}"
    assert body == data, "send_file sent the right number of bytes, but not the file's"


# -- 5.3 make_etag, etag_matches, is_not_modified -------------------------------------------------


@pytest.mark.task("5.3")
@pytest.mark.points(2)
def test_make_etag_follows_size_and_time(chapter_module, tmp_path):
    """make_etag is a quoted tag, the same for the same file, different when size or mtime changes."""
    make_etag = chapter_module("files").make_etag
    path = tmp_path / "f.txt"
    path.write_bytes(b"12345")
    os.utime(path, (1_600_000_000, 1_600_000_000))
    first = make_etag(path.stat())
    assert first == make_etag(path.stat()), "make_etag gave two tags for the same unchanged file"
    assert first.removeprefix("W/").startswith('"') and first.endswith('"'), f"an entity-tag is in double quotes: {first!r}"
    os.utime(path, (1_600_000_001, 1_600_000_001))
    later = make_etag(path.stat())
    assert later != first, "make_etag did not change when the modification time did"
    path.write_bytes(b"123456")
    os.utime(path, (1_600_000_001, 1_600_000_001))
    assert make_etag(path.stat()) != later, "make_etag did not change when the size did (same time)"


IF_NONE_MATCH = {
    '"v1"': True,
    "*": True,
    '"old", "v1"': True,
    '"old" ,  "v1" , "older"': True,
    '"old","v1"': True,
    'W/"v1"': True,
    '"v2"': False,
    '"v"': False,
    '"old", "v10"': False,
    "v1": False,
}


@pytest.mark.task("5.3")
@pytest.mark.points(2)
def test_etag_matches(chapter_module):
    """etag_matches reads a list of tags and `*`, comparing weakly (W/"v1" matches "v1")."""
    etag_matches = chapter_module("files").etag_matches
    wrong = {value: got for value, matches in IF_NONE_MATCH.items() if (got := etag_matches(value, '"v1"')) is not matches}
    assert not wrong, (
        f"etag_matches(value, '\"v1\"') gave these wrong answers: {wrong}; "
        f"expected {({value: IF_NONE_MATCH[value] for value in wrong})}"
    )


@pytest.mark.task("5.3")
@pytest.mark.points(1)
def test_etag_matches_a_weak_etag(chapter_module):
    """A weak ETag W/"v1" is matched by "v1" and by W/"v1" (the weak comparison, RFC 9110 §8.8.3.2)."""
    etag_matches = chapter_module("files").etag_matches
    assert etag_matches('"v1"', 'W/"v1"') is True, 'etag_matches(\'"v1"\', \'W/"v1"\') must be True'
    assert etag_matches('W/"v1"', 'W/"v1"') is True, 'etag_matches(\'W/"v1"\', \'W/"v1"\') must be True'


MODIFIED = 1_614_834_367.5  # Thu, 04 Mar 2021 05:06:07.5 GMT
SAME_SECOND = "Thu, 04 Mar 2021 05:06:07 GMT"
SECOND_BEFORE = "Thu, 04 Mar 2021 05:06:06 GMT"


CONDITIONS = [
    ([], False),
    ([("If-None-Match", '"v1"')], True),
    ([("If-None-Match", '"v0"')], False),
    ([("If-Modified-Since", SAME_SECOND)], True),
    ([("If-Modified-Since", "Fri, 05 Mar 2021 00:00:00 GMT")], True),
    ([("If-Modified-Since", SECOND_BEFORE)], False),
    ([("If-Modified-Since", "not a date")], False),
    ([("If-None-Match", '"v0"'), ("If-Modified-Since", SAME_SECOND)], False),
    ([("If-None-Match", '"v1"'), ("If-Modified-Since", SECOND_BEFORE)], True),
]


@pytest.mark.task("5.3")
@pytest.mark.points(3)
def test_is_not_modified(chapter_module):
    """is_not_modified: If-None-Match first (then If-Modified-Since is ignored), whole seconds, bad dates ignored."""
    is_not_modified = chapter_module("files").is_not_modified
    wrong = []
    for headers, expected in CONDITIONS:
        got = is_not_modified(make_request(chapter_module, headers=headers), '"v1"', MODIFIED)
        if got is not expected:
            wrong.append(f"{headers or 'no conditional header'}: {got!r}, expected {expected}")
    assert not wrong, 'is_not_modified(request, \'"v1"\', Thu, 04 Mar 2021 05:06:07.5 GMT) answered wrongly for:\n' + "\n".join(wrong)


@pytest.mark.task("5.3")
@pytest.mark.points(1)
def test_is_not_modified_only_for_get_and_head(chapter_module):
    """A POST is never answered 304, even with a matching If-None-Match."""
    is_not_modified = chapter_module("files").is_not_modified
    headers = [("If-None-Match", '"v1"')]
    assert is_not_modified(make_request(chapter_module, "HEAD", headers=headers), '"v1"', MODIFIED) is True
    got = is_not_modified(make_request(chapter_module, "POST", headers=headers), '"v1"', MODIFIED)
    assert got is False, f"is_not_modified returned {got!r} for a POST; only GET and HEAD can be 304"


# -- 5.4 StaticFiles.folder_response -----------------------------------------------------------


@pytest.mark.task("5.4")
@pytest.mark.points(2)
def test_folder_response_redirects_without_slash(chapter_module, root):
    """folder_response for /files/sub (no slash) is 301 with Location /files/sub/."""
    files = chapter_module("files")
    request = make_request(chapter_module, target="/files/sub")
    response = files.StaticFiles(root).folder_response(request, root / "sub", ["sub"], False)
    assert response.status == 301, f"folder_response answered {response.status} for a folder without its slash; expected 301"
    assert header(response, "Location") == "/files/sub/", f"Location is {header(response, 'Location')!r}; expected '/files/sub/'"


@pytest.mark.task("5.4")
@pytest.mark.points(2)
def test_folder_response_serves_index_or_404(chapter_module, root):
    """folder_response with the slash serves index.html, or raises HttpError(404) without one."""
    files = chapter_module("files")
    static = files.StaticFiles(root)
    got = refusal(chapter_module, static.folder_response, make_request(chapter_module, target="/files/sub/"), root / "sub", ["sub"], True)
    assert got == 404, f"folder_response for a folder without index.html must raise HttpError(404); it {got}"
    (root / "sub" / "index.html").write_text("<p>index</p>\n")
    response = static.folder_response(make_request(chapter_module, target="/files/sub/"), root / "sub", ["sub"], True)
    assert response.status == 200, f"folder_response answered {response.status} for a folder with index.html; expected 200"
    body = response.body if response.file is None else Path(response.file.path).read_bytes()
    assert body == b"<p>index</p>\n", f"folder_response's body is {body!r}, not index.html"


# -- 5.5 StaticFiles.post, make_folders, write_atomically --------------------------------------


@pytest.mark.task("5.5")
@pytest.mark.points(2)
def test_write_atomically_replaces_the_file(chapter_module, tmp_path):
    """write_atomically replaces the file by a new one (a reader of the old one is not torn), leaving no temporary file."""
    write_atomically = chapter_module("files").write_atomically
    path = tmp_path / "doc.txt"
    path.write_bytes(b"old content, longer than the new one\n")
    with open(path, "rb") as reader:
        write_atomically(path, b"new\n")
        assert reader.read() == b"old content, longer than the new one\n", (
            "a reader that had the old file open saw it change: write_atomically wrote in place instead of "
            "renaming a new file over the old one"
        )
    assert path.read_bytes() == b"new\n"
    assert os.listdir(tmp_path) == ["doc.txt"], f"write_atomically left files behind: {sorted(os.listdir(tmp_path))}"
    write_atomically(tmp_path / "fresh.bin", bytes(range(256)))
    assert (tmp_path / "fresh.bin").read_bytes() == bytes(range(256)), "write_atomically must create a new file too"


@pytest.mark.task("5.5")
@pytest.mark.points(2)
def test_make_folders(chapter_module, root):
    """make_folders creates missing folders, keeps existing ones, and refuses a symlink out (404)."""
    make_folders = chapter_module("files").make_folders
    make_folders(root, ["sub", "new", "deeper"])
    assert (root / "sub" / "new" / "deeper").is_dir(), "make_folders did not create sub/new/deeper"
    assert (root / "sub" / "a.txt").read_text() == "a\n", "make_folders must keep what exists"
    got = refusal(chapter_module, make_folders, root, ["sibling", "made"])
    assert got == 404, f"make_folders(root, ['sibling', 'made']) must raise HttpError(404): sibling leads outside; it {got}"
    assert not (root.parent / "site-secret" / "made").exists(), "make_folders created a folder outside the root"


@pytest.mark.task("5.5")
@pytest.mark.points(2)
def test_post_stores_the_body(chapter_module, root):
    """StaticFiles.post stores the body at the path, creating folders, and answers 201 with Location."""
    files = chapter_module("files")
    request = chapter_module("request").Request(
        "POST", "/files/up/loaded.bin", "HTTP/1.1", [("Host", "localhost"), ("Content-Length", "4")], b"\x00\x01\r\n"
    )
    response = files.StaticFiles(root).post(request, {"path": "up/loaded.bin"})
    assert response.status == 201, f"post answered {response.status}; expected 201 Created"
    assert header(response, "Location") == "/files/up/loaded.bin", f"Location is {header(response, 'Location')!r}"
    assert (root / "up" / "loaded.bin").read_bytes() == b"\x00\x01\r\n", "post did not store the body byte for byte"
