"""The Windows host the WS-Management DOUBLE pretends to be, as one JSON state file.

Values are written the way the probe's scripts print them on a real host: SMB server settings
are booleans (Get-SmbServerConfiguration), enum-typed firewall properties are the strings
PowerShell shows ("True", "Block", "Domain, Private"), and remote addresses use the notation
Get-NetFirewallAddressFilter prints ("10.45.20.0/255.255.255.0", "Any", "LocalSubnet").

The double re-reads the file for every command and every authentication, so a scenario applied
with `write_state` takes effect at once, without a restart. Each scenario breaks one setting;
SCENARIO_FIELDS names the paths it changes, and the tests hold each scenario to that list.

Schema (version 1):
  computer_name               str    NetBIOS name, used in NTLM and fault messages
  auth_broken                 bool   every authentication fails with HTTP 401 (win-auth-broken)
  smb_server_configuration    obj    Get-SmbServerConfiguration: EnableSMB1Protocol,
                                     EnableSMB2Protocol, RequireSecuritySignature,
                                     EnableSecuritySignature, EncryptData,
                                     RejectUnencryptedAccess, AuditSmb1Access, EnableSMBQUIC
  smb1_feature                obj    Get-WindowsOptionalFeature: FeatureName, State
  firewall_profiles           list   Get-NetFirewallProfile: Name, Enabled, DefaultInboundAction,
                                     LogBlocked, LogFileName, LogMaxSizeKilobytes
  firewall_rules              list   Get-NetFirewallRule joined with its port and address
                                     filters: Name, DisplayName, Direction, Action, Enabled,
                                     Profile, Protocol, LocalPort[], RemoteAddress[],
                                     DisplayGroup (null outside a group)
  smb_certificate_mapping     obj    Supported (the cmdlet exists), Mappings[] of
                                     Get-SmbServerCertificateMapping: Name, Subject, Thumbprint,
                                     StoreName, Type, Flags
  smb_server_limits, smb_client_configuration, smb_client_access, network_profiles,
  firewall_outbound                  the 2025-era readings: smbtests/lab/wsman/current.py
  tnc_connect_timeout         float  seconds Test-NetConnection waits on a silent port
  lab_faults                  obj    failure injection for the project's own tests:
                                     stall: [kind] never finish; stdout: {kind: text} replaces
                                     a script's output
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from smbtests.lab.wsman import current

State = dict[str, Any]

SCHEMA = 1
PROFILES = ("Domain", "Private", "Public")
FIREWALL_LOG = "%systemroot%\\system32\\LogFiles\\Firewall\\pfirewall.log"


def _rule(
    name: str,
    display_name: str,
    port: str,
    remote: str,
    profile: str,
    enabled: str = "True",
    display_group: str | None = None,
) -> dict[str, Any]:
    return {
        "Name": name,
        "DisplayName": display_name,
        "DisplayGroup": display_group,
        "Direction": "Inbound",
        "Action": "Allow",
        "Enabled": enabled,
        "Profile": profile,
        "Protocol": "TCP",
        "LocalPort": [port],
        "RemoteAddress": [remote],
    }


def default_state() -> State:
    """A hardened Windows endpoint: the compliant lab's win1."""
    return {
        "schema": SCHEMA,
        "computer_name": "WIN1",
        "auth_broken": False,
        "smb_server_configuration": {
            "EnableSMB1Protocol": False,
            "EnableSMB2Protocol": True,
            "RequireSecuritySignature": True,
            "EnableSecuritySignature": True,
            "EncryptData": False,
            "RejectUnencryptedAccess": True,
            "AuditSmb1Access": True,
            "EnableSMBQUIC": False,
        },
        "smb1_feature": {"FeatureName": "SMB1Protocol", "State": "Disabled"},
        "firewall_profiles": [
            {
                "Name": name,
                "Enabled": "True",
                "DefaultInboundAction": "Block",
                "LogBlocked": "True",
                "LogFileName": FIREWALL_LOG,
                "LogMaxSizeKilobytes": 16384,
            }
            for name in PROFILES
        ],
        "firewall_rules": [
            _rule(
                "{5c1c6a52-7b1e-4b8e-9e55-5d1e0a4f2c01}",
                "SMB-In (corp servers)",
                "445",
                "10.45.20.0/255.255.255.0",
                "Domain",
            ),
            _rule(
                "WINRM-HTTP-In-TCP",
                "Windows Remote Management (HTTP-In)",
                "5985",
                "10.45.0.0/255.255.255.0",
                "Domain, Private",
            ),
            _rule(
                "RemoteDesktop-UserMode-In-TCP",
                "Remote Desktop - User Mode (TCP-In)",
                "3389",
                "Any",
                "Any",
                enabled="False",
            ),
        ],
        "smb_certificate_mapping": {"Supported": True, "Mappings": []},
        **current.defaults(),
        "tnc_connect_timeout": 21.0,
        "lab_faults": {"stall": [], "stdout": {}},
    }


