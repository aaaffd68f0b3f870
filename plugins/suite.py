"""The live policy suite: `pytest --env NAME` turns the plan into real, parametrized items.

Loading and planning happen once in pytest_configure (a bad file stops the run before anything
touches the network); pytest_generate_tests parametrizes plugins/live.py::test_policy with the
sorted checks; a session fixture runs the batches; a per-item fixture judges its own check.
Probe and setup problems surface in the setup phase, so pytest reports them as errors.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import threading
from collections.abc import Generator, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from smbtests.checks.base import Check
from smbtests.checks.registry import build_plan, judge, uses_account
from smbtests.checks.verdicts import Outcome, Verdict, error_verdict
from smbtests.config import LoadedConfig, load, resolve_environment_path, with_timing
from smbtests.config.source import suggest
from smbtests.dates import utc_now
from smbtests.errors import InternalError, ProbeError, SmbtestsError
from smbtests.execute import Executor
from smbtests.observations import Observation
from smbtests.probes.base import HostReader, Probe
from smbtests.probes.registry import open_probe, open_reader
from smbtests.progress import OnProgress, ScanProgress
from smbtests.records import (
    RunResults,
    evidence_json,
    load_results,
    record,
    require_complete,
)
from smbtests.reports.diff import change_since
from smbtests.secrets import Credentials, SecretRegistry, all_secrets, smb_account

from . import options
from .order import Order, batch_group, run_order
from .workers import serial_key, serial_unless_xdist_pays

LIVE_MODULE = Path(__file__).with_name("live.py")
MARKERS = {
    "smb_inventory": "seed step 1: inventory, discovery, declared shares work",
    "smb_perimeter": "seed step 2: 445 closed at the perimeter and from untrusted zones",
    "smb_segmentation": "seed step 3: 445 only on approved paths",
    "smb_hardening": "seed step 4: SMB1, signing, dialect, encryption, anonymous/guest",
    "smb_deployment": "seed step 5: Windows firewall profiles, logging and 445 rules",
    "smb_verification": "seed step 6: probes prove they can connect (positive controls)",
    "smb_exceptions": "seed step 7: exceptions owned, approved, reviewed, unexpired, used",
}


@dataclasses.dataclass(frozen=True)
class LiveRun:
    """Everything the live suite needs, built once per process in pytest_configure."""

    options: options.RunOptions
    config: LoadedConfig
    checks: tuple[Check, ...]
    account: Credentials | None
    # (secret, username) of every credential this run read; the redactor masks all their forms
    secrets: tuple[tuple[str, str], ...] = dataclasses.field(repr=False)
    results_path: Path
    baseline: RunResults | None
    registry: SecretRegistry = dataclasses.field(repr=False)


live_run_key = pytest.StashKey[LiveRun]()
terse_key = pytest.StashKey[bool]()  # plugins/terse.py: one line per check that did not pass


@dataclasses.dataclass(frozen=True)
class Judged:
    verdict: Verdict
    observation: Observation | None
    change: str | None  # since --baseline, when one was given
    observed_at: str  # UTC instant the observation was made (or its failure known)
    evidence: str  # the observation as JSON, made once for every report that shows it


judged_key = pytest.StashKey[Judged]()
keywords_key = pytest.StashKey[Mapping[str, Any]]()


class CheckError(Exception):
    """A check could not be judged (probe failed, control unreachable): pytest error."""


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from . import hooks

    pluginmanager.add_hookspecs(hooks)


def pytest_configure(config: pytest.Config) -> None:
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    run_options = options.resolve(config)
    if run_options.env is None:
        return
    try:
        path = resolve_environment_path(run_options.env, run_options.environments_dir)
        loaded = with_timing(
            load(path),
            connect_timeout=run_options.connect_timeout,
            concurrency=run_options.concurrency,
        )
        checks = tuple(build_plan(loaded, run_options.as_of))
        account = smb_account(loaded, needed=uses_account(checks, loaded))
        secrets = all_secrets(loaded, account)
        baseline = load_results(run_options.baseline) if run_options.baseline else None
        if baseline is not None:
            require_complete(baseline, "a baseline")
    except SmbtestsError as exc:
        raise pytest.UsageError(f"smbtests: {exc}") from None
    _known_ring(run_options.ring, loaded)
    serial_unless_xdist_pays(config, checks, run_options.ring)
    results_path = (
        run_options.results or Path("reports") / f"{loaded.environment.name}-results.json"
    )
    registry = SecretRegistry()
    for secret, username in secrets:
        registry.add(secret, username)
    config.stash[live_run_key] = LiveRun(
        run_options, loaded, checks, account, secrets, results_path, baseline, registry
    )
    # The suite's items come from the policy, not from testpaths (tests/ are the project's own).
    if config.args_source is not pytest.Config.ArgsSource.ARGS:
        config.args = [str(LIVE_MODULE)]


def _known_ring(ring: str | None, loaded: LoadedConfig) -> None:
    """An unknown --ring would deselect every item and exit 5 without a word."""
    env = loaded.environment
    rings = {r for p in env.probes.values() for r in p.rings}
    rings |= {r for tags in env.host_rings.values() for r in tags}
    if ring is None or ring in rings:
        return
    known = ", ".join(sorted(rings)) or "none (tag probes or hosts with `rings:`)"
    raise pytest.UsageError(
        f"smbtests: --ring `{ring}`: no probe or host of {env.name} has this ring; "
        f"known rings: {known}{suggest(ring, rings)}"
    )


def pytest_sessionstart(session: pytest.Session) -> None:
    """An unknown marker in -m would select nothing and exit 5 without a word. Checked once
    every plugin registered its markers."""
    config = session.config
    if _run(config) is None or not config.option.markexpr:
        return
    known = {line.split(":")[0].split("(")[0].strip() for line in config.getini("markers")}
    expression = re.sub(r"\([^)]*\)", "", config.option.markexpr)  # marker(arg=...) -> marker
    for name in re.findall(r"[A-Za-z_]\w*", expression):
        if name not in known and name not in ("and", "or", "not"):
            raise pytest.UsageError(
                f"smbtests: -m `{config.option.markexpr}`: unknown marker `{name}`"
                f"{suggest(name, known)} (smbtests markers: {', '.join(MARKERS)})"
            )


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Under `-n` (xdist's default `--dist load`): our batch scheduler, which keeps node ids
    as they are; an explicit other --dist mode is the user's choice."""
    run = _run(config)
    if run is None or config.getvalue("dist") != "load":
        return None
    from .schedule import BatchScheduling

    return BatchScheduling(config, {c.id: batch_group(c) for c in run.checks}, log)


