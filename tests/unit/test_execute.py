"""The executor releases a scan's checks once the probe's whole answer is verified (while other
batches run on), and turns every failure of a batch into errors of exactly that batch's
checks, those whose records had already arrived too."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from smbtests.checks.base import BatchKey, BatchKind, Check, SmbNeed
from smbtests.checks.registry import build_plan
from smbtests.config import load
from smbtests.errors import BadOutputError, ProbeError
from smbtests.execute import Executor
from smbtests.observations import ConnectResult, ConnectState, ReachObservation, Target
from smbtests.probes._records import ScanReader
from smbtests.probes.base import ScanJob
from smbtests.secrets import Credentials

CONFIG = load(Path(__file__).resolve().parents[2] / "environments" / "lab.yaml")
PLAN = {c.id: c for c in build_plan(CONFIG, date(2026, 11, 26))}
CONTROL = Target("10.45.10.10", 8000)
WAIT = 10.0  # bounds every wait in these tests


class SlowTailProbe:
    """Streams the control and fs1 at once, the rest only when `release` is set."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.release = threading.Event()
        self.streamed = threading.Event()

    def scan(self, job: ScanJob) -> list[ConnectResult]:
        targets, on_result = job.targets, job.on_result
        fast = {CONTROL: ConnectState.OPEN, Target("10.45.10.11", 445): ConnectState.FILTERED}
        results = {t: ConnectResult(t, fast[t], None, 1.0, "") for t in targets if t in fast}
        for result in results.values():
            assert on_result is not None
            on_result(result)
        self.streamed.set()
        assert self.release.wait(WAIT)
        for target in targets:
            if target not in results:
                results[target] = ConnectResult(target, ConnectState.FILTERED, None, 1500.0, "")
                assert on_result is not None
                on_result(results[target])
        return [results[t] for t in targets]

    def close(self) -> None:
        pass


def guest_checks() -> list[Check]:
    return [c for c in PLAN.values() if c.probe == "guest1"]


def test_a_scan_check_waits_for_its_verified_batch_while_other_batches_settle() -> None:
    """Streamed records are provisional: fs1's record is in, but its check is only released
    once the whole scan passed the protocol checks; another probe's batch settles meanwhile."""
    probes = {name: SlowTailProbe(name) for name in ("guest1", "corp1")}
    checks = [c for c in PLAN.values() if c.probe in probes]
    executor = Executor(CONFIG, checks, probes.__getitem__, None)
    observed: list[object] = []
    waiter = threading.Thread(
        target=lambda: observed.append(executor.observe(PLAN["reach:guest1/fs1:445"]))
    )
    try:
        waiter.start()
        assert probes["guest1"].streamed.wait(WAIT)
        probes["corp1"].release.set()
        corp = executor.observe(PLAN["reach:corp1/dc1:445"])
        assert isinstance(corp, ReachObservation)
        assert not observed  # guest1's batch is not verified yet: nothing released
        probes["guest1"].release.set()
        waiter.join(WAIT)
        (observation,) = observed
        assert isinstance(observation, ReachObservation) and observation.result is not None
        assert observation.result.state is ConnectState.FILTERED
    finally:
        for probe in probes.values():
            probe.release.set()
        executor.close()


class ScriptedProbe:
    """A scanner that writes the given lines and exits with `code`, read through the real
    protocol reader (the ssh probe's), so each breach is the one a lying scanner commits."""

    name = "guest1"

    def __init__(self, lines: Callable[[Sequence[Target]], list[str]], code: int = 0) -> None:
        self._lines = lines
        self._code = code

    def scan(self, job: ScanJob) -> list[ConnectResult]:
        reader = ScanReader(self.name, job.targets, job.on_result)
        for line in self._lines(job.targets):
            reader.line(line)
        return reader.finish(self._code, "scanner: something went wrong")

    def close(self) -> None:
        pass


def record(index: int, state: str) -> str:
    return json.dumps({"i": index, "state": state, "errno": None, "ms": 1.0, "detail": ""})


