"""dialect:HOST — no SMB2/3 dialect below the baseline's floor is accepted (seed step 4)."""

from __future__ import annotations

from smbtests.checks._hardening import accepted, one_fact, per_host
from smbtests.checks.base import Check, Family, SmbNeed
from smbtests.checks.verdicts import Judging, Outcome, Verdict, violated
from smbtests.config import DIALECTS
from smbtests.observations import NegotiationObservation

NAME = "dialect"
FAMILY = Family.HARDENING


plan = per_host(
    NAME,
    ("SMB dialect floor", "normal"),
    lambda _name, _host, b: f"no dialect below SMB {b.min_dialect} is accepted",
)
needs, observe = one_fact(SmbNeed.NEGOTIATIONS, NegotiationObservation)


def judge(check: Check, obs: NegotiationObservation, judging: Judging) -> Verdict:
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