def _run(config: pytest.Config) -> LiveRun | None:
    return config.stash.get(live_run_key, None)


def notices(config: pytest.Config) -> list[str]:
    """What the user must see before the results (TLS unverified, the configuration's
    warnings, -n not used): in the header, and under -q, which hides it, on their own."""
    run = _run(config)
    if run is None:
        return []
    env = run.config.environment
    unverified = sorted(
        [name for name, p in env.probes.items() if p.transport == "winrm" and not p.verify_tls]
        + [name for name, h in env.windows_hosts.items() if h.winrm and not h.winrm.verify_tls]
    )
    warnings = (
        [
            f"smbtests: WARNING: TLS certificate verification is OFF for {', '.join(unverified)} "
            "(verify_tls: false): anyone on the path can impersonate these hosts"
        ]
        if unverified
        else []
    )
    warnings += [f"smbtests: WARNING: {warning}" for warning in run.config.warnings]
    return warnings + [f"smbtests: {note}" for note in [config.stash.get(serial_key, "")] if note]


def pytest_report_header(config: pytest.Config) -> list[str]:
    run = _run(config)
    if run is None:
        return []
    env = run.config.environment
    overlay = " + overlay" if run.config.overlay_applied else ""
    return [
        *notices(config),
        f"smbtests: environment {env.name} ({run.config.environment_path}), "
        f"policy {run.config.policy_path.name}{overlay} sha256 {run.config.policy_sha256[:16]}",
        f"smbtests: {len(env.probes)} probes, {len(run.checks)} planned checks, "
        f"connect timeout {env.timing.connect_timeout:g} s, as of {run.options.as_of}",
    ]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "smb_check" not in metafunc.fixturenames:
        return
    run = _run(metafunc.config)
    if run is None:
        raise pytest.UsageError("the live suite needs --env NAME (see pytest --help, smbtests)")
    # marks go on the parameters so -m (applied before our own modifyitems) sees them
    metafunc.parametrize(
        "smb_check",
        [
            pytest.param(
                check,
                id=check.id,
                marks=getattr(pytest.mark, check.marker),
            )
            for check in run.checks
        ],
    )


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    run = _run(config)
    if run is None:
        return
    ring = run.options.ring
    kept: list[pytest.Item] = []
    deselected: list[pytest.Item] = []
    for item in items:
        check = check_of(item)
        if check is None:
            kept.append(item)
            continue
        if ring is not None and ring not in check.rings:
            deselected.append(item)
            continue
        kept.append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
    order = run_order([c for i in kept if (c := check_of(i)) is not None])
    kept.sort(key=lambda i: _sort_key(i, order))
    items[:] = kept


