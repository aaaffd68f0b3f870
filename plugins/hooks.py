"""Hooks smbtests adds to pytest, for report writers and other plugins."""

from __future__ import annotations

from typing import Any


def pytest_smbtests_judged(
    item: Any, check: Any, verdict: Any, observation: Any, change: Any, run: Any
) -> None:
    """One item's check was judged (in its setup, before the outcome is raised)."""
