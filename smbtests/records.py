"""The results file (format smbtests-results/1): the ONE owner of its shape.

A live run turns each judged check into a record (`record`), collects the records into one
document (`document`), and writes it atomically (`write`); diffs, registers, evidence bundles
and exports read it back with `load_results`.

`deny_records` (only when the environment names `deny_logs`, only on reach checks that expected
and proved a closed path; added after the run by `denylog.attach`): `status` ("matched", "no
deny record": dropped somewhere other than the firewalls whose logs were read, or "log
unreadable"), `logs_read`, `unreadable` (log name -> reason), `window` ([start, end] UTC, the
time the records had to fall in) and `records` (log, time, source, destination, port, protocol,
action, line: each firewall log line that matched source, destination and port) and
`tried_by_others` (the same shape: denials of that destination and port from other sources, at
any time in the logs read; the last 20).
"""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from smbtests.atomic import write_text_atomically
from smbtests.checks.base import Check
from smbtests.checks.verdicts import Verdict
from smbtests.config import LoadedConfig
from smbtests.errors import SmbtestsError

RESULTS_FORMAT = "smbtests-results/1"
OUTCOME_RANK = {"passed": 0, "skipped": 0, "error": 1, "failed": 2}


_SCALARS = frozenset({str, int, float, bool, type(None)})
_FIELDS: dict[type, tuple[str, ...]] = {}  # dataclass -> its field names, looked up once


def as_plain(value: Any) -> Any:
    """Dataclasses, enums and containers as plain JSON values (every observation of a run,
    so the common cases come first)."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    names = _FIELDS.get(kind)
    if names is None and dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = _FIELDS[kind] = tuple(f.name for f in dataclasses.fields(value))
    if names is not None:
        return {name: as_plain(getattr(value, name)) for name in names}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [as_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): as_plain(v) for k, v in value.items()}
    return value


def indented_json(value: Any, *, sort_keys: bool = True) -> str:
    """JSON indented by two spaces, as `json.dumps(value, indent=2)` writes it but for
    non-ASCII text, which stays as it is. orjson, because the json module indents in pure
    Python (its C encoder only writes unindented JSON): at ten thousand checks the evidence and
    the results file were a tenth of the run."""
    option = orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS
    if sort_keys:
        option |= orjson.OPT_SORT_KEYS
    return orjson.dumps(value, option=option).decode()


def record(
    check: Check,
    verdict: Verdict,
    evidence: Any,
    change: str | None,
    observed_at: str | None = None,
) -> dict[str, object]:
    """One check's entry in the results file (plain JSON, no secrets). `evidence`: its
    observation `as_plain` (made once per check: its JSON for the reports comes from the same);
    `observed_at`: the UTC instant the observation was made (or its failure known), so a fault
    that appears mid-run can be placed in time."""
    return {
        "observed_at": observed_at,
        "id": check.id,
        "kind": check.kind,
        "step": check.step,
        "rule": check.rule,
        "probe": check.probe,
        "host": check.host,
        "target": None if check.target is None else f"{check.target.host}:{check.target.port}",
        "expect": None if check.expect is None else check.expect.value,
        "outcome": verdict.outcome.value,
        "observed": verdict.observed,
        "message": verdict.message,
        "warning": verdict.warning,
        "change_since_baseline": change,
        "evidence": evidence,
    }


def document(
    config: LoadedConfig,
    records: dict[str, dict[str, Any]],
    *,
    as_of: str,
    started: str,
    finished: str,
    exit_status: int,
    versions: dict[str, str],
    not_run: Sequence[str] = (),
    interrupted: str | None = None,
    coverage: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The whole results document of one run. `interrupted` names why a run was cut short
    (SIGINT, SIGTERM, a lost worker); `not_run` lists the selected checks with no verdict;
    `coverage` is the segment x host x port matrix the run proved (`cells`: segment, host,
    port, expected, observed, outcome, by which probe[source]; `uncovered`)."""
    return {
        "coverage": dict(coverage) if coverage is not None else None,
        "interrupted": interrupted is not None,
        "interrupted_by": interrupted,
        "not_run": sorted(not_run),
        "format": RESULTS_FORMAT,
        "environment": config.environment.name,
        "environment_file": str(config.environment_path),
        "policy_file": str(config.policy_path),
        "policy_sha256": config.policy_sha256,
        "overlay_applied": config.overlay_applied,
        "as_of": as_of,
        "started": started,
        "finished": finished,
        "exit_status": exit_status,
        "versions": versions,
        "checks": [records[key] for key in sorted(records)],
    }


def write(path: Path, content: dict[str, Any]) -> None:
    """Write the document atomically: a reader (or a crash) sees the old file or the new one,
    never half of one."""
    write_text_atomically(path, _pieces(content))


def _pieces(content: dict[str, Any]) -> Iterator[str]:
    """The document as `indented_json` writes it, record by record: at 10,000 checks the
    whole document in one buffer (and before, json.dumps' millions of pieces and their join)
    was the run's peak memory, measured."""
    yield "{"
    for index, key in enumerate(sorted(content)):
        yield f"{',' if index else ''}\n  {json.dumps(key, ensure_ascii=False)}: "
        value = content[key]
        if key == "checks" and value:
            yield "["
            for number, check in enumerate(value):
                yield f"{',' if number else ''}\n    {_nested(check, '    ')}"
            yield "\n  ]"
        else:
            yield _nested(value, "  ")
    yield "\n}\n"


def _nested(value: Any, indent: str) -> str:
    return indented_json(value).replace("\n", f"\n{indent}")


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

    @property
    def interrupted(self) -> bool:
        return bool(self.raw.get("interrupted")) or bool(self.raw.get("not_run"))


def require_complete(results: RunResults, purpose: str) -> None:
    """Refuse an interrupted run where a complete one is implied (an evidence bundle, a diff):
    its missing checks would read as removed or as never planned."""
    if results.interrupted:
        missing = results.raw.get("not_run") or []
        why = results.raw.get("interrupted_by") or "interrupted"
        raise SmbtestsError(
            f"{results.path}: this run was cut short ({why}; {len(missing)} checks not run), "
            f"so it cannot be {purpose}; rerun it to completion"
        )


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
        content = json.loads(path.read_text())
    except FileNotFoundError:
        raise SmbtestsError(f"{path}: no such results file (a live run writes one)") from None
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SmbtestsError(f"{path}: not a readable JSON results file ({exc})") from None
    if not isinstance(content, dict) or content.get("format") != RESULTS_FORMAT:
        raise SmbtestsError(f"{path}: not an smbtests results file (format {RESULTS_FORMAT})")
    try:
        checks = {entry["id"]: record_from_dict(entry) for entry in content["checks"]}
        return RunResults(
            path=path,
            environment=content["environment"],
            policy_sha256=content["policy_sha256"],
            started=content["started"],
            checks=checks,
            raw=content,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise SmbtestsError(f"{path}: results file is missing {exc}; was it edited?") from None
