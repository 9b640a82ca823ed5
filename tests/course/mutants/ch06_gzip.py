"""Classic chapter 6 mistakes: content negotiation and gzip."""

from . import Mutant

CHAPTER = "ch06_gzip"

IDENTITY_RULE = "    return identity_weight is None or identity_weight <= gzip_weight"
VARY_THEN_DECIDE = '''    response.headers.append(("Vary", "Accept-Encoding"))
    if not accepts_gzip(accept_encoding) or response.content_length < min_size:
        return response
'''
NEGOTIATE_CALL = '    response = negotiate_encoding(request.maybe_header("Accept-Encoding"), response, gzip_min_size)'

# From the status check to the gzip form: a student who negotiates every response keeps its status.
NEGOTIATE_TAIL = """    if response.status != 200 or not is_compressible(content_type):
        return response
    # BEGIN SOLUTION task 6.2
    # RFC 9110 §12.5.5: the answer depends on Accept-Encoding; caches must know it, whichever
    # form this particular client gets.
    response.headers.append(("Vary", "Accept-Encoding"))
    if not accepts_gzip(accept_encoding) or response.content_length < min_size:
        return response
    if response.file is not None and response.file.size > GZIP_MAX_FILE:
        return response
    # mtime=0: the same body always compresses to the same bytes (and the same length).
    compressed = gzip.compress(body_bytes(response), mtime=0)
    headers = [("Content-Encoding", "gzip")]
    for name, value in response.headers:
        if name.lower() == "etag":
            value = gzip_etag(value)
        headers.append((name, value))
    return Response(200, headers, compressed)"""

