"""Chapter 2 — headers: read the whole head, parse the request line and the header fields, route."""
