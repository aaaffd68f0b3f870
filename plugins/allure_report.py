"""Allure mapping: each judged check becomes labels, stable parameters, steps and attachments;
after the run, environment, executor and categories files are written once.

Like allure-python's own listener this only maps events to report objects. It is active only
when allure-pytest is installed and `--alluredir` is given; verdicts never depend on it.
Observed data goes into attachments, never into parameters, so history ids stay stable.
"""

from __future__ import annotations

import json
import platform
import socket
import uuid
from collections.abc import Generator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from allure_commons.model2 import Label, Link, Parameter, TestResult
from allure_commons.types import AttachmentType, LabelType, LinkType
from allure_commons.utils import host_tag, represent, thread_tag
from allure_pytest import utils as allure_utils  # by module: its `pytest_markers` is no hook

from smbtests import __version__
from smbtests.atomic import write_text_atomically
from smbtests.checks.base import STEP_TITLES, Check
from smbtests.checks.titles import check_title
from smbtests.checks.verdicts import Outcome, Verdict
from smbtests.records import as_plain, indented_json
from smbtests.reports.register import build_register, render_markdown

from . import allure_lean
from .allure_writer import Installed
from .interrupted import allure_not_run, completeness_key
from .items import judged_key
from .lean import lean_item_key
from .suite import LiveRun, check_of, live_run_key
from .terse import fail_run

JSON, TEXT = AttachmentType.JSON, AttachmentType.TEXT
# First match wins: governance failures, then other policy violations, then broken probes.
CATEGORIES = [
    {
        "name": "Exception governance",
        "matchedStatuses": ["failed"],
        "messageRegex": r".*EXC-\d{4}.*",
    },
    {"name": "Policy violation", "matchedStatuses": ["failed"]},
    {"name": "Probe error (not provable)", "matchedStatuses": ["broken"]},
]


def _alluredir(config: pytest.Config) -> Path | None:
    directory = getattr(config.option, "allure_report_dir", None)
    return Path(directory) if directory else None


