"""win-profile:HOST — on every connected interface, the firewall profile in force (its network
category) lets no 445 in where it must not (seed step 2): an interface in the Public category
takes the Public profile's rules, so any enabled inbound 445 allow in that profile is open on
that network. Read with Get-NetConnectionProfile and Get-NetFirewallRule, in the active store."""

from __future__ import annotations

from smbtests.checks._windows import allows_445_in, judged_as, per_windows_host, reading, readings
from smbtests.checks.base import Check, Family
from smbtests.checks.verdicts import Judging, Verdict
from smbtests.observations import HostQuery, WindowsObservation

NAME = "win-profile"
FAMILY = Family.OTHER
# NetworkCategory -> the firewall profile Windows applies
PROFILE_OF = {"DomainAuthenticated": "Domain", "Private": "Private", "Public": "Public"}

plan = per_windows_host(
    NAME,
    ("Windows hosts publish no 445", "critical", 2, "smb_deployment"),
    "no interface in the Public category admits 445 under the profile in force",
)
needs, observe = readings(HostQuery.NETWORK_PROFILES, HostQuery.FIREWALL_RULES_445)


def judge(check: Check, obs: WindowsObservation, judging: Judging) -> Verdict:
    rules = reading(obs, HostQuery.FIREWALL_RULES_445)
    active = []
    problems = []
    for interface in reading(obs, HostQuery.NETWORK_PROFILES):
        profile = PROFILE_OF.get(interface["NetworkCategory"], "Public")
        active.append(f"{interface['InterfaceAlias']}: {profile}")
        in_force = [r["DisplayName"] for r in rules if allows_445_in(r, profile)]
        if profile == "Public" and in_force:
            problems.append(
                f"{interface['InterfaceAlias']} is in the Public category and "
                f"{', '.join(repr(name) for name in in_force)} admit 445 there"
            )
    summary = f"profiles in force {'; '.join(active)}"
    return judged_as(check, problems, summary, failed="exposed", passed="closed")
