"""Chapter 1 — the accept loop: a listening socket that answers every client with one fixed response."""
