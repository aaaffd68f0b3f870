"""Scan progress: each target counted once, opens counted, throttled, silent for quick scans."""

from __future__ import annotations

from smbtests.observations import ConnectResult, ConnectState, Target
from smbtests.progress import ScanCounter, ScanProgress


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def result(index: int, state: ConnectState = ConnectState.FILTERED) -> ConnectResult:
    return ConnectResult(Target(f"10.0.0.{index}", 445), state, None, 1.0, "")


def test_a_long_scan_reports_at_most_once_per_interval_and_when_done() -> None:
    clock, seen = Clock(), list[ScanProgress]()
    counter = ScanCounter("guest1", 4, seen.append, interval=2.0, clock=clock)
    counter.saw(result(1, ConnectState.OPEN))
    clock.now += 2.5
    counter.saw(result(2))
    counter.saw(result(2))  # the verified answer repeats a streamed record: counted once
    clock.now += 0.5
    counter.saw(result(3))  # within the interval: no line
    counter.saw(result(4, ConnectState.OPEN))
    counter.finish()
    assert [(p.settled, p.open, p.done) for p in seen] == [(2, 1, False), (4, 2, True)]
    assert seen[-1].line() == (
        "smbtests: probe guest1 scan done: 4/4 targets settled, 2 open so far (3.0 s)"
    )


def test_a_quick_scan_says_nothing() -> None:
    clock, seen = Clock(), list[ScanProgress]()
    counter = ScanCounter("corp1", 2, seen.append, interval=2.0, clock=clock)
    counter.saw(result(1))
    clock.now += 1.0
    counter.saw(result(2))
    counter.finish()
    assert seen == []
