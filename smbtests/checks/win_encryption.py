"""win-encryption:HOST — the Windows SMB server encrypts and rejects unencrypted access (seed
step 4), read with Get-SmbServerConfiguration (EncryptData, RejectUnencryptedAccess)."""

from __future__ import annotations

from smbtests.checks._windows import per_windows_host, switches
from smbtests.checks.base import Family
from smbtests.observations import HostQuery

NAME = "win-encryption"
FAMILY = Family.HARDENING
SETTINGS = ("EncryptData", "RejectUnencryptedAccess")


plan = per_windows_host(
    NAME,
    ("SMB encryption required", "critical", 4, "smb_hardening"),
    lambda *_: "the SMB server encrypts and rejects unencrypted access",
    applies=lambda _windows, baseline: baseline.encryption == "required",
)
needs, observe, judge = switches(HostQuery.SMB_SERVER_CONFIGURATION, SETTINGS, "encryption")
