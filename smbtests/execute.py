"""Execution: run the planned checks as batches, concurrently, and hand out observations.

Checks that share a batch key run together: one probe's connect scan (control, reach,
discovery, exception use: one remote invocation connecting to all its targets at once, the
control always included, so a whole run costs about one connect timeout per probe), one host's
SMB talk from one vantage (the runner, or a probe: its SSH channels carry the SMB), one Windows
host's readings over WinRM. Each check's kind says what it needs; a batch fetches the union once
and every check is settled as soon as its own needs are known. A kind may ask for follow-ups
once its needs are known (`followups`, e.g. an SMB negotiate to a target that must be closed but
was open): the batch fetches them from the same vantage before settling that check. A scan's
checks are released only once the probe's whole answer passed the protocol checks (exit status,
end marker, one record per target): a streamed record is provisional, and a breach found later
errors every check of that scan, never leaving a pass behind.

`smbtests.smb` and `smbtests.quic` are imported where a batch first talks SMB or QUIC:
impacket and aioquic take ~0.13 s to import, a tenth of a run of connect checks that never
needs them.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from smbtests.checks._paths import control_targets, port_control_targets
from smbtests.checks.base import (
    RUNNER,
    BatchKey,
    BatchKind,
    Check,
    Connect,
    Need,
    SmbAnswers,
    SmbNeed,
)
from smbtests.checks.registry import kind_of
from smbtests.config import DIALECTS, LoadedConfig
from smbtests.errors import ProbeError
from smbtests.observations import ConnectResult, HostQuery, Observation, QuicRequest, Target
from smbtests.probes.base import (
    Dialer,
    HostReader,
    Probe,
    ScanJob,
    ShareMapper,
    ShareRequest,
    SmbAnswerer,
)
from smbtests.progress import OnProgress, ScanCounter
from smbtests.secrets import Credentials
from smbtests.settle import Settler

if TYPE_CHECKING:
    from smbtests import smb

ProbeOpener = Callable[[str], Probe]
ReaderOpener = Callable[[str], HostReader]
GUEST = Credentials("guest", "", "")
SMB_DIRECT = 445


@dataclass(frozen=True)
class _Batch:
    """One batch as its runner sees it: its key, its checks, what each needs, its settler."""

    key: BatchKey
    checks: list[Check]
    needs: Mapping[str, tuple[Need, ...]]
    settler: Settler


class Executor:
    """Runs batches on a thread pool. Every check has its own future: `observe(check)` waits
    only for what that check needs."""

    def __init__(
        self,
        config: LoadedConfig,
        checks: Sequence[Check],
        open_probe: ProbeOpener,
        account: Credentials | None,
        open_reader: ReaderOpener | None = None,
        max_parallel: int = 16,
        on_progress: OnProgress | None = None,
    ) -> None:
        self._config = config
        self._on_progress = on_progress
        self._open_probe = open_probe
        self._open_reader = open_reader
        self._account = account
        self._batches: dict[BatchKey, list[Check]] = {}
        for check in checks:
            self._batches.setdefault(check.batch, []).append(check)
        self._futures: dict[BatchKey, Future[None]] = {}
        self._outcomes: dict[str, Future[Observation]] = {c.id: Future() for c in checks}
        self._observed_at: dict[str, str] = {}  # check id -> UTC time of its observation
        timing = config.environment.timing
        # every batch bounds itself; this is the backstop should one of them hang anyway
        self._deadline = timing.probe_timeout + 8 * timing.smb_timeout + 30.0
        self._lock = threading.Lock()
        self._scans_started = False
        self._walks: dict[str, threading.Lock] = {}  # host -> its path walks' lock
        self._pool = ThreadPoolExecutor(
            max_workers=max(1, min(max_parallel, len(self._batches))),
            thread_name_prefix="smbtests-batch",
        )

    @property
    def batch_keys(self) -> list[BatchKey]:
        return sorted(self._batches)

    def start(self, kinds: Collection[BatchKind] | None = None) -> None:
        """Start batches now (all by default, or those of some kinds) so their timeouts overlap."""
        for key in self.batch_keys:
            if kinds is None or key.kind in kinds:
                self._future(key)

    def _future(self, key: BatchKey) -> Future[None]:
        with self._lock:
            if key not in self._futures:
                self._futures[key] = self._pool.submit(self._run_batch, key)
            return self._futures[key]

    def observe(self, check: Check) -> Observation:
        if check.batch.kind is BatchKind.SCAN and not self._scans_started:
            # scans are I/O-bound: start every probe's batch together so their timeouts overlap
            self.start([BatchKind.SCAN])
            self._scans_started = True
        self._future(check.batch)
        try:
            return self._outcomes[check.id].result(timeout=self._deadline)
        except FutureTimeout:
            raise ProbeError(
                check.probe or RUNNER,
                f"batch {check.batch} did not finish within {self._deadline:g} s",
            ) from None

    def settled(self, check: Check) -> bool:
        """Whether `observe(check)` returns at once (its observation or its failure is known)."""
        return self._outcomes[check.id].done()

    def wait_any(self, checks: Sequence[Check]) -> None:
        """Until one of these checks is settled, or the batches' deadline passed."""
        futures = [self._outcomes[c.id] for c in checks]
        wait(futures, timeout=self._deadline, return_when=FIRST_COMPLETED)

    def observed_at(self, check: Check) -> str | None:
        """When (UTC) this check's observation was made, or its failure known; None while it
        has neither (a batch past its deadline)."""
        return self._observed_at.get(check.id)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    # ------------------------------------------------------------ batches

    def _run_batch(self, key: BatchKey) -> None:
        checks = self._batches[key]
        needs = {c.id: tuple(kind_of(c).needs(c, self._config)) for c in checks}
        # a scan's records are only evidence once the whole answer passed the protocol checks
        hold = key.kind is BatchKind.SCAN
        settler = Settler(
            checks, needs, self._outcomes, key, self._account, self._observed_at, hold=hold
        )
        runners = {
            BatchKind.SCAN: self._scan,
            BatchKind.SMB: self._smb,
            BatchKind.WINDOWS: self._windows,
        }
        try:
            runners[key.kind](_Batch(key, checks, needs, settler))
        except Exception as exc:  # a failing batch errors all its items, held ones too
            settler.fail(as_probe_error(key.name or RUNNER, exc))
        else:
            settler.confirm()
        settler.fail(ProbeError(key.name or RUNNER, f"batch {key} ended without an answer"))

    def _scan(self, batch: _Batch) -> None:
        key, checks, needs, settler = batch.key, batch.checks, batch.needs, batch.settler
        if key.name is None:  # exceptions whose source holds no probe: governance only
            settler.without_probe()
            return
        timing = self._config.environment.timing
        probe_config = self._config.environment.probes[key.name]
        controls = control_targets(probe_config)
        port_controls = port_control_targets(probe_config)
        targets = [*controls, *port_controls]
        targets += [n.target for c in checks for n in needs[c.id] if isinstance(n, Connect)]
        unique = list(dict.fromkeys(targets))
        settler.expect_controls(controls, port_controls)
        probe = self._open_probe(key.name)
        counter = ScanCounter(key.name, len(unique), self._on_progress or (lambda _: None))

        def streamed(result: ConnectResult) -> None:
            counter.saw(result)
            settler.connected(result)

        try:
            results = probe.scan(
                ScanJob(unique, timing.connect_timeout, timing.concurrency, streamed)
            )
            for result in results:  # the checked, complete answer settles what streaming missed
                streamed(result)
            counter.finish()
            # a Windows vantage's own readings (its outbound rules), over the same shell
            for query in sorted(n for n in _union(needs) if isinstance(n, HostQuery)):
                run_json = getattr(probe, "run_json", None)
                reading = (
                    _attempt(key.name, partial(run_json, query))
                    if run_json is not None
                    else ProbeError(key.name, f"probe {key.name} cannot read {query}")
                )
                settler.known(query, reading)
            # QUIC handshakes from the probe's position (its UDP relay), all at once
            handshakes = sorted(n for n in _union(needs) if isinstance(n, QuicRequest))
            if handshakes:
                from smbtests import quic  # imported here: see the module's docstring

                ca_bundle = self._config.environment.quic.ca_bundle
                found = quic.from_probe(probe, handshakes, timing.connect_timeout, ca_bundle)
                for request, value in found.items():
                    settler.known(request, value)
            # asked once a check's own needs were known (the readings above included)
            for need in settler.follow_ups():
                settler.known(need, self._fetch_from_probe(need, probe))
        finally:
            probe.close()

    def _fetch_from_probe(self, need: Need, probe: Probe) -> object:
        if not isinstance(need, SmbAnswers):
            return ProbeError(probe.name, f"a scan cannot fetch {need}")
        timeout = self._config.environment.timing.smb_timeout
        target = need.target
        if isinstance(probe, SmbAnswerer):
            return _attempt(
                probe.name, partial(probe.smb_answers, target.host, target.port, timeout)
            )
        if not isinstance(probe, Dialer):
            return ProbeError(probe.name, "this probe cannot talk SMB from its position")
        from smbtests import smb

        return _attempt(
            probe.name, partial(smb.smb_answers, target.host, target.port, timeout, probe.dial)
        )

    def _smb(self, batch: _Batch) -> None:
        key, checks, needs, settler = batch.key, batch.checks, batch.needs, batch.settler
        target = checks[0].target  # one host at one port per batch
        assert target is not None
        if key.vantage == RUNNER:
            from smbtests import smb

            for need in _union(needs):
                settler.known(need, self._fetch_smb(need, key, target, smb.direct))
            return
        probe = self._open_probe(key.vantage)
        try:
            for need in _union(needs):
                if need is SmbNeed.PATH_FROM_WINDOWS and isinstance(probe, ShareMapper):
                    settler.known(need, self._map_shares(key, target, probe))
                elif isinstance(probe, Dialer):
                    settler.known(need, self._fetch_smb(need, key, target, probe.dial))
                else:
                    raise ProbeError(key.vantage, "this probe cannot talk SMB from its position")
        finally:
            probe.close()

    def _map_shares(self, key: BatchKey, target: Target, probe: ShareMapper) -> object:
        """The approved account's mappings by a Windows vantage's own SMB client."""
        if self._account is None:
            return ProbeError(RUNNER, "smb-path needs an SMB account: set smb.credential")
        shares, sysvol = self._path_shares(key, target.port)
        timeout = self._config.environment.timing.smb_timeout
        request = ShareRequest(target.host, shares, sysvol, self._account, timeout)
        walk = partial(self._walk, target.host, partial(probe.map_shares, request))
        return _attempt(key.vantage, walk)

    def _walk(self, host: str, fetch: Callable[[], object]) -> object:
        """One conversation that opens a host's shares (a session, a path walk, a DC's SYSVOL)
        per host at a time in this process, from all its vantages (under xdist a host's batches
        are one group: plugins/order.py::batch_group): Samba 4.17's smbd panics now and then
        when several sessions open the same file at once ("Could not store share mode data";
        the lab's dc1: 2-3 of 240 sessions four at a time, none of 250 one at a time), which
        reads as a path that does not work or an account that cannot log in; negotiations are
        not held back."""
        with self._lock:
            lock = self._walks.setdefault(host, threading.Lock())
        with lock:
            return fetch()

    def _path_shares(self, key: BatchKey, port: int) -> tuple[tuple[str, ...], str | None]:
        """The host's declared shares, and for a DC over SMB direct the one holding SYSVOL."""
        name = key.name or ""
        windows = self._config.environment.windows_hosts.get(name)
        if key.kind is BatchKind.WINDOWS:  # drift's sessions open the shares of its smb_host
            name = "" if windows is None or windows.smb_host is None else windows.smb_host
        smb_host = self._config.policy.smb_hosts.get(name)
        shares = () if smb_host is None else smb_host.shares
        # GPO processing reads SYSVOL over SMB direct; over the NetBIOS session service
        # (139) impacket's file read is answered STATUS_INVALID_PARAMETER by Samba (measured),
        # so there the path proves share access only
        reads_sysvol = smb_host is not None and smb_host.role == "dc" and port == SMB_DIRECT
        return shares, sysvol_share(shares) if reads_sysvol else None

    def _windows(self, batch: _Batch) -> None:
        """All readings the host's checks need, over one WinRM shell; wire facts for drift."""
        key, checks, needs, settler = batch.key, batch.checks, batch.needs, batch.settler
        wanted = _union(needs)
        queries = [n for n in wanted if isinstance(n, HostQuery)]
        if self._open_reader is None:
            raise ProbeError(key.name or "", "no reader for Windows hosts was configured")
        reader = self._open_reader(key.name or "")
        try:
            for query in sorted(queries):
                settler.known(query, _attempt(key.name or "", partial(reader.run_json, query)))
        finally:
            reader.close()
        target = next((c.target for c in checks if c.target is not None), None)
        for need in wanted:
            if isinstance(need, SmbNeed) and target is not None:
                from smbtests import smb

                settler.known(need, self._fetch_smb(need, key, target, smb.direct))

    def _fetch_smb(self, need: Need, key: BatchKey, target: Target, dial: smb.Dial) -> object:
        """One SMB conversation from the batch's vantage; a failure is held as the ProbeError."""
        from smbtests import smb

        host, port = target.host, target.port
        timeout = self._config.environment.timing.smb_timeout
        plain = smb.UNSIGNED_PROBE_DIALECT
        shares, sysvol = self._path_shares(key, port)

        def account() -> Credentials:
            if self._account is None:
                raise ProbeError(
                    RUNNER, "this check needs an SMB account: set smb.credential in the environment"
                )
            return self._account

        def session(
            user: Credentials | None, dialect: str | None, read: str | None = None
        ) -> object:
            opens = partial(smb.open_session, host, port, timeout, user, dialect, shares, dial)
            return self._walk(host, partial(smb.once_more_if_cut, partial(opens, read)))

        fetch: dict[Need, Callable[[], object]] = {
            SmbNeed.SMB1: lambda: smb.negotiate_smb1(host, port, timeout, dial),
            SmbNeed.NEGOTIATIONS: lambda: tuple(
                smb.negotiate_smb2(host, port, (d,), timeout, dial) for d in DIALECTS
            ),
            SmbNeed.NEGOTIATE: lambda: smb.negotiate_smb2(host, port, DIALECTS, timeout, dial),
            SmbNeed.BELOW_FLOOR: lambda: smb.negotiate_smb2(
                host,
                port,
                self._config.policy.baseline_for(key.name or "").below_floor(),
                timeout,
                dial,
            ),
            SmbNeed.ANONYMOUS: lambda: session(None, plain),
            SmbNeed.GUEST: lambda: session(GUEST, plain),
            SmbNeed.ACCOUNT: lambda: session(account(), None),
            SmbNeed.ACCOUNT_UNENCRYPTED: lambda: session(account(), plain),
            SmbNeed.PATH: lambda: session(account(), None, sysvol),
            SmbNeed.SOURCE: lambda: source_toward(host, port),
        }
        return _attempt(key.vantage, fetch[need])


