"""The runner's end of a UDP relay (udprelay.py): frames over one stream socket, whether its far
end is an SSH exec channel (bridged by _tunnel.bridge) or the relay running in-process.

A reader thread turns the relay's frames into events on a queue, so the QUIC loop waits on one
queue with one timeout for every socket it has open.
"""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import threading
from dataclasses import dataclass

from smbtests.errors import BadOutputError, ProbeError
from smbtests.observations import Target
from smbtests.probes.udprelay import HEADER, HELLO, MAX_PAYLOAD


@dataclass(frozen=True)
class RelayEvent:
    """One frame from the relay: `D` a datagram, `O` a socket opened, `E` a socket failed
    (`info`: stage, errno, text), `end` the relay's stream ended."""

    kind: str
    ident: int
    data: bytes = b""
    info: dict[str, str] | None = None


class DatagramLink:
    def __init__(self, probe: str, stream: socket.socket, hello_timeout: float) -> None:
        self.probe = probe
        self._stream = stream
        self._events: queue.Queue[RelayEvent] = queue.Queue()
        self._reader = threading.Thread(
            target=self._read, daemon=True, name=f"smbtests-relay-{probe}"
        )
        self._reader.start()
        first = self.next_event(hello_timeout)
        if first is None or first.kind != "H" or first.data != HELLO:
            self.close()
            raise ProbeError(
                probe,
                "the UDP relay did not start on the probe (no hello from python3 -c; is python3 "
                "there?)",
            )

    def open(self, ident: int, target: Target) -> None:
        request = {"host": target.host, "port": target.port, "source": target.source}
        self._send(b"O", ident, json.dumps(request).encode())

    def send(self, ident: int, datagram: bytes) -> None:
        self._send(b"D", ident, datagram)

    def _send(self, kind: bytes, ident: int, payload: bytes) -> None:
        try:
            self._stream.sendall(HEADER.pack(kind, ident, len(payload)) + payload)
        except OSError as exc:
            raise ProbeError(self.probe, f"the UDP relay's channel closed: {exc}") from None

    def next_event(self, timeout: float) -> RelayEvent | None:
        """The next frame, or None when none came within `timeout` seconds."""
        try:
            event = self._events.get(timeout=max(0.0, timeout))
        except queue.Empty:
            return None
        if event.kind == "end":
            raise BadOutputError(self.probe, f"the UDP relay ended early: {event.data.decode()}")
        return event

    def _read(self) -> None:
        pending = b""
        why = "its channel closed"
        try:
            while chunk := self._stream.recv(1 << 16):
                pending += chunk
                while len(pending) >= HEADER.size:
                    kind, ident, length = HEADER.unpack_from(pending)
                    if length > MAX_PAYLOAD or kind not in (b"H", b"O", b"D", b"E"):
                        why = f"it wrote a frame that is not the protocol ({kind!r}, {length})"
                        return
                    if len(pending) < HEADER.size + length:
                        break
                    payload = pending[HEADER.size : HEADER.size + length]
                    pending = pending[HEADER.size + length :]
                    self._events.put(_event(kind.decode(), ident, payload))
        except (OSError, ValueError) as exc:
            why = f"{type(exc).__name__}: {exc}"
        finally:
            self._events.put(RelayEvent("end", 0, why.encode()))

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._stream.shutdown(socket.SHUT_RDWR)  # wakes the reader; the relay sees its end
        self._stream.close()
        self._reader.join(timeout=1.0)


def _event(kind: str, ident: int, payload: bytes) -> RelayEvent:
    if kind in ("O", "E"):
        info = json.loads(payload)
        return RelayEvent(kind, ident, info={k: str(v) for k, v in info.items()})
    return RelayEvent(kind, ident, payload)
