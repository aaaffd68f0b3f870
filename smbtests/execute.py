"""Execution: run the planned checks as batches, concurrently, and hand out observations.

Checks that share a batch key run together: one probe's connect scan (control, reach,
discovery, exception use: one remote invocation connecting to all its targets at once, the
control always included, so a whole run costs about one connect timeout per probe), one host's
SMB talk from the runner, one Windows host's readings over WinRM. Each check's kind says what it
needs; a batch fetches the union once and every check is settled as soon as its own needs are
known (a streaming probe delivers them while slower targets are still timing out).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from functools import partial

from smbtests import smb
from smbtests.checks.base import BatchKey, BatchKind, Check, Connect, Facts, Need, SmbNeed
from smbtests.checks.registry import kind_of
from smbtests.config import DIALECTS, LoadedConfig
from smbtests.errors import ProbeError
from smbtests.observations import ConnectResult, HostQuery, Observation, Target
from smbtests.probes.base import HostReader, Probe
from smbtests.secrets import Credentials

ProbeOpener = Callable[[str], Probe]
ReaderOpener = Callable[[str], HostReader]
RUNNER = "runner"  # the vantage of SMB talk: the process running smbtests
GUEST = Credentials("guest", "", "")


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
    ) -> None:
        self._config = config
        self._open_probe = open_probe
        self._open_reader = open_reader
        self._account = account
        self._batches: dict[BatchKey, list[Check]] = {}
        for check in checks:
            self._batches.setdefault(check.batch, []).append(check)
        self._futures: dict[BatchKey, Future[None]] = {}
        self._outcomes: dict[str, Future[Observation]] = {c.id: Future() for c in checks}
        timing = config.environment.timing
        # every batch bounds itself; this is the backstop should one of them hang anyway
        self._deadline = timing.probe_timeout + 8 * timing.smb_timeout + 30.0
        self._lock = threading.Lock()
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
        if check.batch.kind is BatchKind.SCAN:
            # scans are I/O-bound: start every probe's batch together so their timeouts overlap
            self.start([BatchKind.SCAN])
        self._future(check.batch)
        try:
            return self._outcomes[check.id].result(timeout=self._deadline)
        except FutureTimeout:
            raise ProbeError(
                check.probe or RUNNER,
                f"batch {check.batch} did not finish within {self._deadline:g} s",
            ) from None

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    # ------------------------------------------------------------ batches

    def _run_batch(self, key: BatchKey) -> None:
        checks = self._batches[key]
        needs = {c.id: tuple(kind_of(c).needs(c, self._config)) for c in checks}
        settler = _Settler(checks, needs, self._outcomes, key, self._account)
        runners = {
            BatchKind.SCAN: self._scan,
            BatchKind.SMB: self._smb,
            BatchKind.WINDOWS: self._windows,
        }
        try:
            runners[key.kind](key, checks, needs, settler)
        except Exception as exc:  # a failing batch errors its unsettled items, never hangs them
            settler.fail(as_probe_error(key.name or RUNNER, exc))
        settler.fail(ProbeError(key.name or RUNNER, f"batch {key} ended without an answer"))

    def _scan(
        self,
        key: BatchKey,
        checks: list[Check],
        needs: Mapping[str, tuple[Need, ...]],
        settler: _Settler,
    ) -> None:
        if key.name is None:  # exceptions whose source holds no probe: governance only
            settler.without_probe()
            return
        probe_config = self._config.environment.probes[key.name]
        timing = self._config.environment.timing
        assert probe_config.control is not None
        control = Target(str(probe_config.control.address), probe_config.control.port)
        targets = [control]
        targets += [n.target for c in checks for n in needs[c.id] if isinstance(n, Connect)]
        unique = list(dict.fromkeys(targets))
        settler.expect_control(control)
        probe = self._open_probe(key.name)
        try:
            results = probe.scan(
                unique, timing.connect_timeout, timing.concurrency, settler.connected
            )
            # a Windows vantage's own readings (its outbound rules), over the same shell
            for query in sorted(n for n in _union(needs) if isinstance(n, HostQuery)):
                run_json = getattr(probe, "run_json", None)
                reading = (
                    _attempt(key.name, partial(run_json, query))
                    if run_json is not None
                    else ProbeError(key.name, f"probe {key.name} cannot read {query}")
                )
                settler.known(query, reading)
        finally:
            probe.close()
        for result in results:  # the checked, complete answer settles whatever streaming missed
            settler.connected(result)

    def _smb(
        self,
        key: BatchKey,
        checks: list[Check],
        needs: Mapping[str, tuple[Need, ...]],
        settler: _Settler,
    ) -> None:
        target = checks[0].target
        assert target is not None
        shares = self._config.policy.smb_hosts[key.name or ""].shares
        for need in _union(needs):
            settler.known(need, self._fetch_smb(need, target, shares))

    def _windows(
        self,
        key: BatchKey,
        checks: list[Check],
        needs: Mapping[str, tuple[Need, ...]],
        settler: _Settler,
    ) -> None:
        """All readings the host's checks need, over one WinRM shell; wire facts for drift."""
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
                settler.known(need, self._fetch_smb(need, target, ()))

    def _fetch_smb(self, need: Need, target: Target, shares: tuple[str, ...]) -> object:
        """One SMB conversation from the runner; a failure is held as the ProbeError."""
        host, port = target.host, target.port
        timeout = self._config.environment.timing.smb_timeout
        plain = smb.UNSIGNED_PROBE_DIALECT

        def account() -> Credentials:
            if self._account is None:
                raise ProbeError(
                    RUNNER, "this check needs an SMB account: set smb.credential in the environment"
                )
            return self._account

        fetch: dict[Need, Callable[[], object]] = {
            SmbNeed.SMB1: lambda: smb.negotiate_smb1(host, port, timeout),
            SmbNeed.NEGOTIATIONS: lambda: tuple(
                smb.negotiate_smb2(host, port, d, timeout) for d in DIALECTS
            ),
            SmbNeed.ANONYMOUS: lambda: smb.open_session(host, port, timeout, None, plain, shares),
            SmbNeed.GUEST: lambda: smb.open_session(host, port, timeout, GUEST, plain, shares),
            SmbNeed.ACCOUNT: lambda: smb.open_session(host, port, timeout, account(), None, shares),
            SmbNeed.ACCOUNT_UNENCRYPTED: lambda: smb.open_session(
                host, port, timeout, account(), plain, shares
            ),
        }
        return _attempt(RUNNER, fetch[need])


