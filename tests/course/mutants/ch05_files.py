"""Classic chapter 5 mistakes: paths that escape the folder, validators that lie, torn uploads."""

from . import Mutant

CHAPTER = "ch05_files"

SEGMENT_LOOP = '''    for raw_segment in raw_path.split("/"):
        segment = percent_decode(raw_segment)'''
REFUSED_SEGMENTS = '        if segment in ("", ".", ".."):'
RESOLVE = '''    path = root.joinpath(*segments).resolve()
    if not path.is_relative_to(root):'''
IF_MODIFIED_SINCE = "    return int(modified) <= since"

MUTANTS = [
    # -- 5.1 paths -----------------------------------------------------------------------------
    Mutant(
        CHAPTER,
        "decodes_before_splitting",
        "percent-decodes the whole path before splitting it at /, so %2F becomes a separator",
        "files.py",
        SEGMENT_LOOP,
        '''    for raw_segment in percent_decode(raw_path).split("/"):
        segment = raw_segment''',
    ),
    Mutant(
        CHAPTER,
        "dot_dot_checked_before_decoding",
        "looks for `..` in the raw segment, before decoding, so %2e%2e passes",
        "files.py",
        REFUSED_SEGMENTS,
        '        if raw_segment in ("", ".", ".."):',
    ),
    Mutant(
        CHAPTER,
        "dot_segments_allowed",
        "refuses `..` but lets a `.` segment through",
        "files.py",
        REFUSED_SEGMENTS,
        '        if segment in ("", ".."):',
    ),
    Mutant(
        CHAPTER,
        "empty_segments_allowed",
        "lets empty segments (`a//b`, `//etc/passwd`) through",
        "files.py",
        REFUSED_SEGMENTS,
        '        if segment in (".", ".."):',
    ),
    Mutant(
        CHAPTER,
        "encoded_backslash_allowed",
        "refuses a literal backslash but forgets that %5C decodes to one",
        "files.py",
        '        if "/" in segment or "\\\\" in segment:',
        '        if "/" in segment:',
    ),
    Mutant(
        CHAPTER,
        "symlinks_not_resolved",
        "checks the joined path without resolving it, so a symlink inside the folder leads out",
        "files.py",
        RESOLVE,
        '''    path = root.joinpath(*segments)
    if not path.is_relative_to(root):''',
    ),
    Mutant(
        CHAPTER,
        "string_prefix_check",
        "checks `str(path).startswith(str(root))`, so /tmp/site-secret passes as inside /tmp/site",
        "files.py",
        RESOLVE,
        '''    path = root.joinpath(*segments).resolve()
    if not str(path).startswith(str(root)):''',
    ),
    Mutant(
        CHAPTER,
        "nul_is_404",
        "answers a NUL in the path with 404 instead of 400",
        "files.py",
        '        raise HttpError(400, "a path must not contain NUL")',
        '        raise HttpError(404, "a path must not contain NUL")',
    ),
    # -- 5.2 media types and streaming ---------------------------------------------------------
    Mutant(
        CHAPTER,
        "text_plain_default",
        "sends text/plain for an unknown extension instead of application/octet-stream",
        "files.py",
        'DEFAULT_MEDIA_TYPE = "application/octet-stream"',
        'DEFAULT_MEDIA_TYPE = "text/plain; charset=utf-8"',
    ),
    Mutant(
        CHAPTER,
        "reads_the_whole_file",
        "reads the whole file into memory before sending it",
        "server.py",
        "            block = source.read(min(FILE_BLOCK, remaining))",
        "            block = source.read()",
    ),
    # -- 5.3 validators --------------------------------------------------------------------------
    Mutant(
        CHAPTER,
        "last_modified_not_gmt",
        "formats Last-Modified with a numeric zone (-0000) instead of an IMF-fixdate in GMT",
        "files.py",
        'formatdate(stat.st_mtime, usegmt=True)',
        'formatdate(stat.st_mtime)',
    ),
    Mutant(
        CHAPTER,
        "etag_from_size_only",
        "makes the ETag from the size alone, so an edit that keeps the size keeps the ETag",
        "files.py",
        '''    return f'"{stat.st_size:x}-{stat.st_mtime_ns:x}"\'''',
        '''    return f'"{stat.st_size:x}"\'''',
    ),
    Mutant(
        CHAPTER,
        "strong_comparison_for_if_none_match",
        'compares entity-tags strongly, so W/"x" does not match "x"',
        "files.py",
        'return any(tag.group(0).removeprefix("W/") == wanted for tag in ENTITY_TAG.finditer(if_none_match))',
        'return any(tag.group(0) == etag for tag in ENTITY_TAG.finditer(if_none_match))',
    ),
    Mutant(
        CHAPTER,
        "if_modified_since_strictly_before",
        "answers 304 only when the file is strictly older than If-Modified-Since (< instead of <=)",
        "files.py",
        IF_MODIFIED_SINCE,
        "    return int(modified) < since",
    ),
    Mutant(
        CHAPTER,
        "if_modified_since_with_fractions",
        "compares the file's time with its fraction of a second to a date that has none",
        "files.py",
        IF_MODIFIED_SINCE,
        "    return modified <= since",
    ),
    Mutant(
        CHAPTER,
        "if_modified_since_despite_if_none_match",
        "still looks at If-Modified-Since when If-None-Match is present and does not match",
        "files.py",
        '''    if if_none_match is not None:
        return etag_matches(if_none_match, etag)''',
        '''    if if_none_match is not None and etag_matches(if_none_match, etag):
        return True''',
    ),
    Mutant(
        CHAPTER,
        "304_with_a_body",
        "sends the file's bytes after a 304 head",
        "server.py",
        '    if response.status == 304 or (request is not None and request.method == "HEAD"):',
        '    if request is not None and request.method == "HEAD":',
    ),
    Mutant(
        CHAPTER,
        "304_with_content_length_0",
        "gives a 304 Content-Length: 0 instead of the length the 200 would have",
        "files.py",
        "        return Response(304, validators, file=body)",
        "        return Response(304, validators)",
    ),
    # -- 5.4 folders -----------------------------------------------------------------------------
    Mutant(
        CHAPTER,
        "no_redirect_for_folders",
        "serves a folder's index.html without the slash instead of redirecting to it",
        "files.py",
        "        if not wants_folder:",
        "        if False:",
    ),
    Mutant(
        CHAPTER,
        "redirect_without_the_slash",
        "redirects a folder to itself instead of to the slash form",
        "files.py",
        '            return redirect(raw_path + "/")',
        "            return redirect(raw_path)",
    ),
    # -- 5.5 uploads -----------------------------------------------------------------------------
    Mutant(
        CHAPTER,
        "writes_in_place",
        "opens the target with open(path, 'wb') and writes into it: a reader can see half a file",
        "files.py",
        '    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")',
        '''    with open(path, "wb") as file:
        file.write(data)
    return
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")''',
    ),
    Mutant(
        CHAPTER,
        "no_missing_folders",
        "does not create the missing folders of an upload's path",
        "files.py",
        "        make_folders(self.root, segments[:-1])\n",
        "",
    ),
]