def honest(targets: Sequence[Target]) -> list[str]:
    """Every target refused except the control: streamed first, so a check could settle."""
    lines = [record(i, "open" if t == CONTROL else "refused") for i, t in enumerate(targets)]
    return [*lines, json.dumps({"done": len(targets)})]


def duplicated(targets: Sequence[Target]) -> list[str]:
    fs1 = targets.index(Target("10.45.10.11", 445))
    return [*honest(targets)[:-1], record(fs1, "open"), json.dumps({"done": len(targets)})]


BREACHES = {
    "exit status": (honest, 3, "scanner exited 3"),
    "end marker lost": (lambda t: honest(t)[:-1], 0, "end marker missing"),
    "end marker wrong": (lambda t: [*honest(t)[:-1], '{"done": 1}'], 0, "end marker 1"),
    "contradicting record": (duplicated, 0, "answered target .* twice"),
    "record after the end": (lambda t: [*honest(t), record(0, "open")], 0, "after its end"),
    "target out of range": (lambda t: [*honest(t)[:-1], record(-1, "open")], 0, "malformed"),
    "a line not JSON": (lambda t: [*honest(t)[:-1], "PASS"], 0, "not JSON"),
}


@pytest.mark.parametrize("breach", sorted(BREACHES))
def test_a_protocol_breach_errors_every_check_of_the_batch_even_streamed_ones(
    breach: str,
) -> None:
    lines, code, message = BREACHES[breach]
    executor = Executor(CONFIG, guest_checks(), lambda name: ScriptedProbe(lines, code), None)
    try:
        for check in guest_checks():  # fs1's "refused" streamed before the breach: no PASS
            with pytest.raises(BadOutputError, match=message):
                executor.observe(check)
    finally:
        executor.close()


def test_an_honest_scanner_settles_every_check() -> None:
    executor = Executor(CONFIG, guest_checks(), lambda name: ScriptedProbe(honest), None)
    try:
        before = datetime.now(UTC)
        check = PLAN["reach:guest1/fs1:445"]
        observation = executor.observe(check)
        assert isinstance(observation, ReachObservation) and observation.result is not None
        assert observation.result.state is ConnectState.REFUSED
        # when the observation was made: a UTC instant of this run, to the millisecond
        observed = executor.observed_at(check)
        assert observed is not None and observed.endswith("+00:00")
        assert before <= datetime.fromisoformat(observed) <= datetime.now(UTC)
    finally:
        executor.close()


class BrokenProbe:
    name = "guest1"

    def scan(self, job: ScanJob) -> list[ConnectResult]:
        raise RuntimeError("backend bug")

    def close(self) -> None:
        pass


def test_a_batch_failure_errors_its_checks_and_never_hangs() -> None:
    executor = Executor(CONFIG, guest_checks(), lambda name: BrokenProbe(), None)
    try:
        with pytest.raises(ProbeError, match="RuntimeError: backend bug"):
            executor.observe(PLAN["control:guest1"])
        with pytest.raises(ProbeError):
            executor.observe(PLAN["reach:guest1/print1:445"])
        # a failure is placed in time too
        assert executor.observed_at(PLAN["reach:guest1/print1:445"]) is not None
    finally:
        executor.close()


class Turns:
    """Counts the conversations inside at once, per host; `held`'s wait in there until
    another host's conversation ran (which shows that one did not wait for them)."""

    def __init__(self, held: str, other: str) -> None:
        self.held = held
        self.inside = {held: 0, other: 0}
        self.most = dict(self.inside)
        self.saw_other: list[bool] = []
        self._other_ran = threading.Event()
        self._lock = threading.Lock()

    def visit(self, host: str, *_: object, **__: object) -> str:
        with self._lock:
            self.inside[host] += 1
            self.most[host] = max(self.most[host], self.inside[host])
        if host == self.held:
            self.saw_other.append(self._other_ran.wait(WAIT))
        else:
            self._other_ran.set()
        with self._lock:
            self.inside[host] -= 1
        return host


