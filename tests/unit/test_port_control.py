"""The SMB-port control: a probe proves its own host lets its SMB connects out, or its closed
results on those ports error (a drop in its own output chain looks like the network's)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from smbtests.checks import discovery, reach, sweep
from smbtests.checks.base import Connect, Facts
from smbtests.checks.registry import build_plan
from smbtests.checks.verdicts import Judging, Outcome
from smbtests.config import load
from smbtests.errors import PolicyError
from smbtests.observations import ConnectResult, ConnectState, ReachObservation, Target
from tests.unit.conftest import Editor

ENVIRONMENTS = Path(__file__).resolve().parents[2] / "environments"
TODAY = date(2026, 11, 26)
CONFIG = load(ENVIRONMENTS / "lab.yaml")
PLAN = {c.id: c for c in build_plan(CONFIG, TODAY)}
ROUTED = Target("10.45.10.10", 8000)
AT_445 = Target("10.45.30.30", 445)
AT_139 = Target("10.45.30.30", 139)
FS1_445 = Target("10.45.10.11", 445)


def connect(target: Target, state: ConnectState) -> ConnectResult:
    return ConnectResult(target, state, None, 1.0, state.value)


def facts(routed: ConnectState, at_445: ConnectState, target: Target = FS1_445) -> Facts:
    return Facts(
        {Connect(target): connect(target, ConnectState.FILTERED)},
        "guest1",
        {ROUTED: connect(ROUTED, routed)},
        None,
        {AT_445: connect(AT_445, at_445), AT_139: connect(AT_139, ConnectState.OPEN)},
    )


def proof(f: Facts, target: Target = FS1_445) -> Target | None:
    control = f.control_for(target)
    return None if control is None else control.target


def test_the_port_control_that_did_not_answer_is_the_control_of_its_port() -> None:
    silent_445 = facts(ConnectState.OPEN, ConnectState.FILTERED)
    assert silent_445.control_for(FS1_445) == connect(AT_445, ConnectState.FILTERED)
    # other ports need the routed control only; another source address has no control here
    assert proof(silent_445, Target("10.45.10.11", 139)) == ROUTED
    assert proof(silent_445, Target("10.45.10.11", 445, "10.45.30.99")) is None
    # the routed control first: a probe that reaches nothing is blind, whatever its port says
    assert proof(facts(ConnectState.FILTERED, ConnectState.FILTERED)) == ROUTED
    assert proof(facts(ConnectState.OPEN, ConnectState.OPEN)) == ROUTED


@pytest.mark.parametrize(
    ("at_445", "outcome"),
    [(ConnectState.FILTERED, Outcome.ERROR), (ConnectState.OPEN, Outcome.PASSED)],
)
def test_a_closed_445_passes_only_when_the_port_control_answered(
    at_445: ConnectState, outcome: Outcome
) -> None:
    check = PLAN["reach:guest1/fs1:445"]
    obs = reach.observe(check, facts(ConnectState.OPEN, at_445))
    assert isinstance(obs, ReachObservation)
    verdict = reach.judge(check, obs, Judging(CONFIG.policy, TODAY))
    assert verdict.outcome is outcome
    if outcome is Outcome.ERROR:
        assert "its control 10.45.30.30:445 was FILTERED" in verdict.message


def test_the_port_control_is_checked_on_each_address_and_port() -> None:
    assert {i for i in PLAN if i.startswith("control:guest1/[")} == {
        "control:guest1/[fd45:0:0:10::10]:8000",
        *(
            f"control:guest1/[{a}]:{p}"
            for a in ("10.45.30.30", "fd45:0:0:30::30")
            for p in (445, 139)
        ),
    }


def test_sweeps_and_discovery_leave_the_declared_port_control_out() -> None:
    scanned = [
        n.target.host
        for check_id in ("discovery:10.45.30.0/24", "sweep:mgmt/10.45.30.0/24:445")
        for n in (discovery if check_id.startswith("d") else sweep).needs(PLAN[check_id], CONFIG)
        if isinstance(n, Connect)
    ]
    assert "10.45.30.31" in scanned and "10.45.30.30" not in scanned


@pytest.mark.parametrize(
    ("control", "message"),
    [
        ({"address": "10.45.10.30", "ports": [445]}, "not in segment guest"),
        ({"address": "10.99.30.30", "ports": [445]}, "outside the environment's scope"),
        ({"address": "10.45.30.30", "ports": [445]}, "no IPv6 address"),
    ],
    ids=["other segment", "outside scope", "family missing"],
)
def test_a_misplaced_port_control_is_refused(edit: Editor, control: dict, message: str) -> None:
    path = edit("lab.yaml", lambda d: d["probes"]["guest1"].update(smb_port_control=control))
    with pytest.raises(PolicyError, match=rf"probes\.guest1\.smb_port_control.*{message}"):
        load(path)
