"""Where and in which order the live suite's items run: pure, checks in, keys out."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

from smbtests.checks.base import BatchKind, Check, Expect

Key = tuple[int, int, str, int, str]
# xdist spreads the batches that are not scans over its workers. It pays only for work bound to
# this process's core (SMB sessions, in impacket's Python), of many hosts, with cores to spare:
# a worker's start-up and plan and every report sent to the controller cost more otherwise.
# Measured on two cores, with the lab's servers on them too, -n auto was slower in every shape:
# 4 x 2,500 scans 1.8x, 250 hosts' negotiations 1.2x, their negotiations and anonymous and
# guest sessions 1.17x, the lab's 20 SMB/WinRM batches too (docs/field-notes.md)
XDIST_MIN_BATCHES = 64
XDIST_MIN_CORES = 4
Order = Callable[[Check], Key]


def batch_group(check: Check) -> str:
    """Under pytest-xdist: every scan on one worker (I/O-bound, started together so their
    timeouts overlap), SMB and WinRM talk spread per host: all of a host's batches (every
    vantage and port, and a Windows host's of the same name) on one worker, where they take
    the host's turn (`Executor._walk`; Samba 4.17 panics at concurrent opens of one file)."""
    return "scans" if check.batch.kind is BatchKind.SCAN else f"host:{check.batch.name}"


def run_order(checks: Sequence[Check]) -> Order:
    """Scan items first (their batches start at once and overlap), and of those the batches
    with the fewest checks that may wait out a connect timeout first: a scan is held until its
    slowest connect, so a batch of opens and resets is ready at once and its items run while
    the others still wait. Within a batch control first (the others depend on it), then
    expected-open (they answer in ms), then the rest; SMB hardening last."""
    may_wait = Counter(
        c.batch for c in checks if c.kind != "control" and c.expect is not Expect.OPEN
    )

    def key(check: Check) -> Key:
        scan = 0 if check.batch.kind is BatchKind.SCAN else 1
        rank = 0 if check.kind == "control" else 1 if check.expect is Expect.OPEN else 2
        return (scan, may_wait[check.batch], str(check.batch), rank, check.id)

    return key


def bound_batches(checks: Sequence[Check], cpu_bound: Callable[[Check], bool]) -> int:
    """The batches whose work is bound to this process's core: any of their checks is
    `cpu_bound` (scans never: they run on one worker anyway, one group)."""
    return len({c.batch for c in checks if c.batch.kind is not BatchKind.SCAN and cpu_bound(c)})


def xdist_pays(bound: int, cores: int) -> bool:
    """Whether `-n` can beat one process with `bound` such batches on `cores` cores."""
    return cores >= XDIST_MIN_CORES and bound >= XDIST_MIN_BATCHES
