"""signing:HOST — the server requires signing at every SMB2/3 dialect it offers (seed step 4),
judged from its own SecurityMode in each negotiate answer, never from impacket's
`isSigningRequired()` (forced true at 3.1.1)."""

from __future__ import annotations

from smbtests.checks._hardening import accepted, one_fact, per_host
from smbtests.checks.base import Check, Family, SmbNeed
from smbtests.checks.verdicts import Judging, Outcome, Verdict, violated
from smbtests.observations import NegotiationObservation

NAME = "signing"
FAMILY = Family.HARDENING


plan = per_host(
    NAME,
    ("SMB signing required", "critical"),
    lambda *_: "the server requires signing at every SMB2/3 dialect it offers",
    applies=lambda b: b.signing == "required",
)
needs, observe = one_fact(SmbNeed.NEGOTIATIONS, NegotiationObservation)


def judge(check: Check, obs: NegotiationObservation, judging: Judging) -> Verdict:
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
