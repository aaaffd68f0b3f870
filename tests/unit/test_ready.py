"""plugins/ready.py: items run batch by batch, the first batch whose observations are settled
first; pytest's order within a batch and between batches that are equally ready."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from plugins import ready
from smbtests.checks.base import BatchKey, BatchKind


@dataclass(frozen=True)
class FakeCheck:
    id: str
    batch: BatchKey


@dataclass
class FakeExecutor:
    settled_ids: set[str]
    after_wait: set[str] = field(default_factory=set)
    waited_for: list[list[str]] = field(default_factory=list)

    def settled(self, check: FakeCheck) -> bool:
        return check.id in self.settled_ids

    def wait_any(self, checks: list[FakeCheck]) -> None:
        self.waited_for.append([c.id for c in checks])
        self.settled_ids |= self.after_wait


def _groups(*names: str) -> list[Any]:
    batches = {name: BatchKey(BatchKind.SCAN, name) for name in names}
    return [[(f"item {n}{i}", FakeCheck(f"{n}{i}", batches[n])) for i in (1, 2)] for n in names]


def _order(executor: FakeExecutor, groups: list[Any]) -> list[str | None]:
    found = []
    while groups:
        found.append(ready.next_ready(executor, groups)[0][1].batch.name)  # type: ignore[arg-type]
    return found


def test_a_settled_batch_runs_before_one_still_waiting() -> None:
    executor = FakeExecutor({"iot11", "mgmt1"}, after_wait={"guest11", "inet11"})
    assert _order(executor, _groups("guest1", "inet1", "iot1")) == ["iot1", "guest1", "inet1"]
    assert executor.waited_for == [["guest11", "inet11"]]  # only once none was settled


def test_equally_ready_batches_keep_pytests_order_and_an_empty_wait_takes_the_first() -> None:
    assert _order(FakeExecutor({"a1", "b1"}), _groups("a", "b")) == ["a", "b"]
    never = FakeExecutor(set())
    assert _order(never, _groups("a", "b")) == ["a", "b"]
    assert never.waited_for == [["a1", "b1"], ["b1"]]
