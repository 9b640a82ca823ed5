"""The standard library's server, as the throughput benchmark's baseline (COURSE_SPEC §7).

`python stdlib_hello.py [--port P] [--http11 [--nodelay]]` serves `GET /` with `Hello, World!` from
`http.server.ThreadingHTTPServer` (a thread per connection) and prints the launch contract's
`Listening on http://H:P` line. Nothing is tuned: this is the server as shipped. As shipped,
BaseHTTPRequestHandler speaks HTTP/1.0 and closes every connection after one response, so each
request pays for a new TCP connection and a new thread; `--http11` sets
`protocol_version = "HTTP/1.1"`, which keeps connections alive, so that the benchmark can show
what keep-alive alone buys. It buys little at first: the handler writes the head and the body
in two sends, and with Nagle's algorithm on, the body waits for the client to ACK the head,
which a client delays (up to 40 ms on Linux) hoping to piggyback the ACK on data. On a new
connection per request the close flushes the body at once; on a kept-alive one every response
waits. `--nodelay` sets the handler's `disable_nagle_algorithm` (TCP_NODELAY) to show that.
"""

import argparse
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BODY = b"Hello, World!"


class HelloHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path != "/":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        # Content-Length frames the body: without it an HTTP/1.1 connection could not be reused.
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, format, *args) -> None:
        # The default logs every request to stderr: a line per request would measure the logging.
        pass


class HelloHTTP11Handler(HelloHandler):
    protocol_version = "HTTP/1.1"


class HelloHTTP11NoDelayHandler(HelloHTTP11Handler):
    disable_nagle_algorithm = True  # TCP_NODELAY: send the body without waiting for an ACK


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--http11", action="store_true", help="protocol_version HTTP/1.1: keep connections alive")
    parser.add_argument("--nodelay", action="store_true", help="with --http11: TCP_NODELAY (disable_nagle_algorithm)")
    arguments = parser.parse_args()
    if arguments.nodelay and not arguments.http11:
        parser.error("--nodelay goes with --http11")
    handler = HelloHTTP11Handler if arguments.http11 else HelloHandler
    if arguments.nodelay:
        handler = HelloHTTP11NoDelayHandler
    server = ThreadingHTTPServer((arguments.host, arguments.port), handler)
    host, port = server.server_address[:2]
    print(f"Listening on http://{host}:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    sys.exit(main())
