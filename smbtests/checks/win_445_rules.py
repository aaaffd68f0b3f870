"""win-445-rules:HOST — no enabled inbound firewall rule publishes 445 (seed steps 2 and 5):
a server may allow it only from named addresses, an endpoint (a laptop that travels) not at
all in the Public or Private profile. Read with Get-NetFirewallRule and its port and address
filters, in the active store."""

from __future__ import annotations

from typing import Any

from smbtests.checks._windows import (
    judged_as,
    per_windows_host,
    reading,
    readings,
    true,
)
from smbtests.checks.base import Check, Family
from smbtests.checks.verdicts import Judging, Verdict
from smbtests.observations import HostQuery, WindowsObservation

NAME = "win-445-rules"
FAMILY = Family.OTHER
SMB_PORT = 445
# Remote-address values that name no particular client: a server rule with one of them is not
# an allow-list (seed step 3).
UNNAMED_REMOTES = frozenset(
    {"any", "*", "internet", "intranet", "localsubnet", "0.0.0.0/0", "0.0.0.0-255.255.255.255"}
)
ENDPOINT_EXPOSED_PROFILES = ("Public", "Private", "Any")


plan = per_windows_host(
    NAME,
    ("Windows hosts publish no 445", "critical", 2, "smb_deployment"),
    lambda *_: True,
    lambda _config, windows: (
        "no enabled inbound rule allows 445 from any address"
        if windows.role == "server"
        else "no enabled inbound rule allows 445 in the Public or Private profile"
    ),
)
needs, observe = readings(HostQuery.FIREWALL_RULES_445)


def unnamed(address: str) -> bool:
    text = address.strip().lower()
    return text in UNNAMED_REMOTES or text.endswith("/0") or text.endswith("/0.0.0.0")


def _covers_smb_port(ports: list[str]) -> bool:
    for port in ports:
        low, _, high = port.partition("-")
        if port == "Any" or (low.isdigit() and int(low) <= SMB_PORT <= int(high or low)):
            return True
    return False


def allows_445(rule: dict[str, Any]) -> bool:
    """An enabled inbound allow rule (a firewall-rules-445 row) whose ports cover 445."""
    return (
        true(rule["Enabled"])
        and rule["Direction"] == "Inbound"
        and rule["Action"] == "Allow"
        and _covers_smb_port(rule["LocalPort"])
    )


def judge(check: Check, obs: WindowsObservation, judging: Judging) -> Verdict:
    endpoint = check.windows_role == "endpoint"
    offending = []
    for rule in reading(obs, HostQuery.FIREWALL_RULES_445):
        allows = allows_445(rule)
        profile = str(rule["Profile"])
        exposed = (
            any(p in profile for p in ENDPOINT_EXPOSED_PROFILES)
            if endpoint
            else any(unnamed(address) for address in rule["RemoteAddress"])
        )
        if allows and exposed:
            offending.append(
                f"'{rule['DisplayName']}' allows 445 from {', '.join(rule['RemoteAddress'])} "
                f"({profile})"
            )
    no_rule = "no inbound rule exposes 445"
    return judged_as(check, offending, no_rule, failed="exposed", passed="closed")
