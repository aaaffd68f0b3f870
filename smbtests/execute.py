"""Execution: run the planned checks as batches, concurrently, and hand out observations.

A probe's checks (control, reach, discovery, exception use) run as ONE scan: one remote
invocation connecting to all its targets at once, the control always included, so a whole run
costs about one connect timeout per probe. SMB facts are read per host. Each check waits only
for the batch it belongs to (a future), so items can be asserted while other batches still run.
"""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from smbtests import smb
from smbtests.errors import ProbeError
from smbtests.model import DIALECTS, LoadedConfig, Target
from smbtests.plan import SCAN_KINDS, Check, Kind
from smbtests.probes.base import ConnectResult, HostReader, Probe
from smbtests.probes.winrm_scripts import HostQuery

ProbeOpener = Callable[[str], Probe]
ReaderOpener = Callable[[str], HostReader]

# The configuration readings each Windows check judges.
WINDOWS_READINGS: dict[Kind, tuple[HostQuery, ...]] = {
    Kind.WIN_SMB1: (HostQuery.SMB_SERVER_CONFIGURATION, HostQuery.SMB1_FEATURE),
    Kind.WIN_SIGNING: (HostQuery.SMB_SERVER_CONFIGURATION,),
    Kind.WIN_ENCRYPTION: (HostQuery.SMB_SERVER_CONFIGURATION,),
    Kind.WIN_FIREWALL: (HostQuery.FIREWALL_PROFILES,),
    Kind.WIN_FIREWALL_LOG: (HostQuery.FIREWALL_PROFILES,),
    Kind.WIN_445_RULES: (HostQuery.FIREWALL_RULES_445,),
    Kind.WIN_QUIC: (HostQuery.SMB_SERVER_CONFIGURATION, HostQuery.SMB_CERTIFICATE_MAPPING),
    Kind.DRIFT: (HostQuery.SMB_SERVER_CONFIGURATION, HostQuery.SMB1_FEATURE),
}


@dataclass(frozen=True)
class ReachObservation:
    """A connect to the check's target plus, from the same batch, the probe's control."""

    result: ConnectResult | None  # None: no probe could test this (an exception's source)
    control: ConnectResult | None
    probe: str | None


@dataclass(frozen=True)
class DiscoveryObservation:
    range: str
    scanned: int
    listeners: tuple[str, ...]  # addresses that completed a handshake
    errors: tuple[ConnectResult, ...]
    states: Mapping[str, int]
    control: ConnectResult


@dataclass(frozen=True)
class Smb1Observation:
    result: smb.Smb1Result


@dataclass(frozen=True)
class NegotiationObservation:
    negotiations: tuple[smb.NegotiateResult, ...]


@dataclass(frozen=True)
class SessionObservation:
    session: smb.SessionResult
    as_user: str


@dataclass(frozen=True)
class EncryptionObservation:
    """The same account twice: over 3.x (can encrypt) and over 2.1 (cannot)."""

    capable: smb.SessionResult
    plain: smb.SessionResult
    as_user: str


@dataclass(frozen=True)
class WindowsObservation:
    """Readings of a Windows host's own configuration (query kind -> JSON document), and for
    drift checks what the wire showed of the same host."""

    readings: Mapping[str, object]
    wire_smb1: smb.Smb1Result | None = None
    wire_negotiations: tuple[smb.NegotiateResult, ...] = ()


Observation = (
    ReachObservation
    | DiscoveryObservation
    | Smb1Observation
    | NegotiationObservation
    | SessionObservation
    | EncryptionObservation
    | WindowsObservation
)
Outcome = Observation | ProbeError


