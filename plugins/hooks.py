"""Hooks smbtests adds to pytest, for report writers and other plugins (one line each, as
pytest-xdist's newhooks.py does). Every hook is prefixed `pytest_smbtests_`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from smbtests.checks.base import Check
    from smbtests.checks.verdicts import Verdict
    from smbtests.observations import Observation

    from .suite import LiveRun


def pytest_smbtests_judged(
    item: pytest.Item,
    check: Check,
    verdict: Verdict,
    observation: Observation | None,
    change: str | None,
    run: LiveRun,
    observed_at: str,
) -> None:
    """One item's check was judged (in its setup, before the outcome is raised); its
    observation was made at `observed_at` (UTC, ISO 8601)."""


def pytest_smbtests_output_paths(config: pytest.Config) -> list[Path]:
    """Files or folders this plugin writes during the run: the redactor scans each of them."""
    return []
