"""The application: which response each request gets.

Strategy: one function from Request to Response. It knows nothing of sockets or of how the
bytes travel, so it is tested by calling it, and it grows route by route in later chapters.
"""

from .request import Request
from .response import Response, text_response


# --8<-- [start:handle_request]
def handle_request(request: Request) -> Response:
    """`/` says Hello, World!; `/user-agent` sends the User-Agent back; anything else is 404."""
    # TODO(task 2.4): Route the request and answer errors. Read section 2.4 of chapter 2 (docs/chapters/ch02_headers.md).
    raise NotImplementedError("task 2.4 (Route the request and answer errors) is still to do: see docs/chapters/ch02_headers.md")
# --8<-- [end:handle_request]
