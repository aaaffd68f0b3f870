"""The kinds that read a Windows host's firewall profiles (Get-NetFirewallProfile, in the
active store, group policy included), one `Kind` each, in seed step 5's deployment: every
profile the policy names is judged by one rule per kind."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from smbtests.checks._windows import Judge, judged, reading, true, windows_kind
from smbtests.checks.base import Check, Family
from smbtests.checks.verdicts import Judging, Verdict
from smbtests.observations import HostQuery, WindowsObservation

ProfileRule = Callable[[str, dict[str, Any], Judging], list[str]]


def per_profile(word: str, rule: ProfileRule) -> Judge:
    """`judge` of a kind that judges each profile the policy names by `rule` (its problems in
    that profile); observed `WORD-on` when there are none."""

    def judge(check: Check, obs: WindowsObservation, judging: Judging) -> Verdict:
        profiles = {p["Name"]: p for p in reading(obs, HostQuery.FIREWALL_PROFILES)}
        wanted = judging.policy.deployment.firewall_profiles
        problems = []
        for name in wanted:
            profile = profiles.get(name)
            problems += (
                [f"profile {name} missing"] if profile is None else rule(name, profile, judging)
            )
        return judged(check, problems, word, f"{word} as required in {', '.join(wanted)}")

    return judge


def _enforced(name: str, profile: dict[str, Any], judging: Judging) -> list[str]:
    problems = []
    if not true(profile["Enabled"]):
        problems.append(f"{name} profile disabled")
    if str(profile["DefaultInboundAction"]) != "Block":
        problems.append(f"{name} inbound default {profile['DefaultInboundAction']}")
    return problems


FIREWALL = windows_kind(
    "win-firewall",
    """win-firewall:HOST — the Windows firewall is on with inbound blocked by default in every
    profile the policy names (seed step 5), read with Get-NetFirewallProfile.""",
    ("Windows firewall profiles enforced", "critical", 5, "smb_deployment"),
    lambda config, _windows: (
        "the firewall is on with inbound blocked by default "
        f"({', '.join(config.policy.deployment.firewall_profiles)})"
    ),
    (HostQuery.FIREWALL_PROFILES,),
    per_profile("firewall", _enforced),
    family=Family.OTHER,
)


def _logging(name: str, profile: dict[str, Any], judging: Judging) -> list[str]:
    problems = []
    if not true(profile["LogBlocked"]):
        problems.append(f"{name} LogBlocked False")
    if not profile["LogFileName"]:
        problems.append(f"{name} has no log file")
    if int(profile["LogMaxSizeKilobytes"]) < judging.policy.deployment.firewall_log_min_kb:
        problems.append(f"{name} log {profile['LogMaxSizeKilobytes']} KB")
    return problems


FIREWALL_LOG = windows_kind(
    "win-firewall-log",
    """win-firewall-log:HOST — dropped packets are logged to a file of at least the policy's
    size in every profile the policy names (seed step 5), read with Get-NetFirewallProfile.""",
    ("Windows firewall logging on", "normal", 5, "smb_deployment"),
    lambda config, _windows: (
        "dropped packets are logged to a file of at least "
        f"{config.policy.deployment.firewall_log_min_kb} KB "
        f"({', '.join(config.policy.deployment.firewall_profiles)})"
    ),
    (HostQuery.FIREWALL_PROFILES,),
    per_profile("logging", _logging),
    family=Family.OTHER,
)