class Executor:
    """Runs batches on a thread pool. Every check has its own future: `observe(check)` waits
    only for what that check needs (its target and the probe's control), which a streaming
    probe delivers while the batch's slower targets are still timing out."""

    def __init__(
        self,
        config: LoadedConfig,
        checks: Sequence[Check],
        open_probe: ProbeOpener,
        credentials: smb.Credentials | None,
        open_reader: ReaderOpener | None = None,
        max_parallel: int = 16,
    ) -> None:
        self._config = config
        self._open_probe = open_probe
        self._open_reader = open_reader
        self._credentials = credentials
        self._batches: dict[str, list[Check]] = {}
        for check in checks:
            self._batches.setdefault(check.batch_key, []).append(check)
        self._futures: dict[str, Future[None]] = {}
        self._outcomes: dict[str, Future[Outcome]] = {c.id: Future() for c in checks}
        timing = config.environment.timing
        # every batch bounds itself; this is the backstop should one of them hang anyway
        self._deadline = timing.probe_timeout + 8 * timing.smb_timeout + 30.0
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(
            max_workers=max(1, min(max_parallel, len(self._batches))),
            thread_name_prefix="smbtests-batch",
        )

    @property
    def batch_keys(self) -> list[str]:
        return sorted(self._batches)

    def start(self, keys: Sequence[str] | None = None) -> None:
        """Start batches now (all by default) so their timeouts overlap."""
        for key in keys if keys is not None else self.batch_keys:
            self._future(key)

    def _future(self, key: str) -> Future[None]:
        with self._lock:
            if key not in self._futures:
                self._futures[key] = self._pool.submit(self._run_batch, key)
            return self._futures[key]

    def _resolve(self, check_id: str, outcome: Outcome) -> None:
        future = self._outcomes[check_id]
        if not future.done():
            future.set_result(outcome)

    def observe(self, check: Check) -> Observation:
        if check.kind in SCAN_KINDS:
            # scans are I/O-bound: start every probe's batch together so their timeouts overlap
            self.start([key for key in self.batch_keys if key.startswith("probe:")])
        self._future(check.batch_key)
        try:
            outcome = self._outcomes[check.id].result(timeout=self._deadline)
        except FutureTimeout:
            raise ProbeError(
                check.probe or smb.VANTAGE,
                f"batch {check.batch_key} did not finish within {self._deadline:g} s",
            ) from None
        if isinstance(outcome, ProbeError):
            raise outcome
        return outcome

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    # ------------------------------------------------------------ batches

    def _run_batch(self, key: str) -> None:
        checks = self._batches[key]
        try:
            if key.startswith("probe:"):
                outcomes = self._run_scan(checks)
            elif key.startswith("win:"):
                outcomes = self._run_windows(checks)
            else:
                outcomes = self._run_smb(checks)
        except Exception as exc:  # a bug in a batch must error its items, never hang them
            error = _as_probe_error(checks[0].probe or smb.VANTAGE, exc)
            outcomes = {c.id: error for c in checks}
        for check in checks:
            self._resolve(check.id, outcomes[check.id])

    def _run_scan(self, checks: list[Check]) -> dict[str, Outcome]:
        name = checks[0].probe
        if name is None:  # exceptions whose source holds no probe: governance only
            return {c.id: ReachObservation(None, None, None) for c in checks}
        probe_config = self._config.environment.probes[name]
        timing = self._config.environment.timing
        assert probe_config.control is not None
        control_target = Target(str(probe_config.control.address), probe_config.control.port)
        targets: list[Target] = [control_target]
        ranges: dict[str, list[Target]] = {}
        for check in checks:
            if check.kind is Kind.DISCOVERY and check.discovery_range is not None:
                network = ipaddress.IPv4Network(check.discovery_range)
                ranges[check.id] = [
                    Target(str(address), port)
                    for address in network.hosts()
                    for port in self._config.policy.discovery.ports
                ]
                targets.extend(ranges[check.id])
            elif check.target is not None:
                targets.append(check.target)
        unique = list(dict.fromkeys(targets))
        early = _EarlyResolver(name, control_target, checks, self._resolve)
        try:
            probe = self._open_probe(name)
            try:
                results = probe.scan(
                    unique, timing.connect_timeout, timing.concurrency, early.on_result
                )
            finally:
                probe.close()
        except Exception as exc:  # a backend bug must still error the items, not hang them
            error = _as_probe_error(name, exc)
            return {c.id: error for c in checks}
        by_target = {r.target: r for r in results}
        control = by_target[control_target]
        outcomes: dict[str, Outcome] = {}
        for check in checks:
            if check.id in ranges:
                outcomes[check.id] = _discovery(
                    check, [by_target[t] for t in ranges[check.id]], control
                )
            else:
                assert check.target is not None
                outcomes[check.id] = ReachObservation(by_target[check.target], control, name)
        return outcomes

    def _run_windows(self, checks: list[Check]) -> dict[str, Outcome]:
        """All readings the host's checks need, over one WinRM shell; wire facts for drift."""
        name = checks[0].host or ""
        needed = sorted({query for c in checks for query in WINDOWS_READINGS[c.kind]})
        try:
            if self._open_reader is None:
                raise ProbeError(name, "no reader for Windows hosts was configured")
            reader = self._open_reader(name)
            try:
                readings = {str(query): reader.run_json(query) for query in needed}
            finally:
                reader.close()
        except Exception as exc:
            error = _as_probe_error(name, exc)
            return {c.id: error for c in checks}
        outcomes: dict[str, Outcome] = {}
        for check in checks:
            if check.kind is Kind.DRIFT:
                try:
                    outcomes[check.id] = self._drift(check, readings)
                except Exception as exc:  # only drift needs the wire; the rest stand
                    outcomes[check.id] = _as_probe_error(smb.VANTAGE, exc)
            else:
                outcomes[check.id] = WindowsObservation(readings)
        return outcomes

    def _drift(self, check: Check, readings: Mapping[str, object]) -> WindowsObservation:
        assert check.target is not None
        timeout = self._config.environment.timing.smb_timeout
        host, port = check.target.host, check.target.port
        wire_smb1 = smb.negotiate_smb1(host, port, timeout)
        negotiations = tuple(smb.negotiate_smb2(host, port, d, timeout) for d in DIALECTS)
        return WindowsObservation(readings, wire_smb1, negotiations)

    def _run_smb(self, checks: list[Check]) -> dict[str, Outcome]:
        target = checks[0].target
        assert target is not None
        timeout = self._config.environment.timing.smb_timeout
        negotiations: tuple[smb.NegotiateResult, ...] | ProbeError | None = None
        outcomes: dict[str, Outcome] = {}
        for check in checks:
            try:
                if check.kind in (Kind.SIGNING, Kind.DIALECT):
                    if negotiations is None:
                        try:
                            negotiations = tuple(
                                smb.negotiate_smb2(target.host, target.port, d, timeout)
                                for d in DIALECTS
                            )
                        except Exception as exc:
                            negotiations = _as_probe_error(smb.VANTAGE, exc)
                    if isinstance(negotiations, ProbeError):
                        raise negotiations
                    outcomes[check.id] = NegotiationObservation(negotiations)
                else:
                    outcomes[check.id] = self._smb_single(check, target, timeout)
            except Exception as exc:
                outcomes[check.id] = _as_probe_error(smb.VANTAGE, exc)
        return outcomes

    def _smb_single(self, check: Check, target: Target, timeout: float) -> Observation:
        host = self._config.policy.smb_hosts[check.host or ""]
        if check.kind is Kind.SMB1:
            return Smb1Observation(smb.negotiate_smb1(target.host, target.port, timeout))
        if check.kind in (Kind.ANONYMOUS, Kind.GUEST):
            who = None if check.kind is Kind.ANONYMOUS else smb.Credentials("guest", "", "")
            session = smb.open_session(
                target.host, target.port, timeout, who, smb.UNSIGNED_PROBE_DIALECT, host.shares
            )
            return SessionObservation(session, "anonymous" if who is None else "guest")
        if self._credentials is None:
            raise ProbeError(
                smb.VANTAGE,
                f"{check.kind} needs an SMB account: set smb.credential in the environment",
            )
        session = smb.open_session(
            target.host, target.port, timeout, self._credentials, None, host.shares
        )
        if check.kind is Kind.ENCRYPTION:
            plain = smb.open_session(
                target.host,
                target.port,
                timeout,
                self._credentials,
                smb.UNSIGNED_PROBE_DIALECT,
                host.shares,
            )
            return EncryptionObservation(session, plain, self._credentials.username)
        return SessionObservation(session, self._credentials.username)


