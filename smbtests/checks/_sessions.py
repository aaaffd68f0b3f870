"""What anonymous and guest share: a session that must be refused, judged only from the
server's NTSTATUS answers over SMB 2.1 (where impacket forces no signing)."""

from __future__ import annotations

from collections.abc import Callable

from smbtests.checks._hardening import Needs, Observe, one_fact
from smbtests.checks.base import Check, SmbNeed
from smbtests.checks.verdicts import Judging, Outcome, Verdict, violated
from smbtests.observations import SessionObservation

Judge = Callable[[Check, SessionObservation, Judging], Verdict]


def refused(need: SmbNeed, as_user: str) -> tuple[Needs, Observe, Judge]:
    """`needs`, `observe` and `judge` of a kind whose session `need`, as `as_user`, must list
    and open nothing."""
    return (*one_fact(need, lambda s: SessionObservation(s, as_user)), judge_refused)


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
