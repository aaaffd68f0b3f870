"""The live policy suite: `pytest --env NAME` turns the plan into real, parametrized items.

Loading and planning happen once in pytest_configure (a bad file stops the run before anything
touches the network); pytest_generate_tests parametrizes plugins/live.py::test_policy with the
sorted checks; a session fixture runs the batches; a per-item fixture judges its own check.
Probe and setup problems surface in the setup phase, so pytest reports them as errors.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from plugins import options
from smbtests import smb
from smbtests.diff import classify
from smbtests.errors import PolicyError, ProbeError, SmbtestsError
from smbtests.execute import Executor, Observation
from smbtests.model import LoadedConfig, Timing, load, read_secret, resolve_environment_path
from smbtests.plan import SCAN_KINDS, Check, Expect, Kind, build_plan
from smbtests.probes.base import HostReader, Probe
from smbtests.probes.registry import open_probe, open_reader
from smbtests.redact import MIN_SECRET_LENGTH, SecretRegistry
from smbtests.results import RunResults, load_results, record_from_dict
from smbtests.verdict import Outcome, Verdict, error_verdict, evidence_json, judge

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
    credentials: smb.Credentials | None
    # (secret, username) of every credential this run read; the redactor masks all their forms
    secrets: tuple[tuple[str, str], ...] = dataclasses.field(repr=False)
    results_path: Path
    baseline: RunResults | None
    registry: SecretRegistry = dataclasses.field(repr=False)


live_run_key = pytest.StashKey[LiveRun]()


@dataclasses.dataclass(frozen=True)
class Judged:
    verdict: Verdict
    observation: Observation | None
    change: str | None  # since --baseline, when one was given


judged_key = pytest.StashKey[Judged]()


class CheckError(Exception):
    """A check could not be judged (probe failed, control unreachable): pytest error."""


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from plugins import hooks

    pluginmanager.add_hookspecs(hooks)


def pytest_configure(config: pytest.Config) -> None:
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    run_options = options.resolve(config)
    if run_options.env is None:
        return
    try:
        path = resolve_environment_path(run_options.env, run_options.environments_dir)
        loaded = load(path)
        loaded = _apply_overrides(loaded, run_options)
        checks = tuple(build_plan(loaded, run_options.as_of))
        credentials = _credentials(loaded, checks)
        secrets = _all_secrets(loaded, credentials)
        baseline = load_results(run_options.baseline) if run_options.baseline else None
    except SmbtestsError as exc:
        raise pytest.UsageError(f"smbtests: {exc}") from None
    results_path = (
        run_options.results or Path("reports") / f"{loaded.environment.name}-results.json"
    )
    registry = SecretRegistry()
    for secret, username in secrets:
        registry.add(secret, username)
    config.stash[live_run_key] = LiveRun(
        run_options, loaded, checks, credentials, secrets, results_path, baseline, registry
    )
    # The suite's items come from the policy, not from testpaths (tests/ are the project's own).
    if config.args_source is not pytest.Config.ArgsSource.ARGS:
        config.args = [str(LIVE_MODULE)]
    _keep_batches_on_one_worker(config)


def _keep_batches_on_one_worker(config: pytest.Config) -> None:
    """Under `-n`, group items by their xdist_group mark (loadgroup) unless the user chose a
    --dist mode: the controller schedules by group, workers label items with their group."""
    if getattr(config.option, "dist", "no") == "load":
        config.option.dist = "loadgroup"
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None and workerinput.get("smbtests_loadgroup"):
        config.option.loadgroup = True


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist: tell each worker that the controller schedules by group."""
    node.workerinput["smbtests_loadgroup"] = node.config.getvalue("dist") == "loadgroup"


def _apply_overrides(loaded: LoadedConfig, run_options: options.RunOptions) -> LoadedConfig:
    """Command-line timing overrides, validated against the same bounds as the file."""
    update: dict[str, float | int] = {}
    if run_options.connect_timeout is not None:
        update["connect_timeout"] = run_options.connect_timeout
    if run_options.concurrency is not None:
        update["concurrency"] = run_options.concurrency
    if not update:
        return loaded
    try:
        timing = Timing.model_validate(loaded.environment.timing.model_dump() | update)
    except ValidationError as exc:
        problems = "; ".join(f"{e['loc'][-1]}: {e['msg']}" for e in exc.errors())
        raise PolicyError(f"command-line override out of range ({problems})") from None
    environment = loaded.environment.model_copy(update={"timing": timing})
    return dataclasses.replace(loaded, environment=environment)


def _credentials(loaded: LoadedConfig, checks: tuple[Check, ...]) -> smb.Credentials | None:
    credential = loaded.environment.smb.credential
    needed = any(c.kind in (Kind.ENCRYPTION, Kind.ACCESS) for c in checks)
    if credential is None or not needed:
        return None
    password = read_secret(credential, f"{loaded.environment_path}: smb.credential")
    return smb.Credentials(credential.username, credential.domain, password)


