"""win-encryption:HOST — the Windows SMB server encrypts and rejects unencrypted access (seed
step 4), read with Get-SmbServerConfiguration (EncryptData, RejectUnencryptedAccess)."""

from __future__ import annotations

from smbtests.checks._windows import (
    judged,
    per_windows_host,
    reading,
    readings,
    true,
)
from smbtests.checks.base import Check, Family
from smbtests.checks.verdicts import Judging, Verdict
from smbtests.observations import HostQuery, WindowsObservation

NAME = "win-encryption"
FAMILY = Family.HARDENING
SETTINGS = ("EncryptData", "RejectUnencryptedAccess")


plan = per_windows_host(
    NAME,
    ("SMB encryption required", "critical", 4, "smb_hardening"),
    lambda _windows, baseline: baseline.encryption == "required",
    lambda *_: "the SMB server encrypts and rejects unencrypted access",
)
needs, observe = readings(HostQuery.SMB_SERVER_CONFIGURATION)


def judge(check: Check, obs: WindowsObservation, judging: Judging) -> Verdict:
    config = reading(obs, HostQuery.SMB_SERVER_CONFIGURATION)
    problems = [f"{key} is False" for key in SETTINGS if not true(config[key])]
    return judged(check, problems, "encryption", " and ".join(SETTINGS) + " True")
