"""win-auth-limiter:HOST — the SMB server's authentication rate limiter is on (seed step 4):
InvalidAuthenticationDelayTimeInMs above 0 slows password guessing against 445 (Windows
Server 2025 and Windows 11 24H2 default to 2000 ms; 0 switches it off). Read with
Get-SmbServerConfiguration. A build without the setting has no limiter and fails."""

from __future__ import annotations

from smbtests.checks._windows import judged, per_windows_host, reading, readings
from smbtests.checks.base import Check, Family
from smbtests.checks.verdicts import Judging, Verdict
from smbtests.observations import HostQuery, WindowsObservation

NAME = "win-auth-limiter"
FAMILY = Family.HARDENING
SETTING = "InvalidAuthenticationDelayTimeInMs"

plan = per_windows_host(
    NAME,
    ("SMB authentication rate limiter", "normal", 4, "smb_hardening"),
    lambda *_: f"the SMB server delays failed logons ({SETTING} above 0)",
)
needs, observe = readings(HostQuery.SMB_SERVER_LIMITS)


def judge(check: Check, obs: WindowsObservation, judging: Judging) -> Verdict:
    delay = reading(obs, HostQuery.SMB_SERVER_LIMITS)[SETTING]
    problems = []
    if delay is None:
        problems.append(f"this build has no {SETTING} (Windows Server 2025 / 11 24H2 have it)")
    elif delay <= 0:
        problems.append(f"{SETTING} is {delay}: failed logons are not slowed")
    return judged(check, problems, "rate-limiter", f"failed logons delayed {delay} ms")