def _all_secrets(
    loaded: LoadedConfig, credentials: smb.Credentials | None
) -> tuple[tuple[str, str], ...]:
    """Read every credential up front: a missing variable stops the run before it starts."""
    found = [] if credentials is None else [(credentials.password, credentials.username)]
    sources = [
        (f"probes.{n}.credential", p.credential) for n, p in loaded.environment.probes.items()
    ]
    sources += [
        (f"windows_hosts.{n}.winrm.credential", h.winrm.credential)
        for n, h in loaded.environment.windows_hosts.items()
        if h.winrm is not None
    ]
    for label, credential in sorted(sources, key=lambda pair: pair[0]):
        if credential is not None:
            where = f"{loaded.environment_path}: {label}"
            # WinRM sends DOMAIN\user in its Basic header; register that form too
            user = (
                f"{credential.domain}\\{credential.username}"
                if credential.domain
                else (credential.username)
            )
            found.append((read_secret(credential, where), user))
    for secret, _ in found:
        if len(secret) < MIN_SECRET_LENGTH:
            raise PolicyError(
                f"{loaded.environment_path}: a password is shorter than {MIN_SECRET_LENGTH} "
                "characters; it could not be masked reliably in reports"
            )
    return tuple(found)


def _run(config: pytest.Config) -> LiveRun | None:
    return config.stash.get(live_run_key, None)


def pytest_report_header(config: pytest.Config) -> list[str]:
    run = _run(config)
    if run is None:
        return []
    env = run.config.environment
    overlay = " + overlay" if run.config.overlay_applied else ""
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
    return [
        *warnings,
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
                marks=[
                    getattr(pytest.mark, check.marker),
                    pytest.mark.xdist_group(check.xdist_group),
                ],
            )
            for check in run.checks
        ],
    )


def _order(check: Check) -> tuple[int, str, int, str]:
    # Scan items first (their batches start at once and overlap), control before the items
    # that depend on it, expected-open before expected-closed (opens answer in ms, filtered
    # ones take the full timeout), SMB hardening last.
    scan = 0 if check.kind in SCAN_KINDS else 1
    rank = 0 if check.kind is Kind.CONTROL else 1 if check.expect is Expect.OPEN else 2
    return (scan, check.batch_key, rank, check.id)


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
        check = _check_of(item)
        if check is None:
            kept.append(item)
            continue
        if ring is not None and ring not in check.rings:
            deselected.append(item)
            continue
        kept.append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
    kept.sort(key=lambda i: _order(c) if (c := _check_of(i)) else (2, "", 0, i.nodeid))
    items[:] = kept


def _check_of(item: pytest.Item) -> Check | None:
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
    selected = [c for item in request.session.items if (c := _check_of(item)) is not None]
    environment = run.config.environment

    def opener(name: str) -> Probe:
        return open_probe(name, environment.probes[name], environment.timing)

    def reader(name: str) -> HostReader:
        return open_reader(name, environment.windows_hosts[name], environment)

    executor = Executor(run.config, selected, opener, run.credentials, reader)
    if not hasattr(request.config, "workerinput"):
        executor.start()  # one process runs everything: let every timeout overlap
    yield executor
    executor.close()


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
        verdict = error_verdict(ProbeError("smbtests", f"{type(exc).__name__}: {exc}"))
    # scrubbed where it is made: everything downstream (longrepr, Allure, results) copies it
    verdict = dataclasses.replace(
        verdict,
        message=run.registry.scrub(verdict.message),
        warning=None if verdict.warning is None else run.registry.scrub(verdict.warning),
    )
    node = request.node
    change = _change_since_baseline(smb_check, verdict, observation, run)
    node.stash[judged_key] = Judged(verdict, observation, change)
    request.config.hook.pytest_smbtests_judged(
        item=node, check=smb_check, verdict=verdict, observation=observation, change=change, run=run
    )
    node.add_report_section("setup", "smb observation", evidence_json(observation))
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
    before = run.baseline.checks.get(check.id)
    change = classify(before, record_from_dict(_record(check, verdict, observation, None)))
    if change is None:
        return None
    was = "-" if before is None else f"{before.outcome}/{before.observed}"
    return f"{change.value}: {was} -> {verdict.outcome.value}/{verdict.observed}"


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report: pytest.TestReport = yield
    judged = item.stash.get(judged_key, None)
    if judged is None:
        return report
    if call.excinfo is not None and call.excinfo.errisinstance(CheckError):
        report.longrepr = f"ERROR {judged.verdict.message}"
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        check = _check_of(item)
        assert check is not None
        record = _record(check, judged.verdict, judged.observation, judged.change)
        report.smb_record = record  # type: ignore[attr-defined]
    return report


def _record(
    check: Check, verdict: Verdict, observation: Observation | None, change: str | None
) -> dict[str, object]:
    """One check's entry in the results file (plain JSON, no secrets)."""
    return {
        "id": check.id,
        "kind": check.kind.value,
        "step": check.step,
        "rule": check.rule,
        "probe": check.probe,
        "host": check.host,
        "target": None if check.target is None else f"{check.target.host}:{check.target.port}",
        "expect": None if check.expect is None else check.expect.value,
        "outcome": verdict.outcome.value,
        "observed": verdict.observed,
        "message": verdict.message,
        "warning": verdict.warning,
        "change_since_baseline": change,
        "evidence": json.loads(evidence_json(observation)),
    }
