"""The kinds that read a Windows host's SMB server configuration (Get-SmbServerConfiguration and
the readings beside it), one `Kind` each, in seed step 4's hardening."""

from __future__ import annotations

from smbtests.checks._windows import (
    judged,
    reading,
    settings_problems,
    switches,
    true,
    windows_kind,
)
from smbtests.checks.base import Check
from smbtests.checks.verdicts import Judging, Verdict
from smbtests.observations import HostQuery, WindowsObservation

SERVER = HostQuery.SMB_SERVER_CONFIGURATION
FEATURE_OFF = ("Disabled", "DisabledWithPayloadRemoved")
SIGNING_SETTINGS = ("RequireSecuritySignature", "EnableSecuritySignature")
ENCRYPTION_SETTINGS = ("EncryptData", "RejectUnencryptedAccess")
DELAY = "InvalidAuthenticationDelayTimeInMs"


def _smb1(check: Check, obs: WindowsObservation, judging: Judging) -> Verdict:
    config = reading(obs, SERVER)
    state = reading(obs, HostQuery.SMB1_FEATURE)["State"]
    problems = settings_problems(config, ("EnableSMB1Protocol",), on=False)
    if state not in FEATURE_OFF:
        problems.append(f"SMB1Protocol feature is {state}")
    # older builds report null: the audit switch only counts where it exists
    if config.get("AuditSmb1Access") is not None and not true(config["AuditSmb1Access"]):
        problems.append("AuditSmb1Access is False (SMB1 attempts go unlogged)")
    return judged(check, problems, "smb1", "SMB1 off and its feature disabled", wanted="off")


SMB1 = windows_kind(
    "win-smb1",
    """win-smb1:HOST — SMB1 is switched off on the Windows host and its feature removed, and
    SMB1 attempts are audited where the build can (seed step 4), read with
    Get-SmbServerConfiguration and Get-WindowsOptionalFeature.""",
    ("SMB1 refused", "critical", 4, "smb_hardening"),
    "SMB1 is switched off and its feature removed",
    (SERVER, HostQuery.SMB1_FEATURE),
    _smb1,
    applies=lambda _host, baseline: baseline.smb1 == "refused",
)


def _signing(check: Check, obs: WindowsObservation, judging: Judging) -> Verdict:
    config = reading(obs, SERVER)
    problems = settings_problems(config, SIGNING_SETTINGS)
    if problems and not true(config["RequireSecuritySignature"]):
        # Windows Server 2025 requires signing by default only on its outbound (client) side
        problems.append(
            "inbound sessions may be unsigned (Windows Server 2025 requires signing by default "
            "only outbound; set RequireSecuritySignature on the server)"
        )
    return judged(check, problems, "signing", " and ".join(SIGNING_SETTINGS) + " True")


SIGNING = windows_kind(
    "win-signing",
    """win-signing:HOST — the Windows SMB server requires signing (seed step 4), read with
    Get-SmbServerConfiguration (RequireSecuritySignature, EnableSecuritySignature).""",
    ("SMB signing required", "critical", 4, "smb_hardening"),
    "the SMB server requires signing",
    (SERVER,),
    _signing,
    applies=lambda _host, baseline: baseline.signing == "required",
)
ENCRYPTION = windows_kind(
    "win-encryption",
    """win-encryption:HOST — the Windows SMB server encrypts and rejects unencrypted access
    (seed step 4), read with Get-SmbServerConfiguration (EncryptData, RejectUnencryptedAccess).""",
    ("SMB encryption required", "critical", 4, "smb_hardening"),
    "the SMB server encrypts and rejects unencrypted access",
    (SERVER,),
    switches(SERVER, ENCRYPTION_SETTINGS, "encryption"),
    applies=lambda _windows, baseline: baseline.encryption == "required",
)


def _auth_limiter(check: Check, obs: WindowsObservation, judging: Judging) -> Verdict:
    delay = reading(obs, HostQuery.SMB_SERVER_LIMITS)[DELAY]
    problems = []
    if delay is None:
        problems.append(f"this build has no {DELAY} (Windows Server 2025 / 11 24H2 have it)")
    elif delay <= 0:
        problems.append(f"{DELAY} is {delay}: failed logons are not slowed")
    return judged(check, problems, "rate-limiter", f"failed logons delayed {delay} ms")


AUTH_LIMITER = windows_kind(
    "win-auth-limiter",
    """win-auth-limiter:HOST — the SMB server's authentication rate limiter is on (seed step
    4): InvalidAuthenticationDelayTimeInMs above 0 slows password guessing against 445 (Windows
    Server 2025 and Windows 11 24H2 default to 2000 ms; 0 switches it off). Read with
    Get-SmbServerConfiguration. A build without the setting has no limiter and fails.""",
    ("SMB authentication rate limiter", "normal", 4, "smb_hardening"),
    f"the SMB server delays failed logons ({DELAY} above 0)",
    (HostQuery.SMB_SERVER_LIMITS,),
    _auth_limiter,
)
