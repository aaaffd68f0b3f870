"""The machine-readable results file: one JSON document per live run, written by the process
that sees every report (the xdist controller, or the only process)."""

from __future__ import annotations

import platform
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from _pytest.junitxml import xml_key  # the LogXML instance; no public handle exists

from smbtests import __version__, denylog, records
from smbtests.atomic import unwritable
from smbtests.probes import denylogs
from smbtests.records import RunResults, record_from_dict
from smbtests.reports.coverage import Coverage, coverage

from .interrupted import completeness_key
from .suite import LiveRun, live_run_key


class ResultsWriter:
    """Collects each check's record from the reports and writes them at session end."""

    def __init__(self, run: LiveRun, path: Path) -> None:
        self.run = run
        self.path = path
        # where each local deny log ends before any probe runs: the run's records follow
        self.deny_log_sizes = denylogs.sizes(run.config.environment)
        self.records: dict[str, dict[str, Any]] = {}
        self.started = datetime.now(UTC).isoformat(timespec="seconds")
        self.finished: str | None = None
        self._coverage: Coverage | None = None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        record = getattr(report, "smb_record", None)
        if isinstance(record, dict):
            self.records[str(record["id"])] = record

    def with_deny_records(self) -> dict[str, dict[str, Any]]:
        """The records with each closed path's deny records (once: Allure asks for them too)."""
        if self.finished is None:
            self.finished = datetime.now(UTC).isoformat(timespec="seconds")
            env = self.run.config.environment
            if env.deny_logs:
                found, unreadable, read = denylogs.read_all(env, self.deny_log_sizes)
                window = denylog.Window.of_run(self.started, self.finished)
                addresses: dict[str, Mapping[int, str]] = {
                    name: {a.version: str(a) for a in reversed(p.all_sources)}
                    for name, p in env.probes.items()
                }
                self.records = denylog.attach(
                    self.records, addresses, found, unreadable, read, window
                )
        return self.records

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        state = session.config.stash.get(completeness_key, None)
        content = records.document(
            self.run.config,
            self.with_deny_records(),
            as_of=self.run.options.as_of.isoformat(),
            started=self.started,
            finished=str(self.finished),
            exit_status=int(exitstatus),
            versions={
                "smbtests": __version__,
                "python": platform.python_version(),
                "pytest": pytest.__version__,
            },
            not_run=[] if state is None else state.not_run(),
            interrupted=None if state is None else state.interrupted_by(),
            coverage=self.coverage().as_plain(),
        )
        records.write(self.path, content)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        counts: dict[str, int] = {}
        for record in self.records.values():
            counts[record["outcome"]] = counts.get(record["outcome"], 0) + 1
        summary = ", ".join(f"{n} {o}" for o, n in sorted(counts.items())) or "no checks ran"
        terminalreporter.write_sep("-", "smbtests")
        terminalreporter.write_line(f"checks: {summary}")
        if self.run.baseline is not None:
            changed = [r for r in self.records.values() if r.get("change_since_baseline")]
            terminalreporter.write_line(
                f"changed since baseline {self.run.baseline.path}: {len(changed)}"
            )
            for record in sorted(changed, key=lambda r: str(r["id"])):
                terminalreporter.write_line(f"  {record['id']}: {record['change_since_baseline']}")
        if self.run.config.environment.deny_logs:
            counts = denylog.status_counts(self.with_deny_records().values())
            terminalreporter.write_line(denylog.summary_line(counts))
        cover = self.coverage()
        terminalreporter.write_line(
            f"coverage: {len(cover.cells)} of {len(cover.cells) + len(cover.uncovered)} "
            f"segment x SMB-host x port cells proved ({cover.share:.0%}); not covered: "
            f"{not_covered(cover.uncovered)}"
        )
        if terminalreporter.verbosity >= 0:
            for cell in cover.cells:
                terminalreporter.write_line(
                    f"  {cell.segment:>10} -> {cell.host}:{cell.port:<4} expected "
                    f"{cell.expected:<6} observed {cell.observed:<8} {cell.outcome:<6} by "
                    f"{', '.join(cell.by)}"
                )
        terminalreporter.write_line(f"results: {self.path}")

    def coverage(self) -> Coverage:
        """Of the finished run (once: the file and the terminal summary both show it)."""
        if self._coverage is None:
            self._coverage = coverage(self.run.config, self._as_results())
        return self._coverage

    def _as_results(self) -> RunResults:
        config = self.run.config
        checks = {key: record_from_dict(record) for key, record in self.records.items()}
        return RunResults(
            self.path, config.environment.name, config.policy_sha256, self.started, checks, {}
        )


SHOWN_UNCOVERED = 12  # a matrix of 50 segments x 200 hosts has thousands: the file has them all


def not_covered(cells: Sequence[tuple[str, str, int]]) -> str:
    """The cells no check proved, as the terminal shows them: the first few, then how many
    more the results file lists (coverage.uncovered)."""
    shown = ", ".join(f"{s}->{h}:{p}" for s, h, p in cells[:SHOWN_UNCOVERED]) or "none"
    more = len(cells) - SHOWN_UNCOVERED
    return f"{shown} and {more} more (the results file's coverage.uncovered)" if more > 0 else shown


def pytest_smbtests_output_paths(config: pytest.Config) -> list[Path]:
    """The results file, and pytest's own JUnit XML when asked for."""
    run = config.stash.get(live_run_key, None)
    paths = [] if run is None else [run.results_path]
    xml = getattr(config.option, "xmlpath", None)
    return paths + ([Path(xml)] if xml else [])


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    config = session.config
    if config.stash.get(live_run_key, None) is None or hasattr(config, "workerinput"):
        return
    for path in config.hook.pytest_smbtests_output_paths(config=config):
        for output in path:
            problem = unwritable(Path(output))
            if problem is not None:
                raise pytest.UsageError(f"smbtests: cannot write output {output}: {problem}")


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    run = config.stash.get(live_run_key, None)
    if run is None or hasattr(config, "workerinput") or config.option.collectonly:
        return  # workers' records travel to the controller inside their reports
    config.pluginmanager.register(ResultsWriter(run, run.results_path), "smbtests-results")
    # JUnit consumers (CI gates) see which environment and policy a result belongs to
    junit = config.stash.get(xml_key, None)
    if junit is not None:
        junit.add_global_property("smbtests_environment", run.config.environment.name)
        junit.add_global_property("smbtests_policy_sha256", run.config.policy_sha256)
        junit.add_global_property("smbtests_as_of", run.options.as_of.isoformat())
