"""Terse failures for the live suite: unless --tb says otherwise, one line per check that did
not pass instead of pytest's failure sections. The message says what was seen, the observation
is in the results file and Allure, and pytest's sections cost failures x reports at the end
(measured: most of a ten-thousand-check run's finish). Only the terminal is terse: reports keep
their tracebacks, so a bug's traceback still reaches JUnit and Allure. Hypothesis' plugin, there
with the project's test extras, would import hypothesis at the summary: it is left out of live
runs."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from .interrupted import check_id
from .suite import live_run_key, notices, terse_key


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    if config.stash.get(live_run_key, None) is None:
        return
    if config.option.tbstyle == "auto":
        config.stash[terse_key] = True
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None and not _asked_for_report_chars(config):
            # our lines name the check and its message; pytest's short summary would repeat them
            reporter.reportchars = reporter.reportchars.replace("f", "").replace("E", "")
    if config.pluginmanager.has_plugin("hypothesispytest"):
        config.pluginmanager.unregister(name="hypothesispytest")


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """-q hides pytest's header, and with it our notices (TLS unverified, -n not used)."""
    config = session.config
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None or config.get_verbosity() >= 0 or hasattr(config, "workerinput"):
        return
    for line in notices(config):
        reporter.write_line(line)


def _asked_for_report_chars(config: pytest.Config) -> bool:
    return any(a.startswith("-r") for a in config.invocation_params.args)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> Generator[None]:
    """Around pytest's own summary (it sits inside this wrapper): its failure sections skip
    themselves for tbstyle "no", for this summary only; our lines follow it."""
    if not config.stash.get(terse_key, False):
        return (yield)
    config.option.tbstyle = "no"
    try:
        result = yield
    finally:
        config.option.tbstyle = "auto"
    if config.get_verbosity() >= -1:
        _write_lines(terminalreporter)
    return result


def _write_lines(terminalreporter: Any) -> None:
    for outcome, word in (("failed", "FAILED"), ("error", "ERROR")):
        reports = [r for r in terminalreporter.stats.get(outcome, ()) if r.when != "collect"]
        if reports:
            terminalreporter.write_sep("=", f"smbtests: {len(reports)} {outcome}")
        for report in reports:
            name = check_id(report.nodeid) or report.nodeid
            message = str(report.longrepr).removeprefix("ERROR ")
            terminalreporter.write_line(f"{word} {name}: {message}")


def fail_run(session: pytest.Session, line: str) -> None:
    """A failure of the run itself (not of a check): one red line, and the exit status 1."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(line, red=True)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
