"""The DOUBLE's readings of Windows as it is in 2026 (Windows Server 2025, Windows 11 24H2): the
SMB server's dialect floor and ceiling and authentication rate limiter, the SMB client's guest
and NTLM settings, SMB over QUIC client access control, the active network profile per
interface and the outbound rules that reach remote port 445. Kept apart from the older readings
in `powershell.py` and `state.py`; they take these tables in.

State keys (all written the way the probe's scripts print them):
  smb_server_limits         obj   Smb2DialectMin, Smb2DialectMax (SMB202 ... SMB311, None),
                                  InvalidAuthenticationDelayTimeInMs
  smb_client_configuration  obj   EnableInsecureGuestLogons, RequireSecuritySignature, BlockNTLM
  smb_client_access         obj   Supported, Mappings[]: Name, RequireClientAuthentication,
                                  Entries[]: IdentifierType, Identifier, Access
  network_profiles          list  InterfaceAlias, InterfaceIndex, Name, NetworkCategory
  firewall_outbound         obj   Profiles[]: Name, Enabled, DefaultOutboundAction;
                                  Rules[]: Name, DisplayName, Action, Enabled, Profile, Protocol,
                                  RemotePort[], RemoteAddress[]
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

State = dict[str, Any]
RESTRICTIVE_GROUP = "File and Printer Sharing (Restrictive)"

REQUIRED_NAMES: dict[str, tuple[str, ...]] = {
    "smb-server-limits": ("Get-SmbServerConfiguration", "Smb2DialectMin", "ConvertTo-Json"),
    "smb-client-configuration": ("Get-SmbClientConfiguration", "ConvertTo-Json"),
    "smb-client-access": ("Get-SmbClientAccessToServer", "ConvertTo-Json"),
    "network-profiles": ("Get-NetConnectionProfile", "ConvertTo-Json"),
    "firewall-outbound-445": (
        "Get-NetFirewallRule",
        "Get-NetFirewallPortFilter",
        "Get-NetFirewallProfile",
        "RemotePort",
        "ConvertTo-Json",
    ),
}


def defaults() -> State:
    """The compliant values: what a hardened Windows Server 2025 / Windows 11 24H2 shows."""
    return {
        "smb_server_limits": {
            "Smb2DialectMin": "SMB300",
            "Smb2DialectMax": "SMB311",
            "InvalidAuthenticationDelayTimeInMs": 2000,
        },
        "smb_client_configuration": {
            "EnableInsecureGuestLogons": False,
            "RequireSecuritySignature": True,
            "BlockNTLM": True,
        },
        "smb_client_access": {"Supported": True, "Mappings": []},
        "network_profiles": [
            {
                "InterfaceAlias": "Ethernet",
                "InterfaceIndex": 4,
                "Name": "corp.example",
                "NetworkCategory": "DomainAuthenticated",
            }
        ],
        "firewall_outbound": {
            "Profiles": [
                {"Name": name, "Enabled": "True", "DefaultOutboundAction": "Allow"}
                for name in ("Domain", "Private", "Public")
            ],
            "Rules": [],
        },
    }


def _covers_445(ports: list[str]) -> bool:
    for port in ports:
        bounds = re.fullmatch(r"(\d+)-(\d+)", port)
        if port in ("Any", "445") or (bounds and int(bounds[1]) <= 445 <= int(bounds[2])):
            return True
    return False


def _firewall_outbound_445(state: State, stdin: bytes, io: object) -> object:
    outbound = state["firewall_outbound"]
    rules = [
        rule
        for rule in outbound["Rules"]
        if rule["Protocol"] in ("TCP", "6", "Any") and _covers_445(rule["RemotePort"])
    ]
    return {"Profiles": list(outbound["Profiles"]), "Rules": rules}


def _smb_client_access(state: State, stdin: bytes, io: object) -> object:
    access = state["smb_client_access"]
    supported = bool(access["Supported"])
    return {"Supported": supported, "Mappings": list(access["Mappings"]) if supported else []}


ANSWERS: dict[str, Callable[[State, bytes, Any], object]] = {
    "smb-server-limits": lambda state, stdin, io: dict(state["smb_server_limits"]),
    "smb-client-configuration": lambda state, stdin, io: dict(state["smb_client_configuration"]),
    "smb-client-access": _smb_client_access,
    "network-profiles": lambda state, stdin, io: list(state["network_profiles"]),
    "firewall-outbound-445": _firewall_outbound_445,
}


# ---------------------------------------------------------------------- scenarios


def _changed(state: State, change: Callable[[State], None]) -> State:
    new = copy.deepcopy(state)
    change(new)
    return new


def win_dialect_floor_lowered(state: State) -> State:
    """The SMB server's dialect floor is back at 2.0.2 (`Set-SmbServerConfiguration
    -Smb2DialectMin SMB202`)."""
    return _changed(state, lambda s: s["smb_server_limits"].update(Smb2DialectMin="SMB202"))


def win_rate_limiter_off(state: State) -> State:
    """The authentication rate limiter is off (InvalidAuthenticationDelayTimeInMs 0)."""
    return _changed(
        state, lambda s: s["smb_server_limits"].update(InvalidAuthenticationDelayTimeInMs=0)
    )


def win_ntlm_allowed(state: State) -> State:
    """The SMB client no longer blocks NTLM (`Set-SmbClientConfiguration -BlockNTLM $false`)."""
    return _changed(state, lambda s: s["smb_client_configuration"].update(BlockNTLM=False))


def win_restrictive_open(state: State) -> State:
    """Creating a share enabled the Restrictive group's SMB rule open to Any, in the Domain
    profile, as Windows Server 2025 does."""

    def add(new: State) -> None:
        new["firewall_rules"].append(
            {
                "Name": "FPSRestrictive-SMB-In-TCP",
                "DisplayName": "File and Printer Sharing (Restrictive) (SMB-In)",
                "DisplayGroup": RESTRICTIVE_GROUP,
                "Direction": "Inbound",
                "Action": "Allow",
                "Enabled": "True",
                "Profile": "Domain",
                "Protocol": "TCP",
                "LocalPort": ["445"],
                "RemoteAddress": ["Any"],
            }
        )

    return _changed(state, add)


def win_public_profile_445(state: State) -> State:
    """The interface fell to the Public category while the corp 445 rule also applies there."""

    def change(new: State) -> None:
        new["network_profiles"][0]["NetworkCategory"] = "Public"
        for rule in new["firewall_rules"]:
            if rule["DisplayName"] == "SMB-In (corp servers)":
                rule["Profile"] = "Domain, Public"

    return _changed(state, change)


def win_outbound_445_blocked(state: State) -> State:
    """The host's own firewall blocks its outbound connects to remote port 445."""

    def add(new: State) -> None:
        new["firewall_outbound"]["Rules"].append(
            {
                "Name": "{b10c4450-0e70-4b1c-8a1e-445b10c4ed00}",
                "DisplayName": "Block outbound SMB",
                "Action": "Block",
                "Enabled": "True",
                "Profile": "Any",
                "Protocol": "TCP",
                "RemotePort": ["445"],
                "RemoteAddress": ["Any"],
            }
        )

    return _changed(state, add)


SCENARIOS: dict[str, Callable[[State], State]] = {
    "win-dialect-floor-lowered": win_dialect_floor_lowered,
    "win-rate-limiter-off": win_rate_limiter_off,
    "win-ntlm-allowed": win_ntlm_allowed,
    "win-restrictive-open": win_restrictive_open,
    "win-public-profile-445": win_public_profile_445,
    "win-outbound-445-blocked": win_outbound_445_blocked,
}
SCENARIO_FIELDS: dict[str, frozenset[str]] = {
    "win-dialect-floor-lowered": frozenset({"smb_server_limits.Smb2DialectMin"}),
    "win-rate-limiter-off": frozenset({"smb_server_limits.InvalidAuthenticationDelayTimeInMs"}),
    "win-ntlm-allowed": frozenset({"smb_client_configuration.BlockNTLM"}),
    "win-restrictive-open": frozenset({"firewall_rules.+"}),
    "win-public-profile-445": frozenset(
        {"network_profiles.*.NetworkCategory", "firewall_rules.*.Profile"}
    ),
    "win-outbound-445-blocked": frozenset({"firewall_outbound.Rules.+"}),
}