class AllureMapper:
    def __init__(
        self, run: LiveRun, started: str, writer: Installed | None, reporter: Any, worker: bool
    ) -> None:
        self.run = run
        self.started = started
        self.writer = writer
        self.reporter = reporter  # allure-pytest's: it holds the running test's result
        self.worker = worker  # an xdist worker
        self.host, self.thread = host_tag(), thread_tag()  # the items run in this thread
        self._vantages: dict[str | None, tuple[str, str]] = {}

    @pytest.hookimpl
    def pytest_smbtests_judged(
        self,
        item: pytest.Item,
        check: Check,
        verdict: Verdict,
        change: str | None,
    ) -> None:
        # set on the running test's result directly: what allure.dynamic's calls set, without
        # a hook call and a lookup of the running test for each (a tenth of a large run)
        result = self.reporter.get_test(None)
        env = self.run.config.environment.name
        step = STEP_TITLES[check.step]
        tags = [f"env:{env}", *(f"ring:{ring}" for ring in check.rings)]
        if change is not None:
            tags.append(f"changed: {change.split(':')[0]}")
        if verdict.warning is not None:
            tags.append("needs attention")
        labels = [
            (LabelType.EPIC, step),
            # the Suites tab reads like the Behaviors tab, not like our module layout
            (LabelType.PARENT_SUITE, f"smbtests: {env}"),
            (LabelType.SUITE, step),
            (LabelType.SUB_SUITE, check.feature),
            (LabelType.FEATURE, check.feature),
            (LabelType.STORY, check.story),
            (LabelType.SEVERITY, check.severity),
            *((LabelType.TAG, tag) for tag in tags),
        ]
        result.labels.extend(Label(name=name, value=value) for name, value in labels)
        if check.exception_id is not None:
            ticket = next(
                e.ticket for e in self.run.config.policy.exceptions if e.id == check.exception_id
            )
            # an issue link: `--allure-link-pattern issue:https://tracker/{}` makes it clickable
            url = allure_utils.format_allure_link(item.config, ticket, LinkType.ISSUE)
            result.links.append(Link(LinkType.ISSUE, url, ticket))
        # stable parameters: the check's identity, never what was observed
        for name, value in (
            ("smb_check", check.id),
            ("probe", check.probe),
            ("host", check.host),
            ("port", check.target.port if check.target else None),
        ):
            if value is not None:
                result.parameters.append(Parameter(name=name, value=represent(value)))
        lean = item.stash.get(lean_item_key, False)
        if lean:
            allure_lean.setup_would(item, result)
            _describe(result, check, verdict, item.stash[judged_key].observed_at)
        if lean or verdict.outcome is Outcome.ERROR:
            # no call phase follows an error: keep the evidence with the setup that raised it
            self._evidence(check, verdict, item.stash[judged_key].evidence)
        if lean:
            allure_lean.teardown_would(item, result, self.host, self.thread)

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None, None, None]:
        """Title and description after allure-pytest's own setup wrapper (inside this one),
        which names the result after the test function; errored setups get them too."""
        try:
            return (yield)
        finally:
            judged = item.stash.get(judged_key, None)
            check = check_of(item)
            if judged is not None and check is not None:
                _describe(self.reporter.get_test(None), check, judged.verdict, judged.observed_at)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, None, None]:
        judged = item.stash.get(judged_key, None)
        check = check_of(item)
        if judged is not None and check is not None:
            self._evidence(check, judged.verdict, judged.evidence)
        return (yield)

    def _evidence(self, check: Check, verdict: Verdict, evidence: str) -> None:
        """Steps plan -> probe -> observe -> judge, each with what it saw attached."""
        if self.writer is None:
            return  # no file logger: nothing is written
        plan = {
            "id": check.id,
            "kind": check.kind,
            "seed step": STEP_TITLES[check.step],
            "rule": check.rule,
            "expect": None if check.expect is None else check.expect.value,
            "vantage": check.probe or "runner",
            "target": as_plain(check.target),
            "policy sha256": self.run.config.policy_sha256,
        }
        vantage_name, vantage = self._vantage(check.probe)
        judge: tuple[str | None, str] = (None, "")
        if check.exception_id is not None:
            rows = build_register(self.run.config.policy, self.run.options.as_of)
            judge = ("exceptions register", render_markdown(rows))
        self.writer.writer.steps(
            self.reporter.get_test(None),
            [
                (f"plan: {check.rule}", "policy rule", indented_json(plan, sort_keys=False), JSON),
                (f"probe: from {vantage_name}", "vantage", vantage, JSON),
                (f"observe: {verdict.observed}", "observation", evidence, JSON),
                (f"judge: {verdict.outcome.value}: {verdict.message}", *judge, TEXT),
            ],
        )

    def _vantage(self, name: str | None) -> tuple[str, str]:
        """The vantage's title and JSON, made once per probe (the same for all its checks)."""
        found = self._vantages.get(name)
        if found is None:
            probe = self.run.config.environment.probes.get(name or "")
            vantage = {
                "vantage": name or "runner (impacket)",
                "transport": probe.transport if probe else "local",
                "segment": probe.segment if probe else None,
                "source address": str(probe.own_address) if probe else None,
                "positive control": as_plain(probe.control) if probe else None,
            }
            found = (str(vantage["vantage"]), json.dumps(vantage, indent=2, default=str))
            self._vantages[name] = found
        return found

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_logfinish(self) -> Generator[None, None, None]:
        """An xdist worker's item is on disk before the next starts: the controller counts a
        check as reported once its report arrived, and a lost worker must not take it along.
        Outermost, so it flushes after allure-pytest's own wrapper has handed the result over
        (after its yield)."""
        try:
            return (yield)
        finally:
            if self.writer is not None and self.worker:
                self.writer.writer.flush()

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Once, in the controller, after every worker finished: files that describe the run.
        Written now, not at start, because --clean-alluredir runs in every worker."""
        if self.writer is not None:
            self.writer.writer.flush()  # every result on disk: deny records are added to them
            failed = self.writer.writer.error
            if failed is not None:
                fail_run(
                    session,
                    f"smbtests: Allure results could not all be written ({failed}): the report "
                    "is incomplete",
                )
        directory = _alluredir(session.config)
        if directory is None or hasattr(session.config, "workerinput"):
            return
        directory.mkdir(parents=True, exist_ok=True)
        config = self.run.config
        versions = {
            "smbtests": __version__,
            "python": platform.python_version(),
            "pytest": pytest.__version__,
        }
        try:
            import impacket.version

            versions["impacket"] = str(impacket.version.version)
        except ImportError:
            versions["impacket"] = "not installed"
        properties = {
            "environment": config.environment.name,
            "policy": config.policy_path.name,
            "policy.sha256": config.policy_sha256,
            "as.of": self.run.options.as_of.isoformat(),
            "runner": socket.gethostname(),
            "started.utc": self.started,
            **{f"version.{k}": v for k, v in versions.items()},
        }
        state = session.config.stash.get(completeness_key, None)
        if state is not None:
            properties |= allure_not_run(directory, state)
        write_text_atomically(
            directory / "environment.properties",
            "".join(f"{k} = {v}\n" for k, v in properties.items()),
        )
        write_text_atomically(directory / "categories.json", json.dumps(CATEGORIES, indent=2))
        writer = session.config.pluginmanager.get_plugin("smbtests-results")
        if writer is not None:
            _attach_deny_records(directory, writer.with_deny_records())
        write_text_atomically(
            directory / "executor.json",
            json.dumps(
                {
                    "name": "smbtests",
                    "type": "smbtests",
                    "buildName": f"{config.environment.name} {self.started}",
                },
                indent=2,
            ),
        )


def _describe(result: TestResult, check: Check, verdict: Verdict, observed_at: str) -> None:
    result.name = check_title(check)
    warning = f"\n\nWARNING: {verdict.warning}" if verdict.warning else ""
    result.description = (
        f"Policy: {check.rule} (check `{check.id}`).\n\nResult: {verdict.message}{warning}"
        f"\n\nObserved at {observed_at} (UTC)."
    )


def _attach_deny_records(directory: Path, records: dict[str, dict[str, Any]]) -> None:
    """Deny records are read after the last check ran, when each test's Allure result is
    already written: add them to those results as one more attachment."""
    deny = {key: r["deny_records"] for key, r in records.items() if "deny_records" in r}
    for path in sorted(directory.glob("*-result.json")) if deny else ():
        try:
            result = json.loads(path.read_text())
        except ValueError:
            continue  # cut short by a writer process that died: the run is red already
        params = {p.get("name"): str(p.get("value", "")).strip("'") for p in result["parameters"]}
        found = deny.get(params.get("smb_check", ""))
        if found is None:
            continue
        source = f"{uuid.uuid4()}-attachment.json"
        (directory / source).write_text(json.dumps(found, indent=2))
        attachment = {"name": f"deny records: {found['status']}", "source": source}
        result.setdefault("attachments", []).append(attachment | {"type": "application/json"})
        path.write_text(json.dumps(result))


def pytest_smbtests_output_paths(config: pytest.Config) -> list[Path]:
    directory = _alluredir(config)
    return [] if directory is None else [directory]


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    run = config.stash.get(live_run_key, None)
    if run is None or _alluredir(config) is None:
        return
    try:
        import allure  # noqa: F401 - only to learn whether allure-pytest is there
    except ImportError:
        return
    from . import allure_writer

    writer = allure_writer.install(config)
    if writer is not None:
        config.add_cleanup(writer.close)  # before allure-pytest's own (clean-ups run LIFO)
    listener = config.pluginmanager.get_plugin("allure_listener")
    if listener is None:
        return
    started = datetime.now(UTC).isoformat(timespec="seconds")
    worker = hasattr(config, "workerinput")
    mapper = AllureMapper(run, started, writer, listener.allure_logger, worker)
    config.pluginmanager.register(mapper, "smbtests-allure")
