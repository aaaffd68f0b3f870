"""guest:HOST — the guest account cannot list or open shares (seed step 4), tried over SMB 2.1
(impacket itself refuses guest over 3.1.1, which would pass a guest-ok server)."""

from __future__ import annotations

from smbtests.checks._hardening import one_fact, per_host
from smbtests.checks._sessions import judge_refused
from smbtests.checks.base import Check, Family, SmbNeed
from smbtests.checks.verdicts import Judging, Verdict
from smbtests.observations import SessionObservation

NAME = "guest"
FAMILY = Family.HARDENING
GUEST_USER = "guest"


plan = per_host(
    NAME,
    ("No guest SMB access", "critical"),
    lambda b: b.guest == "refused",
    lambda *_: "the guest account cannot list shares",
)
needs, observe = one_fact(SmbNeed.GUEST, lambda s: SessionObservation(s, GUEST_USER))


def judge(check: Check, obs: SessionObservation, judging: Judging) -> Verdict:
    return judge_refused(check, obs)
