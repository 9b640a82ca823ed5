"""The application: which response each request gets.

Strategy: one function from Request to Response. It knows nothing of sockets or of how the
bytes travel, so it is tested by calling it, and it grows route by route in later chapters.
"""

from .request import Request
from .response import Response, text_response


# --8<-- [start:handle_request]
def handle_request(request: Request) -> Response:
    """`/` says Hello, World!; `/user-agent` sends the User-Agent back; anything else is 404."""
    # BEGIN SOLUTION task 2.4
    path = request.target.split("?", 1)[0]
    if path == "/":
        return text_response(200, "Hello, World!")
    if path == "/user-agent":
        # Back byte for byte: Latin-1 turns each character into the byte it came from. No
        # charset in the Content-Type: we do not know what encoding the client used.
        user_agent = request.maybe_header("User-Agent") or ""
        return Response(200, [("Content-Type", "text/plain")], user_agent.encode("latin-1"))
    return text_response(404, f"There is nothing at {path}")
    # END SOLUTION
# --8<-- [end:handle_request]
