def create_listener(host, port):
    return None
