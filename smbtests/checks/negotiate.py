"""The kinds judged from the server's answers to negotiates, one `Kind` each (seed step 4): an
SMB1-only negotiate; one offering every SMB2/3 dialect (signing, dialect); one offering only the
dialects below the host's floor (dialect). A server announces signing in SecurityMode from its
one RequireMessageSigning setting, whatever the dialect (MS-SMB2 3.3.5.4), and picks from an
offer the highest dialect it shares: so two negotiates prove what one per dialect did, on two
connections instead of five (smbd forks for each; Samba hangs up after a refusal)."""

from __future__ import annotations

from collections.abc import Sequence

from smbtests.checks._hardening import accepted, host_kind, per_host
from smbtests.checks.base import Check, Facts, Family, Kind, Need, SmbNeed
from smbtests.checks.verdicts import Judging, Outcome, Verdict, violated
from smbtests.config import DIALECTS, LoadedConfig
from smbtests.observations import NegotiationObservation, Observation, Smb1Observation, offer_name


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
    optional = [n.dialect or "" for n in offered if not n.signing_required]
    modes = ", ".join(f"{n.dialect}=0x{n.security_mode or 0:x}" for n in offered)
    if optional:
        return violated(
            check,
            f"{check.host} does NOT require signing at {', '.join(optional)} (server "
            f"SecurityMode {modes})",
            "optional",
        )
    return Verdict(
        Outcome.PASSED,
        f"{check.host} requires signing (SecurityMode {modes}: the server's one setting for "
        "every dialect)",
        "required",
    )


SIGNING = host_kind(
    "signing",
    """signing:HOST — the server requires signing (seed step 4), judged from its own
    SecurityMode in its answer to a negotiate offering every SMB2/3 dialect (the server's one
    setting for them all), never from impacket's `isSigningRequired()` (forced true at
    3.1.1).""",
    ("SMB signing required", "critical"),
    "the server requires signing (its SecurityMode, one setting for every SMB2/3 dialect)",
    (SmbNeed.NEGOTIATE, lambda answer: NegotiationObservation((answer,))),
    _signing,
    applies=lambda baseline: baseline.signing == "required",
)


def _dialect_needs(check: Check, config: LoadedConfig) -> Sequence[Need]:
    below = config.policy.baseline_for(check.host or "").below_floor()
    return (SmbNeed.NEGOTIATE, SmbNeed.BELOW_FLOOR) if below else (SmbNeed.NEGOTIATE,)


def _dialect_observe(check: Check, facts: Facts) -> Observation:
    below = (facts.get(SmbNeed.BELOW_FLOOR),) if SmbNeed.BELOW_FLOOR in facts.values else ()
    return NegotiationObservation((facts.get(SmbNeed.NEGOTIATE), *below))


def _dialect(check: Check, obs: NegotiationObservation, judging: Judging) -> Verdict:
    baseline = judging.policy.baseline_for(check.host or "")
    floor, below = baseline.min_dialect or DIALECTS[0], baseline.below_floor()
    offered = accepted(obs.negotiations)
    under = [dialect for dialect in below if dialect in {n.dialect for n in offered}]
    if under:
        answers = "; ".join(
            f"offered {n.offered}: {n.detail}" for n in offered if n.dialect in under
        )
        return violated(
            check,
            f"{check.host} accepts {', '.join(under)} below the floor {floor} ({answers})",
            "below-floor:" + ",".join(under),
        )
    every = next((n for n in offered if n.offered == offer_name(DIALECTS)), None)
    if every is None:
        return Verdict(
            Outcome.ERROR, f"{check.host} chose no dialect of every SMB2/3 dialect offered", "error"
        )
    if not below:
        return Verdict(
            Outcome.PASSED,
            f"{check.host} chose {every.dialect} of every SMB2/3 dialect; nothing is below its "
            f"floor {floor}",
            "at-floor",
        )
    refusal = next((n for n in obs.negotiations if n.offered == offer_name(below)), None)
    if refusal is None or refusal.accepted:  # never put to the server, or answered with a
        # dialect it was not offered (the wire makes that an error): nothing is proven
        return Verdict(
            Outcome.ERROR, f"{check.host}: no negotiate offered the dialects below {floor}", "error"
        )
    return Verdict(
        Outcome.PASSED,
        f"{check.host} chose {every.dialect} and refused {offer_name(below)} offered alone "
        f"({refusal.detail}); nothing below {floor}",
        "at-floor",
    )


DIALECT = Kind(
    "dialect",
    Family.HARDENING,
    """dialect:HOST — no SMB2/3 dialect below the baseline's floor is accepted (seed step 4):
    a negotiate offering only the dialects below it is refused, and one offering all chooses
    none below it.""",
    per_host(
        "dialect",
        ("SMB dialect floor", "normal"),
        lambda _name, _host, b: f"no dialect below SMB {b.min_dialect} is accepted",
    ),
    _dialect_needs,
    _dialect_observe,
    _dialect,
)
