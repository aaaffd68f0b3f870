"""win-ntlm:HOST — the Windows SMB client blocks NTLM where the policy asks (`block_ntlm`;
seed step 4): BlockNTLM (Windows Server 2025, Windows 11 24H2) leaves Kerberos only, so a
relayed or cracked NTLM exchange cannot reach a share. Read with Get-SmbClientConfiguration;
a build without the setting cannot block NTLM and fails."""

from __future__ import annotations

from smbtests.checks._windows import judged, per_windows_host, reading, readings, true
from smbtests.checks.base import Check, Family
from smbtests.checks.verdicts import Judging, Verdict
from smbtests.observations import HostQuery, WindowsObservation

NAME = "win-ntlm"
FAMILY = Family.HARDENING

plan = per_windows_host(
    NAME,
    ("NTLM blocked for SMB", "normal", 4, "smb_hardening"),
    lambda *_: "the SMB client blocks NTLM (BlockNTLM)",
    applies=lambda _windows, baseline: baseline.block_ntlm is True,
)
needs, observe = readings(HostQuery.SMB_CLIENT_CONFIGURATION)


def judge(check: Check, obs: WindowsObservation, judging: Judging) -> Verdict:
    block = reading(obs, HostQuery.SMB_CLIENT_CONFIGURATION)["BlockNTLM"]
    problems = []
    if block is None:
        problems.append("this build has no BlockNTLM (Windows Server 2025 / 11 24H2 have it)")
    elif not true(block):
        problems.append("BlockNTLM is False: the SMB client still offers NTLM")
    return judged(check, problems, "ntlm-blocked", "BlockNTLM True", wanted="on")
