"""smb1:HOST — the server refuses an SMB1-only negotiate (seed step 4)."""

from __future__ import annotations

from smbtests.checks._hardening import one_fact, per_host
from smbtests.checks.base import Check, Family, SmbNeed
from smbtests.checks.verdicts import Judging, Outcome, Verdict, violated
from smbtests.observations import Smb1Observation

NAME = "smb1"
FAMILY = Family.HARDENING
plan = per_host(
    NAME,
    ("SMB1 refused", "critical"),
    lambda *_: "SMB1 negotiation is refused",
    applies=lambda b: b.smb1 == "refused",
)
needs, observe = one_fact(SmbNeed.SMB1, Smb1Observation)


def judge(check: Check, obs: Smb1Observation, judging: Judging) -> Verdict:
    if obs.result.accepted:
        return violated(check, f"{check.host} ACCEPTED SMB1: {obs.result.detail}", "accepted")
    return Verdict(Outcome.PASSED, f"{check.host} refused SMB1: {obs.result.detail}", "refused")
