"""Whether `-n` is used: decided in the controller's pytest_configure, before xdist's own
starts a worker (plugins/order.py::xdist_pays says where it pays)."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from functools import partial

import pytest
from _pytest.mark.expression import Expression  # pytest's own -m grammar, as -m applies it

from smbtests.checks.base import Check
from smbtests.checks.registry import opens_sessions
from smbtests.config import LoadedConfig

from .order import XDIST_MIN_BATCHES, XDIST_MIN_CORES, bound_batches, xdist_pays

serial_key = pytest.StashKey[str]()


def serial_unless_xdist_pays(
    config: pytest.Config, loaded: LoadedConfig, checks: Sequence[Check], ring: str | None
) -> None:
    """Drop `-n` where it cannot pay for the checks this run selects (-m and --ring are known
    now; -k, which also matches names, only after collection), unless `--dist` is on the
    command line."""
    workers = getattr(config.option, "numprocesses", None)
    chosen = any(a.split("=")[0] == "--dist" for a in config.invocation_params.args)
    if not workers or chosen or config.getvalue("dist") != "load":
        return
    selected = selected_by_marks(config, checks, ring)
    bound = bound_batches(selected, partial(opens_sessions, config=loaded))
    cores = usable_cores()
    if not xdist_pays(bound, cores):
        config.option.dist, config.option.tx, config.option.numprocesses = "no", [], 0
        config.stash[serial_key] = (
            f"-n {workers} not used: these checks run faster in one process ({bound} batches "
            f"of SMB sessions, {cores} cores; it pays from {XDIST_MIN_BATCHES} on "
            f"{XDIST_MIN_CORES} or more)"
        )


def selected_by_marks(
    config: pytest.Config, checks: Sequence[Check], ring: str | None
) -> list[Check]:
    """The checks -m and --ring select (known at configure; -k, --deselect and node ids only
    after collection)."""
    selected = [c for c in checks if ring is None or ring in c.rings]
    if config.option.markexpr:
        try:
            expression = Expression.compile(config.option.markexpr)
        except SyntaxError as exc:  # as pytest words it when it applies -m itself
            raise pytest.UsageError(
                f"Wrong expression passed to '-m': {config.option.markexpr}: {exc}"
            ) from None
        selected = [c for c in selected if expression.evaluate(_has(c.marker))]
    return selected


def _has(marker: str) -> Callable[..., bool]:
    def matches(name: str, /, **_: object) -> bool:
        return name == marker

    return matches


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, as a container or taskset sets it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
