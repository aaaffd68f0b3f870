"""smbtests/probes/_tunnel.py: a channel whose SSH transport is gone (the probe was closed at
its batch's end) ends the pump quietly, never as an exception in its thread."""

from __future__ import annotations

import socket
import threading
from typing import Any

import pytest

from smbtests.probes import _tunnel


class GoneChannel:
    """Selectable like a paramiko channel; every call fails as one of a closed transport."""

    def __init__(self) -> None:
        self._ours, self._theirs = socket.socketpair()
        self._theirs.send(b"x")  # readable: the pump asks it for data at once
        self.close_calls = 0

    def fileno(self) -> int:
        return self._ours.fileno()

    def recv(self, size: int) -> bytes:
        raise EOFError

    def sendall(self, data: bytes) -> None:
        raise EOFError

    def close(self) -> None:
        self.close_calls += 1
        self._ours.close()
        self._theirs.close()
        raise EOFError


def test_a_channel_of_a_closed_transport_ends_the_pump_without_an_exception(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    raised: list[Any] = []
    monkeypatch.setattr(threading, "excepthook", raised.append)
    channel = GoneChannel()
    mine = _tunnel.bridge(channel)  # type: ignore[arg-type]
    pumps = [t for t in threading.enumerate() if t.name == "smbtests-tunnel"]
    for pump in pumps:
        pump.join(timeout=5)
    assert not any(p.is_alive() for p in pumps)
    assert channel.close_calls == 1 and raised == []
    assert mine.recv(1) == b""  # the caller's end sees the close
    mine.close()
