"""The kinds whose SMB session must be refused, anonymous and guest, one `Kind` each (seed step
4): judged only from the server's NTSTATUS answers over SMB 2.1 (where impacket forces no
signing), a session that lists and opens nothing."""

from __future__ import annotations

from smbtests.checks._hardening import host_kind
from smbtests.checks.base import Check, SmbNeed
from smbtests.checks.verdicts import Judging, Outcome, Verdict, violated
from smbtests.observations import SessionObservation

GUEST_USER = "guest"


def judge_refused(check: Check, obs: SessionObservation, judging: Judging) -> Verdict:
    session = obs.session
    who = f"{check.host} as {obs.as_user} over SMB {session.dialect}"
    if session.listed or session.opened_shares:
        seen = []
        if session.listed:
            seen.append(f"LISTED shares: {', '.join(session.shares) or '(empty list)'}")
        if session.opened_shares:
            seen.append(f"OPENED {', '.join(session.opened_shares)}")
        return violated(check, f"{who} {'; '.join(seen)}", "listed" if session.listed else "opened")
    refused = "".join(f"; {s}: {why}" for s, why in session.failed_shares)
    return Verdict(Outcome.PASSED, f"{who}: {session.status}{refused}", "refused")


ANONYMOUS = host_kind(
    "anonymous",
    """anonymous:HOST — no share can be listed or opened without credentials (seed step 4).

    An anonymous login itself may succeed (Samba's `restrict anonymous = 2` refuses at tree
    connect and share listing), so the check lists shares and tries the declared ones.""",
    ("No anonymous SMB access", "critical"),
    "no share can be listed without credentials",
    (SmbNeed.ANONYMOUS, lambda session: SessionObservation(session, "anonymous")),
    judge_refused,
    applies=lambda baseline: baseline.anonymous == "refused",
)
GUEST = host_kind(
    "guest",
    """guest:HOST — the guest account cannot list or open shares (seed step 4), tried over SMB
    2.1 (impacket itself refuses guest over 3.1.1, which would pass a guest-ok server).""",
    ("No guest SMB access", "critical"),
    "the guest account cannot list shares",
    (SmbNeed.GUEST, lambda session: SessionObservation(session, GUEST_USER)),
    judge_refused,
    applies=lambda baseline: baseline.guest == "refused",
)
