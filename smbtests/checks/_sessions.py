"""What anonymous and guest share: a session that must be refused, judged only from the
server's NTSTATUS answers over SMB 2.1 (where impacket forces no signing)."""

from __future__ import annotations

from smbtests.checks.base import Check
from smbtests.checks.verdicts import Outcome, Verdict, violated
from smbtests.observations import SessionObservation


def judge_refused(check: Check, obs: SessionObservation) -> Verdict:
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
