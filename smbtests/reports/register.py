"""The exceptions register: the monthly review sheet (seed step 7).

Every exception with owner, approver, reason, ticket, expiry, days left, review dates, the last
use a live run observed, and one status: active, expiring, expired, overdue, self-approved,
unused or unverified. Pure: built from the policy and, optionally, a results file.
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass
from datetime import date

from smbtests.checks.exception import EXPIRY_WARNING_DAYS
from smbtests.config import Policy
from smbtests.records import RunResults

COLUMNS = (
    "id",
    "path",
    "owner",
    "approver",
    "reason",
    "ticket",
    "created",
    "expires",
    "days_left",
    "last_reviewed",
    "next_review",
    "last_observed_use",
    "status",
)


@dataclass(frozen=True)
class RegisterRow:
    id: str
    path: str
    owner: str
    approver: str
    reason: str
    ticket: str
    created: str
    expires: str
    days_left: int
    last_reviewed: str
    next_review: str
    last_observed_use: str
    status: str


def _observed_use(exception_id: str, results: RunResults | None) -> tuple[str, str | None]:
    """('<when>: <what>', status override) from the run's exception check, if it ran."""
    if results is None:
        return "not observed (no results file given)", None
    record = results.checks.get(f"exception:{exception_id}")
    if record is None:
        return f"not checked in run {results.started}", None
    if record.observed == "unused":
        return f"{results.started}: path closed", "unused"
    if record.outcome == "error":
        return f"{results.started}: could not be verified", "unverified"
    if record.outcome == "passed":
        return f"{results.started}: path open (in use)", None
    return f"{results.started}: {record.observed}", None


def build_register(
    policy: Policy, today: date, results: RunResults | None = None
) -> list[RegisterRow]:
    rows = []
    for exc in sorted(policy.exceptions, key=lambda e: e.id):
        days_left = (exc.expires - today).days
        use, use_status = _observed_use(exc.id, results)
        problem = exc.governance_problem(today)
        if problem is not None:
            status = problem[0]
        elif use_status is not None:
            status = use_status
        elif days_left <= EXPIRY_WARNING_DAYS:
            status = "expiring"
        else:
            status = "active"
        rows.append(
            RegisterRow(
                id=exc.id,
                path=f"{exc.from_} -> {exc.to}:{exc.port}",
                owner=exc.owner,
                approver=exc.approver,
                reason=exc.reason,
                ticket=exc.ticket,
                created=exc.created.isoformat(),
                expires=exc.expires.isoformat(),
                days_left=days_left,
                last_reviewed=exc.last_reviewed.isoformat(),
                next_review=exc.review_due.isoformat(),
                last_observed_use=use,
                status=status,
            )
        )
    return rows


def render_csv(rows: list[RegisterRow]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(asdict(row))
    return out.getvalue()


def render_markdown(rows: list[RegisterRow]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + " --- |" * len(COLUMNS)]
    for row in rows:
        cells = [str(v).replace("|", "\\|") for v in asdict(row).values()]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def render_table(rows: list[RegisterRow]) -> str:
    shown = (
        "id",
        "path",
        "owner",
        "approver",
        "ticket",
        "expires",
        "days_left",
        "next_review",
        "status",
    )
    table = [shown] + [tuple(str(asdict(r)[c]) for c in shown) for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(shown))]
    text = [
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in table
    ]
    if not rows:
        text.append("(the policy declares no exceptions)")
    return "\n".join(text) + "\n"
