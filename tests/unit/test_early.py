"""plugins/early.py: which SSH probes get their scanner started while pytest collects."""

from __future__ import annotations

import types
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from plugins import early
from plugins.suite import live_run_key
from smbtests.checks.base import BatchKind
from smbtests.checks.registry import build_plan
from smbtests.config import load

CONFIG = load(Path(__file__).resolve().parents[2] / "environments" / "lab.yaml")
CHECKS = tuple(build_plan(CONFIG, date(2026, 11, 26)))


def _config(args_source: Any = pytest.Config.ArgsSource.TESTPATHS, **option: Any) -> Any:
    defaults: dict[str, Any] = {
        "collectonly": False,
        "numprocesses": None,
        "keyword": "",
        "deselect": [],
        "lf": False,
        "stepwise": False,
        "markexpr": "",
    }
    config = types.SimpleNamespace(
        option=types.SimpleNamespace(**(defaults | option)),
        args_source=args_source,
        stash=pytest.Stash(),
    )
    run = types.SimpleNamespace(
        config=CONFIG, checks=CHECKS, options=types.SimpleNamespace(ring=None)
    )
    config.stash[live_run_key] = run
    return config


def _started(monkeypatch: pytest.MonkeyPatch, config: Any) -> list[str]:
    names: list[str] = []

    def start(name: str, probe: Any, timing: Any) -> Any:
        names.append(name)
        return None if probe.transport != "ssh" else types.SimpleNamespace(close=lambda: None)

    monkeypatch.setattr(early, "start_scanner", start)
    early.pytest_configure(config)
    return names


def test_every_selected_scan_probe_is_asked_and_ssh_ones_are_handed_over_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = _config()
    asked = _started(monkeypatch, config)
    scanning = {c.batch.name for c in CHECKS if c.batch.kind is BatchKind.SCAN}
    assert asked == sorted(n for n in scanning if n is not None)
    ssh = [n for n in asked if CONFIG.environment.probes[n].transport == "ssh"]
    assert ssh and all(early.take(config, n) is not None for n in ssh)
    assert all(early.take(config, n) is None for n in ssh)  # once: a second batch connects anew


def test_marks_narrow_the_probes_started(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _started(monkeypatch, _config(markexpr="smb_hardening")) == []


@pytest.mark.parametrize(
    "option",
    [
        {"keyword": "guest1"},
        {"deselect": ["x"]},
        {"collectonly": True},
        {"numprocesses": 2},
        {"lf": True},
        {"stepwise": True},
        {"help": True},
        {"markers": True},
        {"showfixtures": True},
        {"setupplan": True},
        {"args_source": pytest.Config.ArgsSource.ARGS},  # node ids on the command line
    ],
)
def test_nothing_starts_where_the_selection_is_known_only_after_collection(
    monkeypatch: pytest.MonkeyPatch, option: dict[str, Any]
) -> None:
    assert _started(monkeypatch, _config(**option)) == []


def test_a_scanner_that_cannot_start_is_left_to_its_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    from smbtests.errors import ProbeError

    def start(name: str, probe: Any, timing: Any) -> Any:
        if name == "guest1":
            raise ProbeError(name, "cannot run /usr/bin/ssh: Permission denied")
        return None if probe.transport != "ssh" else types.SimpleNamespace(close=lambda: None)

    monkeypatch.setattr(early, "start_scanner", start)
    config = _config()
    early.pytest_configure(config)  # raises nothing: the batch's own scan reports it
    assert early.take(config, "guest1") is None
    assert early.take(config, "iot1") is not None
