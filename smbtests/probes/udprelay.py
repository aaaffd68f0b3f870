"""A UDP relay for the probe: stdlib only, run as `python3 -c SOURCE LIFETIME` over one SSH exec
channel (like scanner.py) or in-process for the local probe.

The runner keeps the QUIC state machine (aioquic, sans-IO: smbtests/quic.py); this relay only
opens UDP sockets on the probe and carries datagrams, so every handshake is made from the
probe's own position and its own stack. Frames in both directions on stdin/stdout are a header
`!cHI` (kind, socket id, payload length) and the payload:

    runner -> relay   O id {"host", "port", "source"}   open a UDP socket connected to host:port
                      D id DATAGRAM                     send it on socket id
    relay -> runner   H 0  "smbtests-udp-relay 1"       first, once: the relay runs
                      O id {"local": "ADDR:PORT"}       socket id is open
                      D id DATAGRAM                     received on socket id
                      E id {"stage", "errno", "text"}   socket id failed (stage open: the probe's
                                                        own stack; recv/send: an ICMP error)

A connected UDP socket hears only its peer and gets the kernel's ICMP errors as ECONNREFUSED
(port unreachable) or EHOSTUNREACH/ENETUNREACH. The relay ends at stdin's end or after LIFETIME
seconds, whichever comes first, so a lost runner never leaves it behind.
"""

from __future__ import annotations

import errno
import json
import os
import selectors
import socket
import struct
import sys
import time

HEADER = struct.Struct("!cHI")
MAX_PAYLOAD = 65535
MAX_SOCKETS = 4096
HELLO = b"smbtests-udp-relay 1"


def _write(fd: int, kind: bytes, ident: int, payload: bytes) -> None:
    data = HEADER.pack(kind, ident, len(payload)) + payload
    while data:
        data = data[os.write(fd, data) :]


def _failure(fd: int, ident: int, stage: str, exc: OSError) -> None:
    code = errno.errorcode.get(exc.errno or 0, "EIO")
    text = json.dumps({"stage": stage, "errno": code, "text": exc.strerror or str(exc)})
    _write(fd, b"E", ident, text.encode())


def _open(request: dict[str, object]) -> socket.socket:
    host, port, source = str(request["host"]), int(str(request["port"])), str(request["source"])
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        if source:
            sock.bind((source, 0))
        sock.connect((host, port))
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def serve(rfd: int, wfd: int, lifetime: float) -> None:
    """Relay frames between (rfd, wfd) and UDP sockets until rfd ends or `lifetime` is over."""
    selector = selectors.DefaultSelector()
    selector.register(rfd, selectors.EVENT_READ, None)
    sockets: dict[int, socket.socket] = {}
    pending = b""
    deadline = time.monotonic() + lifetime
    _write(wfd, b"H", 0, HELLO)
    try:
        while (left := deadline - time.monotonic()) > 0:
            for key, _ in selector.select(left):
                if key.data is not None:
                    _forward_in(key.data, sockets, selector, wfd)
                    continue
                chunk = os.read(rfd, 1 << 16)
                if not chunk:
                    return
                pending += chunk
                while len(pending) >= HEADER.size:
                    kind, ident, length = HEADER.unpack_from(pending)
                    if length > MAX_PAYLOAD:
                        raise SystemExit("udprelay: frame longer than a datagram")
                    if len(pending) < HEADER.size + length:
                        break
                    payload = pending[HEADER.size : HEADER.size + length]
                    pending = pending[HEADER.size + length :]
                    _handle(kind, ident, payload, sockets, selector, wfd)
    finally:
        for sock in sockets.values():
            sock.close()


def _handle(
    kind: bytes,
    ident: int,
    payload: bytes,
    sockets: dict[int, socket.socket],
    selector: selectors.BaseSelector,
    wfd: int,
) -> None:
    if kind == b"O" and ident not in sockets and len(sockets) < MAX_SOCKETS:
        try:
            sock = _open(json.loads(payload))
        except OSError as exc:
            _failure(wfd, ident, "open", exc)
            return
        sockets[ident] = sock
        selector.register(sock, selectors.EVENT_READ, ident)
        local = sock.getsockname()
        _write(wfd, b"O", ident, json.dumps({"local": f"{local[0]}:{local[1]}"}).encode())
    elif kind == b"D" and ident in sockets:
        try:
            sockets[ident].send(payload)
        except BlockingIOError:
            pass  # a full send buffer drops the datagram, as the network may: QUIC resends
        except OSError as exc:
            _close(ident, sockets, selector)
            _failure(wfd, ident, "send", exc)


def _forward_in(
    ident: int, sockets: dict[int, socket.socket], selector: selectors.BaseSelector, wfd: int
) -> None:
    try:
        data = sockets[ident].recv(MAX_PAYLOAD)
    except BlockingIOError:
        return
    except OSError as exc:
        _close(ident, sockets, selector)
        _failure(wfd, ident, "recv", exc)
        return
    _write(wfd, b"D", ident, data)


def _close(ident: int, sockets: dict[int, socket.socket], selector: selectors.BaseSelector) -> None:
    sock = sockets.pop(ident)
    selector.unregister(sock)
    sock.close()


if __name__ == "__main__":
    serve(sys.stdin.fileno(), sys.stdout.fileno(), float(sys.argv[1]))
