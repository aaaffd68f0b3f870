"""Benchmark references for the hardening checks: our kinds -> CIS Benchmark and DISA STIG items.

Item numbers move between benchmark releases. `verified` says whether the id and title were
checked against a published copy of the item (the STIG ids against stigviewer.com / DISA's
XCCDF texts for Windows Server 2019); the CIS numbers follow the CIS Microsoft Windows Server
2019/2022 benchmarks' layout and were not checked against the licensed PDFs: an assessor
should confirm them against the benchmark release the organisation adopted.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reference:
    framework: str  # "CIS" or "DISA STIG"
    item: str
    title: str
    verified: bool


_SIGNING = (
    Reference(
        "CIS", "2.3.9.2", "Microsoft network server: Digitally sign communications (always)", False
    ),
    Reference(
        "DISA STIG",
        "WN19-SO-000190 (V-205827)",
        "Microsoft network server: Digitally sign communications (always) must be Enabled",
        True,
    ),
)
_SMB1 = (
    Reference(
        "CIS", "18.4.3", "Configure SMB v1 server: Disabled (18.3.3 in older releases)", False
    ),
    Reference(
        "DISA STIG",
        "WN19-00-000380 (V-205682)",
        "Windows Server 2019 must not have the SMB v1 protocol installed",
        True,
    ),
    Reference("DISA STIG", "WN19-00-000390", "SMBv1 on the SMB server must be disabled", False),
)
_FIREWALL_LOG = (
    Reference(
        "CIS",
        "9.1.7 / 9.2.7 / 9.3.9",
        "Windows Firewall <profile>: Logging: Log dropped packets: Yes",
        False,
    ),
)

REFERENCES: dict[str, tuple[Reference, ...]] = {
    "signing": _SIGNING,
    "win-signing": _SIGNING,
    "smb1": _SMB1,
    "win-smb1": _SMB1,
    "anonymous": (
        Reference(
            "CIS",
            "2.3.10.3",
            "Network access: Do not allow anonymous enumeration of SAM accounts and shares",
            False,
        ),
        Reference(
            "CIS",
            "2.3.10.12",
            "Network access: Shares that can be accessed anonymously: None",
            False,
        ),
    ),
    "guest": (
        Reference(
            "CIS", "18.6.8.1", "Lanman Workstation: Enable insecure guest logons: Disabled", False
        ),
    ),
    "win-firewall": (
        Reference(
            "CIS", "9.1.1 / 9.2.1 / 9.3.1", "Windows Firewall <profile>: Firewall state: On", False
        ),
    ),
    "win-firewall-log": _FIREWALL_LOG,
}
