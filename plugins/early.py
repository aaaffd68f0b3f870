"""SSH probes' scanners started while pytest still collects.

In a process that runs every check it selects, each ssh probe a selected scan batch uses has its
scanner started at configure through the OpenSSH client (smbtests/probes/_openssh.py): the
handshake and the remote interpreter's start run in their own processes while pytest collects,
and the probe's first scan only hands the scanner its request. Not where the selection is known
only after collection (-k, --deselect, node ids, --lf, --sw) or nothing runs here
(--collect-only, an xdist controller or worker), nor without `ssh` on PATH.

Only a head start: a scanner that could not connect reports why at its scan, as the scan's own
connection would (one attempt, never two); one no batch asked for ends with the run.
"""

from __future__ import annotations

import pytest

from smbtests.checks.base import BatchKind
from smbtests.errors import ProbeError
from smbtests.probes._openssh import Command
from smbtests.probes.registry import start_scanner

from .suite import live_run_key
from .workers import selected_by_marks

started_key = pytest.StashKey[dict[str, Command]]()


@pytest.hookimpl(trylast=True)  # after plugins/suite.py's, which makes the live run
def pytest_configure(config: pytest.Config) -> None:
    run = config.stash.get(live_run_key, None)
    if run is None or not _selection_known(config):
        return
    environment = run.config.environment
    selected = selected_by_marks(config, run.checks, run.options.ring)
    scans = {c.batch.name for c in selected if c.batch.kind is BatchKind.SCAN}
    started: dict[str, Command] = {}
    config.stash[started_key] = started
    for name in sorted(n for n in scans if n is not None):  # None: governance only
        try:
            command = start_scanner(name, environment.probes[name], environment.timing)
        except ProbeError:  # no client to run: the batch's own scan says so, in its place
            continue
        if command is not None:
            started[name] = command


def take(config: pytest.Config, name: str) -> Command | None:
    """The probe's started scanner, once; None after that or if none was started."""
    return config.stash.get(started_key, {}).pop(name, None)


def pytest_unconfigure(config: pytest.Config) -> None:
    started = config.stash.get(started_key, {})
    while started:
        started.popitem()[1].close()  # the scanners no batch asked for


def _selection_known(config: pytest.Config) -> bool:
    """Whether this process runs the checks its -m and --ring select (nothing else narrows
    them or shows something instead: --help, --markers, --fixtures run configure too)."""
    option = config.option
    shows = ("help", "markers", "showfixtures", "show_fixtures_per_test", "setupplan", "setuponly")
    return not (
        any(getattr(option, name, False) for name in shows)
        or option.collectonly
        or getattr(option, "numprocesses", None)
        or hasattr(config, "workerinput")
        or option.keyword
        or option.deselect
        or getattr(option, "lf", False)
        or getattr(option, "stepwise", False)
        or config.args_source is pytest.Config.ArgsSource.ARGS
    )
