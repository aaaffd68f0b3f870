"""Terse failures for the live suite: unless --tb says otherwise, one line per check that did
not pass instead of pytest's failure sections. The message says what was seen, the observation
is in the results file and Allure, and pytest's sections cost failures x reports at the end
(measured: most of a ten-thousand-check run's finish). Hypothesis' plugin, there with the
project's test extras, would import hypothesis at the summary: it is left out of live runs."""

from __future__ import annotations

from typing import Any

import pytest

from .suite import live_run_key


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    if config.stash.get(live_run_key, None) is None:
        return
    if config.option.tbstyle == "auto":
        config.option.tbstyle = "no"
    if config.pluginmanager.has_plugin("hypothesispytest"):
        config.pluginmanager.unregister(name="hypothesispytest")


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    live = config.stash.get(live_run_key, None) is not None
    if not live or config.option.tbstyle != "no" or config.get_verbosity() < -1:
        return
    for outcome, word in (("failed", "FAILED"), ("error", "ERROR")):
        reports = [r for r in terminalreporter.stats.get(outcome, ()) if r.when != "collect"]
        if reports:
            terminalreporter.write_sep("=", f"smbtests: {len(reports)} {outcome}")
        for report in reports:
            check_id = report.nodeid.rsplit("[", 1)[-1].removesuffix("]")
            message = str(report.longrepr).removeprefix("ERROR ")
            terminalreporter.write_line(f"{word} {check_id}: {message}")
