"""h11 as a strict oracle: it builds a request, and judges the response byte by byte.

h11 is a strict, well-tested HTTP/1.1 implementation (the one under httpx). A wire test that
lets h11 read the server's response proves more than our own checks: framing, header syntax,
no bytes after the message. Used by the suites through `h11_exchange`.
"""

from __future__ import annotations

import h11


def h11_client(method: str, target: str, headers: list[tuple[str, str]], body: bytes = b"") -> tuple[h11.Connection, bytes]:
    """An h11 client that has sent one request: (the client, the request's bytes)."""
    client = h11.Connection(h11.CLIENT)
    sent = client.send(h11.Request(method=method, target=target, headers=headers))
    if body:
        sent += client.send(h11.Data(data=body))
    sent += client.send(h11.EndOfMessage())
    return client, sent


def h11_events(client: h11.Connection, data: bytes, connection) -> list:
    """What h11 reads in `data`, everything the server sent before closing: its events up to
    the end of the response. Fails the test through `connection` when h11 rejects the bytes."""
    client.receive_data(data)
    client.receive_data(b"")
    events = []
    try:
        while True:
            event = client.next_event()
            if event in (h11.NEED_DATA, h11.PAUSED) or isinstance(event, h11.ConnectionClosed):
                break
            events.append(event)
    except h11.RemoteProtocolError as error:
        connection.fail("a response that h11, a strict HTTP/1.1 parser, accepts", f"h11 rejected it: {error}.")
    return events


def h11_exchange(server, method: str, target: str, headers: list[tuple[str, str]], body: bytes = b"") -> tuple[bytes, list]:
    """Send one request built by h11 (with `Connection: close` added) to a test server, read
    until the close, and return (received bytes, h11 events up to the end of the response).

    Fails the test, showing both directions and the task's hint, when h11 rejects the bytes.
    """
    client, sent = h11_client(method, target, [*headers, ("Connection", "close")], body)
    with server.connect() as connection:
        connection.send(sent)
        data = connection.read_until_close(f"a response to {method} {target}, then the close (Connection: close)")
        return data, h11_events(client, data, connection)
