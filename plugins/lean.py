"""Per-item pytest machinery the live items do not need: the per-phase protocol, output
capture, and working out each item's location again.

A live item's setup is judging its check, its call raising the verdict, its teardown nothing:
no fixture of its own to set up or tear down. pytest's per-item protocol costs more than the
judging (fixture requests, and setup/call/teardown hooks of capture, logging and Allure: ~40% of
the main thread at ten thousand checks). So a live item runs a lean protocol (`run_lean`): the
same phases, reports and report hooks (makereport, logreport, logstart/logfinish, warnings
capture), without pytest_runtest_setup/call/teardown and fixtures. An item anything else hooks
into runs pytest's whole protocol: one with a fixture or mark of its own, a plugin that hooks
the phases or fixtures (found by module: not pytest's, allure-pytest's, xdist's or ours),
--pdb or --trace, or `--smb-full-protocol`. plugins/allure_lean.py writes what allure-pytest's
phase hooks would.

pytest resumes its global capture, swaps the file descriptors and reads both streams back three
times per item (setup, call, teardown): ~8% of the main thread at ten thousand checks. A live
item writes nothing: its fixtures observe through the executor and judge with pure functions,
the test function only fails or warns (pytest records warnings itself), and scan progress lines
step around capture anyway. So for live items the streams are left as they are between items;
every other test (the project's own) is captured as `--capture`/`-s` say.

An item's location (file, line, name) is worked out per item from the test function's source
(path lookups and stat calls, ~5% of the main thread); the live items are all one function,
so its file and line are found once and each item gets its own name.

The plan and the collected items live until the run ends, and the cyclic garbage collector
walked all of them at each of its full collections and at the end (pytest's unraisable-exception
plugin collects in its unconfigure hook): ~0.4 s of the main thread at ten thousand checks. Once
collected they are frozen out of its reach (`gc.freeze`) until the process ends: pytest's
clean-up collection after the unconfigure hooks and the interpreter's at exit then walk only what
the run made since (handing them back at unconfigure cost those two walks ~0.11 s at 4 x 256). A
process that runs pytest again (pytester) hands them back when its next run configures.
"""

from __future__ import annotations

import contextlib
import functools
import gc
from collections.abc import Callable, Iterator
from typing import Any, Literal

import pytest

from smbtests.checks.base import Check

from . import failures
from .items import judge_item, raise_error
from .suite import check_of, live_run_key

OWN_FIXTURES = frozenset({"smb_check", "smb_verdict", "request"})
PHASE_HOOKS = (
    "pytest_runtest_setup",
    "pytest_runtest_call",
    "pytest_runtest_teardown",
    "pytest_pyfunc_call",
    "pytest_fixture_setup",
    "pytest_fixture_post_finalizer",
)
KNOWN_MODULES = ("_pytest.", "allure_pytest.", f"{__package__}.", "xdist.")
lean_key = pytest.StashKey[bool]()  # set on the config when live items may run lean
lean_item_key = pytest.StashKey[bool]()  # set on an item that runs lean
_frozen = {"by_an_earlier_run": False}  # per process, as the freeze is: ours still holds


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("smbtests").addoption(
        "--smb-full-protocol",
        action="store_true",
        default=False,
        help="run every live check through pytest's whole per-item protocol (fixtures, and the "
        "setup/call/teardown hooks of every plugin); chosen by itself where a plugin needs it",
    )


def phase_hooked_by_others(config: pytest.Config) -> list[str]:
    """The plugins other than pytest's, allure-pytest's and ours that hook an item's phases
    or fixtures: their hooks would not run under the lean protocol."""
    found = set()
    for name in PHASE_HOOKS:
        for impl in getattr(config.hook, name).get_hookimpls():
            module = getattr(impl.plugin, "__name__", type(impl.plugin).__module__)
            if not module.startswith(KNOWN_MODULES):
                found.add(impl.plugin_name)
    return sorted(found)


