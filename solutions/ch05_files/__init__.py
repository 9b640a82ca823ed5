"""Chapter 5 — files: a folder served under /files/, MIME types, ETag and 304, folders, atomic uploads, traversal safety."""
