"""The plan is pure: same files, same sorted checks, each with the right expectation."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from smbtests.checks.base import Expect
from smbtests.checks.registry import build_plan
from smbtests.config import load

ENVIRONMENTS = Path(__file__).resolve().parents[2] / "environments"
TODAY = date(2026, 11, 26)


@pytest.fixture(scope="module")
def plan() -> dict[str, object]:
    checks = build_plan(load(ENVIRONMENTS / "lab.yaml"), TODAY)
    return {c.id: c for c in checks}


def test_ids_are_sorted_unique_and_deterministic() -> None:
    config = load(ENVIRONMENTS / "lab.yaml")
    first = [c.id for c in build_plan(config, TODAY)]
    assert first == sorted(first)
    assert len(first) == len(set(first))
    assert first == [c.id for c in build_plan(load(ENVIRONMENTS / "lab.yaml"), TODAY)]


@pytest.mark.parametrize(
    ("check_id", "expect", "step"),
    [
        ("reach:corp1/fs1:445", Expect.OPEN, 3),
        ("reach:mgmt/print1:445", Expect.OPEN, 3),
        ("reach:guest1/fs1:445", Expect.CLOSED, 2),
        ("reach:iot1/fs1:445", Expect.CLOSED, 2),
        ("reach:iot1/print1:445", Expect.OPEN, 7),
        ("reach:inet1/dc1:445", Expect.CLOSED, 2),
        ("reach:corp1/inet-smb:445", Expect.CLOSED, 2),
        ("reach:mgmt/inet-smb:445", Expect.CLOSED, 2),
        ("control:guest1", Expect.OPEN, 6),
    ],
)
def test_lab_expectations(plan: dict, check_id: str, expect: Expect, step: int) -> None:
    check = plan[check_id]
    assert (check.expect, check.step) == (expect, step)


def test_guest_rule_reads_like_the_policy(plan: dict) -> None:
    assert plan["reach:guest1/fs1:445"].rule == "untrusted segment guest must not reach SMB hosts"
    assert plan["reach:guest1/fs1:445"].marker == "smb_perimeter"
    assert plan["reach:corp1/fs1:445"].marker == "smb_segmentation"


def test_perimeter_probes_get_no_outbound_checks(plan: dict) -> None:
    assert "reach:inet1/inet-smb:445" not in plan


def test_hardening_checks_follow_the_baseline(plan: dict) -> None:
    assert {k for k in plan if k.endswith(":fs1") and "/" not in k} == {
        "smb1:fs1",
        "signing:fs1",
        "dialect:fs1",
        "encryption:fs1",
        "anonymous:fs1",
        "guest:fs1",
        "access:fs1",
    }
    assert "encryption:dc1" not in plan  # the policy asks encryption of fs1 only


def test_discovery_covers_every_range(plan: dict) -> None:
    ranges = sorted(c.discovery_range for c in plan.values() if c.kind == "discovery")
    assert len(ranges) == 6
    assert all(plan[f"discovery:{r}"].probe == "mgmt" for r in ranges)


def test_exception_is_verified_from_a_probe_in_its_source(plan: dict) -> None:
    check = plan["exception:EXC-0001"]
    assert (check.probe, check.host, str(check.batch)) == ("iot1", "print1", "probe:iot1")


def test_expired_exception_closes_its_path() -> None:
    checks = {c.id: c for c in build_plan(load(ENVIRONMENTS / "lab.yaml"), date(2027, 9, 1))}
    assert checks["reach:iot1/print1:445"].expect is Expect.CLOSED
    assert checks["reach:iot1/print1:445"].step == 2


def test_rings_combine_probe_and_host(plan: dict) -> None:
    assert plan["reach:corp1/dc1:445"].rings == ("pilot",)
    assert plan["reach:guest1/fs1:445"].rings == ("pilot",)
    assert plan["reach:guest1/dc1:445"].rings == ()


def test_every_approved_port_is_tested_from_every_probe(tmp_path: Path) -> None:
    import shutil

    import yaml

    for name in ("lab.yaml", "lab-policy.yaml"):
        shutil.copy(ENVIRONMENTS / name, tmp_path / name)
    policy = yaml.safe_load((tmp_path / "lab-policy.yaml").read_text())
    policy["approved_paths"][0]["ports"] = [445, 8445]
    (tmp_path / "lab-policy.yaml").write_text(yaml.safe_dump(policy))
    checks = {c.id: c for c in build_plan(load(tmp_path / "lab.yaml"), TODAY)}
    assert checks["reach:corp1/fs1:8445"].expect is Expect.OPEN
    assert checks["reach:guest1/fs1:8445"].expect is Expect.CLOSED
    assert checks["reach:mgmt/fs1:8445"].expect is Expect.CLOSED  # mgmt's path: 445, 139 only
    assert checks["reach:mgmt/fs1:139"].expect is Expect.OPEN
