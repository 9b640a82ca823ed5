"""Chapter 9 — threading: a poller and a bounded pool of workers, 408 for slow heads, graceful shutdown."""
