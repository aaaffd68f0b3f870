"""win-quic:HOST — SMB over QUIC is on with a certificate mapping, so remote users never need
445 across networks (seed step 4); planned for hosts declared for remote access. Read with
Get-SmbServerConfiguration (EnableSMBQUIC) and Get-SmbServerCertificateMapping."""

from __future__ import annotations

from smbtests.checks._windows import judged, per_windows_host, reading, readings, true
from smbtests.checks.base import Check, Family
from smbtests.checks.verdicts import Judging, Verdict
from smbtests.observations import HostQuery, WindowsObservation

NAME = "win-quic"
FAMILY = Family.HARDENING


plan = per_windows_host(
    NAME,
    ("SMB over QUIC for remote use", "normal", 4, "smb_hardening"),
    lambda *_: "SMB over QUIC is on with a certificate mapping, so remote users never need 445",
    applies=lambda windows, _baseline: windows.remote_access,
)
needs, observe = readings(HostQuery.SMB_SERVER_CONFIGURATION, HostQuery.SMB_CERTIFICATE_MAPPING)


def judge(check: Check, obs: WindowsObservation, judging: Judging) -> Verdict:
    config = reading(obs, HostQuery.SMB_SERVER_CONFIGURATION)
    mappings = reading(obs, HostQuery.SMB_CERTIFICATE_MAPPING)["Mappings"]
    problems = []
    if not true(config["EnableSMBQUIC"]):
        problems.append("EnableSMBQUIC is not True")
    if not mappings:
        problems.append("no SMB server certificate mapping")
    return judged(
        check, problems, "quic", f"SMB over QUIC on, {len(mappings)} certificate mapping(s)"
    )