def source_toward(host: str, port: int) -> str:
    """The runner's address its connections to host use: the kernel's route choice for a
    connected UDP socket (no packet leaves)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as probe:
        probe.connect((host, port))
        return str(probe.getsockname()[0])


def sysvol_share(shares: tuple[str, ...]) -> str:
    """The declared share a DC serves group policy from (SYSVOL, whatever its case)."""
    return next((share for share in shares if share.lower() == "sysvol"), "SYSVOL")


def _union(needs: Mapping[str, tuple[Need, ...]]) -> list[Need]:
    return list(dict.fromkeys(n for wanted in needs.values() for n in wanted))


def _attempt(vantage: str, fetch: Callable[[], object]) -> object:
    try:
        return fetch()
    except Exception as exc:
        return _relabel(as_probe_error(vantage, exc), vantage)


def _relabel(error: ProbeError, vantage: str) -> ProbeError:
    """smb.py names the runner; SMB talked from a probe is that probe's (same class)."""
    if error.probe != RUNNER or vantage == RUNNER:
        return error
    moved = type(error).__new__(type(error))  # same class, whatever its __init__ takes
    moved.__dict__.update(error.__dict__)
    moved.probe = vantage
    moved.args = (str(error).replace(f"probe {RUNNER}:", f"probe {vantage}:", 1),)
    return moved


def as_probe_error(vantage: str, exc: Exception) -> ProbeError:
    """Any failure while observing is the vantage's failure, never evidence about the host."""
    if isinstance(exc, ProbeError):
        return exc
    return ProbeError(vantage, f"{type(exc).__name__}: {str(exc)[:160]}")
