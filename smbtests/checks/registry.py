"""The index of check kinds: name -> the module that is the kind, or the `Kind` a module of one
resource declares. Adding a kind is one module (or one declaration) and one line here.

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
    control,
    discovery,
    drift,
    encryption,
    exception,
    negotiate,
    quic,
    reach,
    sessions,
    smb_path,
    sweep,
    win_445_rules,
    win_445_scope,
    win_dialect,
    win_firewall,
    win_profile,
    win_quic,
    win_restrictive,
    win_smb_client,
    win_smb_server,
)
from smbtests.checks.base import Check, CheckKind, Family, SmbNeed
from smbtests.checks.verdicts import Judging, Verdict
from smbtests.config import LoadedConfig, Policy
from smbtests.errors import InternalError
from smbtests.observations import Observation

_KINDS: tuple[CheckKind, ...] = (
    control,
    reach,
    quic,
    discovery,
    sweep,
    exception,
    negotiate.SMB1,
    negotiate.SIGNING,
    negotiate.DIALECT,
    encryption,
    sessions.ANONYMOUS,
    sessions.GUEST,
    access,
    smb_path,
    win_smb_server.SMB1,
    win_smb_server.SIGNING,
    win_smb_server.ENCRYPTION,
    win_firewall.FIREWALL,
    win_firewall.FIREWALL_LOG,
    win_445_rules,
    win_quic.QUIC,
    win_quic.QUIC_ACCESS,
    win_dialect,
    win_smb_server.AUTH_LIMITER,
    win_smb_client.GUEST_LOGONS,
    win_smb_client.NTLM,
    win_restrictive,
    win_profile,
    win_445_scope,
    drift,
)
KINDS: dict[str, CheckKind] = {kind.NAME: kind for kind in _KINDS}


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


SESSIONS = frozenset(
    {SmbNeed.ANONYMOUS, SmbNeed.GUEST, SmbNeed.ACCOUNT, SmbNeed.ACCOUNT_UNENCRYPTED, SmbNeed.PATH}
)


def opens_sessions(check: Check, config: LoadedConfig) -> bool:
    """Whether the check's facts come from SMB sessions opened here: impacket's session work
    (authentication, signing, share listing) is Python, bound to this process's one core; a
    negotiate, a scan or a WinRM reading mostly waits on the peer."""
    return any(need in SESSIONS for need in kind_of(check).needs(check, config))


def judge(check: Check, observation: Observation, policy: Policy, today: date) -> Verdict:
    """The verdict for one check, from its kind, as of `today` (exception expiry, reviews)."""
    return kind_of(check).judge(check, observation, Judging(policy, today))
