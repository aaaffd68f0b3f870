"""anonymous:HOST — no share can be listed or opened without credentials (seed step 4).

An anonymous login itself may succeed (Samba's `restrict anonymous = 2` refuses at tree
connect and share listing), so the check lists shares and tries the declared ones.
"""

from __future__ import annotations

from smbtests.checks._hardening import one_fact, per_host
from smbtests.checks._sessions import judge_refused
from smbtests.checks.base import Check, Family, SmbNeed
from smbtests.checks.verdicts import Judging, Verdict
from smbtests.observations import SessionObservation

NAME = "anonymous"
FAMILY = Family.HARDENING


plan = per_host(
    NAME,
    ("No anonymous SMB access", "critical"),
    lambda b: b.anonymous == "refused",
    lambda *_: "no share can be listed without credentials",
)
needs, observe = one_fact(SmbNeed.ANONYMOUS, lambda s: SessionObservation(s, "anonymous"))


def judge(check: Check, obs: SessionObservation, judging: Judging) -> Verdict:
    return judge_refused(check, obs)
