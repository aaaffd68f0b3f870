"""Interrupted runs say so: SIGINT, SIGTERM or a lost xdist worker marks the run as cut short
in the results file (`interrupted`, `not_run`), JUnit (a property and one error testcase),
Allure (environment properties, an `unknown` result per unrun check) and the terminal's last
line ("N not run"). Unrun checks are never counted as passed."""

from __future__ import annotations

import json
import signal
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from _pytest.junitxml import xml_key

from .suite import live_run_key

NOT_RUN = "not run"


@dataclass
class Completeness:
    """Which selected checks got a verdict, and why the run stopped early (if it did)."""

    selected: set[str] = field(default_factory=set)
    reported: set[str] = field(default_factory=set)
    reason: str | None = None

    def not_run(self) -> list[str]:
        return sorted(self.selected - self.reported)

    def interrupted_by(self) -> str | None:
        if self.reason is None and self.not_run():
            return "checks missing from the run"
        return self.reason


completeness_key = pytest.StashKey[Completeness]()


def check_id(nodeid: str) -> str | None:
    """`.../live.py::test_policy[reach:guest1/fs1:445]` -> the check id (ids may hold `[]`)."""
    if "::test_policy[" not in nodeid or "]" not in nodeid:
        return None
    rest = nodeid.split("::test_policy[", 1)[1]
    return rest[: rest.rindex("]")]


class Tracker:
    def __init__(self, state: Completeness) -> None:
        self.state = state

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self._select(item.nodeid for item in session.items)

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        self._select(ids)

    def _select(self, nodeids: Any) -> None:
        self.state.selected |= {i for i in map(check_id, nodeids) if i is not None}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if getattr(report, "smb_record", None) is not None:
            check = check_id(report.nodeid)
            if check is not None:
                self.state.reported.add(check)

    def pytest_keyboard_interrupt(self) -> None:
        self.state.reason = self.state.reason or "interrupted (SIGINT/SIGTERM)"

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: object | None) -> None:
        if error is not None:
            self.state.reason = f"a test worker was lost ({str(error)[:80]})"

    @pytest.hookimpl(optionalhook=True)
    def pytest_handlecrashitem(self, crashitem: str, report: Any, sched: Any) -> None:
        self.state.reason = "a test worker crashed"

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Before JUnit is written: the run's property and one error case naming the gap."""
        why, missing = self.state.interrupted_by(), self.state.not_run()
        junit = session.config.stash.get(xml_key, None)
        if why is None or junit is None:
            return
        junit.add_global_property("smbtests_interrupted", why)
        junit.add_global_property("smbtests_not_run", str(len(missing)))
        report = pytest.TestReport(
            nodeid="smbtests::run-interrupted",
            location=("smbtests", None, "run-interrupted"),
            keywords={},
            outcome="failed",
            longrepr=f"run cut short ({why}); {len(missing)} checks not run: "
            + ", ".join(missing[:50]),
            when="setup",
        )
        junit.pytest_runtest_logreport(report)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        why, missing = self.state.interrupted_by(), self.state.not_run()
        if why is None:
            return
        terminalreporter.write_sep("!", f"smbtests: RUN CUT SHORT ({why})", red=True)
        terminalreporter.write_line(f"{len(missing)} selected checks not run; not passed")
        # the last line counts them too: "30 passed, 12 not run"
        terminalreporter.stats.setdefault(NOT_RUN, []).extend(
            pytest.TestReport(check, ("smbtests", None, check), {}, "skipped", None, "call")
            for check in missing
        )


def allure_not_run(directory: Path, state: Completeness) -> dict[str, str]:
    """An `unknown` Allure result per unrun check, and the run's properties."""
    why = state.interrupted_by()
    if why is None:
        return {}
    for check in state.not_run():
        result = {
            "uuid": str(uuid.uuid4()),
            "historyId": check,
            "name": check,
            "fullName": f"smbtests.{check}",
            "status": "unknown",
            "statusDetails": {"message": f"not run: the run was cut short ({why})"},
            "labels": [{"name": "tag", "value": NOT_RUN}],
        }
        (directory / f"{result['uuid']}-result.json").write_text(json.dumps(result))
    return {"run.interrupted": why, "run.checks.not.run": str(len(state.not_run()))}


def _terminate_as_interrupt(signum: int, frame: FrameType | None) -> None:
    # pytest handles KeyboardInterrupt (session finish, JUnit, results); a bare SIGTERM
    # would kill the process with no output at all
    raise KeyboardInterrupt(f"signal {signum}")


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    if config.stash.get(live_run_key, None) is None:
        return
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate_as_interrupt)
    if hasattr(config, "workerinput") or config.option.collectonly:
        return
    state = Completeness()
    config.stash[completeness_key] = state
    config.pluginmanager.register(Tracker(state), "smbtests-interrupted")
