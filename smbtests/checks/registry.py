"""The index of check kinds: name -> module. Adding a kind is one module and one line here.

The stages iterate this registry instead of listing kinds: the plan asks every kind for its
checks, execution asks a check's kind what it needs and how the facts become its observation,
and judging asks the kind for the verdict.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date

from smbtests.checks import (
    access,
    anonymous,
    control,
    dialect,
    discovery,
    drift,
    encryption,
    exception,
    guest,
    quic,
    reach,
    signing,
    smb1,
    smb_path,
    sweep,
    win_445_rules,
    win_445_scope,
    win_auth_limiter,
    win_dialect,
    win_encryption,
    win_firewall,
    win_firewall_log,
    win_guest_logons,
    win_ntlm,
    win_profile,
    win_quic,
    win_quic_access,
    win_restrictive,
    win_signing,
    win_smb1,
)
from smbtests.checks.base import Check, CheckKind, Family, SmbNeed
from smbtests.checks.verdicts import Judging, Verdict
from smbtests.config import LoadedConfig, Policy
from smbtests.errors import InternalError
from smbtests.observations import Observation

_MODULES: tuple[CheckKind, ...] = (
    control,
    reach,
    quic,
    discovery,
    sweep,
    exception,
    smb1,
    signing,
    dialect,
    encryption,
    anonymous,
    guest,
    access,
    smb_path,
    win_smb1,
    win_signing,
    win_encryption,
    win_firewall,
    win_firewall_log,
    win_445_rules,
    win_quic,
    win_quic_access,
    win_dialect,
    win_auth_limiter,
    win_guest_logons,
    win_ntlm,
    win_restrictive,
    win_profile,
    win_445_scope,
    drift,
)
KINDS: dict[str, CheckKind] = {module.NAME: module for module in _MODULES}


def kind_of(check: Check) -> CheckKind:
    return KINDS[check.kind]


def family(kind_name: str) -> Family:
    """The diff family of a kind by name; a kind no longer known (an old results file) is
    `other`."""
    kind = KINDS.get(kind_name)
    return Family.OTHER if kind is None else kind.FAMILY


def build_plan(config: LoadedConfig, today: date) -> list[Check]:
    """Every check the policy implies in this environment, sorted by id."""
    checks = [check for kind in KINDS.values() for check in kind.plan(config, today)]
    counts = Counter(check.id for check in checks)
    duplicates = sorted(check_id for check_id, count in counts.items() if count > 1)
    if duplicates:
        raise InternalError(f"the plan produced duplicate check ids: {duplicates}")
    return sorted(checks, key=lambda c: c.id)


def uses_account(checks: Iterable[Check], config: LoadedConfig) -> bool:
    """Whether any check logs in with the environment's approved account."""
    account = (
        SmbNeed.ACCOUNT,
        SmbNeed.ACCOUNT_UNENCRYPTED,
        SmbNeed.PATH,
        SmbNeed.PATH_FROM_WINDOWS,
    )
    return any(need in account for c in checks for need in kind_of(c).needs(c, config))


def judge(check: Check, observation: Observation, policy: Policy, today: date) -> Verdict:
    """The verdict for one check, from its kind, as of `today` (exception expiry, reviews)."""
    return kind_of(check).judge(check, observation, Judging(policy, today))
