"""The live policy suite: `pytest --env NAME` turns the plan into real, parametrized items.

Loading and planning happen once in pytest_configure (a bad file stops the run before anything
touches the network); pytest_generate_tests parametrizes plugins/live.py::test_policy with the
sorted checks; plugins/items.py runs the batches and judges each item's check.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest

from smbtests.checks.base import Check
from smbtests.checks.registry import build_plan, uses_account
from smbtests.config import LoadedConfig, load, resolve_environment_path, with_timing
from smbtests.config.source import suggest
from smbtests.errors import SmbtestsError
from smbtests.records import (
    RunResults,
    load_results,
    require_complete,
)
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
    serial_unless_xdist_pays(config, loaded, checks, run_options.ring)
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
