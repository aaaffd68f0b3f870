"""Where and in which order the live suite's items run: pure, checks in, keys out."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

from smbtests.checks.base import BatchKind, Check, Expect

Key = tuple[int, int, str, int, str]
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
