"""What the connect-based kinds (control, reach, exception, discovery, sweep) share: the words
for a connect result and for a probe that could not prove it can connect, and a range's
connects as one observation."""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Sequence

from smbtests.checks.base import Check, Connect, Facts, Need
from smbtests.checks.verdicts import Outcome, Verdict
from smbtests.observations import (
    ConnectResult,
    ConnectState,
    DiscoveryObservation,
    ReachObservation,
)


def seen(result: ConnectResult) -> str:
    how = {
        ConnectState.OPEN: f"connected in {result.latency_ms:.1f} ms",
        ConnectState.REFUSED: f"reset in {result.latency_ms:.1f} ms",
        ConnectState.FILTERED: f"no answer in {result.latency_ms / 1000:.1f} s",
        ConnectState.UNREACHABLE: f"{result.detail} after {result.latency_ms:.1f} ms",
        ConnectState.ERROR: result.detail,
    }[result.state]
    return f"{result.state.value.upper()} ({how})"


def blind(probe: str, control: ConnectResult) -> str:
    return (
        f"probe {probe} could not prove it can connect: its control "
        f"{control.target.host}:{control.target.port} was {seen(control)}"
    )


def target_needs(check: Check) -> Sequence[Need]:
    return () if check.target is None else (Connect(check.target),)


def reach_observation(check: Check, facts: Facts) -> ReachObservation:
    assert check.target is not None
    target = check.target
    return ReachObservation(facts.connect(target), facts.control_for(target), facts.probe)


def range_observation(
    label: str, results: Sequence[ConnectResult], control: ConnectResult, *, by_address: bool
) -> DiscoveryObservation:
    """The connects to a range: a count per state, those that failed on the probe itself, and
    the addresses that answered (`by_address`: each once, in address order, for a range
    connected to on several ports; else in the order connected)."""
    listeners = [r.target.host for r in results if r.state is ConnectState.OPEN]
    if by_address:
        listeners = sorted(set(listeners), key=ipaddress.ip_address)
    return DiscoveryObservation(
        range=label,
        scanned=len(results),
        listeners=tuple(listeners),
        errors=tuple(r for r in results if r.state is ConnectState.ERROR),
        states=dict(Counter(r.state.value for r in results)),
        control=control,
    )


def range_unproven(
    obs: DiscoveryObservation, probe: str, connects: str, tail: str
) -> Verdict | None:
    """The error of a range the probe could not prove: its control did not answer, or some of
    its `connects` failed on the probe itself; None when the range's answers are evidence."""
    if obs.control.state is not ConnectState.OPEN:
        return Verdict(Outcome.ERROR, blind(probe, obs.control), "error")
    if not obs.errors:
        return None
    first = obs.errors[0]
    return Verdict(
        Outcome.ERROR,
        f"{len(obs.errors)} of {obs.scanned} connects {connects} failed on the probe itself "
        f"(first: {first.target.host}: {first.detail}); {tail}",
        "error",
    )
