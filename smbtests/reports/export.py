"""A run's results as monitoring systems read them: the Prometheus text exposition format (for
node_exporter's textfile collector) and a Nagios plugin status line with perfdata.

Pure: a RunResults in, text out. Only check ids, kinds, steps and outcomes leave the file;
messages and evidence stay in it, so nothing a check observed reaches a monitoring system.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import IntEnum

from smbtests.errors import SmbtestsError
from smbtests.records import CheckRecord, RunResults

OUTCOMES = ("passed", "failed", "error", "skipped")
SMB1_KINDS = frozenset({"smb1", "win-smb1"})
# pytest's exit statuses after which the results file holds every selected check (0 all passed,
# 1 some failed or errored); any other status means the run stopped early or never started.
COMPLETE_EXIT_STATUSES = frozenset({0, 1})
NAGIOS_IDS_SHOWN = 5


def _escape_label(value: str) -> str:
    """A label value per the exposition format: backslash, double quote and newline escaped."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(pairs: Iterable[tuple[str, str]]) -> str:
    return "{" + ",".join(f'{name}="{_escape_label(value)}"' for name, value in pairs) + "}"


def run_time(results: RunResults) -> datetime:
    """When the run finished (its start for files without `finished`), timezone-aware UTC."""
    text = str(results.raw.get("finished") or results.started)
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        raise SmbtestsError(
            f"{results.path}: run time `{text}` is not an ISO date-time; was the file edited?"
        ) from None
    # the plugin writes UTC; a stamp without an offset is read as UTC, never as local time
    return stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=UTC)


def smb1_present(results: RunResults) -> bool:
    """A host accepted SMB1 on the wire or has it enabled in its own configuration."""
    return any(c.kind in SMB1_KINDS and c.outcome == "failed" for c in results.checks.values())


def _exit_status(results: RunResults) -> int | None:
    value = results.raw.get("exit_status")
    return value if isinstance(value, int) else None


def render_prometheus(results: RunResults) -> str:
    """Every series a gauge, one family after the other, each with HELP and TYPE once.

    Every series carries `environment`, so several environments' files can sit in one
    textfile-collector folder without clashing series.
    """
    env = ("environment", results.environment)
    checks = sorted(results.checks.values(), key=lambda c: c.id)
    families: list[tuple[str, str, list[tuple[str, float]]]] = []

    families.append(
        (
            "smbtests_check_outcome",
            "One series per check: its outcome in the last run (always 1).",
            [
                (
                    _labels(
                        [
                            env,
                            ("check", c.id),
                            ("kind", c.kind),
                            ("step", str(c.step)),
                            ("outcome", c.outcome),
                        ]
                    ),
                    1,
                )
                for c in checks
            ],
        )
    )
    counts = Counter((c.step, c.outcome) for c in checks)
    families.append(
        (
            "smbtests_checks",
            "Checks per seed step and outcome in the last run (every outcome, zeros included).",
            [
                (_labels([env, ("step", str(step)), ("outcome", outcome)]), counts[(step, outcome)])
                for step in sorted({c.step for c in checks})
                for outcome in OUTCOMES
            ],
        )
    )
    families.append(
        (
            "smbtests_smb1_present",
            "1 if any smb1 or win-smb1 check failed in the last run (SMB1 accepted or enabled).",
            [(_labels([env]), int(smb1_present(results)))],
        )
    )
    families.append(
        (
            "smbtests_last_run_timestamp_seconds",
            "When the last run finished, in unix seconds.",
            [(_labels([env]), run_time(results).timestamp())],
        )
    )
    exit_status = _exit_status(results)
    if exit_status is not None:
        families.append(
            (
                "smbtests_run_exit_status",
                "pytest's exit status of the last run (0 all passed, 1 a check failed or errored).",
                [(_labels([env]), exit_status)],
            )
        )
    families.append(
        (
            "smbtests_run_info",
            "The policy (SHA-256) and smbtests version of the last run (always 1).",
            [
                (
                    _labels(
                        [
                            env,
                            ("policy_sha256", results.policy_sha256),
                            ("version", _smbtests_version(results)),
                        ]
                    ),
                    1,
                )
            ],
        )
    )

    lines: list[str] = []
    for name, help_text, samples in families:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} gauge")
        lines.extend(f"{name}{labels} {_number(value)}" for labels, value in samples)
    return "\n".join(lines) + "\n"