class _EarlyResolver:
    """Resolves reach/control/exception checks as soon as their target and the control have
    answered; discovery waits for its whole range. Runs in the batch's thread."""

    def __init__(
        self,
        probe: str,
        control: Target,
        checks: list[Check],
        resolve: Callable[[str, Outcome], None],
    ) -> None:
        self._probe = probe
        self._control_target = control
        self._resolve = resolve
        self._control: ConnectResult | None = None
        self._known: dict[Target, ConnectResult] = {}
        self._waiting: dict[Target, list[Check]] = {}
        for check in checks:
            if check.kind is not Kind.DISCOVERY and check.target is not None:
                self._waiting.setdefault(check.target, []).append(check)

    def on_result(self, result: ConnectResult) -> None:
        self._known[result.target] = result
        if result.target == self._control_target:
            self._control = result
            for target in [t for t in self._waiting if t in self._known]:
                self._settle(target)
        if self._control is not None and result.target in self._waiting:
            self._settle(result.target)

    def _settle(self, target: Target) -> None:
        assert self._control is not None
        for check in self._waiting.pop(target, []):
            observation = ReachObservation(self._known[target], self._control, self._probe)
            self._resolve(check.id, observation)


def _as_probe_error(vantage: str, exc: Exception) -> ProbeError:
    """Any failure while observing is the vantage's failure, never evidence about the host."""
    if isinstance(exc, ProbeError):
        return exc
    return ProbeError(vantage, f"{type(exc).__name__}: {str(exc)[:160]}")


def _discovery(
    check: Check, results: list[ConnectResult], control: ConnectResult
) -> DiscoveryObservation:
    states: dict[str, int] = {}
    for result in results:
        states[result.state.value] = states.get(result.state.value, 0) + 1
    return DiscoveryObservation(
        range=check.discovery_range or "",
        scanned=len(results),
        listeners=tuple(
            sorted(
                {r.target.host for r in results if r.state.value == "open"},
                key=ipaddress.IPv4Address,
            )
        ),
        errors=tuple(r for r in results if r.state.value == "error"),
        states=states,
        control=control,
    )
