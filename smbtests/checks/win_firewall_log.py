"""win-firewall-log:HOST — dropped packets are logged to a file of at least the policy's size
in every profile the policy names (seed step 5), read with Get-NetFirewallProfile."""

from __future__ import annotations

from typing import Any

from smbtests.checks._profiles import per_profile
from smbtests.checks._windows import per_windows_host, true
from smbtests.checks.base import Family
from smbtests.checks.verdicts import Judging

NAME = "win-firewall-log"
FAMILY = Family.OTHER


plan = per_windows_host(
    NAME,
    ("Windows firewall logging on", "normal", 5, "smb_deployment"),
    lambda config, _windows: (
        "dropped packets are logged to a file of at least "
        f"{config.policy.deployment.firewall_log_min_kb} KB "
        f"({', '.join(config.policy.deployment.firewall_profiles)})"
    ),
)


def _profile_problems(name: str, profile: dict[str, Any], judging: Judging) -> list[str]:
    problems = []
    if not true(profile["LogBlocked"]):
        problems.append(f"{name} LogBlocked False")
    if not profile["LogFileName"]:
        problems.append(f"{name} has no log file")
    if int(profile["LogMaxSizeKilobytes"]) < judging.policy.deployment.firewall_log_min_kb:
        problems.append(f"{name} log {profile['LogMaxSizeKilobytes']} KB")
    return problems


needs, observe, judge = per_profile("logging", _profile_problems)
