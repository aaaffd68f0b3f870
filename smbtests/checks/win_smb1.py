"""win-smb1:HOST — SMB1 is switched off on the Windows host and its feature removed, and SMB1
attempts are audited where the build can (seed step 4), read with Get-SmbServerConfiguration
and Get-WindowsOptionalFeature."""

from __future__ import annotations

from smbtests.checks._windows import (
    judged,
    per_windows_host,
    reading,
    readings,
    settings_problems,
    true,
)
from smbtests.checks.base import Check, Family
from smbtests.checks.verdicts import Judging, Verdict
from smbtests.observations import HostQuery, WindowsObservation

NAME = "win-smb1"
FAMILY = Family.HARDENING
FEATURE_OFF = ("Disabled", "DisabledWithPayloadRemoved")


plan = per_windows_host(
    NAME,
    ("SMB1 refused", "critical", 4, "smb_hardening"),
    lambda _windows, baseline: baseline.smb1 == "refused",
    lambda *_: "SMB1 is switched off and its feature removed",
)
needs, observe = readings(HostQuery.SMB_SERVER_CONFIGURATION, HostQuery.SMB1_FEATURE)


def judge(check: Check, obs: WindowsObservation, judging: Judging) -> Verdict:
    config = reading(obs, HostQuery.SMB_SERVER_CONFIGURATION)
    state = reading(obs, HostQuery.SMB1_FEATURE)["State"]
    problems = settings_problems(config, ("EnableSMB1Protocol",), on=False)
    if state not in FEATURE_OFF:
        problems.append(f"SMB1Protocol feature is {state}")
    # older builds report null: the audit switch only counts where it exists
    if config.get("AuditSmb1Access") is not None and not true(config["AuditSmb1Access"]):
        problems.append("AuditSmb1Access is False (SMB1 attempts go unlogged)")
    return judged(check, problems, "smb1", "SMB1 off and its feature disabled", wanted="off")
