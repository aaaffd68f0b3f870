"""win-smb1:HOST — SMB1 is switched off on the Windows host and its feature removed, and SMB1
attempts are audited where the build can (seed step 4), read with Get-SmbServerConfiguration
and Get-WindowsOptionalFeature."""

from __future__ import annotations

from smbtests.checks import _windows
from smbtests.checks.base import Check, Family
from smbtests.checks.verdicts import Judging, Verdict
from smbtests.observations import HostQuery, WindowsObservation

NAME = "win-smb1"
FAMILY = Family.HARDENING
FEATURE_OFF = ("Disabled", "DisabledWithPayloadRemoved")


plan = _windows.per_windows_host(
    NAME,
    ("SMB1 refused", "critical", 4, "smb_hardening"),
    lambda *_: "SMB1 is switched off and its feature removed",
    applies=lambda _host, baseline: baseline.smb1 == "refused",
)
needs, observe = _windows.readings(HostQuery.SMB_SERVER_CONFIGURATION, HostQuery.SMB1_FEATURE)


def judge(check: Check, obs: WindowsObservation, judging: Judging) -> Verdict:
    config = _windows.reading(obs, HostQuery.SMB_SERVER_CONFIGURATION)
    state = _windows.reading(obs, HostQuery.SMB1_FEATURE)["State"]
    problems = _windows.settings_problems(config, ("EnableSMB1Protocol",), on=False)
    if state not in FEATURE_OFF:
        problems.append(f"SMB1Protocol feature is {state}")
    # older builds report null: the audit switch only counts where it exists
    if config.get("AuditSmb1Access") is not None and not _windows.true(config["AuditSmb1Access"]):
        problems.append("AuditSmb1Access is False (SMB1 attempts go unlogged)")
    return _windows.judged(
        check, problems, "smb1", "SMB1 off and its feature disabled", wanted="off"
    )