def _smbtests_version(results: RunResults) -> str:
    versions = results.raw.get("versions")
    return str(versions.get("smbtests", "")) if isinstance(versions, dict) else ""


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


class NagiosState(IntEnum):
    """Nagios plugin states; the value is the plugin's exit code."""

    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3


@dataclass(frozen=True)
class NagiosStatus:
    state: NagiosState
    line: str  # one line: "SMBTESTS STATE - summary | perfdata"


def nagios_unknown(reason: str) -> NagiosStatus:
    """The status when there is nothing to judge: unreadable, stale or incomplete results."""
    return NagiosStatus(NagiosState.UNKNOWN, f"SMBTESTS UNKNOWN - {' '.join(reason.split())}")


def _ids(records: list[CheckRecord]) -> str:
    shown = ", ".join(r.id for r in records[:NAGIOS_IDS_SHOWN])
    more = len(records) - NAGIOS_IDS_SHOWN
    return f"{shown}, and {more} more" if more > 0 else shown


def render_nagios(
    results: RunResults, now: datetime, max_age: timedelta | None = None
) -> NagiosStatus:
    """CRITICAL when a check failed (a policy violation, whatever else happened); UNKNOWN when
    the results are older than `max_age`, the run did not complete or holds no check; WARNING
    when a check errored (unprovable) or carries a warning (an exception about to expire); else
    OK."""
    checks = sorted(results.checks.values(), key=lambda c: c.id)
    by_outcome = {o: [c for c in checks if c.outcome == o] for o in OUTCOMES}
    warned = [c for c in checks if c.raw.get("warning")]
    finished = run_time(results)
    age = max(0, int((now - finished).total_seconds()))
    perfdata = " ".join(
        [
            f"checks={len(checks)};;;0",
            f"passed={len(by_outcome['passed'])};;;0",
            f"failed={len(by_outcome['failed'])};;0;0",  # "0": critical above zero
            f"error={len(by_outcome['error'])};0;;0",
            f"skipped={len(by_outcome['skipped'])};;;0",
            f"smb1_present={int(smb1_present(results))};;0;0;1",
            f"age={age}s;;;0",
        ]
    )
    where = f"{results.environment}, run finished {finished.isoformat(timespec='seconds')}"
    exit_status = _exit_status(results)

    if by_outcome["failed"]:
        failed = by_outcome["failed"]
        state = NagiosState.CRITICAL
        summary = f"{len(failed)} of {len(checks)} checks failed: {_ids(failed)}"
    elif max_age is not None and now - finished > max_age:
        return nagios_unknown(
            f"results of {where} are {age} s old, over --max-age {int(max_age.total_seconds())} "
            "s: is the scheduled run still running?"
        )
    elif exit_status is not None and exit_status not in COMPLETE_EXIT_STATUSES:
        return nagios_unknown(f"the run of {where} did not complete (pytest exit {exit_status})")
    elif not checks:
        return nagios_unknown(f"the run of {where} holds no check")
    elif by_outcome["error"] or warned:
        state = NagiosState.WARNING
        parts = []
        if by_outcome["error"]:
            parts.append(f"{len(by_outcome['error'])} unprovable: {_ids(by_outcome['error'])}")
        if warned:
            parts.append(f"{len(warned)} with a warning: {_ids(warned)}")
        summary = f"{'; '.join(parts)} ({len(checks)} checks)"
    else:
        state = NagiosState.OK
        summary = f"all {len(checks)} checks passed"
    return NagiosStatus(state, f"SMBTESTS {state.name} - {summary} ({where}) | {perfdata}")
