"""win-445-rules:HOST — no enabled inbound firewall rule publishes 445 (seed steps 2 and 5):
a server may allow it only from named addresses, an endpoint (a laptop that travels) not at
all in the Public or Private profile. Read with Get-NetFirewallRule and its port and address
filters, in the active store.

On an endpoint this is the *latent* exposure, on networks the laptop may join. A rule in the
Public profile while an interface is in the Public category is in force now: that one is
`win-profile`'s failure (which names it), so a Public rule is reported once, by the check that
says it is live; the same rule's Private part, if any, stays this check's."""

from __future__ import annotations

from typing import Any

from smbtests.checks._windows import inbound_allow, judged_as, per_windows_host, reading, readings
from smbtests.checks.base import Check, Family
from smbtests.checks.verdicts import Judging, Verdict
from smbtests.checks.win_profile import PROFILE_OF
from smbtests.observations import HostQuery, WindowsObservation

NAME = "win-445-rules"
FAMILY = Family.OTHER
SMB_PORT = 445
# Remote-address values that name no particular client: a server rule with one of them is not
# an allow-list (seed step 3).
UNNAMED_REMOTES = frozenset(
    {"any", "*", "internet", "intranet", "localsubnet", "0.0.0.0/0", "0.0.0.0-255.255.255.255"}
)
ENDPOINT_EXPOSED_PROFILES = frozenset({"Public", "Private"})
ALL_PROFILES = frozenset({"Domain", "Private", "Public"})


plan = per_windows_host(
    NAME,
    ("Windows hosts publish no 445", "critical", 2, "smb_deployment"),
    lambda _config, windows: (
        "no enabled inbound rule allows 445 from any address"
        if windows.role == "server"
        else "no enabled inbound rule allows 445 in the Public or Private profile"
    ),
)
needs, observe = readings(HostQuery.FIREWALL_RULES_445, HostQuery.NETWORK_PROFILES)


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
    return inbound_allow(rule) and _covers_smb_port(rule["LocalPort"])


def profiles_of(rule: dict[str, Any]) -> frozenset[str]:
    """The profiles a rule is in (`Domain, Public`; `Any` is all three)."""
    named = frozenset(p.strip() for p in str(rule["Profile"]).split(","))
    return ALL_PROFILES if "Any" in named else named


def live_public(obs: WindowsObservation) -> bool:
    """An interface is in the Public category now (an unknown category counts as Public)."""
    return any(
        PROFILE_OF.get(i["NetworkCategory"], "Public") == "Public"
        for i in reading(obs, HostQuery.NETWORK_PROFILES)
    )


def judge(check: Check, obs: WindowsObservation, judging: Judging) -> Verdict:
    endpoint = check.windows_role == "endpoint"
    owned = frozenset({"Public"}) if endpoint and live_public(obs) else frozenset()
    offending = []
    for rule in reading(obs, HostQuery.FIREWALL_RULES_445):
        allows = allows_445(rule)
        exposed = (
            bool(profiles_of(rule) & ENDPOINT_EXPOSED_PROFILES - owned)
            if endpoint
            else any(unnamed(address) for address in rule["RemoteAddress"])
        )
        profile = str(rule["Profile"])
        if allows and exposed:
            offending.append(
                f"'{rule['DisplayName']}' allows 445 from {', '.join(rule['RemoteAddress'])} "
                f"({profile})"
            )
    live = "; a Public rule in force now is win-profile's to report" if owned else ""
    no_rule = f"no inbound rule exposes 445{live}"
    return judged_as(check, offending, no_rule, failed="exposed", passed="closed")
