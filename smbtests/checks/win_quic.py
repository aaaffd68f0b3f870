"""The kinds that read a Windows host's SMB over QUIC (Get-SmbServerConfiguration's
EnableSMBQUIC, its certificate mappings and their client access), one `Kind` each, planned for
the hosts declared for remote access (seed steps 3 and 4)."""

from __future__ import annotations

from typing import Any

from smbtests.checks._windows import judged, reading, true, windows_kind
from smbtests.checks.base import Check
from smbtests.checks.verdicts import Judging, Verdict
from smbtests.observations import HostQuery, WindowsObservation

GRANTED = "allow"


def _quic(check: Check, obs: WindowsObservation, judging: Judging) -> Verdict:
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


QUIC = windows_kind(
    "win-quic",
    """win-quic:HOST — SMB over QUIC is on with a certificate mapping, so remote users never
    need 445 across networks (seed step 4); planned for hosts declared for remote access. Read
    with Get-SmbServerConfiguration (EnableSMBQUIC) and Get-SmbServerCertificateMapping.""",
    ("SMB over QUIC for remote use", "normal", 4, "smb_hardening"),
    "SMB over QUIC is on with a certificate mapping, so remote users never need 445",
    (HostQuery.SMB_SERVER_CONFIGURATION, HostQuery.SMB_CERTIFICATE_MAPPING),
    _quic,
    applies=lambda windows, _baseline: windows.remote_access,
)


def _mapping_problems(mapping: dict[str, Any]) -> list[str]:
    name = mapping["Name"]
    problems = []
    if not mapping["RequireClientAuthentication"]:
        problems.append(f"mapping {name} does not require client authentication")
    granted = [e for e in mapping["Entries"] if str(e["Access"]).lower() == GRANTED]
    if not granted:
        problems.append(f"mapping {name} grants no client (Grant-SmbClientAccessToServer)")
    return problems


def _access(check: Check, obs: WindowsObservation, judging: Judging) -> Verdict:
    access = reading(obs, HostQuery.SMB_CLIENT_ACCESS)
    problems = []
    if not access["Supported"]:
        problems.append(
            "this build has no SMB over QUIC client access control (Get-SmbClientAccessToServer: "
            "Windows Server 2025, or 2022 Azure Edition with KB5027223)"
        )
    elif not access["Mappings"]:
        problems.append("no SMB server certificate mapping, so no client access control")
    for mapping in access["Mappings"]:
        problems += _mapping_problems(mapping)
    grants = sum(len(m["Entries"]) for m in access["Mappings"])
    return judged(
        check,
        problems,
        "quic-access",
        f"QUIC client access control on {len(access['Mappings'])} mapping(s), {grants} entries",
    )


QUIC_ACCESS = windows_kind(
    "win-quic-access",
    """win-quic-access:HOST — where remote access is declared, SMB over QUIC admits only the
    clients it names (seed steps 3 and 4): every certificate mapping requires client
    authentication (`Set-SmbServerCertificateMapping -RequireClientAuthentication $true`) and
    grants at least one client certificate or issuer (`Grant-SmbClientAccessToServer`). Without
    it any device on the internet that trusts the server's certificate may start a session over
    UDP 443.

    Read with Get-SmbServerCertificateMapping and Get-SmbClientAccessToServer (Windows Server
    2025; 2022 Azure Edition with KB5027223). A build without the cmdlets has no client access
    control: that fails, it is not an error, because the policy's demand cannot be met there.
    Whether QUIC itself is on is `win-quic`'s question.""",
    ("SMB over QUIC client access control", "normal", 4, "smb_hardening"),
    "SMB over QUIC admits only named clients: every certificate mapping requires client "
    "authentication and grants at least one client",
    (HostQuery.SMB_CLIENT_ACCESS,),
    _access,
    applies=lambda windows, _baseline: windows.remote_access,
)