def run_together(executor: Executor, calls: list[Callable[[], object]]) -> None:
    threads = [threading.Thread(target=call) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    executor.close()


def test_path_walks_of_one_host_take_turns_and_other_hosts_do_not_wait() -> None:
    """One path walk per host at a time, whichever vantage walks (the lab's Samba cut one of
    several concurrent SYSVOL walks now and then)."""
    executor = Executor(CONFIG, [], SlowTailProbe, None)
    turns = Turns("dc1", "fs1")
    hosts = ("dc1", "dc1", "dc1", "fs1")
    run_together(executor, [partial(executor._walk, h, partial(turns.visit, h)) for h in hosts])
    assert turns.most == {"dc1": 1, "fs1": 1}
    assert turns.saw_other == [True, True, True]


def test_every_session_that_opens_a_hosts_shares_takes_the_hosts_turn(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Guest, anonymous and account sessions and path walks of one host, from any vantage,
    one at a time (the lab's DC cut an account session opening SYSVOL while a path walk
    ran); another host's sessions do not wait."""
    from smbtests import smb

    turns = Turns("10.45.20.10", "10.45.20.11")
    monkeypatch.setattr(smb, "open_session", turns.visit)
    account = Credentials("labuser", "LAB", "not-a-secret")
    executor = Executor(CONFIG, [], SlowTailProbe, account)
    needs = [SmbNeed.GUEST, SmbNeed.ANONYMOUS, SmbNeed.ACCOUNT, SmbNeed.PATH]
    calls = [
        (need, BatchKey(BatchKind.SMB, "dc1", vantage), Target("10.45.20.10", 445))
        for need, vantage in zip(needs, ("runner", "mgmt1", "client1", "mgmt1"), strict=True)
    ] + [(SmbNeed.GUEST, BatchKey(BatchKind.SMB, "fs1"), Target("10.45.20.11", 445))]
    fetches = [partial(executor._fetch_smb, *call, smb.direct) for call in calls]
    run_together(executor, list(fetches))
    assert turns.most == {"10.45.20.10": 1, "10.45.20.11": 1}
    assert turns.saw_other == [True] * 4


def test_a_session_cut_after_the_handshake_is_opened_once_more_and_only_once() -> None:
    from smbtests import smb
    from smbtests.errors import SmbCutError, SmbSilentError

    def cut_then(outcomes: list[object]) -> Callable[[], Any]:
        def session() -> Any:
            outcome = outcomes.pop(0)
            if isinstance(outcome, Exception):
                raise outcome
            return outcome

        return session

    cut = SmbCutError("10.45.10.12", "share listing failed after the handshake")
    listed: Any = "listed"
    assert smb.once_more_if_cut(cut_then([cut, listed])) is listed
    twice = cut_then([cut, cut, "never"])
    with pytest.raises(SmbCutError):
        smb.once_more_if_cut(twice)
    # silence (a timeout) is no cut: a silent host would cost every vantage twice its timeout
    quiet = SmbSilentError("10.45.10.12", "no answer")
    once_quiet = [quiet, "never"]
    with pytest.raises(SmbSilentError):
        smb.once_more_if_cut(cut_then(once_quiet))
    assert once_quiet == ["never"]
    # no TCP, an impacket failure: not a cut session, not tried again
    unreachable = smb.SmbUnreachableError("10.45.10.12", "cannot connect")
    once = [unreachable, "never"]
    with pytest.raises(smb.SmbUnreachableError):
        smb.once_more_if_cut(cut_then(once))
    assert once == ["never"]


def test_only_a_broken_conversation_is_a_cut_silence_and_garbage_are_not() -> None:
    import struct

    from impacket import nmb

    from smbtests.errors import SmbCutError
    from smbtests.smb import session

    broken = session._failure(nmb.NetBIOSError("Error while reading from remote"), "h", "listing")
    assert isinstance(broken, SmbCutError)
    assert isinstance(session._failure(ConnectionResetError(), "h", "listing"), SmbCutError)
    for quiet in (TimeoutError(), nmb.NetBIOSTimeout(), struct.error("short")):
        assert not isinstance(session._failure(quiet, "h", "listing"), SmbCutError)
