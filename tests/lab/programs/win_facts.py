"""Read win1 (the WS-Management double) over WinRM from wherever this runs; print flat JSON facts.

Usage: python win_facts.py CONNECT_TIMEOUT
Over HTTPS (5986, NTLM with channel binding, verified against the lab CA) through smbtests' own
WinRM probe: the SMB server configuration, the SMB1 feature, the firewall profiles and 445
rules, and a reach batch from win1's vantage. Over HTTP (5985, NTLM with message encryption)
through pywinrm's own `winrm.Session`, unmodified: RequireSecuritySignature once more.
Every key is always present: when WinRM refuses, each says why, so a snapshot keeps its shape.
The password comes from SMBTESTS_LAB_WIN_PASSWORD and is never printed.
"""

import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import winrm
import winrm.exceptions

from smbtests.errors import ProbeError
from smbtests.probes.base import Target
from smbtests.probes.winrm import HostQuery, WinRMProbe, WinRMSettings
from smbtests.probes.winrm_scripts import query_script

ADDRESS = "10.45.20.22"
USER = "labadmin"
CA = Path("/run/smbtests-lab/win1/ca.pem")
SMB_FIELDS = (
    "EnableSMB1Protocol",
    "EnableSMB2Protocol",
    "RequireSecuritySignature",
    "EnableSecuritySignature",
    "EncryptData",
    "RejectUnencryptedAccess",
    "AuditSmb1Access",
    "EnableSMBQUIC",
)
PROFILES = ("Domain", "Private", "Public")
PROFILE_FIELDS = ("Enabled", "DefaultInboundAction", "LogBlocked")
REACH = {
    "fs1:445": Target("10.45.10.11", 445),
    "dc1:445": Target("10.45.10.12", 445),
    "print1:445": Target("10.45.10.13", 445),
    "inet-smb:445": Target("198.51.100.51", 445),
    "control:8000": Target("10.45.10.10", 8000),
}
HTTP_KEY = "win:http/RequireSecuritySignature"
HTTPS_KEYS = (
    *(f"win:smb/{field}" for field in SMB_FIELDS),
    "win:smb1-feature",
    *(f"win:firewall/{p}/{field}" for p in PROFILES for field in PROFILE_FIELDS),
    "win:rules-445",
    *(f"winrm-reach:win1/{name}" for name in REACH),
)


def rule_line(rule: dict[str, Any]) -> str:
    ports = ",".join(map(str, rule["LocalPort"]))
    remotes = ",".join(map(str, rule["RemoteAddress"]))
    return (
        f"{rule['DisplayName']}: {rule['Direction']} {rule['Action']} enabled={rule['Enabled']}"
        f" {rule['Protocol']} {ports} from {remotes} profile {rule['Profile']}"
    )


def refused(exc: Exception) -> str:
    """Authentication refusals read alike, whatever the client; anything else keeps its text."""
    if "HTTP 401" in str(exc) or isinstance(exc, winrm.exceptions.InvalidCredentialsError):
        return "error: HTTP 401"
    return f"error: {type(exc).__name__}: {exc}"


def over_https(password: str, connect_timeout: float) -> dict[str, str]:
    settings = WinRMSettings(
        address=ADDRESS,
        username=USER,
        port=5986,
        scheme="https",
        transport="ntlm",
        ca_bundle=CA,
        command_timeout=20.0,
    )
    probe = WinRMProbe("win1", settings, password)
    try:
        config: Any = probe.run_json(HostQuery.SMB_SERVER_CONFIGURATION)
        found = {f"win:smb/{field}": str(config[field]) for field in SMB_FIELDS}
        feature: Any = probe.run_json(HostQuery.SMB1_FEATURE)
        found["win:smb1-feature"] = str(feature["State"])
        listed: Any = probe.run_json(HostQuery.FIREWALL_PROFILES)
        profiles = {profile["Name"]: profile for profile in listed}
        for name in PROFILES:
            for field in PROFILE_FIELDS:
                found[f"win:firewall/{name}/{field}"] = str(profiles[name][field])
        rules: Any = probe.run_json(HostQuery.FIREWALL_RULES_445)
        found["win:rules-445"] = "; ".join(sorted(rule_line(rule) for rule in rules))
        results = probe.scan(list(REACH.values()), connect_timeout, len(REACH))
        for name, result in zip(REACH, results, strict=True):
            found[f"winrm-reach:win1/{name}"] = result.state.value
    except ProbeError as exc:
        return dict.fromkeys(HTTPS_KEYS, refused(exc))
    finally:
        probe.close()
    return found


def over_http(password: str) -> dict[str, str]:
    session = winrm.Session(
        f"http://{ADDRESS}:5985/wsman",
        auth=(USER, password),
        transport="ntlm",
        message_encryption="always",
        read_timeout_sec=30,
        operation_timeout_sec=20,
    )
    try:
        result = session.run_ps(query_script(HostQuery.SMB_SERVER_CONFIGURATION))
    except winrm.exceptions.InvalidCredentialsError as exc:
        return {HTTP_KEY: refused(exc)}
    if result.status_code != 0:
        return {HTTP_KEY: f"error: exit {result.status_code}"}
    return {HTTP_KEY: str(json.loads(result.std_out)["RequireSecuritySignature"])}


def main() -> None:
    password = os.environ["SMBTESTS_LAB_WIN_PASSWORD"]
    # Side by side: the reach batch spends most of its time waiting for a filtered connect.
    with ThreadPoolExecutor(max_workers=2) as pool:
        http = pool.submit(over_http, password)
        https = pool.submit(over_https, password, float(sys.argv[1]))
        print(json.dumps({**https.result(), **http.result()}))


main()