class _Settler:
    """Settles each check of one batch as soon as everything it needs is known: its facts
    and, for scans, the probe's control. Runs in the batch's thread."""

    def __init__(
        self,
        checks: list[Check],
        needs: Mapping[str, tuple[Need, ...]],
        outcomes: Mapping[str, Future[Observation]],
        key: BatchKey,
        account: Credentials | None,
    ) -> None:
        self._checks = {c.id: c for c in checks}
        self._needs = needs
        self._outcomes = outcomes
        self._probe = key.name if key.kind is BatchKind.SCAN else None
        self._account = None if account is None else account.username
        self._known: dict[Need, object] = {}
        self._waiting: dict[Need, set[str]] = {}
        for check_id, wanted in needs.items():
            for need in wanted:
                self._waiting.setdefault(need, set()).add(check_id)
        self._control_target: Target | None = None
        self._control: ConnectResult | None = None

    def expect_control(self, target: Target) -> None:
        self._control_target = target

    def connected(self, result: ConnectResult) -> None:
        if result.target == self._control_target and self._control is None:
            self._control = result
            for check_id in list(self._checks):
                self._try(check_id)
        self.known(Connect(result.target), result)

    def known(self, need: Need, value: object) -> None:
        if need in self._known:
            return
        self._known[need] = value
        for check_id in self._waiting.pop(need, set()):
            self._try(check_id)

    def without_probe(self) -> None:
        for check_id in list(self._checks):
            self._settle(check_id, Facts(probe=None))

    def fail(self, error: ProbeError) -> None:
        """Error every check not settled yet."""
        for check_id in list(self._checks):
            self._outcomes[check_id].set_exception(error)
            del self._checks[check_id]

    def _try(self, check_id: str) -> None:
        if check_id not in self._checks:
            return
        if self._control_target is not None and self._control is None:
            return
        wanted = self._needs[check_id]
        if any(need not in self._known for need in wanted):
            return
        values = {need: self._known[need] for need in wanted}
        self._settle(check_id, Facts(values, self._probe, self._control, self._account))

    def _settle(self, check_id: str, facts: Facts) -> None:
        check = self._checks.pop(check_id)
        future = self._outcomes[check_id]
        try:
            future.set_result(kind_of(check).observe(check, facts))
        except Exception as exc:  # a fact that failed, or a bug in observe: the item errors
            future.set_exception(exc)


def _union(needs: Mapping[str, tuple[Need, ...]]) -> list[Need]:
    return list(dict.fromkeys(n for wanted in needs.values() for n in wanted))


def _attempt(vantage: str, fetch: Callable[[], object]) -> object:
    try:
        return fetch()
    except Exception as exc:
        return as_probe_error(vantage, exc)


def as_probe_error(vantage: str, exc: Exception) -> ProbeError:
    """Any failure while observing is the vantage's failure, never evidence about the host."""
    if isinstance(exc, ProbeError):
        return exc
    return ProbeError(vantage, f"{type(exc).__name__}: {str(exc)[:160]}")
