"""Grader fixture `import_error` (broken): imports a module that does not exist, so the server cannot start."""

import socket

import httpserver_helpers_that_do_not_exist  # noqa: F401


def create_listener(host, port):
    return socket.create_server((host, port))
