"""A live item's verdict: the run's executor, judging one check, and what its reports carry.

Both ways a live item runs share this: pytest's own protocol, through the fixture
`smb_verdict`, and the lean protocol of plugins/lean.py, which calls `judge_item` itself.
Probe and setup problems surface in the setup phase, so pytest reports them as errors.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Generator, Mapping
from typing import Any

import pytest

from smbtests.checks.base import Check
from smbtests.checks.registry import judge
from smbtests.checks.verdicts import Outcome, Verdict, error_verdict
from smbtests.dates import utc_now
from smbtests.errors import InternalError, ProbeError
from smbtests.execute import Executor
from smbtests.observations import Observation
from smbtests.probes.base import HostReader, Probe
from smbtests.probes.registry import open_probe, open_reader
from smbtests.progress import OnProgress, ScanProgress
from smbtests.records import as_plain, indented_json, record
from smbtests.reports.diff import change_since

from .early import take
from .suite import LiveRun, check_of, live_run_key, terse_key


@dataclasses.dataclass(frozen=True)
class Judged:
    verdict: Verdict
    change: str | None  # since --baseline, when one was given
    observed_at: str  # UTC instant the observation was made (or its failure known)
    plain: Any  # the observation as plain JSON values, made once: the record carries it
    evidence: str  # ... and as indented JSON, for every report that shows it


judged_key = pytest.StashKey[Judged]()
keywords_key = pytest.StashKey[Mapping[str, Any]]()
executor_key = pytest.StashKey[Executor]()


class CheckError(Exception):
    """A check could not be judged (probe failed, control unreachable): pytest error."""


def executor_of(session: pytest.Session) -> Executor:
    """The executor of the checks this process runs, made on first use; in a process that
    runs everything, every batch starts at once so their timeouts overlap."""
    found = session.stash.get(executor_key, None)
    if found is not None:
        return found
    run = session.config.stash[live_run_key]
    selected = [c for item in session.items if (c := check_of(item)) is not None]
    environment = run.config.environment

    def opener(name: str) -> Probe:
        started = take(session.config, name)
        return open_probe(name, environment.probes[name], environment.timing, started)

    def reader(name: str) -> HostReader:
        return open_reader(name, environment.windows_hosts[name], environment)

    executor = Executor(
        run.config, selected, opener, run.account, reader, on_progress=_progress(session.config)
    )
    session.stash[executor_key] = executor
    if not hasattr(session.config, "workerinput"):
        executor.start()
    return executor


@pytest.hookimpl(tryfirst=True)  # before the writers: every batch has ended when they write
def pytest_sessionfinish(session: pytest.Session) -> None:
    executor = session.stash.get(executor_key, None)
    if executor is not None:
        executor.close()


def _progress(config: pytest.Config) -> OnProgress | None:
    """Scan progress lines on the terminal, from the batch threads; none under -q and none in
    xdist workers (their output does not reach the terminal)."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or config.get_verbosity() < 0 or hasattr(config, "workerinput"):
        return None
    lock = threading.Lock()

    def show(progress: ScanProgress) -> None:
        # an item waiting on the scan may be in its setup, under capture: step around it
        with lock, capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
            reporter.write_line(progress.line())

    return show


def judge_item(item: pytest.Item, check: Check) -> Judged:
    """Observe and judge the item's check; keep the result in its stash for its reports."""
    config = item.config
    run = config.stash[live_run_key]
    executor = executor_of(item.session)
    observation: Observation | None = None
    try:
        observation = executor.observe(check)
        verdict = judge(check, observation, run.config.policy, run.options.as_of)
    except ProbeError as exc:
        verdict = error_verdict(exc)
    except Exception as exc:  # a judging bug must surface as this item's error, with a record
        verdict = error_verdict(InternalError(f"{type(exc).__name__}: {exc}", check.id))
    # scrubbed where it is made: everything downstream (longrepr, Allure, results) copies it
    verdict = dataclasses.replace(
        verdict,
        message=run.registry.scrub(verdict.message),
        warning=None if verdict.warning is None else run.registry.scrub(verdict.warning),
    )
    observed_at = executor.observed_at(check) or utc_now()
    plain = as_plain(observation)
    change = _change_since_baseline(check, verdict, plain, run)
    evidence = indented_json(plain)
    judged = Judged(verdict, change, observed_at, plain, evidence)
    item.stash[judged_key] = judged
    # JUnit consumers see when each verdict's observation was made
    item.user_properties.append(("smbtests_observed_at", observed_at))
    config.hook.pytest_smbtests_judged(
        item=item,
        check=check,
        verdict=verdict,
        observation=observation,
        change=change,
        run=run,
        observed_at=observed_at,
    )
    # the sections are shown only with pytest's failure sections
    if config.option.tbstyle != "no" and not config.stash.get(terse_key, False):
        item.add_report_section("setup", "smb observation", evidence)
    if change is not None:
        item.add_report_section("setup", "smb change since baseline", change)
    return judged


def raise_error(judged: Judged) -> Verdict:
    """The verdict of a check that could be judged; an error is raised (a pytest error)."""
    if judged.verdict.outcome is Outcome.ERROR:
        raise CheckError(judged.verdict.message)
    return judged.verdict


@pytest.fixture
def smb_verdict(smb_check: Check, request: pytest.FixtureRequest) -> Verdict:
    """The judged verdict of this item's check; errors are raised here (setup phase)."""
    return raise_error(judge_item(request.node, smb_check))


def _change_since_baseline(check: Check, verdict: Verdict, plain: Any, run: LiveRun) -> str | None:
    if run.baseline is None:
        return None
    return change_since(run.baseline.checks.get(check.id), record(check, verdict, plain, None))


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report: pytest.TestReport = yield
    judged = item.stash.get(judged_key, None)
    if judged is None:
        return report
    # the item's three reports carry equal keywords: one dict, not three, for 10,000 items
    first = item.stash.setdefault(keywords_key, report.keywords)
    if first is not report.keywords and first == report.keywords:
        report.keywords = first
    if report.when == "teardown":  # nothing reads the judged check after its last report
        del item.stash[judged_key]
        return report
    if call.excinfo is not None and call.excinfo.errisinstance(CheckError):
        report.longrepr = f"ERROR {judged.verdict.message}"
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        check = check_of(item)
        assert check is not None
        report.smb_record = record(  # type: ignore[attr-defined]
            check, judged.verdict, judged.plain, judged.change, judged.observed_at
        )
    return report
