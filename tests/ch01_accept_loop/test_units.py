"""Chapter 1, function by function: finer feedback on build_response and create_listener."""

import socket

import h11
import pytest

from course.wire import show_bytes


def parse_with_h11(data: bytes):
    """Read a response with h11, a strict HTTP/1.1 parser: (Response event, body bytes)."""
    client = h11.Connection(h11.CLIENT)
    client.send(h11.Request(method="GET", target="/", headers=[("Host", "x")]))
    client.send(h11.EndOfMessage())
    client.receive_data(data)
    response, body = None, b""
    try:
        while True:
            event = client.next_event()
            if event is h11.NEED_DATA or isinstance(event, h11.EndOfMessage):
                break
            if isinstance(event, h11.Response):
                response = event
            elif isinstance(event, h11.Data):
                body += bytes(event.data)
    except h11.RemoteProtocolError as error:
        pytest.fail(f"h11 rejected these bytes ({error}):\n{show_bytes(data)}", pytrace=False)
    assert response is not None, f"h11 found no complete response head in:\n{show_bytes(data)}"
    return response, body


@pytest.mark.task("1.3")
@pytest.mark.points(2)
def test_build_response_is_valid_http(chapter_module):
    """build_response(200, [...], b"Hello, World!") is a response h11 accepts, headers kept."""
    data = chapter_module("response").build_response(200, [("Content-Type", "text/plain; charset=utf-8")], b"Hello, World!")
    assert isinstance(data, bytes), f"build_response must return bytes, not {type(data).__name__}"
    response, body = parse_with_h11(data)
    headers = {name.decode(): value.decode() for name, value in response.headers}
    assert response.status_code == 200 and response.reason == b"OK", show_bytes(data)
    assert headers.get("content-type") == "text/plain; charset=utf-8", f"Content-Type lost:\n{show_bytes(data)}"
    assert headers.get("content-length") == "13", f"Content-Length must be 13:\n{show_bytes(data)}"
    assert body == b"Hello, World!", show_bytes(data)


@pytest.mark.task("1.3")
@pytest.mark.points(1)
def test_build_response_counts_bytes_not_characters(chapter_module):
    """Content-Length counts the body's bytes: 'déjà vu' is 9 bytes in UTF-8, not 7."""
    body = "déjà vu".encode("utf-8")
    data = chapter_module("response").build_response(200, [], body)
    response, received = parse_with_h11(data)
    assert dict(response.headers).get(b"content-length") == b"9", f"expected Content-Length: 9 in\n{show_bytes(data)}"
    assert received == body


@pytest.mark.task("1.3")
@pytest.mark.points(1)
@pytest.mark.parametrize("status, reason", [(404, b"Not Found"), (413, b"Content Too Large"), (505, b"HTTP Version Not Supported")])
def test_build_response_uses_rfc_9110_reason_phrases(chapter_module, status, reason):
    """The status line carries the RFC 9110 §15 reason phrase."""
    data = chapter_module("response").build_response(status, [], b"")
    assert data.startswith(b"HTTP/1.1 %d %s\r\n" % (status, reason)), show_bytes(data)


@pytest.mark.task("1.1")
@pytest.mark.points(2)
def test_create_listener_listens_and_allows_quick_restart(chapter_module):
    """create_listener returns a listening TCP socket on the asked address with SO_REUSEADDR set."""
    listener = chapter_module("server").create_listener("127.0.0.1", 0)
    try:
        host, port = listener.getsockname()[:2]
        assert host == "127.0.0.1" and port != 0, f"bound to {host}:{port}"
        assert listener.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR), "SO_REUSEADDR is not set"
        assert listener.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN), "the socket is not listening"
        with socket.create_connection((host, port), timeout=2):
            accepted, _ = listener.accept()
            accepted.close()
    finally:
        listener.close()
