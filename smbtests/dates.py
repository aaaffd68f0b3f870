"""Times are UTC on every runner. Exception expiry and review dates are UTC calendar dates: a run
in Sydney and one in Los Angeles at the same instant judge an exception alike; observation times
are UTC instants, to the millisecond."""

from __future__ import annotations

from datetime import UTC, date, datetime


def utc_today() -> date:
    """Today's date in UTC, not the runner's local date."""
    return datetime.now(UTC).date()


def utc_now() -> str:
    """This instant in UTC, ISO 8601 with milliseconds: when an observation was made."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")
