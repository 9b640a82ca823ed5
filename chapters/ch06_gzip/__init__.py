"""Chapter 3 — bodies: Content-Length bodies, 100-continue, body limits, POST /echo."""
