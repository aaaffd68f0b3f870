"""win-firewall:HOST — the Windows firewall is on with inbound blocked by default in every
profile the policy names (seed step 5), read with Get-NetFirewallProfile."""

from __future__ import annotations

from typing import Any

from smbtests.checks._profiles import per_profile
from smbtests.checks._windows import per_windows_host, true
from smbtests.checks.base import Family
from smbtests.checks.verdicts import Judging

NAME = "win-firewall"
FAMILY = Family.OTHER


plan = per_windows_host(
    NAME,
    ("Windows firewall profiles enforced", "critical", 5, "smb_deployment"),
    lambda config, _windows: (
        "the firewall is on with inbound blocked by default "
        f"({', '.join(config.policy.deployment.firewall_profiles)})"
    ),
)


def _profile_problems(name: str, profile: dict[str, Any], judging: Judging) -> list[str]:
    problems = []
    if not true(profile["Enabled"]):
        problems.append(f"{name} profile disabled")
    if str(profile["DefaultInboundAction"]) != "Block":
        problems.append(f"{name} inbound default {profile['DefaultInboundAction']}")
    return problems


needs, observe, judge = per_profile("firewall", _profile_problems)
