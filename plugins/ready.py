"""Live items run as their observations become ready, batch by batch.

A scan's items are held until its slowest connect, and which probe's paths time out (dropped)
and which are refused at once is the network's answer, not the plan's: in pytest's order the
items of a probe whose paths were all refused waited behind one whose connects time out. So in
a process that runs every check, all of them on the lean protocol, the next batch to report is
the first (in pytest's order) whose first check is settled, waiting for one when none is;
within a batch the order is pytest's (control first). The items, their reports and outcomes
are the same; only the order of batches follows the network.

What pytest's own loop does around the items is kept: collection errors, --collect-only and
xdist leave the loop to pytest; -x / --maxfail and an interrupt stop it as they would.
"""

from __future__ import annotations

import pytest

from smbtests.checks.base import Check
from smbtests.execute import Executor

from .items import executor_of
from .lean import runs_lean

Group = list[tuple[pytest.Item, Check]]


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> bool | None:
    config = session.config
    if (
        session.testsfailed
        or config.option.collectonly
        or hasattr(config, "workerinput")
        or getattr(config.option, "numprocesses", None)
    ):
        return None
    groups = by_batch(session.items)
    if not groups:
        return None  # not every item is a lean live one: pytest's own loop
    executor = executor_of(session)
    while groups:
        group = next_ready(executor, groups)
        for index, (item, _) in enumerate(group):
            following = group[index + 1 :] or (groups[0] if groups else [])
            item.config.hook.pytest_runtest_protocol(
                item=item, nextitem=following[0][0] if following else None
            )
            if session.shouldfail:
                raise session.Failed(session.shouldfail)
            if session.shouldstop:
                raise session.Interrupted(session.shouldstop)
    return True


def by_batch(items: list[pytest.Item]) -> list[Group]:
    """Consecutive items of one batch, in pytest's order; none unless every item runs lean."""
    groups: list[Group] = []
    for item in items:
        check = runs_lean(item)
        if check is None:
            return []
        if groups and groups[-1][0][1].batch == check.batch:
            groups[-1].append((item, check))
        else:
            groups.append([(item, check)])
    return groups


def next_ready(executor: Executor, groups: list[Group]) -> Group:
    """The first group whose first check is settled, after waiting for one if none is; the
    first group when the wait ends without one (its item then reports the batch's deadline).
    Taken out of `groups`."""
    firsts = [group[0][1] for group in groups]
    for attempt in range(2):
        for index, check in enumerate(firsts):
            if executor.settled(check):
                return groups.pop(index)
        if attempt == 0:
            executor.wait_any(firsts)
    return groups.pop(0)
