"""What win-firewall and win-firewall-log share: every profile the policy names is judged
from Get-NetFirewallProfile in the active store (group policy included)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from smbtests.checks._hardening import Needs, Observe
from smbtests.checks._windows import Judge, judged, reading, readings
from smbtests.checks.base import Check
from smbtests.checks.verdicts import Judging, Verdict
from smbtests.observations import HostQuery, WindowsObservation

ProfileRule = Callable[[str, dict[str, Any], Judging], list[str]]


def per_profile(word: str, rule: ProfileRule) -> tuple[Needs, Observe, Judge]:
    """`needs`, `observe` and `judge` of a kind that judges each profile the policy names by
    `rule` (its problems in that profile); observed `WORD-on` when there are none."""

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

    return (*readings(HostQuery.FIREWALL_PROFILES), judge)
