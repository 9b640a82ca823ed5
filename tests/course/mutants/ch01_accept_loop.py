"""Classic chapter 1 mistakes."""

from . import Mutant

CHAPTER = "ch01_accept_loop"

MUTANTS = [
    Mutant(
        CHAPTER,
        "single_recv",
        "assumes one recv() returns the whole request",
        "server.py",
        '''    while b"\\r\\n\\r\\n" not in received:
        chunk = connection.recv(RECEIVE_SIZE)
        if not chunk:  # the client closed its side: nothing more will come
            break
        received += chunk''',
        '''    received = connection.recv(RECEIVE_SIZE)''',
    ),
    Mutant(
        CHAPTER,
        "blank_line_searched_per_chunk",
        "looks for CR LF CR LF in each chunk instead of in everything received",
        "server.py",
        '''    while b"\\r\\n\\r\\n" not in received:
        chunk = connection.recv(RECEIVE_SIZE)
        if not chunk:  # the client closed its side: nothing more will come
            break
        received += chunk''',
        '''    while True:
        chunk = connection.recv(RECEIVE_SIZE)
        received += chunk
        if not chunk or b"\\r\\n\\r\\n" in chunk:
            break''',
    ),
    Mutant(
        CHAPTER,
        "bare_lf",
        "ends the lines of the head with LF instead of CRLF",
        "response.py",
        '''    head = "\\r\\n".join(lines) + "\\r\\n\\r\\n"''',
        '''    head = "\\n".join(lines) + "\\n\\n"''',
    ),
    Mutant(
        CHAPTER,
        "no_content_length",
        "sends no Content-Length",
        "response.py",
        '''    lines.append(f"Content-Length: {len(body)}")\n''',
        "",
    ),
    Mutant(
        CHAPTER,
        "no_reuseaddr",
        "forgets SO_REUSEADDR",
        "server.py",
        '''    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n''',
        "",
    ),
    Mutant(
        CHAPTER,
        "listening_line_not_flushed",
        "prints the Listening line without flushing it",
        "__main__.py",
        'print(f"Listening on http://{host}:{port}", flush=True)',
        'print(f"Listening on http://{host}:{port}")',
    ),
    Mutant(
        CHAPTER,
        "dies_on_reset",
        "lets one client's connection error end the server",
        "server.py",
        '''            try:
                handle_connection(connection)
            except OSError as error:
                # The client reset or vanished mid-exchange: that ends its connection only.
                log(f"{client_host}:{client_port}: connection lost: {error}")
            except Exception:''',
        '''            try:
                handle_connection(connection)
            except ValueError:''',
    ),
    Mutant(
        CHAPTER,
        "answers_without_reading",
        "answers at once without reading the request",
        "server.py",
        '''    head = read_request_head(connection)''',
        '''    head = b"anything"''',
    ),
]
