"""Chapter 6 — gzip: Accept-Encoding negotiation, gzip for compressible responses, Vary, an ETag per encoding."""
