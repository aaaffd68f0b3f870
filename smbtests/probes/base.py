"""The probe interface every transport implements (Target lives in the model: the plan
names targets before any probe exists)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

from smbtests.model import Target

__all__ = ["ConnectResult", "ConnectState", "HostReader", "OnResult", "Probe", "Target"]


class ConnectState(StrEnum):
    """What one TCP connect attempt observed, from the probe's own side."""

    OPEN = "open"  # handshake completed
    REFUSED = "refused"  # RST came back
    FILTERED = "filtered"  # no answer before the per-connect timeout
    UNREACHABLE = "unreachable"  # an ICMP error came back from the network
    ERROR = "error"  # the probe's own stack failed (EPERM, no route of its own, ...)


@dataclass(frozen=True)
class ConnectResult:
    target: Target
    state: ConnectState
    errno: int | None
    latency_ms: float
    detail: str


OnResult = Callable[[ConnectResult], None]


class Probe(Protocol):
    """A vantage point that can open TCP connections on the policy's behalf.

    `scan` connects to every target concurrently (at most `concurrency` at once, each bounded by
    `timeout` seconds) and returns one result per target in the order given. A backend that can
    calls `on_result` with each result as soon as it settles (so callers need not wait for the
    slowest target); the returned list is the checked, complete answer. Any failure of the probe
    itself raises ProbeError; it never returns a made-up state.
    """

    name: str

    def scan(
        self,
        targets: Sequence[Target],
        timeout: float,
        concurrency: int,
        on_result: OnResult | None = None,
    ) -> list[ConnectResult]: ...

    def close(self) -> None: ...


@runtime_checkable
class HostReader(Protocol):
    """A probe that can also read its host's own configuration (a `winrm` probe).

    `run_json(kind)` returns the reading's JSON document, checked for shape; any failure raises
    ProbeError.
    """

    name: str

    def run_json(self, kind: str) -> object: ...

    def close(self) -> None: ...