def win_smb1_enabled(state: State) -> State:
    """SMB1 installed and switched on, as `Enable-WindowsOptionalFeature SMB1Protocol` leaves it."""
    new = copy.deepcopy(state)
    new["smb_server_configuration"]["EnableSMB1Protocol"] = True
    new["smb1_feature"]["State"] = "Enabled"
    return new


def win_signing_off(state: State) -> State:
    """The SMB server no longer requires signing (the Windows default outside DCs)."""
    new = copy.deepcopy(state)
    new["smb_server_configuration"]["RequireSecuritySignature"] = False
    return new


def win_firewall_logging_off(state: State) -> State:
    """Dropped packets are no longer logged, in every profile."""
    new = copy.deepcopy(state)
    for profile in new["firewall_profiles"]:
        profile["LogBlocked"] = "False"
    return new


def win_445_allow_any(state: State) -> State:
    """An enabled inbound rule lets anyone reach 445, in every profile."""
    new = copy.deepcopy(state)
    new["firewall_rules"].append(
        _rule("{9e0d3b7a-2f4c-4d61-8a1e-445a11a11a11}", "SMB-In (any)", "445", "Any", "Any")
    )
    return new


def win_auth_broken(state: State) -> State:
    """Every WinRM authentication fails (a broken trust or a locked account)."""
    new = copy.deepcopy(state)
    new["auth_broken"] = True
    return new


SCENARIOS: dict[str, Callable[[State], State]] = {
    **current.SCENARIOS,
    "win-smb1-enabled": win_smb1_enabled,
    "win-signing-off": win_signing_off,
    "win-firewall-logging-off": win_firewall_logging_off,
    "win-445-allow-any": win_445_allow_any,
    "win-auth-broken": win_auth_broken,
}

# The state paths each scenario changes; `*` is every element of a list.
SCENARIO_FIELDS: dict[str, frozenset[str]] = {
    **current.SCENARIO_FIELDS,
    "win-smb1-enabled": frozenset(
        {"smb_server_configuration.EnableSMB1Protocol", "smb1_feature.State"}
    ),
    "win-signing-off": frozenset({"smb_server_configuration.RequireSecuritySignature"}),
    "win-firewall-logging-off": frozenset({"firewall_profiles.*.LogBlocked"}),
    "win-445-allow-any": frozenset({"firewall_rules.+"}),
    "win-auth-broken": frozenset({"auth_broken"}),
}


def scenario_state(name: str) -> State:
    """The state of scenario `name` applied to the compliant host; `compliant` is the default."""
    if name == "compliant":
        return default_state()
    return SCENARIOS[name](default_state())


def read_state(path: Path) -> State:
    state: State = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(state, dict) or state.get("schema") != SCHEMA:
        raise ValueError(f"{path}: not a WS-Management double state file (schema {SCHEMA})")
    return state


def write_state(path: Path, state: State) -> None:
    """Replace the state atomically: the double never reads a half-written file."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(state, stream, indent=2)
            stream.write("\n")
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
