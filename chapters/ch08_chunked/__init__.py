"""Chapter 8 — chunked: chunked request bodies, the smuggling rules, streamed responses."""
