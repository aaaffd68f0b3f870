"""The verdict vocabulary every check kind judges in: its outcome, its one-line message and
stable `observed` word, what a verdict may consult besides the observation, and the policy
reference a failure quotes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING

from smbtests.config import Policy

if TYPE_CHECKING:
    from smbtests.checks.base import Check


class Outcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    message: str
    observed: str  # a short, stable word for diffs: open, filtered, refused, required, ...
    warning: str | None = None


@dataclass(frozen=True)
class Judging:
    """What a verdict may consult besides the observation."""

    policy: Policy
    today: date


def error_verdict(error: Exception) -> Verdict:
    return Verdict(Outcome.ERROR, str(error), "error")


def policy_says(check: Check) -> str:
    return f"policy: {check.rule} (step {check.step})"


def violated(check: Check, finding: str, observed: str) -> Verdict:
    """Failed: what was found, then the policy it breaks."""
    return Verdict(Outcome.FAILED, f"{finding}; {policy_says(check)}", observed)
