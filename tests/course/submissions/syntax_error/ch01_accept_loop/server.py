"""Grader fixture `syntax_error` (broken): a syntax error (a missing colon): server.py does not even compile."""

import socket


def create_listener(host, port)
    return socket.create_server((host, port))
