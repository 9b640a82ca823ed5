"""Broken: a syntax error (a missing colon), so the package does not even compile."""

import socket


def create_listener(host, port)
    return socket.create_server((host, port))
