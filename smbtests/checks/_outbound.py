"""A Windows vantage's own outbound rules (closing the positive control's known limit): a
vantage whose host firewall blocks its own connects to remote port 445 still reaches its
control on another port, so its "closed" results would prove nothing about the network. Read
with Get-NetFirewallRule and its filters, in the active store, from the same WinRM probe."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

from smbtests.checks._windows import true
from smbtests.checks.base import Check, Need
from smbtests.config import LoadedConfig
from smbtests.observations import HostQuery, Target

OUTBOUND = HostQuery.FIREWALL_OUTBOUND_445


def vantage_needs(check: Check, config: LoadedConfig) -> Sequence[Need]:
    probe = config.environment.probes.get(check.probe or "")
    return (OUTBOUND,) if probe is not None and probe.transport == "winrm" else ()


def _matches(address: str, host: str) -> bool:
    text = address.strip()
    if text.lower() in ("any", "*"):
        return True
    try:
        ip = ipaddress.ip_address(host)
        if "-" in text:
            low, high = (ipaddress.ip_address(part) for part in text.split("-", 1))
            return ip.version == low.version == high.version and int(low) <= int(ip) <= int(high)
        return ip in ipaddress.ip_network(text, strict=False)
    except ValueError:
        # Internet, Intranet, LocalSubnet, DNS, ...: Windows decides; count it as covering
        return True


SMB_DIRECT = 445


def _covers(rule: dict[str, Any], target: Target) -> bool:
    return true(rule["Enabled"]) and any(_matches(a, target.host) for a in rule["RemoteAddress"])


def outbound_block(reading: dict[str, Any], target: Target) -> str | None:
    """What on the vantage itself stops its connect to `target`, or None. The reading holds
    the rules that cover remote port 445: they explain 445 targets only; a profile that blocks
    outbound by default explains any port (no allow rule for another port is known, so a
    closed result there proves nothing either)."""
    rules = reading["Rules"] if target.port == SMB_DIRECT else []
    for rule in rules:
        if rule["Action"] == "Block" and _covers(rule, target):
            return f"its outbound rule '{rule['DisplayName']}' blocks TCP 445"
    allowed = any(r["Action"] == "Allow" and _covers(r, target) for r in rules)
    for profile in reading["Profiles"]:
        if true(profile["Enabled"]) and profile["DefaultOutboundAction"] == "Block" and not allowed:
            return f"its {profile['Name']} profile blocks outbound by default, no rule allows 445"
    return None
