"""The connect scanner every Linux probe runs: stdlib only, sent as source over SSH.

Reads {"targets": [[host, port, source], ...], "timeout": s, "concurrency": n, "rate": r} as
JSON on stdin (source "" or absent: the stack chooses; IPv4 and IPv6 alike; at most `rate` new
connects per second, so sweeps stay polite) and writes one JSON line per target as soon as its
connect settles, then {"done": n}.

A connect() that fails at once (before any packet could come back) is the probe's own stack
failing - no route of its own, a local filter that rejects at once, no free socket - and is
reported as "error", never as closed. Only answers that came back over the network (RST, ICMP)
or silence until the timeout count as refused / unreachable / filtered. A local filter that
silently drops looks like a network drop here: the positive control in every batch exposes one
that drops everything, but not one that drops only port 445 (see docs/architecture.md).
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
INFINITE = float("inf")


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


def _socket(host: str, source: str) -> socket.socket:
    """A non-blocking TCP socket of the host's IP version, bound to `source` when one is given."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        if source:
            sock.bind((source, 0))
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def _has_peer(sock: socket.socket) -> bool:
    """Whether the connect really completed: a writable socket with no error has a peer."""
    try:
        sock.getpeername()
    except OSError:
        return False
    return True


def scan(
    targets: list[list[Any]],
    timeout: float,
    concurrency: int,
    emit: Emit,
    rate: float = INFINITE,
) -> None:
    """Connect to every [host, port, source] with at most `concurrency` in flight and at most
    `rate` new connects per second; emit each result."""
    selector = selectors.DefaultSelector()
    pending = list(enumerate(targets))
    pending.reverse()
    in_flight: dict[int, tuple[socket.socket, float]] = {}
    began = time.monotonic()
    started_count = 0
    try:
        while pending or in_flight:
            # the rate bounds how many connects may have started by now
            allowed = int((time.monotonic() - began) * rate) + 1 if rate < INFINITE else None
            while (
                pending
                and len(in_flight) < concurrency
                and (allowed is None or started_count < allowed)
            ):
                index, target = pending.pop()
                host, port = str(target[0]), int(target[1])
                source = str(target[2]) if len(target) > 2 else ""
                started = time.monotonic()
                started_count += 1
                try:
                    sock = _socket(host, source)
                except OSError as exc:
                    _settle(index, "error", exc.errno, started, "socket: " + str(exc), emit)
                    continue
                code = sock.connect_ex((host, port))
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
            now = time.monotonic()
            next_start = began + started_count / rate if pending else INFINITE
            if not in_flight:
                if pending:
                    time.sleep(max(0.0, next_start - now))  # the rate limit's own pause
                continue
            # in_flight keeps start order, so its first entry holds the nearest deadline
            next_deadline = next(iter(in_flight.values()))[1] + timeout
            wake = min(next_deadline, next_start) if len(in_flight) < concurrency else next_deadline
            for key, _ in selector.select(max(0.0, wake - now)):
                index = key.data
                sock, started = in_flight.pop(index)
                selector.unregister(sock)
                code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                connected = code == 0 and _has_peer(sock)
                sock.close()
                if connected:
                    _settle(index, "open", None, started, "connected", emit)
                elif code == 0:
                    # writable with no error yet no peer: the connect failed and its error was
                    # lost (seen on absent addresses of the probe's own segment under load);
                    # never an open port
                    _settle(index, "unreachable", None, started, "connect did not complete", emit)
                elif code == errno.ECONNREFUSED:
                    _settle(index, "refused", code, started, "connection reset", emit)
                elif code in NETWORK_UNREACHABLE:
                    _settle(index, "unreachable", code, started, errno.errorcode[code], emit)
                else:
                    _settle(
                        index, "error", code, started, errno.errorcode.get(code, str(code)), emit
                    )
            now = time.monotonic()
            while in_flight:
                index, (sock, started) = next(iter(in_flight.items()))
                if now - started < timeout:
                    break
                del in_flight[index]
                selector.unregister(sock)
                sock.close()
                _settle(index, "filtered", None, started, "no answer", emit)
    finally:
        for sock, _ in in_flight.values():
            sock.close()
        selector.close()


def raise_file_limit(concurrency: int) -> int:
    """Lift the soft open-files limit towards the hard one; return the concurrency it allows."""
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        wanted = concurrency + 64
        if soft != resource.RLIM_INFINITY and soft < wanted:
            new_soft = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
            resource.setrlimit(resource.RLIMIT_NOFILE, (new_soft, hard))
            soft = new_soft
        if soft == resource.RLIM_INFINITY:
            return concurrency
        return max(1, min(concurrency, soft - 64))
    except (ImportError, ValueError, OSError):
        return concurrency


def main() -> None:
    request = json.loads(sys.stdin.read())
    targets = request["targets"]

    def emit(result: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()

    concurrency = raise_file_limit(int(request["concurrency"]))
    rate = float(request.get("rate") or INFINITE)
    scan(targets, float(request["timeout"]), concurrency, emit, rate)
    emit({"done": len(targets)})


if __name__ == "__main__":
    main()
