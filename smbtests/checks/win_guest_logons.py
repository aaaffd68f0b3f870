"""win-guest-logons:HOST — the Windows SMB client refuses insecure guest logons (seed step 4):
with EnableInsecureGuestLogons a client talks to any server that offers guest access, unsigned.
Read with Get-SmbClientConfiguration; planned where the policy refuses guests."""

from __future__ import annotations

from smbtests.checks._windows import judged, per_windows_host, reading, readings, true
from smbtests.checks.base import Check, Family
from smbtests.checks.verdicts import Judging, Verdict
from smbtests.observations import HostQuery, WindowsObservation

NAME = "win-guest-logons"
FAMILY = Family.HARDENING

plan = per_windows_host(
    NAME,
    ("Insecure guest logons off", "normal", 4, "smb_hardening"),
    lambda _windows, baseline: baseline.guest == "refused",
    lambda *_: "the SMB client refuses insecure guest logons",
)
needs, observe = readings(HostQuery.SMB_CLIENT_CONFIGURATION)


def judge(check: Check, obs: WindowsObservation, judging: Judging) -> Verdict:
    client = reading(obs, HostQuery.SMB_CLIENT_CONFIGURATION)
    problems = []
    if true(client["EnableInsecureGuestLogons"]):
        problems.append("EnableInsecureGuestLogons is True")
    return judged(check, problems, "guest-logons", "EnableInsecureGuestLogons False", wanted="off")
