"""access:HOST — the declared shares open with the environment's approved account (seed steps
1 and 6: the inventory is right and the shares work). Planned only where an account is set."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from smbtests.checks._hardening import per_host
from smbtests.checks.base import Check, Facts, Family, Need, SmbNeed
from smbtests.checks.verdicts import Judging, Outcome, Verdict, violated
from smbtests.config import LoadedConfig
from smbtests.observations import Observation, SessionObservation

NAME = "access"
FAMILY = Family.OTHER


_plan_every_host = per_host(
    NAME,
    ("Declared shares work", "normal"),
    lambda _name, host, _b: (
        f"the declared shares ({', '.join(host.shares) or 'none'}) open with the approved account"
    ),
    step=6,
    marker="smb_inventory",
)


def plan(config: LoadedConfig, today: date) -> list[Check]:
    """Only where the environment names the approved account."""
    return [] if config.environment.smb.credential is None else _plan_every_host(config, today)


def needs(check: Check, config: LoadedConfig) -> Sequence[Need]:
    return (SmbNeed.ACCOUNT,)


def observe(check: Check, facts: Facts) -> Observation:
    return SessionObservation(facts.get(SmbNeed.ACCOUNT), facts.account or "")


def judge(check: Check, obs: SessionObservation, judging: Judging) -> Verdict:
    session = obs.session
    who = f"{check.host} as {obs.as_user} over SMB {session.dialect}"
    if not session.logged_in:  # the server answered "no": that is the shares not working
        return Verdict(
            Outcome.FAILED,
            f"{who}: {session.status}; the shares do not work for the approved account",
            "refused",
        )
    if session.failed_shares or not session.listed:
        failures = ", ".join(f"{s}: {why}" for s, why in session.failed_shares)
        return violated(check, f"{who}: {failures or session.status}", "broken")
    return Verdict(
        Outcome.PASSED, f"{who}: opened {', '.join(session.opened_shares) or 'no shares'}", "works"
    )
