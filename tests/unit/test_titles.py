"""Check titles say the rule in plain words, one per check, never pytest's function name."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from smbtests.checks.registry import build_plan
from smbtests.checks.titles import check_title
from smbtests.config import load

ENVIRONMENTS = Path(__file__).resolve().parents[2] / "environments"
PLAN = {c.id: c for c in build_plan(load(ENVIRONMENTS / "lab.yaml"), date(2026, 11, 26))}


@pytest.mark.parametrize(
    ("check_id", "title"),
    [
        ("reach:guest1/fs1:445", "guest1 -> fs1:445 must be closed"),
        ("reach:corp1/dc1:445", "corp1 -> dc1:445 must be open"),
        (
            "reach:guest1/fs1[fd45:0:0:10::11]:445",
            "guest1 -> fs1 [fd45:0:0:10::11]:445 must be closed",
        ),
        (
            "reach:iot1[10.45.40.42]/print1:445",
            "iot1 (from 10.45.40.42) -> print1:445 must be closed",
        ),
        ("control:corp1", "corp1 must reach its positive control 10.45.10.10:8000"),
        ("smb-path:mgmt/fs1:139", "mgmt -> fs1:139 SMB must work"),
        ("smb1:fs1", "fs1: SMB1 negotiation is refused"),
        ("discovery:10.45.0.0/24", "mgmt: no undeclared host in 10.45.0.0/24 answers on 445"),
    ],
)
def test_titles_read_like_the_rule(check_id: str, title: str) -> None:
    assert check_title(PLAN[check_id]) == title


def test_every_check_has_its_own_title() -> None:
    titles = [check_title(check) for check in PLAN.values()]
    assert len(set(titles)) == len(titles)
    assert not [t for t in titles if "test_policy" in t or not t]
