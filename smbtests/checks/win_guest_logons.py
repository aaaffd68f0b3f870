"""win-guest-logons:HOST — the Windows SMB client refuses insecure guest logons (seed step 4):
with EnableInsecureGuestLogons a client talks to any server that offers guest access, unsigned.
Read with Get-SmbClientConfiguration; planned where the policy refuses guests."""

from __future__ import annotations

from smbtests.checks._windows import per_windows_host, switches
from smbtests.checks.base import Family
from smbtests.observations import HostQuery

NAME = "win-guest-logons"
FAMILY = Family.HARDENING
SETTINGS = ("EnableInsecureGuestLogons",)

plan = per_windows_host(
    NAME,
    ("Insecure guest logons off", "normal", 4, "smb_hardening"),
    lambda *_: "the SMB client refuses insecure guest logons",
    applies=lambda _windows, baseline: baseline.guest == "refused",
)
needs, observe, judge = switches(
    HostQuery.SMB_CLIENT_CONFIGURATION, SETTINGS, "guest-logons", on=False
)
