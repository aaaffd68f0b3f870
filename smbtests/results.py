"""The results file a live run writes (format smbtests-results/1), read back for diffs,
registers and evidence bundles."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smbtests.errors import SmbtestsError

RESULTS_FORMAT = "smbtests-results/1"
OUTCOME_RANK = {"passed": 0, "skipped": 0, "error": 1, "failed": 2}


@dataclass(frozen=True)
class CheckRecord:
    id: str
    kind: str
    step: int
    rule: str
    outcome: str
    observed: str
    message: str
    expect: str | None
    raw: dict[str, Any]


@dataclass(frozen=True)
class RunResults:
    path: Path
    environment: str
    policy_sha256: str
    started: str
    checks: dict[str, CheckRecord]
    raw: dict[str, Any]


def record_from_dict(entry: dict[str, Any]) -> CheckRecord:
    """One check's entry of a results file; KeyError/ValueError when it is not one."""
    return CheckRecord(
        id=entry["id"],
        kind=entry["kind"],
        step=int(entry["step"]),
        rule=entry["rule"],
        outcome=entry["outcome"],
        observed=entry["observed"],
        message=entry["message"],
        expect=entry.get("expect"),
        raw=entry,
    )


def load_results(path: Path) -> RunResults:
    """Read and check a results file; a wrong file is one clear error, not a traceback."""
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise SmbtestsError(f"{path}: no such results file (a live run writes one)") from None
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SmbtestsError(f"{path}: not a readable JSON results file ({exc})") from None
    if not isinstance(document, dict) or document.get("format") != RESULTS_FORMAT:
        raise SmbtestsError(f"{path}: not an smbtests results file (format {RESULTS_FORMAT})")
    try:
        checks = {entry["id"]: record_from_dict(entry) for entry in document["checks"]}
        return RunResults(
            path=path,
            environment=document["environment"],
            policy_sha256=document["policy_sha256"],
            started=document["started"],
            checks=checks,
            raw=document,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise SmbtestsError(f"{path}: results file is missing {exc}; was it edited?") from None