MUTANTS = [
    # -- Content-Length and framing ------------------------------------------------------------
    Mutant(
        CHAPTER,
        "content_length_of_the_original",
        "sends the gzip bytes with the Content-Length of the uncompressed body",
        "encoding.py",
        "    return Response(200, headers, compressed)",
        '''    class UncompressedLength(Response):
        content_length = property(lambda self: response.content_length)

    return UncompressedLength(200, headers, compressed)''',
    ),
    Mutant(
        CHAPTER,
        "no_content_encoding",
        "compresses the body but forgets the Content-Encoding header",
        "encoding.py",
        '    headers = [("Content-Encoding", "gzip")]',
        "    headers = []",
    ),
    Mutant(
        CHAPTER,
        "head_not_negotiated",
        "skips negotiation for HEAD, so HEAD reports the identity Content-Length to a gzip client",
        "app.py",
        NEGOTIATE_CALL,
        '    if request.method != "HEAD":  # no body to compress\n    ' + NEGOTIATE_CALL,
    ),
    # -- Reading Accept-Encoding ---------------------------------------------------------------
    Mutant(
        CHAPTER,
        "substring_check",
        'decides with `"gzip" in header`, so `gzip;q=0` still gets gzip',
        "encoding.py",
        "    weights = parse_accept_encoding(accept_encoding)\n",
        '    return "gzip" in accept_encoding.lower()\n',
    ),
    Mutant(
        CHAPTER,
        "q_zero_ignored",
        "parses the weights but never treats q=0 as a refusal",
        "encoding.py",
        "    if gzip_weight == 0:\n",
        "    if False:\n",
    ),
    Mutant(
        CHAPTER,
        "case_sensitive_coding",
        "compares codings case-sensitively, so `GZIP` is not gzip",
        "encoding.py",
        "        coding = coding.strip().lower()",
        "        coding = coding.strip()",
    ),
    Mutant(
        CHAPTER,
        "case_sensitive_q",
        "reads only a lower-case `q=`, so `GZIP;Q=0` counts as q=1",
        "encoding.py",
        '            if name.strip().lower() == "q":',
        '            if name.strip() == "q":',
    ),
    Mutant(
        CHAPTER,
        "codings_not_trimmed",
        "splits the list at commas without trimming the spaces around each coding",
        "encoding.py",
        "        coding = coding.strip().lower()",
        "        coding = coding.lower()",
    ),
    Mutant(
        CHAPTER,
        "star_ignored",
        "ignores `*`, so `Accept-Encoding: *` gets no gzip",
        "encoding.py",
        '    gzip_weight = weights.get("gzip", weights.get("x-gzip", weights.get("*", 0.0)))',
        '    gzip_weight = weights.get("gzip", weights.get("x-gzip", 0.0))',
    ),
    Mutant(
        CHAPTER,
        "star_overrides_gzip",
        "lets `*` decide even when gzip is named, so `gzip;q=0, *` gets gzip",
        "encoding.py",
        '    gzip_weight = weights.get("gzip", weights.get("x-gzip", weights.get("*", 0.0)))',
        '    gzip_weight = weights.get("*", weights.get("gzip", weights.get("x-gzip", 0.0)))',
    ),
    Mutant(
        CHAPTER,
        "identity_preference_ignored",
        "compresses whenever gzip is acceptable, even when identity weighs more",
        "encoding.py",
        IDENTITY_RULE,
        "    return True",
    ),
    Mutant(
        CHAPTER,
        "unlisted_identity_is_q1",
        "treats an identity that is not listed as q=1, so `gzip;q=0.5` alone gets no gzip",
        "encoding.py",
        IDENTITY_RULE,
        '    return weights.get("identity", 1.0) <= gzip_weight',
    ),
    Mutant(
        CHAPTER,
        "first_field_only",
        "reads only the first Accept-Encoding field instead of the list of all of them",
        "app.py",
        NEGOTIATE_CALL,
        '    response = negotiate_encoding((request.header_values("Accept-Encoding") or [None])[0], response, gzip_min_size)',
    ),
    # -- What is compressed --------------------------------------------------------------------
    Mutant(
        CHAPTER,
        "compresses_everything",
        "compresses every type, images and archives included",
        "encoding.py",
        '        media_type.startswith("text/")',
        '        True or media_type.startswith("text/")',
    ),
    Mutant(
        CHAPTER,
        "only_text_types",
        "compresses text/* only, not JSON, SVG or XML",
        "encoding.py",
        """        media_type.startswith("text/")
        or media_type in COMPRESSIBLE_TYPES""",
        """        media_type.startswith("text/")
        or False""",
    ),
    Mutant(
        CHAPTER,
        "media_type_case_sensitive",
        "compares media types case-sensitively, so `Text/HTML` is not text",
        "encoding.py",
        '    media_type = content_type.split(";")[0].strip().lower()',
        '    media_type = content_type.split(";")[0].strip()',
    ),
    Mutant(
        CHAPTER,
        "parameters_kept_in_the_type",
        "looks the whole Content-Type up, so `application/json; charset=utf-8` is not JSON",
        "encoding.py",
        '    media_type = content_type.split(";")[0].strip().lower()',
        "    media_type = content_type.strip().lower()",
    ),
    Mutant(
        CHAPTER,
        "compresses_errors",
        "negotiates every response, so a 404 or a 301 goes out gzip-encoded",
        "encoding.py",
        NEGOTIATE_TAIL,
        NEGOTIATE_TAIL.replace("response.status != 200 or ", "").replace(
            "Response(200, headers, compressed)", "Response(response.status, headers, compressed)"
        ),
    ),
    Mutant(
        CHAPTER,
        "threshold_ignored",
        "ignores --gzip-min-size and compresses every body",
        "encoding.py",
        "    if not accepts_gzip(accept_encoding) or response.content_length < min_size:",
        "    if not accepts_gzip(accept_encoding):",
    ),
    Mutant(
        CHAPTER,
        "threshold_inverted",
        "compresses only the bodies smaller than --gzip-min-size",
        "encoding.py",
        "    if not accepts_gzip(accept_encoding) or response.content_length < min_size:",
        "    if not accepts_gzip(accept_encoding) or response.content_length > min_size:",
    ),
    # -- Vary and ETag -------------------------------------------------------------------------
    Mutant(
        CHAPTER,
        "no_vary",
        "never sends Vary: Accept-Encoding",
        "encoding.py",
        '    response.headers.append(("Vary", "Accept-Encoding"))\n',
        "",
    ),
    Mutant(
        CHAPTER,
        "vary_only_on_gzip",
        "sends Vary: Accept-Encoding on the gzip form only, not on the identity form",
        "encoding.py",
        VARY_THEN_DECIDE,
        '''    if not accepts_gzip(accept_encoding) or response.content_length < min_size:
        return response
    response.headers.append(("Vary", "Accept-Encoding"))
''',
    ),
    Mutant(
        CHAPTER,
        "same_etag_for_both",
        "gives the gzip form the same ETag as the identity form",
        "encoding.py",
        "            value = gzip_etag(value)",
        "            value = value",
    ),
    Mutant(
        CHAPTER,
        "weak_etag_for_gzip",
        "marks the gzip form's ETag weak instead of giving it another tag (W/\"x\" still matches \"x\")",
        "encoding.py",
        "            value = gzip_etag(value)",
        '            value = "W/" + value',
    ),
    Mutant(
        CHAPTER,
        "not_modified_before_negotiation",
        "decides 304 on the identity ETag before negotiating, so a gzip client holding the identity form gets 304",
        "app.py",
        """    response = match.respond(request)
"""
        + NEGOTIATE_CALL
        + """
    return maybe_not_modified(request, response)""",
        """    response = maybe_not_modified(request, match.respond(request))
    return negotiate_encoding(request.maybe_header("Accept-Encoding"), response, gzip_min_size)""",
    ),
]
