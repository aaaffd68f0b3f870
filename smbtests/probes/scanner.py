"""The connect scanner every Linux probe runs: stdlib only, sent as source over SSH.

Reads {"targets": [[host, port], ...], "timeout": s, "concurrency": n} as JSON on stdin and
writes one JSON line per target as soon as its connect settles, then {"done": n}.

A connect() that fails at once (before any packet could come back) is the probe's own stack
failing - no route of its own, a local filter that rejects at once, no free socket - and is
reported as "error", never as closed. Only answers that came back over the network (RST, ICMP)
or silence until the timeout count as refused / unreachable / filtered. A local filter that
silently drops looks like a network drop here; the positive control in every batch exposes it.
"""

from __future__ import annotations

import errno
import json
import selectors
import socket
import sys
import time
from collections.abc import Callable
from typing import Any

Emit = Callable[[dict[str, Any]], None]

NETWORK_UNREACHABLE = {errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN}


def _settle(
    index: int, state: str, err: int | None, started: float, detail: str, emit: Emit
) -> None:
    emit(
        {
            "i": index,
            "state": state,
            "errno": err,
            "ms": round((time.monotonic() - started) * 1000.0, 3),
            "detail": detail,
        }
    )


def scan(targets: list[tuple[str, int]], timeout: float, concurrency: int, emit: Emit) -> None:
    """Connect to every (host, port) with at most `concurrency` in flight; emit each result."""
    selector = selectors.DefaultSelector()
    pending = list(enumerate(targets))
    pending.reverse()
    in_flight: dict[int, tuple[socket.socket, float]] = {}
    try:
        while pending or in_flight:
            while pending and len(in_flight) < concurrency:
                index, (host, port) = pending.pop()
                started = time.monotonic()
                try:
                    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                except OSError as exc:
                    _settle(index, "error", exc.errno, started, "socket: " + str(exc), emit)
                    continue
                sock.setblocking(False)
                code = sock.connect_ex((host, int(port)))
                if code == 0:
                    sock.close()
                    _settle(index, "open", None, started, "connected", emit)
                elif code == errno.EINPROGRESS:
                    selector.register(sock, selectors.EVENT_WRITE, index)
                    in_flight[index] = (sock, started)
                else:
                    sock.close()
                    _settle(
                        index,
                        "error",
                        code,
                        started,
                        "local connect: " + errno.errorcode.get(code, str(code)),
                        emit,
                    )
            if not in_flight:
                continue
            now = time.monotonic()
            next_deadline = min(started + timeout for _, started in in_flight.values())
            for key, _ in selector.select(max(0.0, next_deadline - now)):
                index = key.data
                sock, started = in_flight.pop(index)
                selector.unregister(sock)
                code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                sock.close()
                if code == 0:
                    _settle(index, "open", None, started, "connected", emit)
                elif code == errno.ECONNREFUSED:
                    _settle(index, "refused", code, started, "connection reset", emit)
                elif code in NETWORK_UNREACHABLE:
                    _settle(index, "unreachable", code, started, errno.errorcode[code], emit)
                else:
                    _settle(
                        index, "error", code, started, errno.errorcode.get(code, str(code)), emit
                    )
            now = time.monotonic()
            for index, (sock, started) in list(in_flight.items()):
                if now - started >= timeout:
                    del in_flight[index]
                    selector.unregister(sock)
                    sock.close()
                    _settle(index, "filtered", None, started, "no answer", emit)
    finally:
        for sock, _ in in_flight.values():
            sock.close()
        selector.close()


def main() -> None:
    request = json.loads(sys.stdin.read())
    targets = request["targets"]

    def emit(result: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()

    scan(targets, float(request["timeout"]), int(request["concurrency"]), emit)
    emit({"done": len(targets)})


if __name__ == "__main__":
    main()