@pytest.hookimpl(trylast=True)  # after plugins/suite.py's, which makes the live run
def pytest_configure(config: pytest.Config) -> None:
    if _frozen["by_an_earlier_run"]:
        gc.unfreeze()
        _frozen["by_an_earlier_run"] = False
    if config.stash.get(live_run_key, None) is None:
        return
    config.stash[lean_key] = not (
        config.getoption("smb_full_protocol")
        or config.getoption("usepdb")
        or config.getoption("trace", False)
    )
    capture = config.pluginmanager.get_plugin("capturemanager")
    if capture is not None:
        capture.item_capture = _except_live(capture.item_capture)


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Plugins register until the session starts (conftest files included)."""
    config = session.config
    if config.stash.get(lean_key, False) and phase_hooked_by_others(config):
        config.stash[lean_key] = False


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> bool | None:
    check = runs_lean(item)
    if check is None:
        return None
    run_lean(item, check)
    return True


def runs_lean(item: pytest.Item) -> Check | None:
    """The live check of an item that runs the lean protocol; None for any other."""
    check = check_of(item)
    if check is None or not item.config.stash.get(lean_key, False) or not _own(item, check):
        return None
    return check


def _own(item: pytest.Item, check: Check) -> bool:
    """Nothing but the suite's own fixtures and marks: none asks for a phase of its own."""
    fixtures = getattr(item, "fixturenames", ())
    return set(fixtures) <= OWN_FIXTURES and all(
        mark.name in ("parametrize", check.marker) for mark in item.iter_markers()
    )


def run_lean(item: pytest.Item, check: Check) -> None:
    """The phases of pytest's runtestprotocol, reported the same way, run directly."""
    assert isinstance(item, pytest.Function)
    ihook = item.ihook
    item.stash[lean_item_key] = True
    ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    verdicts = []
    # the item's hook relay once, not per hook call: pytest looks up its conftests each time
    phase = functools.partial(_phase, ihook, item)
    setup = phase("setup", lambda: verdicts.append(raise_error(judge_item(item, check))))
    if setup.passed:
        # pytest asks the item for a failure's text: the verdict's, as pytest words it
        item.__dict__["repr_failure"] = functools.partial(failures.repr_failure, item)
        phase("call", lambda: item.obj(smb_check=check, smb_verdict=verdicts[0]))
    phase("teardown", lambda: None)
    ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)


def _phase(
    ihook: Any,
    item: pytest.Item,
    when: Literal["setup", "call", "teardown"],
    run: Callable[[], object],
) -> pytest.TestReport:
    call = pytest.CallInfo.from_call(run, when, reraise=(pytest.exit.Exception, KeyboardInterrupt))
    report: pytest.TestReport = ihook.pytest_runtest_makereport(item=item, call=call)
    ihook.pytest_runtest_logreport(report=report)
    return report


def _except_live(
    item_capture: Callable[[str, pytest.Item], contextlib.AbstractContextManager[None]],
) -> Callable[[str, pytest.Item], Any]:
    @contextlib.contextmanager
    def capture(when: str, item: pytest.Item) -> Iterator[None]:
        if check_of(item) is not None:
            yield
            return
        with item_capture(when, item):
            yield

    return capture


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.stash.get(live_run_key, None) is None:
        return
    live = [i for i in items if isinstance(i, pytest.Function) and check_of(i) is not None]
    if not live:
        return
    path, line, _ = live[0].location
    for item in live[1:]:
        if item.obj is live[0].obj:  # .obj is cached; .function unwraps it again each time
            # what pytest's cached property would compute: same file and line, own name
            item.__dict__["location"] = (path, line, item.getmodpath())
    for item in live:
        _flatten_keywords(item)
    gc.freeze()
    _frozen["by_an_earlier_run"] = True


def _flatten_keywords(item: pytest.Item) -> None:
    """Every report copies the item's keywords, walking its parents' keywords each time (three
    reports an item: ~5% of a ten-thousand-check run). Once collected, a live item's keywords are
    copied into its own mapping, the same names and values, so the walk ends at the item."""
    keywords: Any = item.keywords
    if getattr(keywords, "parent", None) is None or not hasattr(keywords, "_markers"):
        return  # not the NodeKeywords of pytest's this was measured with: leave it be
    keywords._markers = {name: keywords[name] for name in keywords}
    keywords.parent = None
