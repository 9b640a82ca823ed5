from .server import create_listener  # fails: server.py imports a missing module

print("unreachable", create_listener)
