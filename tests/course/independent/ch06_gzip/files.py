"""The `--directory` tree: URL path to file, validators, streaming bodies, atomic uploads.

Paths are handled as bytes end to end (`os.fsencode` of the real root, percent-decoded
segments joined onto it), so any byte a URL can carry maps to the same file name and no
text decoding can be fooled. Safety is two checks: every segment is rejected on its own
(`.`/`..`, empty, encoded `/` or `\\`, raw backslash; NUL is a 400), and the `realpath` of
what is finally opened must lie inside the real root, which is what stops symlinks out.

A file is opened before its validators are computed and read through that descriptor, so
an upload replacing it mid-read (os.replace makes a new inode) never mixes two versions.
"""

import mimetypes
import os
import re
import stat
import tempfile
from datetime import UTC
from email.utils import parsedate_to_datetime

from .coding import Gzipper, compressible, gzip_wanted
from .protocol import Refusal, http_date, percent_decode

CHUNK = 64 * 1024
SPOOL_IN_MEMORY = 256 * 1024
LENGTH_CACHE_SIZE = 256

# Go's net/http table for the common types (charset on text, text/javascript per RFC 9239);
# other extensions fall back to Python's built-in table, never the system's mime.types.
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".csv": "text/csv; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".xml": "text/xml; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".ico": "image/vnd.microsoft.icon",
    ".pdf": "application/pdf",
    ".wasm": "application/wasm",
    ".zip": "application/zip",
    ".gz": "application/gzip",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
}
BUILTIN_TYPES = mimetypes.MimeTypes().types_map[True]  # Python's defaults only
ENTITY_TAG = re.compile(rb'(?:W/)?"([^"]*)"')


def media_type(name):
    """Content-Type from the last extension only: `x.tar.gz` is gzip, not a tar in disguise."""
    extension = os.path.splitext(os.fsdecode(name))[1].lower()
    found = TYPES.get(extension) or BUILTIN_TYPES.get(extension) or "application/octet-stream"
    return found.encode("ascii")


def checked_segments(rest):
    """Decoded segments of the raw path after `/files/`, and whether it ended with a slash."""
    trailing = rest == b"" or rest.endswith(b"/")
    raws = rest.split(b"/")[:-1] if trailing else rest.split(b"/")
    decoded = [percent_decode(raw) for raw in raws]
    if any(b"\x00" in segment for segment in decoded):
        raise Refusal(400, "a file path cannot hold a NUL byte")
    for raw, segment in zip(raws, decoded):
        if b"\\" in raw or segment in (b"", b".", b"..") or b"/" in segment or b"\\" in segment:
            raise Refusal(404, "no such file")
    return decoded, trailing


class Tree:
    def __init__(self, directory):
        self.root = os.fsencode(os.path.realpath(directory))
        self.lengths = {}  # gzip length per (dev, inode, size, mtime): HEAD and 304 reuse it

    def inside(self, path):
        real = os.path.realpath(path)
        return real == self.root or real.startswith(self.root.rstrip(b"/") + b"/")

    # ------------------------------------------------------------ reading

    def open(self, rest, raw_path, query):
        """An open regular file for GET/HEAD, or Refusal 301/404."""
        segments, trailing = checked_segments(rest)
        path = os.path.join(self.root, *segments)
        if not self.inside(path) or not os.path.exists(path):
            raise Refusal(404, "no such file")
        if os.path.isdir(path):
            if not trailing:
                location = raw_path + b"/" + (b"?" + query if query is not None else b"")
                raise Refusal(301, "this is a folder: add the slash", [(b"location", location)])
            path = os.path.join(path, b"index.html")
            if not self.inside(path):
                raise Refusal(404, "no index.html in this folder")
        elif trailing:
            raise Refusal(404, "a file is not a folder")
        try:
            handle = open(os.path.realpath(path), "rb")
        except FileNotFoundError:
            raise Refusal(404, "no such file") from None
        except PermissionError:
            raise Refusal(403, "that file may not be read") from None
        except OSError:  # a folder named index.html, a broken link, ...
            raise Refusal(404, "no such file") from None
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            handle.close()
            raise Refusal(404, "not a regular file")
        return handle, path

    def reply_parts(self, request, handle, path, min_size):
        """(status, fields, source) for an opened file: negotiation, validators, 304."""
        info = os.fstat(handle.fileno())
        content_type = media_type(path)
        negotiable = compressible(content_type)
        use_gzip = negotiable and info.st_size >= min_size and gzip_wanted(request.values(b"accept-encoding"))
        tag = f"{info.st_ino:x}-{info.st_size:x}-{info.st_mtime_ns:x}" + ("-gzip" if use_gzip else "")
        etag = b'"' + tag.encode("ascii") + b'"'
        fields = [(b"etag", etag), (b"last-modified", http_date(info.st_mtime))]
        if negotiable:
            fields.append((b"vary", b"Accept-Encoding"))
        source = GzipSource(self, handle, info) if use_gzip else PlainSource(handle, info)
        if not_modified(request, etag, info.st_mtime):
            return 304, fields, source
        fields = [(b"content-type", content_type)] + fields
        if use_gzip:
            fields.append((b"content-encoding", b"gzip"))
        return 200, fields, source

    # ------------------------------------------------------------ writing

    def plan_upload(self, rest):
        """Where POST /files/{rest} will land: checked before the body is invited."""
        segments, trailing = checked_segments(rest)
        if trailing or not segments:
            raise Refusal(404, "an upload needs a file name, not a folder")
        folder = self.root
        for segment in segments[:-1]:
            folder = os.path.join(folder, segment)
            if os.path.lexists(folder):
                if not self.inside(folder):
                    raise Refusal(404, "no such folder")
                if not os.path.isdir(folder):
                    raise Refusal(409, "a file stands where a folder is needed")
        target = os.path.join(folder, segments[-1])
        if os.path.lexists(target):
            if not self.inside(target):
                raise Refusal(404, "no such file")
            if os.path.isdir(target):
                raise Refusal(409, "a folder already has that name")
        return folder, target

    def store(self, plan, body):
        """Body to a hidden temporary file in the root, then one rename: readers see old or new."""
        folder, target = plan
        descriptor, temporary = tempfile.mkstemp(prefix=b".upload-", suffix=b".part", dir=self.root)
        try:
            with os.fdopen(descriptor, "wb") as out:
                while piece := body.read(CHUNK):
                    out.write(piece)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temporary, 0o644)
            try:
                os.makedirs(folder, exist_ok=True)
            except (FileExistsError, NotADirectoryError):
                raise Refusal(409, "a file stands where a folder is needed") from None
            if not self.inside(folder):
                raise Refusal(404, "no such folder")
            try:
                os.replace(temporary, target)
            except IsADirectoryError:
                raise Refusal(409, "a folder already has that name") from None
        except BaseException:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise


