"""Serving a folder: URL paths mapped to files safely, validators, conditional GET, uploads.

Strategy: every request under /files/ is distrusted until proven harmless. The raw path is
split at "/" before decoding and each segment is checked on its own: a segment that is
empty, `.` or `..`, or that decodes to something holding `/` or `\\`, is refused, so no
spelling of "go up" or "start at /" survives. Only then is the path joined to the root and
resolved, and a result outside the root (a symlink pointing out) is refused too. Files are
never read whole: the response carries a `FileBody` (path and size) that the server streams
in small blocks. Uploads are written to a temporary file in the destination folder and
renamed over the target, an atomic step: a reader sees the old file or the new one, never half.
"""

import os
import re
import tempfile
from datetime import timezone
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path

from .request import HttpError, Request
from .response import FileBody, Response, header_value
from .target import percent_decode, split_target

# The media type for each file extension. Our own table rather than the `mimetypes` module,
# which reads the machine's /etc/mime.types: the same file must get the same type everywhere.
# Text types say charset=utf-8: the files this course serves are written in UTF-8.
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".csv": "text/csv; charset=utf-8",
    ".json": "application/json",
    ".xml": "application/xml",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".ico": "image/x-icon",
    ".pdf": "application/pdf",
    ".wasm": "application/wasm",
    ".woff2": "font/woff2",
    ".zip": "application/zip",
    ".gz": "application/gzip",
    ".mp3": "audio/mpeg",
    ".mp4": "video/mp4",
}
DEFAULT_MEDIA_TYPE = "application/octet-stream"
# RFC 9110 §8.8.3: entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE; etagc may include a comma,
# so a list of tags is read tag by tag rather than split at commas.
ENTITY_TAG = re.compile(r'(W/)?"[^"]*"')


# --8<-- [start:safe_segments]
def safe_segments(raw_path: str) -> list[str]:
    """The decoded segments of a raw path below /files/, e.g. "docs/caf%C3%A9.txt" ->
    ["docs", "café.txt"], refusing every way to step outside the folder.

    Raises HttpError(400) for a NUL, HttpError(404) for a backslash, an empty segment
    (which is also how an absolute path "/etc/passwd" looks here), `.` or `..`, or an encoded
    "/" or "\\" inside a segment.
    """
    # A NUL ends a string in the C functions the operating system is built on: "a.txt%00.png"
    # could open a.txt behind a check that saw ".png". No file name holds one: 400.
    if "\x00" in percent_decode(raw_path):
        raise HttpError(400, "a path must not contain NUL")
    # Windows reads "\" as a separator: refuse it spelled out or encoded (%5C).
    if "\\" in raw_path:
        raise HttpError(404, "a path must not contain a backslash")
    segments = []
    for raw_segment in raw_path.split("/"):
        segment = percent_decode(raw_segment)
        # "a//b", "/etc" (an empty first segment) and every "." or ".." are refused, even
        # "a/../a" that would stay inside: there is no honest reason to send them.
        if segment in ("", ".", ".."):
            raise HttpError(404, f"the path segment {raw_segment!r} is not allowed")
        # %2F and %5C decode to separators: a segment must stay one segment.
        if "/" in segment or "\\" in segment:
            raise HttpError(404, f"the path segment {raw_segment!r} hides a separator")
        segments.append(segment)
    return segments
# --8<-- [end:safe_segments]


# --8<-- [start:resolve_inside]
def resolve_inside(root: Path, segments: list[str]) -> Path:
    """root/segments with every symlink followed; HttpError(404) if that lands outside root.

    `root` must be resolved already (Path.resolve()).
    """
    # A symlink inside the folder may point anywhere: judge where the path really leads.
    path = root.joinpath(*segments).resolve()
    if not path.is_relative_to(root):
        raise HttpError(404, "that path leads outside the served folder")
    return path
# --8<-- [end:resolve_inside]


# --8<-- [start:media_type_for]
def media_type_for(name: str) -> str:
    """The Content-Type for a file name, from its extension (case-insensitive)."""
    return MEDIA_TYPES.get(Path(name).suffix.lower(), DEFAULT_MEDIA_TYPE)
# --8<-- [end:media_type_for]


