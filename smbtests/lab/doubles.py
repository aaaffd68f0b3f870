"""The lab's WS-Management doubles: which Windows host each plays, its files, its compliant state.

Two instances of the same double (`smbtests/lab/wsman/`) run in the lab:

- win1 (10.45.20.22, corp): a Windows endpoint; the win-* scenarios rewrite its state.
- dc1 (10.45.10.12, servers): the Windows **configuration** of dc1, beside dc1's real smbd (the
  wire). Its state says what the configuration management believes dc1 is: a hardened server,
  SMB1 off, signing required, 445 admitted from named subnets only. `smb1-enabled`, which
  changes only the smbd, shows drift between wire and configuration, like a GPO that did not
  apply; `dc1-445-scope-widened`, `dc1-quic-off`, `dc1-encryption-drift` and
  `dc1-firewall-drift` are the scenarios that rewrite this state.

Every scenario (and `compliant`) first writes each double's compliant state again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smbtests.lab import paths
from smbtests.lab.wsman import State, default_state

SMB_PORT = "445"
WIDENED_CORP = "10.45.20.0-10.45.30.255"
MGMT_OUT_OF = ("10.45.20.0/255.255.255.0",)  # dc1's 445 rule without mgmt
QUIC_NAME = "dc1.lab.example"
QUIC_ISSUER = "CN=smbtests lab corp issuing CA"


def dc1_smb_rule() -> dict[str, Any]:
    """dc1's one inbound 445 rule: corp's clients and the runner, by address; never Any."""
    return {
        "Name": "FPS-SMB-In-TCP",
        "DisplayName": "File and Printer Sharing (SMB-In)",
        "DisplayGroup": "File and Printer Sharing",
        "Direction": "Inbound",
        "Action": "Allow",
        "Enabled": "True",
        "Profile": "Domain",
        "Protocol": "TCP",
        "LocalPort": [SMB_PORT],
        "RemoteAddress": ["10.45.20.0/255.255.255.0", "10.45.0.0/255.255.255.0"],
    }


def dc1_quic_mapping() -> dict[str, Any]:
    """dc1's SMB over QUIC certificate mapping, as Get-SmbServerCertificateMapping shows it."""
    return {
        "Name": QUIC_NAME,
        "Subject": f"CN={QUIC_NAME}",
        "Thumbprint": "5D1C0A3E9B7F4C2D8E6A1B3C5D7E9F0A2B4C6D8E",
        "StoreName": "My",
        "Type": "QUIC",
        "Flags": "None",
    }


def dc1_state() -> State:
    """dc1 as its Windows configuration says it is: a hardened server matching compliant Samba.

    Built on the compliant win1 (`default_state`), with each hardened value written out here, so
    this stays the compliant dc1 whatever the default does.
    """
    state = default_state()
    state["computer_name"] = "DC1"
    state["auth_broken"] = False
    smb = state["smb_server_configuration"]
    smb["EnableSMB1Protocol"] = False
    smb["RequireSecuritySignature"] = True
    state["smb1_feature"] = {"FeatureName": "SMB1Protocol", "State": "Disabled"}
    # dc1's smbd admits 2.0.2 (server min protocol = SMB2_02): its configuration says the same
    state["smb_server_limits"]["Smb2DialectMin"] = "SMB202"
    # the lab's one Windows server is also the host declared for remote access (lab.yaml,
    # remote_access): SMB over QUIC on, one certificate mapping that admits only clients whose
    # certificates the corp issuing CA signed
    smb["EnableSMBQUIC"] = True
    state["smb_certificate_mapping"] = {"Supported": True, "Mappings": [dc1_quic_mapping()]}
    state["smb_client_access"] = {
        "Supported": True,
        "Mappings": [
            {
                "Name": QUIC_NAME,
                "RequireClientAuthentication": True,
                "Entries": [
                    {"IdentifierType": "ISSUER", "Identifier": QUIC_ISSUER, "Access": "Allow"}
                ],
            }
        ],
    }
    for profile in state["firewall_profiles"]:
        profile.update(
            Enabled="True",
            DefaultInboundAction="Block",
            LogBlocked="True",
            LogMaxSizeKilobytes=16384,
        )
    # win1's 445 rule (corp only) is replaced by dc1's; its other rules (WinRM from mgmt, a
    # disabled RDP rule) do not cover 445 and stay.
    others = [r for r in state["firewall_rules"] if not {SMB_PORT, "Any"} & set(r["LocalPort"])]
    state["firewall_rules"] = [dc1_smb_rule(), *others]
    return state


def dc1_445_scope_widened() -> State:
    """dc1's 445 rule with corp typed as a range that runs on into guest (10.45.30.0/24): still
    named addresses, so only the comparison with the approved paths (win-445-scope) sees it."""
    state = dc1_state()
    (rule,) = [r for r in state["firewall_rules"] if r["Name"] == dc1_smb_rule()["Name"]]
    rule["RemoteAddress"] = [WIDENED_CORP, "10.45.0.0/255.255.255.0"]
    return state


def dc1_quic_off() -> State:
    """dc1 declared for remote access, but SMB over QUIC switched off (EnableSMBQUIC false)."""
    state = dc1_state()
    state["smb_server_configuration"]["EnableSMBQUIC"] = False
    return state


def dc1_encryption_drift() -> State:
    """dc1's configuration demands SMB encryption (EncryptData and RejectUnencryptedAccess
    True) while its smbd still lets the account in unencrypted: a setting that did not apply,
    which only `drift` (wire against configuration) sees; the policy asks dc1 for no
    encryption, so no hardening check does."""
    state = dc1_state()
    state["smb_server_configuration"].update(EncryptData=True, RejectUnencryptedAccess=True)
    return state


def dc1_firewall_drift() -> State:
    """dc1's 445 rule no longer names mgmt, so by its configuration the runner (10.45.0.10)
    is blocked, while its smbd, with no Windows Firewall in front, still answers it: only
    `drift` sees it (narrower than the policy, so win-445-scope passes)."""
    state = dc1_state()
    (rule,) = [r for r in state["firewall_rules"] if r["Name"] == dc1_smb_rule()["Name"]]
    rule["RemoteAddress"] = [MGMT_OUT_OF[0]]
    return state


@dataclass(frozen=True)
class Double:
    host: str  # the lab host it plays, also its --hostname
    directory: Path  # --cert-dir (0700): its lab CA ca.pem, server.pem, server-key.pem
    state_file: Path  # --state: re-read for every command, rewritten by scenarios
    ca: Path  # what clients trust; new at every start of the double
    compliant: Callable[[], State]


WIN1 = Double("win1", paths.WIN1_DIR, paths.WIN1_STATE, paths.WIN1_CA, default_state)
DC1 = Double("dc1", paths.DC1_WIN_DIR, paths.DC1_WIN_STATE, paths.DC1_WIN_CA, dc1_state)

DOUBLES: dict[str, Double] = {d.host: d for d in (WIN1, DC1)}
