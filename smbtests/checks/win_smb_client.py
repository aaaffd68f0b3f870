"""The kinds that read a Windows host's SMB client configuration (Get-SmbClientConfiguration),
one `Kind` each, in seed step 4's hardening: what the host's own client will talk to."""

from __future__ import annotations

from smbtests.checks._windows import judged, reading, switches, true, windows_kind
from smbtests.checks.base import Check
from smbtests.checks.verdicts import Judging, Verdict
from smbtests.observations import HostQuery, WindowsObservation

CLIENT = HostQuery.SMB_CLIENT_CONFIGURATION

GUEST_LOGONS = windows_kind(
    "win-guest-logons",
    """win-guest-logons:HOST — the Windows SMB client refuses insecure guest logons (seed step
    4): with EnableInsecureGuestLogons a client talks to any server that offers guest access,
    unsigned. Read with Get-SmbClientConfiguration; planned where the policy refuses guests.""",
    ("Insecure guest logons off", "normal", 4, "smb_hardening"),
    "the SMB client refuses insecure guest logons",
    (CLIENT,),
    switches(CLIENT, ("EnableInsecureGuestLogons",), "guest-logons", on=False),
    applies=lambda _windows, baseline: baseline.guest == "refused",
)


def _ntlm(check: Check, obs: WindowsObservation, judging: Judging) -> Verdict:
    block = reading(obs, CLIENT)["BlockNTLM"]
    problems = []
    if block is None:
        problems.append("this build has no BlockNTLM (Windows Server 2025 / 11 24H2 have it)")
    elif not true(block):
        problems.append("BlockNTLM is False: the SMB client still offers NTLM")
    return judged(check, problems, "ntlm-blocked", "BlockNTLM True", wanted="on")


NTLM = windows_kind(
    "win-ntlm",
    """win-ntlm:HOST — the Windows SMB client blocks NTLM where the policy asks (`block_ntlm`;
    seed step 4): BlockNTLM (Windows Server 2025, Windows 11 24H2) leaves Kerberos only, so a
    relayed or cracked NTLM exchange cannot reach a share. Read with
    Get-SmbClientConfiguration; a build without the setting cannot block NTLM and fails.""",
    ("NTLM blocked for SMB", "normal", 4, "smb_hardening"),
    "the SMB client blocks NTLM (BlockNTLM)",
    (CLIENT,),
    _ntlm,
    applies=lambda _windows, baseline: baseline.block_ntlm is True,
)
