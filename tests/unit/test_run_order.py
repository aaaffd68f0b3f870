"""plugins/order.py: the order the live suite's items run in, and xdist's groups."""

from __future__ import annotations

from plugins.order import (
    XDIST_MIN_BATCHES,
    XDIST_MIN_CORES,
    batch_group,
    bound_batches,
    run_order,
    xdist_pays,
)
from smbtests.checks.base import BatchKey, BatchKind, Check, Expect


def _check(check_id: str, batch: BatchKey, expect: Expect | None, kind: str = "reach") -> Check:
    return Check(
        check_id, kind, 3, "rule", "feature", "story", "critical", batch, "marker", expect=expect
    )


SLOW = BatchKey(BatchKind.SCAN, "a-guest")  # named first: alphabetical order would run it first
FAST = BatchKey(BatchKind.SCAN, "z-mgmt")
SMB = BatchKey(BatchKind.SMB, "fs1")


def test_a_batch_that_cannot_wait_out_a_timeout_runs_first_control_and_opens_leading() -> None:
    checks = [
        _check("smb1:fs1", SMB, None, kind="smb1"),
        _check("reach:a-guest/fs1:445", SLOW, Expect.CLOSED),
        _check("control:a-guest", SLOW, None, kind="control"),
        _check("reach:z-mgmt/fs2:445", FAST, Expect.OPEN),
        _check("control:z-mgmt", FAST, None, kind="control"),
        _check("reach:z-mgmt/fs1:445", FAST, Expect.OPEN),
    ]
    order = run_order(checks)
    assert [c.id for c in sorted(checks, key=order)] == [
        "control:z-mgmt",
        "reach:z-mgmt/fs1:445",
        "reach:z-mgmt/fs2:445",
        "control:a-guest",
        "reach:a-guest/fs1:445",
        "smb1:fs1",
    ]


def test_xdist_keeps_every_scan_on_one_worker_and_smb_per_host() -> None:
    assert batch_group(_check("a", SLOW, None)) == batch_group(_check("b", FAST, None)) == "scans"
    fs1 = batch_group(_check("smb1:fs1", SMB, None))
    assert fs1 != batch_group(_check("smb1:fs2", BatchKey(BatchKind.SMB, "fs2"), None))
    # every vantage's and port's session to a host, and its Windows batch, take one turn
    for same in (
        BatchKey(BatchKind.SMB, "fs1", vantage="corp1"),
        BatchKey(BatchKind.SMB, "fs1", port=139),
        BatchKey(BatchKind.WINDOWS, "fs1"),
    ):
        assert batch_group(_check("x", same, None)) == fs1


def test_xdist_pays_only_for_many_session_batches_with_cores_to_spare() -> None:
    scans = [
        _check(f"reach:p{i}/h:445", BatchKey(BatchKind.SCAN, f"p{i}"), None) for i in range(500)
    ]
    sessions = [
        _check(f"guest:h{i}", BatchKey(BatchKind.SMB, f"h{i}"), None)
        for i in range(XDIST_MIN_BATCHES)
    ]
    negotiations = [
        _check(f"smb1:n{i}", BatchKey(BatchKind.SMB, f"n{i}"), None) for i in range(500)
    ]

    def cpu_bound(check: Check) -> bool:
        return check.id.startswith(("guest:", "reach:"))  # scans never count, even if bound

    def pays(checks: list[Check], cores: int = XDIST_MIN_CORES) -> bool:
        return xdist_pays(bound_batches(checks, cpu_bound), cores)

    assert pays(sessions)
    assert not pays(sessions, XDIST_MIN_CORES - 1)  # two cores: slower in every shape
    assert not pays(scans + sessions[:-1])
    assert not pays(negotiations + sessions[:-1], 64)  # waiting on servers
    # a batch counts once any of its checks opens sessions
    mixed = [_check(f"smb1:h{i}", c.batch, None) for i, c in enumerate(sessions[:-1])]
    assert not pays(mixed)
    assert pays(mixed + sessions[-1:] + sessions[:-1])
