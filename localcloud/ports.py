"""Free ports for a local stack: `vidpipe up` puts the API on P and its moto server on P+1."""

from __future__ import annotations

import socket


def free_port_pair(host: str = "127.0.0.1") -> int:
    """A port P with P+1 also free."""
    for _ in range(100):
        with socket.socket() as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
        try:
            with socket.socket() as s:
                s.bind((host, port + 1))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port pair")


if __name__ == "__main__":
    print(free_port_pair())
