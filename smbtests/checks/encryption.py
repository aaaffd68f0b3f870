"""encryption:HOST — sessions are encrypted because the server demands it (seed step 4).

Encryption is required when the account opens its shares over SMB 3.x (which encrypts) but
the server refuses the same account over SMB 2.1 (which cannot encrypt) with an access-denied
answer: judged by what the server refuses, never by session flags (impacket rewrites them at
3.x). A server whose floor is 3.x therefore makes this an error, not a pass.
"""

from __future__ import annotations

from collections.abc import Sequence

from smbtests.checks._hardening import per_host
from smbtests.checks.base import Check, Facts, Family, Need, SmbNeed
from smbtests.checks.verdicts import Judging, Outcome, Verdict, violated
from smbtests.config import LoadedConfig
from smbtests.observations import EncryptionObservation, Observation

NAME = "encryption"
FAMILY = Family.HARDENING
ACCESS_DENIED = "STATUS_ACCESS_DENIED"


plan = per_host(
    NAME,
    ("SMB encryption required", "critical"),
    "sessions are encrypted (the server demands it)",
    applies=lambda b: b.encryption == "required",
)


def needs(check: Check, config: LoadedConfig) -> Sequence[Need]:
    return (SmbNeed.ACCOUNT, SmbNeed.ACCOUNT_UNENCRYPTED)


def observe(check: Check, facts: Facts) -> Observation:
    return EncryptionObservation(
        facts.get(SmbNeed.ACCOUNT), facts.get(SmbNeed.ACCOUNT_UNENCRYPTED), facts.account or ""
    )


def judge(check: Check, obs: EncryptionObservation, judging: Judging) -> Verdict:
    capable, plain = obs.capable, obs.plain
    who = f"{check.host} as {obs.as_user}"
    if not capable.opened_shares or capable.failed_shares or not capable.logged_in:
        why = ", ".join(f"{s}: {w}" for s, w in capable.failed_shares) or capable.status
        if capable.logged_in and not capable.opened_shares and not capable.failed_shares:
            why = "the host declares no shares to open"
        return Verdict(
            Outcome.ERROR,
            f"{who} over SMB {capable.dialect}: {why}; encryption is judged by opening the "
            "declared shares, which must work over SMB 3.x first (see the access check)",
            "error",
        )
    if plain.opened_shares:
        return violated(
            check,
            f"{check.host} opened {', '.join(plain.opened_shares)} to {obs.as_user} over "
            f"UNENCRYPTED SMB {plain.dialect}",
            "optional",
        )
    refused_login = not plain.logged_in and ACCESS_DENIED in plain.status
    refused_shares = (
        plain.logged_in
        and all(why == ACCESS_DENIED for _, why in plain.failed_shares)
        and len(plain.failed_shares) == len(capable.opened_shares)
    )
    if not (refused_login or refused_shares):
        how = plain.status + "".join(f"; {s}: {w}" for s, w in plain.failed_shares)
        return Verdict(
            Outcome.ERROR,
            f"{who} over unencrypted SMB {plain.dialect}: {how}; not an access-denied answer, "
            "so it does not show that encryption is what the server demands",
            "error",
        )
    how = plain.status if refused_login else f"tree connect {ACCESS_DENIED}"
    return Verdict(
        Outcome.PASSED,
        f"{check.host} opens {', '.join(capable.opened_shares)} only encrypted (SMB "
        f"{capable.dialect}); unencrypted SMB {plain.dialect} was refused ({how})",
        "required",
    )
