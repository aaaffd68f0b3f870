"""Where and in which order the live suite's items run: pure, checks in, keys out."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

from smbtests.checks.base import BatchKind, Check, Expect

Key = tuple[int, int, str, int, str]
# xdist spreads the batches that are not scans over its workers; below this many of them its
# cost (a worker's start-up and plan, every report sent to the controller: measured 1.8x
# slower than serial at 4 x 2,500 scan checks, slower on the lab's 20 SMB/WinRM batches too)
# outweighs what it spreads
XDIST_MIN_BATCHES = 64
Order = Callable[[Check], Key]


def batch_group(check: Check) -> str:
    """Under pytest-xdist: every scan on one worker (I/O-bound, started together so their
    timeouts overlap), SMB talk spread per host (CPU-bound impacket work)."""
    return "scans" if check.batch.kind is BatchKind.SCAN else str(check.batch)


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


def xdist_pays(checks: Sequence[Check]) -> bool:
    """Whether `-n` can beat one process: scans run on one worker anyway (one group)."""
    spread = {c.batch for c in checks if c.batch.kind is not BatchKind.SCAN}
    return len(spread) >= XDIST_MIN_BATCHES