def not_modified(request, etag, mtime):
    """RFC 9110 §13.2.2: If-None-Match (weak comparison) wins; else If-Modified-Since."""
    matches = request.values(b"if-none-match")
    if matches:
        if any(value.strip() == b"*" for value in matches):
            return True
        ours = etag.strip(b'"')
        return any(tag == ours for value in matches for tag in ENTITY_TAG.findall(value))
    since = request.values(b"if-modified-since")
    if len(since) != 1:
        return False
    try:
        moment = parsedate_to_datetime(since[0].decode("latin-1"))
    except (TypeError, ValueError, IndexError):
        return False  # not an HTTP-date: ignored, as RFC 9110 §13.1.3 says
    if moment.tzinfo is None:  # asctime has no zone; HTTP dates are all GMT (RFC 9110 §5.6.7)
        moment = moment.replace(tzinfo=UTC)
    return int(mtime) <= moment.timestamp()


class PlainSource:
    """The file as it is: Content-Length is its size, sent 64 KiB at a time."""

    def __init__(self, handle, info):
        self.handle = handle
        self.size = info.st_size

    def prepare(self):
        pass

    def length(self):
        return self.size

    def send(self, conn):
        left = self.size  # never more than announced, even if the file grew meanwhile
        while left > 0:
            piece = self.handle.read(min(CHUNK, left))
            if not piece:
                break
            conn.sendall(piece)
            left -= len(piece)

    def close(self):
        self.handle.close()


class GzipSource:
    """The file gzipped into a spooled temporary file, so its length is known before sending
    and memory stays bounded; HEAD and 304 only count the bytes (cached per file version)."""

    def __init__(self, tree, handle, info):
        self.tree = tree
        self.handle = handle
        self.key = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)
        self.spool = None

    def _compress(self, write):
        self.handle.seek(0)
        engine = Gzipper()
        total = 0
        while piece := self.handle.read(CHUNK):
            out = engine.feed(piece)
            total += len(out)
            write(out)
        out = engine.finish()
        write(out)
        return total + len(out)

    def prepare(self):
        self.spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)
        self._remember(self._compress(self.spool.write))

    def _remember(self, length):
        if len(self.tree.lengths) >= LENGTH_CACHE_SIZE:
            self.tree.lengths.clear()
        self.tree.lengths[self.key] = length
        return length

    def length(self):
        if self.spool is not None:
            return self.spool.tell()
        known = self.tree.lengths.get(self.key)
        return known if known is not None else self._remember(self._compress(lambda out: None))

    def send(self, conn):
        self.spool.seek(0)
        while piece := self.spool.read(CHUNK):
            conn.sendall(piece)

    def close(self):
        self.handle.close()
        if self.spool is not None:
            self.spool.close()
