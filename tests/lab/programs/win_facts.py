"""Read the lab's WS-Management doubles over WinRM from wherever this runs; print flat JSON facts.

Usage: python win_facts.py CONNECT_TIMEOUT [DOUBLE...]     DOUBLE: win1, dc1 (default: both)
win1 (10.45.20.22), a Windows endpoint: over HTTPS (5986, NTLM with channel binding, verified
against the lab CA) through smbtests' own WinRM probe: the SMB server configuration, the SMB1
feature, the firewall profiles and 445 rules (`win:*`), and a reach batch from win1's vantage
(`winrm-reach:win1/*`). Over HTTP (5985, NTLM with message encryption) through pywinrm's own
`winrm.Session`, unmodified: RequireSecuritySignature once more (`win:http/*`).
dc1 (10.45.10.12), dc1's Windows configuration beside its real smbd: the same four readings over
HTTPS through the probe, verified against dc1's own lab CA (`dc1-win:*`).
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
from smbtests.observations import Target
from smbtests.probes.base import ScanJob
from smbtests.probes.winrm import HostQuery, WinRMProbe, WinRMSettings
from smbtests.probes.winrm_scripts import query_script

ADDRESS = "10.45.20.22"
USER = "labadmin"
CA = Path("/run/smbtests-lab/win1/ca.pem")
DC1_ADDRESS = "10.45.10.12"
DC1_CA = Path("/run/smbtests-lab/dc1-win/ca.pem")
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
PROFILE_FIELDS = ("Enabled", "DefaultInboundAction", "LogBlocked", "LogMaxSizeKilobytes")
REACH = {
    "fs1:445": Target("10.45.10.11", 445),
    "dc1:445": Target("10.45.10.12", 445),
    "print1:445": Target("10.45.10.13", 445),
    "inet-smb:445": Target("198.51.100.51", 445),
    "control:8000": Target("10.45.10.10", 8000),
}
HTTP_KEY = "win:http/RequireSecuritySignature"


# the 2025-era readings, each as one compact JSON value
CURRENT_QUERIES = (
    HostQuery.SMB_SERVER_LIMITS,
    HostQuery.SMB_CLIENT_CONFIGURATION,
    HostQuery.NETWORK_PROFILES,
    HostQuery.FIREWALL_OUTBOUND_445,
)


def as_fact(reading: object) -> str:
    return json.dumps(reading, sort_keys=True, separators=(",", ":"))


def configuration_keys(prefix: str) -> tuple[str, ...]:
    return (
        *(f"{prefix}:smb/{field}" for field in SMB_FIELDS),
        f"{prefix}:smb1-feature",
        *(f"{prefix}:firewall/{p}/{field}" for p in PROFILES for field in PROFILE_FIELDS),
        f"{prefix}:rules-445",
        *(f"{prefix}:{query}" for query in CURRENT_QUERIES),
    )


HTTPS_KEYS = (*configuration_keys("win"), *(f"winrm-reach:win1/{name}" for name in REACH))
DC1_KEYS = configuration_keys("dc1-win")


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


def https_probe(name: str, address: str, ca: Path, password: str) -> WinRMProbe:
    settings = WinRMSettings(
        address=address,
        username=USER,
        port=5986,
        scheme="https",
        transport="ntlm",
        ca_bundle=ca,
        command_timeout=20.0,
    )
    return WinRMProbe(name, settings, password)


def read_configuration(probe: WinRMProbe, prefix: str) -> dict[str, str]:
    """The four configuration readings, as `PREFIX:*` keys; raises ProbeError."""
    config: Any = probe.run_json(HostQuery.SMB_SERVER_CONFIGURATION)
    found = {f"{prefix}:smb/{field}": str(config[field]) for field in SMB_FIELDS}
    feature: Any = probe.run_json(HostQuery.SMB1_FEATURE)
    found[f"{prefix}:smb1-feature"] = str(feature["State"])
    listed: Any = probe.run_json(HostQuery.FIREWALL_PROFILES)
    profiles = {profile["Name"]: profile for profile in listed}
    for name in PROFILES:
        for field in PROFILE_FIELDS:
            found[f"{prefix}:firewall/{name}/{field}"] = str(profiles[name][field])
    rules: Any = probe.run_json(HostQuery.FIREWALL_RULES_445)
    found[f"{prefix}:rules-445"] = "; ".join(sorted(rule_line(rule) for rule in rules))
    for query in CURRENT_QUERIES:
        found[f"{prefix}:{query}"] = as_fact(probe.run_json(query))
    return found


def over_https(password: str, connect_timeout: float) -> dict[str, str]:
    probe = https_probe("win1", ADDRESS, CA, password)
    try:
        found = read_configuration(probe, "win")
        results = probe.scan(ScanJob(list(REACH.values()), connect_timeout, len(REACH)))
        for name, result in zip(REACH, results, strict=True):
            found[f"winrm-reach:win1/{name}"] = result.state.value
    except ProbeError as exc:
        return dict.fromkeys(HTTPS_KEYS, refused(exc))
    finally:
        probe.close()
    return found


def dc1_over_https(password: str) -> dict[str, str]:
    probe = https_probe("dc1", DC1_ADDRESS, DC1_CA, password)
    try:
        return read_configuration(probe, "dc1-win")
    except ProbeError as exc:
        return dict.fromkeys(DC1_KEYS, refused(exc))
    finally:
        probe.close()


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
    connect_timeout, doubles = float(sys.argv[1]), set(sys.argv[2:]) or {"win1", "dc1"}
    readers = []
    if "win1" in doubles:
        readers += [lambda: over_https(password, connect_timeout), lambda: over_http(password)]
    if "dc1" in doubles:
        readers.append(lambda: dc1_over_https(password))
    # Side by side: win1's reach batch spends most of its time waiting for a filtered connect.
    with ThreadPoolExecutor(max_workers=len(readers)) as pool:
        facts: dict[str, str] = {}
        for part in pool.map(lambda read: read(), readers):
            facts.update(part)
        print(json.dumps(facts))


if __name__ == "__main__":  # also imported by tests/lab/test_scenarios.py for its helpers
    main()
