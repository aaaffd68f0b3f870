"""SMB over QUIC reachability (`quic` checks): the plan from the policy's `perimeter.quic`, and
every verdict branch with observations built by hand. "No QUIC answer" passes a must-be-closed
check only with the same probe's QUIC control answered."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from smbtests.checks import quic
from smbtests.checks.base import Expect, Facts, Need
from smbtests.checks.registry import build_plan
from smbtests.checks.verdicts import Judging, Outcome
from smbtests.config import load
from smbtests.errors import PolicyError
from smbtests.observations import QuicObservation, QuicRequest, QuicResult, QuicState, Target
from tests.unit.conftest import Editor

ENVIRONMENTS = Path(__file__).resolve().parents[2] / "environments"
TODAY = date(2026, 11, 26)
CONFIG = load(ENVIRONMENTS / "lab.yaml")
PLAN = {c.id: c for c in build_plan(CONFIG, TODAY)}
JUDGING = Judging(CONFIG.policy, TODAY)
CONTROL = Target("10.45.10.10", 443)
FS1 = Target("10.45.10.11", 443)


def result(state: QuicState, target: Target = FS1) -> QuicResult:
    return QuicResult(target, state, 3.0, state.value, alpn="smb")


def verdict(check_id: str, state: QuicState, control: QuicState | None) -> tuple[Outcome, str]:
    check = PLAN[check_id]
    assert check.target is not None
    seen = None if control is None else result(control, CONTROL)
    judged = quic.judge(check, QuicObservation(result(state, check.target), seen, "p"), JUDGING)
    return judged.outcome, judged.observed


def test_the_plan_covers_perimeter_and_untrusted_probes_only() -> None:
    ids = sorted(i for i in PLAN if i.startswith("quic:"))
    assert "quic:inet1/fs1:443" in ids and "quic:inet1/fs1[fd45:0:0:10::11]:443" in ids
    assert "quic:guest1/fs1:443" in ids and "quic:iot1[10.45.40.42]/fs1:443" in ids
    assert "quic:inet1/control:443" in ids and "quic:guest1/control[fd45:0:0:10::10]:443" in ids
    assert not [i for i in ids if i.startswith(("quic:corp1", "quic:mgmt", "quic:win1"))]
    opened = {i for i in ids if PLAN[i].expect is Expect.OPEN}
    controls = {i for i in ids if "/control" in i}
    assert opened - controls == {"quic:inet1/fs1:443", "quic:inet1/fs1[fd45:0:0:10::11]:443"}


def test_a_check_needs_its_handshake_and_its_control_of_the_same_family() -> None:
    check = PLAN["quic:iot1[10.45.40.42]/fs1:443"]
    own, control = quic.needs(check, CONFIG)
    assert own == QuicRequest(Target("10.45.10.11", 443, "10.45.40.42"), "fs1.lab.example")
    assert control == QuicRequest(Target("10.45.10.10", 443, "10.45.40.42"), "10.45.10.10")
    assert quic.needs(PLAN["quic:iot1[10.45.40.42]/control:443"], CONFIG) == (control,)


def test_observe_pairs_the_result_with_its_control() -> None:
    check = PLAN["quic:guest1/fs1:443"]
    own, control = quic.needs(check, CONFIG)
    assert isinstance(own, QuicRequest) and isinstance(control, QuicRequest)
    values: dict[Need, object] = {
        own: result(QuicState.TIMEOUT),
        control: result(QuicState.HANDSHAKE, CONTROL),
    }
    obs = quic.observe(check, Facts(values, "guest1"))
    assert isinstance(obs, QuicObservation)
    assert obs.result.state is QuicState.TIMEOUT and obs.control is not None
    assert obs.control.target == control.target


@pytest.mark.parametrize(
    ("state", "control", "outcome"),
    [
        (QuicState.HANDSHAKE, None, Outcome.PASSED),
        (QuicState.TIMEOUT, QuicState.HANDSHAKE, Outcome.FAILED),
        (QuicState.PORT_UNREACHABLE, QuicState.HANDSHAKE, Outcome.FAILED),
        (QuicState.TIMEOUT, QuicState.TIMEOUT, Outcome.ERROR),  # blind on UDP: unproven
        (QuicState.UNREACHABLE, None, Outcome.ERROR),
        (QuicState.ALPN_MISMATCH, None, Outcome.FAILED),  # answered, but not SMB
        (QuicState.TLS_ALERT, None, Outcome.FAILED),
        (QuicState.VERSION_NEGOTIATION, None, Outcome.FAILED),
        (QuicState.CERTIFICATE, QuicState.HANDSHAKE, Outcome.FAILED),
        (QuicState.ERROR, QuicState.HANDSHAKE, Outcome.ERROR),
    ],
)
def test_must_be_open(state: QuicState, control: QuicState | None, outcome: Outcome) -> None:
    assert verdict("quic:inet1/fs1:443", state, control) == (outcome, state.value)


@pytest.mark.parametrize(
    ("state", "control", "outcome"),
    [
        (QuicState.HANDSHAKE, None, Outcome.FAILED),
        (QuicState.CERTIFICATE, None, Outcome.FAILED),  # SMB over QUIC answered all the same
        (QuicState.TIMEOUT, QuicState.HANDSHAKE, Outcome.PASSED),
        (QuicState.PORT_UNREACHABLE, QuicState.HANDSHAKE, Outcome.PASSED),
        (QuicState.UNREACHABLE, QuicState.HANDSHAKE, Outcome.PASSED),
        (QuicState.TIMEOUT, QuicState.TIMEOUT, Outcome.ERROR),
        (QuicState.TIMEOUT, QuicState.ALPN_MISMATCH, Outcome.ERROR),
        (QuicState.TIMEOUT, None, Outcome.ERROR),  # no QUIC control configured
        (QuicState.ALPN_MISMATCH, None, Outcome.PASSED),  # a located refusal of SMB
        (QuicState.TLS_ALERT, None, Outcome.PASSED),
        (QuicState.VERSION_NEGOTIATION, None, Outcome.PASSED),
        (QuicState.ERROR, QuicState.HANDSHAKE, Outcome.ERROR),
    ],
)
def test_must_be_closed(state: QuicState, control: QuicState | None, outcome: Outcome) -> None:
    assert verdict("quic:guest1/fs1:443", state, control) == (outcome, state.value)
    assert verdict("quic:inet1/dc1:443", state, control)[0] is outcome


@pytest.mark.parametrize(
    ("state", "outcome"),
    [(s, Outcome.PASSED if s is QuicState.HANDSHAKE else Outcome.ERROR) for s in QuicState],
)
def test_the_control_passes_only_on_a_handshake(state: QuicState, outcome: Outcome) -> None:
    assert verdict("quic:inet1/control:443", state, None)[0] is outcome


def test_no_quic_section_plans_no_quic_checks(edit: Editor) -> None:
    env = edit("lab-policy.yaml", lambda data: data["perimeter"].pop("quic"))
    assert not [c for c in build_plan(load(env), TODAY) if c.kind == "quic"]


def test_an_unknown_quic_host_is_a_located_error(edit: Editor) -> None:
    env = edit("lab-policy.yaml", lambda data: data["perimeter"]["quic"].update(hosts=["fs9"]))
    with pytest.raises(PolicyError, match="unknown SMB host `fs9`"):
        load(env)
