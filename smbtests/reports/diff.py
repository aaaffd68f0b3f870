"""What a rollout changed: two results files in, the differences by category out.

Pure. A change is *worse* when a check's outcome moved towards failure (passed -> error ->
failed) or a check disappeared; `smbtests diff` exits non-zero on any worse change, so a change
board or a CI gate can stop a bad rollout.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from smbtests.checks.base import Family
from smbtests.checks.registry import family
from smbtests.records import (
    OUTCOME_RANK,
    CheckRecord,
    RunResults,
    record_from_dict,
    require_complete,
)

CLOSED_STATES = frozenset({"filtered", "refused", "unreachable"})


class Change(StrEnum):
    NEWLY_OPEN = "newly open"
    NEWLY_CLOSED = "newly closed"
    APPROVED_BROKEN = "approved path now broken"
    HARDENING_FAILING = "hardening now failing"
    HARDENING_FIXED = "hardening fixed"
    EXCEPTION_CHANGED = "exception changed"
    NOW_UNPROVABLE = "now unprovable (error)"
    NOW_PASSING = "now passing"
    NOW_FAILING = "now failing"
    OBSERVATION_CHANGED = "observation changed"
    ADDED = "check added"
    REMOVED = "check removed"


@dataclass(frozen=True)
class CheckChange:
    id: str
    change: Change
    before: str  # "outcome/observed", or "-" when absent
    after: str
    worse: bool
    rule: str
    # when each side's observation was made (UTC), where the results file records it
    before_at: str | None = None
    after_at: str | None = None


def _observed_at(record: CheckRecord | None) -> str | None:
    value = None if record is None else record.raw.get("observed_at")
    return None if value is None else str(value)


def _state(record: CheckRecord | None) -> str:
    return "-" if record is None else f"{record.outcome}/{record.observed}"


def classify(before: CheckRecord | None, after: CheckRecord | None) -> Change | None:
    """The one category a check's change falls in, or None if nothing changed."""
    if before is None:
        return Change.ADDED
    if after is None:
        return Change.REMOVED
    if (before.outcome, before.observed) == (after.outcome, after.observed):
        return None
    kind_family = family(after.kind)
    if kind_family is Family.REACH:
        if after.observed == "open" and before.observed in CLOSED_STATES:
            return Change.NEWLY_OPEN
        if before.observed == "open" and after.observed in CLOSED_STATES:
            return Change.APPROVED_BROKEN if after.expect == "open" else Change.NEWLY_CLOSED
    if after.outcome == "error" and before.outcome != "error":
        return Change.NOW_UNPROVABLE
    if kind_family is Family.HARDENING and before.outcome != after.outcome:
        return Change.HARDENING_FAILING if after.outcome == "failed" else Change.HARDENING_FIXED
    if kind_family is Family.EXCEPTION:
        return Change.EXCEPTION_CHANGED
    if before.outcome != after.outcome:
        return Change.NOW_FAILING if after.outcome == "failed" else Change.NOW_PASSING
    return Change.OBSERVATION_CHANGED


def _worse(before: CheckRecord | None, after: CheckRecord | None) -> bool:
    if after is None:
        return True  # a check that stopped running proves nothing any more
    if before is None:
        return after.outcome in ("failed", "error")
    return OUTCOME_RANK.get(after.outcome, 2) > OUTCOME_RANK.get(before.outcome, 2)


@dataclass(frozen=True)
class RunDiff:
    before: RunResults
    after: RunResults
    changes: tuple[CheckChange, ...]
    unchanged: int

    @property
    def worse(self) -> bool:
        return any(c.worse for c in self.changes)


def diff_runs(before: RunResults, after: RunResults) -> RunDiff:
    for results in (before, after):  # its unrun checks would read as removed
        require_complete(results, "compared")
    changes: list[CheckChange] = []
    unchanged = 0
    for check_id in sorted(set(before.checks) | set(after.checks)):
        old, new = before.checks.get(check_id), after.checks.get(check_id)
        change = classify(old, new)
        if change is None:
            unchanged += 1
            continue
        rule = (new or old).rule  # type: ignore[union-attr]
        changes.append(
            CheckChange(
                check_id,
                change,
                _state(old),
                _state(new),
                _worse(old, new),
                rule,
                _observed_at(old),
                _observed_at(new),
            )
        )
    return RunDiff(before, after, tuple(changes), unchanged)


def _grouped(result: RunDiff) -> dict[Change, list[CheckChange]]:
    groups: dict[Change, list[CheckChange]] = {}
    for change in result.changes:
        groups.setdefault(change.change, []).append(change)
    return {kind: groups[kind] for kind in Change if kind in groups}


def _header(result: RunDiff) -> list[str]:
    lines = []
    for label, run in (("before", result.before), ("after", result.after)):
        lines.append(
            f"{label}: {run.path} (environment {run.environment}, started {run.started}, "
            f"policy {run.policy_sha256[:12]})"
        )
    if result.before.policy_sha256 != result.after.policy_sha256:
        lines.append("note: the policy changed between the runs")
    return lines


def render_text(result: RunDiff) -> str:
    lines = _header(result)
    for kind, items in _grouped(result).items():
        lines.append("")
        lines.append(f"{kind.value.upper()} ({len(items)})")
        for item in items:
            mark = "!" if item.worse else " "
            lines.append(f" {mark} {item.id}: {item.before} -> {item.after}  [{item.rule}]")
    lines.append("")
    verdict = "WORSE: the change made something worse" if result.worse else "not worse"
    lines.append(f"{len(result.changes)} changed, {result.unchanged} unchanged; {verdict}")
    return "\n".join(lines) + "\n"


def render_markdown(result: RunDiff) -> str:
    lines = ["# smbtests: changes between two runs", ""]
    lines += [f"- {line}" for line in _header(result)]
    for kind, items in _grouped(result).items():
        lines += ["", f"## {kind.value} ({len(items)})", "", "| check | before | after | worse |"]
        lines.append("| --- | --- | --- | --- |")
        for item in items:
            lines.append(
                f"| `{item.id}` | {item.before} | {item.after} | {'yes' if item.worse else ''} |"
            )
    lines += [
        "",
        f"**{len(result.changes)} changed, {result.unchanged} unchanged; "
        f"{'worse' if result.worse else 'not worse'}.**",
        "",
    ]
    return "\n".join(lines)


def render_json(result: RunDiff) -> str:
    document = {
        "before": str(result.before.path),
        "after": str(result.after.path),
        "policy_changed": result.before.policy_sha256 != result.after.policy_sha256,
        "worse": result.worse,
        "unchanged": result.unchanged,
        "changes": [asdict(c) | {"change": c.change.value} for c in result.changes],
    }
    return json.dumps(document, indent=2) + "\n"


def change_since(before: CheckRecord | None, after: dict[str, Any]) -> str | None:
    """How one check changed since a baseline run, as one line, or None if it did not."""
    change = classify(before, record_from_dict(after))
    if change is None:
        return None
    was = "-" if before is None else f"{before.outcome}/{before.observed}"
    return f"{change.value}: {was} -> {after['outcome']}/{after['observed']}"
