"""The kinds judged from the server's answers to negotiates, one `Kind` each (seed step 4): an
SMB1-only negotiate, and one negotiate per SMB2/3 dialect (shared by signing and dialect)."""

from __future__ import annotations

from smbtests.checks._hardening import accepted, host_kind
from smbtests.checks.base import Check, SmbNeed
from smbtests.checks.verdicts import Judging, Outcome, Verdict, violated
from smbtests.config import DIALECTS
from smbtests.observations import NegotiationObservation, Smb1Observation

NEGOTIATIONS = (SmbNeed.NEGOTIATIONS, NegotiationObservation)


def _smb1(check: Check, obs: Smb1Observation, judging: Judging) -> Verdict:
    if obs.result.accepted:
        return violated(check, f"{check.host} ACCEPTED SMB1: {obs.result.detail}", "accepted")
    return Verdict(Outcome.PASSED, f"{check.host} refused SMB1: {obs.result.detail}", "refused")


SMB1 = host_kind(
    "smb1",
    """smb1:HOST — the server refuses an SMB1-only negotiate (seed step 4).""",
    ("SMB1 refused", "critical"),
    "SMB1 negotiation is refused",
    (SmbNeed.SMB1, Smb1Observation),
    _smb1,
    applies=lambda baseline: baseline.smb1 == "refused",
)


def _signing(check: Check, obs: NegotiationObservation, judging: Judging) -> Verdict:
    offered = accepted(obs.negotiations)
    if not offered:
        return Verdict(Outcome.ERROR, f"{check.host} negotiated no SMB2/3 dialect at all", "error")
    optional = [n.offered for n in offered if not n.signing_required]
    modes = ", ".join(f"{n.offered}=0x{n.security_mode or 0:x}" for n in offered)
    if optional:
        return violated(
            check,
            f"{check.host} does NOT require signing at {', '.join(optional)} (server "
            f"SecurityMode {modes})",
            "optional",
        )
    return Verdict(
        Outcome.PASSED,
        f"{check.host} requires signing at every offered SMB2/3 dialect (SecurityMode {modes})",
        "required",
    )


SIGNING = host_kind(
    "signing",
    """signing:HOST — the server requires signing at every SMB2/3 dialect it offers (seed step
    4), judged from its own SecurityMode in each negotiate answer, never from impacket's
    `isSigningRequired()` (forced true at 3.1.1).""",
    ("SMB signing required", "critical"),
    "the server requires signing at every SMB2/3 dialect it offers",
    NEGOTIATIONS,
    _signing,
    applies=lambda baseline: baseline.signing == "required",
)


def _dialect(check: Check, obs: NegotiationObservation, judging: Judging) -> Verdict:
    floor = judging.policy.baseline_for(check.host or "").min_dialect or DIALECTS[0]
    offered = accepted(obs.negotiations)
    if not offered:
        return Verdict(Outcome.ERROR, f"{check.host} negotiated no SMB2/3 dialect at all", "error")
    below = [n.offered for n in offered if DIALECTS.index(n.offered) < DIALECTS.index(floor)]
    names = ", ".join(n.offered for n in offered)
    if below:
        return violated(
            check,
            f"{check.host} accepts {', '.join(below)} below the floor {floor} (accepts {names})",
            "below-floor:" + ",".join(below),
        )
    return Verdict(
        Outcome.PASSED, f"{check.host} accepts {names}; nothing below {floor}", "at-floor"
    )


DIALECT = host_kind(
    "dialect",
    """dialect:HOST — no SMB2/3 dialect below the baseline's floor is accepted (seed step 4).""",
    ("SMB dialect floor", "normal"),
    lambda _name, _host, b: f"no dialect below SMB {b.min_dialect} is accepted",
    NEGOTIATIONS,
    _dialect,
)
