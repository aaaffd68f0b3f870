"""smbtests/warm.py: a probe made ready goes to the first batch that opens it, later ones get
new probes, one that could not be opened is opened again where the batch reports it, and
the ones no batch asked for are closed."""

from __future__ import annotations

import threading

import pytest

from smbtests.errors import ProbeError
from smbtests.warm import Warming


class FakeProbe:
    def __init__(self, name: str, serial: int) -> None:
        self.name, self.serial = name, serial
        self.prepared = self.closed = False
        self.prepared_by = ""

    def prepare(self) -> None:
        self.prepared, self.prepared_by = True, threading.current_thread().name

    def scan(self, job: object) -> list[object]:
        return []

    def close(self) -> None:
        self.closed = True


class Opener:
    def __init__(self, failing: frozenset[str] = frozenset()) -> None:
        self.made: list[FakeProbe] = []
        self.failing = failing

    def __call__(self, name: str) -> FakeProbe:
        if name in self.failing:
            raise ProbeError(name, "key file missing")
        probe = FakeProbe(name, len(self.made))
        self.made.append(probe)
        return probe


def test_the_first_open_gets_the_ready_probe_and_later_ones_new_probes() -> None:
    opener = Opener()
    warming = Warming(["guest1", "iot1"], opener)  # type: ignore[arg-type]
    first = warming.open("guest1")
    assert isinstance(first, FakeProbe) and first.prepared
    assert first.prepared_by != threading.current_thread().name  # made ready in the background
    again = warming.open("guest1")
    assert isinstance(again, FakeProbe) and not again.prepared and again is not first
    other = warming.open("corp1")  # never warmed: opened at once
    assert isinstance(other, FakeProbe) and not other.prepared
    warming.close()
    ready_iot = next(p for p in opener.made if p.name == "iot1")
    assert ready_iot.prepared and ready_iot.closed  # no batch asked for it
    assert not first.closed  # its batch closes it


def test_a_probe_that_could_not_be_opened_is_opened_where_the_batch_reports_it() -> None:
    warming = Warming(["guest1"], Opener(failing=frozenset({"guest1"})))  # type: ignore[arg-type]
    with pytest.raises(ProbeError, match="key file missing"):
        warming.open("guest1")
    warming.close()
