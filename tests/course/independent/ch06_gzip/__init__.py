"""An independent chapter-6 server: a grading fixture, written from COURSE_SPEC.md only.

Strategy: the wire suites of chapters 1-6 are run against this package with `--wire-only`.
It is written without looking at `solutions/`, `chapters/` or the chapter 4-6 suites, and is
deliberately unlike a typical reference wherever the spec leaves room (lower-case header
names, extra `server` header, bytes-based file paths, Go-style charsets on text files,
gzip through raw zlib, a request served by one "exchange" object that handlers pull the
body from). A wire test that fails it grades something narrower than the spec. The choices
made where the spec is silent are listed in ../README.md.

Modules: `protocol` (options, head parsing, body reading, response writing), `coding`
(Accept-Encoding negotiation and gzip), `files` (the `--directory` tree: safe mapping,
validators, streaming, atomic uploads), `app` (routes, the per-connection flow, the loop).
"""
