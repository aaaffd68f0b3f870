"""Exception expiry and review dates are UTC calendar dates, on every runner: a run in
Sydney and one in Los Angeles at the same instant judge an exception alike."""

from __future__ import annotations

from datetime import UTC, date, datetime


def utc_today() -> date:
    """Today's date in UTC, not the runner's local date."""
    return datetime.now(UTC).date()
