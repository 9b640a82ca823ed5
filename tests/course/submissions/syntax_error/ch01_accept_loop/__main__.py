from .server import create_listener

print("unreachable", create_listener)
