"""The probe interface every transport implements (the types it returns live in
smbtests.observations: the plan names targets before any probe exists)."""

from __future__ import annotations

import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from smbtests.observations import ConnectResult, NegotiateResult, OnResult, Target
from smbtests.secrets import Credentials


@dataclass(frozen=True)
class ScanJob:
    """One batch's connects: every target, each bounded by `timeout` seconds, at most
    `concurrency` at once; `on_result`, if given, hears each result as soon as it settles."""

    targets: Sequence[Target]
    timeout: float
    concurrency: int
    on_result: OnResult | None = None


class Probe(Protocol):
    """A vantage point that can open TCP connections on the policy's behalf.

    `scan` connects to every target of the job concurrently and returns one result per target in
    the order given. A backend that can calls the job's `on_result` with each result as soon as
    it settles (so callers need not wait for the slowest target); the returned list is the
    checked, complete answer. Any failure of the probe
    itself raises ProbeError; it never returns a made-up state.
    """

    name: str

    def scan(self, job: ScanJob) -> list[ConnectResult]: ...

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


@runtime_checkable
class Dialer(Protocol):
    """A probe that can open a TCP connection from its own position (`local`: the runner's
    stack; `ssh`: a `direct-tcpip` channel), so SMB is talked from where the probe stands.

    `dial` returns a connected socket, raises OSError/TimeoutError for what the network answered
    (refused, no route, no answer) and ProbeError for a failure of the probe itself.
    """

    name: str

    def dial(self, host: str, port: int, timeout: float) -> socket.socket: ...


@dataclass(frozen=True)
class ShareRequest:
    """What a ShareMapper maps: the host's declared shares as the approved account, and on a
    DC the share whose gpt.ini it reads. `account` hides its password in any repr."""

    host: str
    shares: tuple[str, ...]
    sysvol: str | None
    account: Credentials
    timeout: float  # seconds each SMB step may wait


@runtime_checkable
class ShareMapper(Protocol):
    """A probe whose own host's SMB client maps shares with explicit credentials (`winrm`: the
    smb-negotiate and smb-path scripts), so SMB is proved from a vantage we cannot dial from.

    `map_shares` returns the scripts' JSON document, checked for shape; any failure of the probe
    raises ProbeError. The password never reaches a message.
    """

    name: str

    def map_shares(self, request: ShareRequest) -> object: ...


@runtime_checkable
class DatagramRelay(Protocol):
    """A probe that can send and receive UDP from its own position (`local`: in-process;
    `ssh`: probes/udprelay.py over one exec channel), so a QUIC handshake leaves from it.

    `relay(lifetime)` returns the runner's end of a stream carrying the relay's frames (the relay
    ends after `lifetime` seconds at the latest); a failure of the probe raises ProbeError.
    """

    name: str

    def relay(self, lifetime: float) -> socket.socket: ...


@runtime_checkable
class SmbAnswerer(Protocol):
    """A probe that cannot dial for us but can tell, from its own host, whether SMB answers at
    host:port (`winrm`: smb-negotiate.ps1): a denied path found open is then told apart as a
    real SMB exposure or only a TCP answer (a proxy, a tarpit)."""

    name: str

    def smb_answers(self, host: str, port: int, timeout: float) -> NegotiateResult: ...
