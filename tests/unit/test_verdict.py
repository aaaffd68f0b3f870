"""Verdict rules: fail closed, one-line messages, exceptions governed."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import pytest

from smbtests.checks.base import Check, SmbNeed
from smbtests.checks.registry import build_plan, judge, kind_of
from smbtests.checks.verdicts import Outcome, Verdict
from smbtests.config import load
from smbtests.dates import utc_today
from smbtests.observations import (
    ConnectResult,
    ConnectState,
    DiscoveryObservation,
    EncryptionObservation,
    NegotiateResult,
    NegotiationObservation,
    ReachObservation,
    SessionObservation,
    SessionResult,
    Smb1Observation,
    Smb1Result,
    Target,
)

ENVIRONMENTS = Path(__file__).resolve().parents[2] / "environments"
TODAY = date(2026, 11, 26)
CONFIG = load(ENVIRONMENTS / "lab.yaml")
PLAN = {c.id: c for c in build_plan(CONFIG, TODAY)}
CONTROL = Target("10.45.10.10", 8000)


def connect(target: Target, state: ConnectState, ms: float = 1.4) -> ConnectResult:
    return ConnectResult(target, state, None, ms, state.value)


def reach(check_id: str, state: ConnectState, control: ConnectState = ConnectState.OPEN) -> Verdict:
    check = PLAN[check_id]
    assert check.target is not None
    obs = ReachObservation(connect(check.target, state), connect(CONTROL, control), check.probe)
    return judge(check, obs, CONFIG.policy, TODAY)


def test_open_guest_path_fails_with_one_line_reason() -> None:
    verdict = reach("reach:guest1/fs1:445", ConnectState.OPEN)
    assert verdict.outcome is Outcome.FAILED
    assert verdict.message == (
        "guest1 -> fs1:445 OPEN (connected in 1.4 ms); policy: untrusted segment guest must not "
        "reach SMB hosts (step 2)"
    )
    assert "\n" not in verdict.message


@pytest.mark.parametrize(
    "state", [ConnectState.FILTERED, ConnectState.REFUSED, ConnectState.UNREACHABLE]
)
def test_closed_passes_only_with_a_working_control(state: ConnectState) -> None:
    assert reach("reach:guest1/fs1:445", state).outcome is Outcome.PASSED
    blind = reach("reach:guest1/fs1:445", state, control=ConnectState.FILTERED)
    assert blind.outcome is Outcome.ERROR
    assert "could not prove it can connect" in blind.message


def test_probe_stack_error_is_never_closed() -> None:
    assert reach("reach:guest1/fs1:445", ConnectState.ERROR).outcome is Outcome.ERROR


def test_broken_approved_path_fails_but_blind_probe_errors() -> None:
    assert reach("reach:corp1/fs1:445", ConnectState.FILTERED).outcome is Outcome.FAILED
    blind = reach("reach:corp1/fs1:445", ConnectState.FILTERED, control=ConnectState.ERROR)
    assert blind.outcome is Outcome.ERROR


def test_unreachable_control_errors() -> None:
    assert reach("control:guest1", ConnectState.FILTERED).outcome is Outcome.ERROR
    assert reach("control:guest1", ConnectState.OPEN).outcome is Outcome.PASSED


def discovery(listeners: tuple[str, ...], errors: int = 0) -> DiscoveryObservation:
    failed = tuple(connect(Target("10.45.40.9", 445), ConnectState.ERROR) for _ in range(errors))
    return DiscoveryObservation(
        "10.45.40.0/24",
        254,
        listeners,
        failed,
        {"filtered": 254},
        connect(CONTROL, ConnectState.OPEN),
    )


def test_discovery_flags_only_undeclared_listeners() -> None:
    check = PLAN["discovery:10.45.40.0/24"]
    rogue = judge(check, discovery(("10.45.40.41",)), CONFIG.policy, TODAY)
    assert rogue.outcome is Outcome.FAILED
    assert "10.45.40.41" in rogue.message
    declared = judge(
        PLAN["discovery:10.45.10.0/24"], discovery(("10.45.10.11",)), CONFIG.policy, TODAY
    )
    assert declared.outcome is Outcome.PASSED
    assert judge(check, discovery((), errors=1), CONFIG.policy, TODAY).outcome is Outcome.ERROR


def test_smb1_accepted_fails() -> None:
    check = PLAN["smb1:dc1"]
    assert (
        judge(check, Smb1Observation(Smb1Result(True, "idx 0")), CONFIG.policy, TODAY).outcome
        is Outcome.FAILED
    )
    assert (
        judge(check, Smb1Observation(Smb1Result(False, "0xFFFF")), CONFIG.policy, TODAY).outcome
        is Outcome.PASSED
    )


def negotiations(modes: dict[str, int | None]) -> NegotiationObservation:
    return NegotiationObservation(
        tuple(
            NegotiateResult(d, m is not None, d if m is not None else None, m, "")
            for d, m in modes.items()
        )
    )


def test_signing_judged_from_the_servers_own_security_mode_at_every_dialect_seen() -> None:
    check = PLAN["signing:print1"]
    good = negotiations({"2.0.2": 3, "2.1": 3, "3.0": 3, "3.0.2": 3, "3.1.1": 3})
    assert judge(check, good, CONFIG.policy, TODAY).outcome is Outcome.PASSED
    # signing optional at 3.1.1 must fail even though impacket would say "required" there
    weak = negotiations({"2.0.2": 3, "2.1": 3, "3.0": 3, "3.0.2": 3, "3.1.1": 1})
    verdict = judge(check, weak, CONFIG.policy, TODAY)
    assert verdict.outcome is Outcome.FAILED
    assert "3.1.1" in verdict.message
    none = negotiations({"2.0.2": None})
    assert judge(check, none, CONFIG.policy, TODAY).outcome is Outcome.ERROR


ALL = "2.0.2, 2.1, 3.0, 3.0.2, 3.1.1"  # offer_name(DIALECTS)


def answer(offered: str, chosen: str | None, mode: int = 3) -> NegotiateResult:
    detail = f"server chose {chosen}" if chosen else "server refused it (NOT_SUPPORTED)"
    return NegotiateResult(offered, chosen is not None, chosen, mode if chosen else None, detail)


def test_dialect_floor_is_proved_by_a_refused_offer_of_the_dialects_below_it() -> None:
    check = PLAN["dialect:print1"]  # the lab's print role: floor 2.1
    kept = NegotiationObservation((answer(ALL, "3.1.1"), answer("2.0.2", None)))
    verdict = judge(check, kept, CONFIG.policy, TODAY)
    assert verdict.outcome is Outcome.PASSED
    assert "refused 2.0.2 offered alone" in verdict.message
    below = NegotiationObservation((answer(ALL, "3.1.1"), answer("2.0.2", "2.0.2")))
    verdict = judge(check, below, CONFIG.policy, TODAY)
    assert (verdict.outcome, verdict.observed) == (Outcome.FAILED, "below-floor:2.0.2")
    # a server whose best is below the floor fails from the offer of all alone
    old = NegotiationObservation((answer(ALL, "2.0.2"), answer("2.0.2", "2.0.2")))
    assert judge(check, old, CONFIG.policy, TODAY).observed == "below-floor:2.0.2"
    unasked = NegotiationObservation((answer(ALL, "3.1.1"),))
    assert judge(check, unasked, CONFIG.policy, TODAY).outcome is Outcome.ERROR
    silent = NegotiationObservation((answer(ALL, None), answer("2.0.2", None)))
    assert judge(check, silent, CONFIG.policy, TODAY).outcome is Outcome.ERROR
    # an answer to the floor's offer in a dialect at the floor was never offered: no proof
    astray = NegotiationObservation((answer(ALL, "3.1.1"), answer("2.0.2", "2.1")))
    assert judge(check, astray, CONFIG.policy, TODAY).outcome is Outcome.ERROR
    # at the lowest floor there is nothing below to refuse
    lowest = judge(PLAN["dialect:fs1"], unasked, CONFIG.policy, TODAY)
    assert (lowest.outcome, lowest.observed) == (Outcome.PASSED, "at-floor")


def test_dialect_asks_below_the_floor_only_where_there_is_something_below() -> None:
    dialect = kind_of(PLAN["dialect:print1"])
    assert list(dialect.needs(PLAN["dialect:print1"], CONFIG)) == [
        SmbNeed.NEGOTIATE,
        SmbNeed.BELOW_FLOOR,
    ]
    assert list(dialect.needs(PLAN["dialect:fs1"], CONFIG)) == [SmbNeed.NEGOTIATE]
    assert list(kind_of(PLAN["signing:print1"]).needs(PLAN["signing:print1"], CONFIG)) == [
        SmbNeed.NEGOTIATE
    ]


def test_signing_is_read_from_the_dialect_the_server_chose() -> None:
    check = PLAN["signing:print1"]
    optional = judge(
        check, NegotiationObservation((answer(ALL, "3.1.1", 1),)), CONFIG.policy, TODAY
    )
    assert optional.outcome is Outcome.FAILED
    assert "NOT require signing at 3.1.1" in optional.message


def session(listed: bool, logged_in: bool = True, flags: int = 0) -> SessionResult:
    return SessionResult(
        "2.1", logged_in, listed, ("IPC$", "data") if listed else (), flags, "status"
    )


def test_anonymous_share_open_fails_even_when_listing_is_refused() -> None:
    check = PLAN["anonymous:fs1"]
    session = SessionResult(
        "2.1", True, False, (), None, "share listing refused: STATUS_ACCESS_DENIED", ("data",), ()
    )
    verdict = judge(check, SessionObservation(session, "anonymous"), CONFIG.policy, TODAY)
    assert verdict.outcome is Outcome.FAILED
    assert "OPENED data" in verdict.message


def test_anonymous_listing_fails_refusal_passes() -> None:
    check = PLAN["anonymous:fs1"]
    assert (
        judge(check, SessionObservation(session(True), "anonymous"), CONFIG.policy, TODAY).outcome
        is Outcome.FAILED
    )
    assert (
        judge(check, SessionObservation(session(False), "anonymous"), CONFIG.policy, TODAY).outcome
        is Outcome.PASSED
    )


def opened(
    shares: tuple[str, ...], failed: tuple[tuple[str, str], ...] = (), dialect: str = "3.1.1"
) -> SessionResult:
    return SessionResult(dialect, True, True, ("IPC$", "data"), None, "listed", shares, failed)


def test_encryption_judged_by_what_an_unencrypted_session_gets() -> None:
    check = PLAN["encryption:fs1"]
    refused = SessionResult("2.1", False, False, (), None, "login refused: STATUS_ACCESS_DENIED")
    good = EncryptionObservation(opened(("data",)), refused, "smblab")
    assert judge(check, good, CONFIG.policy, TODAY).outcome is Outcome.PASSED
    share_refused = opened((), (("data", "STATUS_ACCESS_DENIED"),), "2.1")
    assert (
        judge(
            check,
            EncryptionObservation(opened(("data",)), share_refused, "smblab"),
            CONFIG.policy,
            TODAY,
        ).outcome
        is Outcome.PASSED
    )
    leak = EncryptionObservation(opened(("data",)), opened(("data",), dialect="2.1"), "smblab")
    verdict = judge(check, leak, CONFIG.policy, TODAY)
    assert verdict.outcome is Outcome.FAILED
    assert "UNENCRYPTED SMB 2.1" in verdict.message
    # a plain session that is neither let in nor denied access proves nothing
    odd = SessionResult("2.1", False, False, (), None, "login refused: STATUS_LOGON_FAILURE")
    unproven = EncryptionObservation(opened(("data",)), odd, "smblab")
    assert judge(check, unproven, CONFIG.policy, TODAY).outcome is Outcome.ERROR
    no_shares = EncryptionObservation(opened(()), refused, "smblab")
    assert judge(check, no_shares, CONFIG.policy, TODAY).outcome is Outcome.ERROR
    broken = EncryptionObservation(
        opened((), (("data", "STATUS_BAD_NETWORK_NAME"),)), refused, "smblab"
    )
    assert judge(check, broken, CONFIG.policy, TODAY).outcome is Outcome.ERROR


def exception_verdict(today: date, state: ConnectState = ConnectState.OPEN) -> Verdict:
    check: Check = PLAN["exception:EXC-0001"]
    assert check.target is not None
    obs = ReachObservation(
        connect(check.target, state), connect(CONTROL, ConnectState.OPEN), "iot1"
    )
    return judge(check, obs, CONFIG.policy, today)


def test_exception_lifecycle() -> None:
    assert exception_verdict(TODAY).outcome is Outcome.PASSED
    unused = exception_verdict(TODAY, ConnectState.FILTERED)
    assert (unused.outcome, unused.observed) == (Outcome.FAILED, "unused")
    assert "retire it" in unused.message
    overdue = exception_verdict(date(2027, 1, 15))
    assert (overdue.outcome, overdue.observed) == (Outcome.FAILED, "overdue")
    expired = exception_verdict(date(2027, 9, 1))
    assert (expired.outcome, expired.observed) == (Outcome.FAILED, "expired")


def test_exception_expiring_soon_passes_with_warning() -> None:
    policy = CONFIG.policy
    soon = policy.model_copy(
        update={
            "exceptions": (policy.exceptions[0].model_copy(update={"expires": date(2026, 12, 5)}),)
        }
    )
    check = PLAN["exception:EXC-0001"]
    assert check.target is not None
    obs = ReachObservation(
        connect(check.target, ConnectState.OPEN), connect(CONTROL, ConnectState.OPEN), "iot1"
    )
    verdict = judge(check, obs, soon, TODAY)
    assert verdict.outcome is Outcome.PASSED
    assert verdict.warning is not None and "expires in 9 days" in verdict.warning


def test_exception_dates_are_judged_in_utc_whatever_the_runners_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Kiribati's and Baker Island's local dates differ by a day at every instant."""
    seen = set()
    for zone in ("Etc/GMT-14", "Etc/GMT+12"):
        monkeypatch.setenv("TZ", zone)
        time.tzset()
        seen.add(utc_today())
    monkeypatch.delenv("TZ")
    time.tzset()
    assert len(seen) == 1
