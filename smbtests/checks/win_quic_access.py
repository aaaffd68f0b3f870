"""win-quic-access:HOST — where remote access is declared, SMB over QUIC admits only the
clients it names (seed steps 3 and 4): every certificate mapping requires client
authentication (`Set-SmbServerCertificateMapping -RequireClientAuthentication $true`) and grants
at least one client certificate or issuer (`Grant-SmbClientAccessToServer`). Without it any
device on the internet that trusts the server's certificate may start a session over UDP 443.

Read with Get-SmbServerCertificateMapping and Get-SmbClientAccessToServer (Windows Server 2025;
2022 Azure Edition with KB5027223). A build without the cmdlets has no client access control:
that fails, it is not an error, because the policy's demand cannot be met there. Whether QUIC
itself is on is `win-quic`'s question."""

from __future__ import annotations

from typing import Any

from smbtests.checks._windows import judged, per_windows_host, reading, readings
from smbtests.checks.base import Check, Family
from smbtests.checks.verdicts import Judging, Verdict
from smbtests.observations import HostQuery, WindowsObservation

NAME = "win-quic-access"
FAMILY = Family.HARDENING
GRANTED = "allow"


plan = per_windows_host(
    NAME,
    ("SMB over QUIC client access control", "normal", 4, "smb_hardening"),
    lambda *_: (
        "SMB over QUIC admits only named clients: every certificate mapping requires client "
        "authentication and grants at least one client"
    ),
    applies=lambda windows, _baseline: windows.remote_access,
)
needs, observe = readings(HostQuery.SMB_CLIENT_ACCESS)


def _mapping_problems(mapping: dict[str, Any]) -> list[str]:
    name = mapping["Name"]
    problems = []
    if not mapping["RequireClientAuthentication"]:
        problems.append(f"mapping {name} does not require client authentication")
    granted = [e for e in mapping["Entries"] if str(e["Access"]).lower() == GRANTED]
    if not granted:
        problems.append(f"mapping {name} grants no client (Grant-SmbClientAccessToServer)")
    return problems


def judge(check: Check, obs: WindowsObservation, judging: Judging) -> Verdict:
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