# --8<-- [start:validators]
def make_etag(stat: os.stat_result) -> str:
    """A strong entity-tag that changes whenever the file's size or modification time does."""
    return f'"{stat.st_size:x}-{stat.st_mtime_ns:x}"'


def etag_matches(if_none_match: str, etag: str) -> bool:
    """Whether an If-None-Match value names this entity-tag (or is `*`)."""
    if if_none_match.strip() == "*":
        return True
    # RFC 9110 §13.1.2: If-None-Match uses the weak comparison: W/"x" matches "x".
    wanted = etag.removeprefix("W/")
    return any(tag.group(0).removeprefix("W/") == wanted for tag in ENTITY_TAG.finditer(if_none_match))


def is_not_modified(request: Request, etag: str, modified: float) -> bool:
    """Whether a GET or HEAD can be answered 304: the client's copy is still current."""
    if request.method not in ("GET", "HEAD"):
        return False
    # RFC 9110 §13.2.2: If-None-Match is evaluated first; when present, If-Modified-Since
    # is ignored (an entity-tag is more precise than a date with one-second resolution).
    if_none_match = request.maybe_header("If-None-Match")
    if if_none_match is not None:
        return etag_matches(if_none_match, etag)
    if_modified_since = request.maybe_header("If-Modified-Since")
    if if_modified_since is None:
        return False
    try:
        since = parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError):
        return False  # RFC 9110 §13.1.3: an invalid date is ignored
    # RFC 9110 §5.6.7: HTTP dates are in GMT, even the asctime form that does not say so.
    if since.tzinfo is None:
        since = since.replace(tzinfo=timezone.utc)
    # HTTP dates count whole seconds: compare the file's time without its fraction.
    return int(modified) <= since.timestamp()
# --8<-- [end:validators]


# --8<-- [start:file_response]
def file_response(request: Request, path: Path) -> Response:
    """200 with the file, streamed later by the server. Whether the client's copy is current
    is decided after content negotiation (maybe_not_modified): the ETag depends on it."""
    # Opened once, now: the size, the validators and the bytes sent all come from this one
    # version of the file, even if an upload in another thread replaces it meanwhile.
    source = open(path, "rb")
    stat = os.fstat(source.fileno())
    headers = [
        ("Content-Type", media_type_for(path.name)),
        ("ETag", make_etag(stat)),
        ("Last-Modified", formatdate(stat.st_mtime, usegmt=True)),
    ]
    return Response(200, headers, file=FileBody(path, stat.st_size, source))
# --8<-- [end:file_response]


# --8<-- [start:maybe_not_modified]
# RFC 9110 §15.4.5: the header fields a 304 repeats from the 200 it stands for.
KEPT_BY_304 = {"etag", "last-modified", "vary", "cache-control", "expires", "content-location"}


def maybe_not_modified(request: Request, response: Response) -> Response:
    """304 instead of a 200 with validators when the client's copy is current, else `response`."""
    etag = header_value(response, "ETag")
    last_modified = header_value(response, "Last-Modified")
    if response.status != 200 or etag is None or last_modified is None:
        return response
    modified = parsedate_to_datetime(last_modified).timestamp()
    if not is_not_modified(request, etag, modified):
        return response
    kept = [(name, value) for name, value in response.headers if name.lower() in KEPT_BY_304]
    # The body is never sent with a 304; it stays only to give the Content-Length a 200 would have.
    return Response(304, kept, response.body, response.file, response.stream)
# --8<-- [end:maybe_not_modified]


def redirect(location: str) -> Response:
    """301: the resource lives at `location`; clients follow it (RFC 9110 §15.4.2)."""
    return Response(301, [("Location", location), ("Content-Type", "text/plain; charset=utf-8")], f"Moved to {location}".encode())


