"""win-signing:HOST — the Windows SMB server requires signing (seed step 4), read with
Get-SmbServerConfiguration (RequireSecuritySignature, EnableSecuritySignature)."""

from __future__ import annotations

from smbtests.checks import _windows
from smbtests.checks.base import Check, Family
from smbtests.checks.verdicts import Judging, Verdict
from smbtests.observations import HostQuery, WindowsObservation

NAME = "win-signing"
FAMILY = Family.HARDENING
SETTINGS = ("RequireSecuritySignature", "EnableSecuritySignature")


plan = _windows.per_windows_host(
    NAME,
    ("SMB signing required", "critical", 4, "smb_hardening"),
    lambda *_: "the SMB server requires signing",
    applies=lambda _host, baseline: baseline.signing == "required",
)
needs, observe = _windows.readings(HostQuery.SMB_SERVER_CONFIGURATION)


def judge(check: Check, obs: WindowsObservation, judging: Judging) -> Verdict:
    config = _windows.reading(obs, HostQuery.SMB_SERVER_CONFIGURATION)
    problems = _windows.settings_problems(config, SETTINGS)
    if problems and not _windows.true(config["RequireSecuritySignature"]):
        # Windows Server 2025 requires signing by default only on its outbound (client) side
        problems.append(
            "inbound sessions may be unsigned (Windows Server 2025 requires signing by default "
            "only outbound; set RequireSecuritySignature on the server)"
        )
    return _windows.judged(check, problems, "signing", " and ".join(SETTINGS) + " True")
