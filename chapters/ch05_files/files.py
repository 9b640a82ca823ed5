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
from .response import FileBody, Response
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
    # TODO(task 5.1): Map a URL path to a file, safely. Read section 5.1 of chapter 5 (docs/chapters/ch05_files.md).
    raise NotImplementedError("task 5.1 (Map a URL path to a file, safely) is still to do: see docs/chapters/ch05_files.md")
# --8<-- [end:safe_segments]


# --8<-- [start:resolve_inside]
def resolve_inside(root: Path, segments: list[str]) -> Path:
    """root/segments with every symlink followed; HttpError(404) if that lands outside root.

    `root` must be resolved already (Path.resolve()).
    """
    # TODO(task 5.1): Map a URL path to a file, safely. Read section 5.1 of chapter 5 (docs/chapters/ch05_files.md).
    raise NotImplementedError("task 5.1 (Map a URL path to a file, safely) is still to do: see docs/chapters/ch05_files.md")
# --8<-- [end:resolve_inside]


# --8<-- [start:media_type_for]
def media_type_for(name: str) -> str:
    """The Content-Type for a file name, from its extension (case-insensitive)."""
    # TODO(task 5.2): Serve files: MIME types and streaming. Read section 5.2 of chapter 5 (docs/chapters/ch05_files.md).
    raise NotImplementedError("task 5.2 (Serve files: MIME types and streaming) is still to do: see docs/chapters/ch05_files.md")
# --8<-- [end:media_type_for]


# --8<-- [start:validators]
def make_etag(stat: os.stat_result) -> str:
    """A strong entity-tag that changes whenever the file's size or modification time does."""
    # TODO(task 5.3): Validators and conditional GET. Read section 5.3 of chapter 5 (docs/chapters/ch05_files.md).
    raise NotImplementedError("task 5.3 (Validators and conditional GET) is still to do: see docs/chapters/ch05_files.md")


def etag_matches(if_none_match: str, etag: str) -> bool:
    """Whether an If-None-Match value names this entity-tag (or is `*`)."""
    # TODO(task 5.3): Validators and conditional GET. Read section 5.3 of chapter 5 (docs/chapters/ch05_files.md).
    raise NotImplementedError("task 5.3 (Validators and conditional GET) is still to do: see docs/chapters/ch05_files.md")


def is_not_modified(request: Request, etag: str, modified: float) -> bool:
    """Whether a GET or HEAD can be answered 304: the client's copy is still current."""
    # TODO(task 5.3): Validators and conditional GET. Read section 5.3 of chapter 5 (docs/chapters/ch05_files.md).
    raise NotImplementedError("task 5.3 (Validators and conditional GET) is still to do: see docs/chapters/ch05_files.md")
# --8<-- [end:validators]


# --8<-- [start:file_response]
def file_response(request: Request, path: Path) -> Response:
    """200 with the file (streamed later by the server), or 304 when the client's copy is current."""
    stat = path.stat()
    etag = make_etag(stat)
    validators = [("ETag", etag), ("Last-Modified", formatdate(stat.st_mtime, usegmt=True))]
    body = FileBody(path, stat.st_size)
    if is_not_modified(request, etag, stat.st_mtime):
        # RFC 9110 §15.4.5: a 304 repeats the validators; its body (never sent) only gives
        # the server the Content-Length a 200 would have.
        return Response(304, validators, file=body)
    return Response(200, [("Content-Type", media_type_for(path.name))] + validators, file=body)
# --8<-- [end:file_response]


# --8<-- [start:redirect]
def redirect(location: str) -> Response:
    """301: the resource lives at `location`; clients follow it (RFC 9110 §15.4.2)."""
    return Response(301, [("Location", location), ("Content-Type", "text/plain; charset=utf-8")], f"Moved to {location}".encode())
# --8<-- [end:redirect]


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
        # TODO(task 5.4): Directories: redirect and index. Read section 5.4 of chapter 5 (docs/chapters/ch05_files.md).
        raise NotImplementedError("task 5.4 (Directories: redirect and index) is still to do: see docs/chapters/ch05_files.md")
    # --8<-- [end:folder_response]

    # --8<-- [start:post]
    def post(self, request: Request, params: dict[str, str]) -> Response:
        """POST /files/...: store the body there, atomically, creating missing folders -> 201."""
        relative = self.raw_path_below(request).removeprefix("/")
        # TODO(task 5.5): Atomic uploads. Read section 5.5 of chapter 5 (docs/chapters/ch05_files.md).
        raise NotImplementedError("task 5.5 (Atomic uploads) is still to do: see docs/chapters/ch05_files.md")
    # --8<-- [end:post]


# --8<-- [start:make_folders]
def make_folders(root: Path, segments: list[str]) -> None:
    """Create root/segments[0]/segments[1]/... as needed, each checked to stay inside root."""
    # TODO(task 5.5): Atomic uploads. Read section 5.5 of chapter 5 (docs/chapters/ch05_files.md).
    raise NotImplementedError("task 5.5 (Atomic uploads) is still to do: see docs/chapters/ch05_files.md")
# --8<-- [end:make_folders]


# --8<-- [start:write_atomically]
def write_atomically(path: Path, data: bytes) -> None:
    """Replace the file at `path` with `data`, so that no reader ever sees a partial file."""
    # TODO(task 5.5): Atomic uploads. Read section 5.5 of chapter 5 (docs/chapters/ch05_files.md).
    raise NotImplementedError("task 5.5 (Atomic uploads) is still to do: see docs/chapters/ch05_files.md")
# --8<-- [end:write_atomically]
