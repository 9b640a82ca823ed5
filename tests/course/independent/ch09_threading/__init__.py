"""An independent chapter-9 server: a grading fixture, written from COURSE_SPEC.md only.

The later state of ../ch06_gzip (same author): the routes, files, gzip, head parser and
Content-Length rules are imported from ch06_gzip and ch03_bodies as they are; what is new
is persistent connections, chunked request bodies, a streaming route, and concurrency.

Architecture (deliberately not a poller feeding a queue of single requests): the main thread
is a *lobby* built on `select.poll` where every connection waits while it has no complete
head - fresh ones, idle keep-alive ones, ones trickling their head, and closing ones
draining before the final close. A connection whose head is complete is handed, with the
bytes read so far, to a `concurrent.futures.ThreadPoolExecutor` (`--workers` threads). The
worker owns it from then on: it serves that request and every pipelined request already
buffered, and gives it back to the lobby only when the next head is not there yet.

Modules: `framing` (a buffered socket, Transfer-Encoding/Content-Length choice, the chunked
decoder, Connection tokens), `service` (the new routes, one request start to finish, the
worker's turn), `lobby` (the waiting room, deadlines, signals, graceful shutdown, `main`).
"""
