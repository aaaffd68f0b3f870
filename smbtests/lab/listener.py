"""A TCP listener that accepts and closes: the lab's positive control and its internet server.

Usage: python -m smbtests.lab.listener ADDRESS PORT
Runs until SIGTERM. It speaks no protocol: a completed handshake is all a connect test needs.
"""

from __future__ import annotations

import socket
import sys


def serve(address: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((address, port))
        server.listen(256)
        while True:
            connection, _ = server.accept()
            connection.close()


if __name__ == "__main__":
    serve(sys.argv[1], int(sys.argv[2]))
