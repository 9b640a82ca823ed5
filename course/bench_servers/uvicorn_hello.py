"""uvicorn serving a minimal ASGI app, as the throughput benchmark's reference (COURSE_SPEC §7).

`python uvicorn_hello.py [--port P] [--http auto|h11|httptools]` answers `GET /` with
`Hello, World!` (200, `text/plain; charset=utf-8`, Content-Length), like the chapter servers.
uvicorn is configured as `python -m uvicorn uvicorn_hello:app --log-level warning
--no-access-log --workers 1` would configure it, and runs through the same `uvicorn.Server`
that command uses. The one addition is the launch contract's `Listening on http://H:P` line,
printed once the socket listens: uvicorn logs its port only at log level info, and handing it
a socket we bound ourselves (`--fd`) makes uvicorn wrap it as AF_UNIX, which would turn off
asyncio's TCP_NODELAY and so handicap uvicorn.

On stderr it writes one line saying which HTTP parser and event loop uvicorn really used
(`--http auto` picks httptools when it is installed, h11 otherwise), which the benchmark shows
in its table.
"""

import argparse
import asyncio
import sys

import uvicorn

BODY = b"Hello, World!"
NOT_FOUND = b"Not Found"


async def app(scope, receive, send):
    """The ASGI app: GET / says hello; anything else is a 404."""
    if scope["type"] != "http":
        return  # lifespan is turned off below; websockets are not served
    if scope["method"] == "GET" and scope["path"] == "/":
        status, body = 200, BODY
    else:
        status, body = 404, NOT_FOUND
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class AnnouncingServer(uvicorn.Server):
    """uvicorn's own server, which prints the Listening line once it listens."""

    async def startup(self, sockets=None):
        await super().startup(sockets=sockets)
        if self.should_exit:
            return  # startup failed: uvicorn logged why
        host, port = self.servers[0].sockets[0].getsockname()[:2]
        protocol = self.config.http_protocol_class.__name__  # H11Protocol or HttpToolsProtocol
        parser = {"H11Protocol": "h11", "HttpToolsProtocol": "httptools"}.get(protocol, protocol)
        loop = type(asyncio.get_running_loop()).__module__.split(".")[0]  # asyncio or uvloop
        print(f"bench-server: uvicorn {uvicorn.__version__} http={parser} loop={loop}", file=sys.stderr, flush=True)
        print(f"Listening on http://{host}:{port}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--http", default="auto", choices=["auto", "h11", "httptools"])
    arguments = parser.parse_args()
    config = uvicorn.Config(
        app,
        host=arguments.host,
        port=arguments.port,
        http=arguments.http,
        lifespan="off",
        log_level="warning",
        access_log=False,
        workers=1,
    )
    AnnouncingServer(config).run()


if __name__ == "__main__":
    sys.exit(main())
