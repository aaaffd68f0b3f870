"""The executor hands each check its own result as soon as the probe has it, and turns every
failure of a batch into errors of exactly that batch's checks."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import pytest

from smbtests.checks.base import Check
from smbtests.checks.registry import build_plan
from smbtests.config import load
from smbtests.errors import ProbeError
from smbtests.execute import Executor
from smbtests.observations import ConnectResult, ConnectState, OnResult, ReachObservation, Target

CONFIG = load(Path(__file__).resolve().parents[2] / "environments" / "lab.yaml")
PLAN = {c.id: c for c in build_plan(CONFIG, date(2026, 11, 26))}
CONTROL = Target("10.45.10.10", 8000)
WAIT = 10.0  # bounds every wait in these tests


class SlowTailProbe:
    """Answers the control and fs1 at once, the rest only when `release` is set."""

    name = "guest1"

    def __init__(self) -> None:
        self.release = threading.Event()

    def scan(
        self,
        targets: Sequence[Target],
        timeout: float,
        concurrency: int,
        on_result: OnResult | None = None,
    ) -> list[ConnectResult]:
        fast = {CONTROL: ConnectState.OPEN, Target("10.45.10.11", 445): ConnectState.FILTERED}
        results = {t: ConnectResult(t, fast[t], None, 1.0, "") for t in targets if t in fast}
        for result in results.values():
            assert on_result is not None
            on_result(result)
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


def test_a_check_waits_only_for_its_own_target() -> None:
    probe = SlowTailProbe()
    executor = Executor(CONFIG, guest_checks(), lambda name: probe, None)
    try:
        observation = executor.observe(PLAN["reach:guest1/fs1:445"])
        assert isinstance(observation, ReachObservation)
        assert observation.result is not None
        assert observation.result.state is ConnectState.FILTERED
        assert not probe.release.is_set()  # dc1's answer has not even been produced yet
        probe.release.set()
        slow = executor.observe(PLAN["reach:guest1/dc1:445"])
        assert isinstance(slow, ReachObservation) and slow.result is not None
    finally:
        probe.release.set()
        executor.close()


class BrokenProbe:
    name = "guest1"

    def scan(
        self,
        targets: Sequence[Target],
        timeout: float,
        concurrency: int,
        on_result: OnResult | None = None,
    ) -> list[ConnectResult]:
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
    finally:
        executor.close()