def _sort_key(item: pytest.Item, order: Order) -> tuple[int, int, str, int, str]:
    check = check_of(item)
    return (2, 0, "", 0, item.nodeid) if check is None else order(check)


def check_of(item: pytest.Item) -> Check | None:
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return None
    check = callspec.params.get("smb_check")
    return check if isinstance(check, Check) else None


@pytest.fixture(scope="session")
def smb_executor(request: pytest.FixtureRequest) -> Iterator[Executor]:
    """Runs the batches for the checks this process will run; all start together."""
    run = _run(request.config)
    assert run is not None
    selected = [c for item in request.session.items if (c := check_of(item)) is not None]
    environment = run.config.environment

    def opener(name: str) -> Probe:
        return open_probe(name, environment.probes[name], environment.timing)

    def reader(name: str) -> HostReader:
        return open_reader(name, environment.windows_hosts[name], environment)

    executor = Executor(
        run.config, selected, opener, run.account, reader, on_progress=_progress(request.config)
    )
    if not hasattr(request.config, "workerinput"):
        executor.start()  # one process runs everything: let every timeout overlap
    yield executor
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
        # the item waiting on the scan is in its setup, under capture: step around it
        with lock, capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
            reporter.write_line(progress.line())

    return show


@pytest.fixture
def smb_verdict(
    smb_check: Check, smb_executor: Executor, request: pytest.FixtureRequest
) -> Verdict:
    """The judged verdict of this item's check; errors are raised here (setup phase)."""
    run = _run(request.config)
    assert run is not None
    observation: Observation | None = None
    try:
        observation = smb_executor.observe(smb_check)
        verdict = judge(smb_check, observation, run.config.policy, run.options.as_of)
    except ProbeError as exc:
        verdict = error_verdict(exc)
    except Exception as exc:  # a judging bug must surface as this item's error, with a record
        verdict = error_verdict(InternalError(f"{type(exc).__name__}: {exc}", smb_check.id))
    # scrubbed where it is made: everything downstream (longrepr, Allure, results) copies it
    verdict = dataclasses.replace(
        verdict,
        message=run.registry.scrub(verdict.message),
        warning=None if verdict.warning is None else run.registry.scrub(verdict.warning),
    )
    node = request.node
    observed_at = smb_executor.observed_at(smb_check) or utc_now()
    change = _change_since_baseline(smb_check, verdict, observation, run)
    evidence = evidence_json(observation)
    node.stash[judged_key] = Judged(verdict, observation, change, observed_at, evidence)
    # JUnit consumers see when each verdict's observation was made
    node.user_properties.append(("smbtests_observed_at", observed_at))
    request.config.hook.pytest_smbtests_judged(
        item=node,
        check=smb_check,
        verdict=verdict,
        observation=observation,
        change=change,
        run=run,
        observed_at=observed_at,
    )
    config = request.config  # the sections are shown only with pytest's failure sections
    if config.option.tbstyle != "no" and not config.stash.get(terse_key, False):
        node.add_report_section("setup", "smb observation", evidence)
    if change is not None:
        node.add_report_section("setup", "smb change since baseline", change)
    if verdict.outcome is Outcome.ERROR:
        raise CheckError(verdict.message)
    return verdict


def _change_since_baseline(
    check: Check, verdict: Verdict, observation: Observation | None, run: LiveRun
) -> str | None:
    if run.baseline is None:
        return None
    return change_since(
        run.baseline.checks.get(check.id), record(check, verdict, observation, None)
    )


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
            check, judged.verdict, judged.observation, judged.change, judged.observed_at
        )
    return report