class StaticFiles:
    """The handlers of GET and POST /files/...: one folder, served and written to."""

    PREFIX = "/files"

    def __init__(self, root: Path):
        self.root = root.resolve()

    def raw_path_below(self, request: Request) -> str:
        """The raw path after /files: "" for /files, "/" for /files/, "/a/b" for /files/a/b."""
        raw_path, _raw_query = split_target(request.target)
        return raw_path[len(self.PREFIX) :]

    # --8<-- [start:get]
    def get(self, request: Request, params: dict[str, str]) -> Response:
        """GET /files/...: a file, or what folder_response says for a folder."""
        below = self.raw_path_below(request)
        if below == "":
            return redirect(self.PREFIX + "/")
        relative = below.removeprefix("/")
        # A trailing slash asks for a folder; the path before it is checked like any other.
        wants_folder = relative == "" or relative.endswith("/")
        segments = safe_segments(relative.removesuffix("/")) if relative else []
        path = resolve_inside(self.root, segments)
        if path.is_dir() or wants_folder:
            return self.folder_response(request, path, segments, wants_folder)
        if not path.is_file():
            raise HttpError(404, f"There is nothing at {self.PREFIX}/{relative}")
        return file_response(request, path)
    # --8<-- [end:get]

    # --8<-- [start:folder_response]
    def folder_response(self, request: Request, path: Path, segments: list[str], wants_folder: bool) -> Response:
        """A folder asked for with its slash gets its index.html (or 404); without the slash,
        a 301 to the slash form. A file asked for with a slash is 404."""
        if not path.is_dir():
            raise HttpError(404, f"{'/'.join(segments)} is not a folder")
        if not wants_folder:
            # Relative links in the folder's index.html resolve against the URL's last
            # slash: without the slash they would point one folder too high.
            raw_path, _raw_query = split_target(request.target)
            return redirect(raw_path + "/")
        index = resolve_inside(self.root, segments + ["index.html"])
        if not index.is_file():
            raise HttpError(404, "this folder has no index.html")
        return file_response(request, index)
    # --8<-- [end:folder_response]

    # --8<-- [start:post]
    def post(self, request: Request, params: dict[str, str]) -> Response:
        """POST /files/...: store the body there, atomically, creating missing folders -> 201."""
        location, _replaced = self.store(request)
        # RFC 9110 §15.3.2: 201 Created, with Location naming the new resource.
        return Response(201, [("Location", location), ("Content-Type", "text/plain; charset=utf-8")], f"Created {location}".encode())

    def put(self, request: Request, params: dict[str, str]) -> Response:
        """PUT /files/... (what `curl -T` sends): the same upload; 201 for a new file, 204 for
        one it replaced (RFC 9110 §9.3.4)."""
        location, replaced = self.store(request)
        if replaced:
            return Response(204)
        return Response(201, [("Location", location), ("Content-Type", "text/plain; charset=utf-8")], f"Created {location}".encode())

    def store(self, request: Request) -> tuple[str, bool]:
        """Write the body to the file the path names, atomically: (its URL path, whether a
        file was there before)."""
        relative = self.raw_path_below(request).removeprefix("/")
        segments = safe_segments(relative)
        path = resolve_inside(self.root, segments)
        if path.is_dir():
            raise HttpError(409, f"{self.PREFIX}/{relative} is a folder")
        replaced = path.is_file()
        make_folders(self.root, segments[:-1])
        write_atomically(path, request.body)
        return f"{self.PREFIX}/{relative}", replaced
    # --8<-- [end:post]


# --8<-- [start:make_folders]
def make_folders(root: Path, segments: list[str]) -> None:
    """Create root/segments[0]/segments[1]/... as needed, each checked to stay inside root."""
    for depth in range(1, len(segments) + 1):
        folder = resolve_inside(root, segments[:depth])
        # exist_ok: another upload, in another thread, may create the same folder meanwhile.
        folder.mkdir(exist_ok=True)
        if not folder.is_dir():
            raise HttpError(409, f"{'/'.join(segments[:depth])} is a file, not a folder")
# --8<-- [end:make_folders]


# --8<-- [start:write_atomically]
def write_atomically(path: Path, data: bytes) -> None:
    """Replace the file at `path` with `data`, so that no reader ever sees a partial file."""
    # Write a temporary file in the same folder, then rename it over the target: on one file
    # system, a rename is atomic (os.replace), so a reader opens the old file or the new one.
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())  # on disk before it gets the real name, even after a crash
        os.chmod(temporary, 0o644)  # mkstemp makes it private; a served file is readable
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
# --8<-- [end:write_atomically]
