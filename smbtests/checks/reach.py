"""reach:PROBE/HOST:PORT — from each probe to each SMB host on each SMB port, and outbound to
the internet: open where an approved path or a live exception says so, closed everywhere else
(seed steps 2 and 3).

A "closed" passes only when the probe reached its positive control in the same batch; without
that it is an error, never a pass.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date

from smbtests.checks._connect import blind, reach_observation, seen, target_needs
from smbtests.checks._outbound import OUTBOUND, outbound_block, vantage_needs
from smbtests.checks.base import (
    BatchKey,
    BatchKind,
    Check,
    Expect,
    Facts,
    Family,
    Judging,
    Need,
    Outcome,
    Verdict,
    policy_says,
)
from smbtests.config import LoadedConfig, Policy, ProbeConfig
from smbtests.observations import ConnectState, Observation, ReachObservation, Target

NAME = "reach"
FAMILY = Family.REACH

FEATURES = {
    (Expect.OPEN, 3): "Approved SMB paths work",
    (Expect.OPEN, 7): "Excepted SMB paths work",
    (Expect.CLOSED, 2): "SMB closed from untrusted and perimeter segments",
    (Expect.CLOSED, 3): "SMB denied outside approved paths",
}


def _marker(step: int) -> str:
    return "smb_perimeter" if step == 2 else "smb_segmentation"


def _expected(
    policy: Policy, probe: ProbeConfig, host_name: str, port: int, today: date
) -> tuple[Expect, str, int, str]:
    """(expectation, rule text, seed step, severity) for probe -> SMB host:port."""
    source = probe.own_address
    segment = policy.segments[probe.segment]
    for path in policy.approved_paths:
        covers = (
            port in path.ports
            and ("*" in path.to or host_name in path.to)
            and any(source in net for ref in path.from_ for net in policy.networks_of(ref))
        )
        if covers:
            return (
                Expect.OPEN,
                f"approved path {', '.join(path.from_)} -> {host_name}:{port} must work "
                f"({path.reason})",
                3,
                "critical",
            )
    for exc in policy.exceptions:
        covers = (
            exc.to == host_name
            and exc.port == port
            and any(source in net for net in policy.networks_of(exc.from_))
        )
        if covers and exc.expires >= today:
            return (
                Expect.OPEN,
                f"exception {exc.id} ({exc.reason}) keeps this path open until {exc.expires}",
                7,
                "normal",
            )
    if segment.kind == "untrusted":
        return (
            Expect.CLOSED,
            f"untrusted segment {probe.segment} must not reach SMB hosts",
            2,
            "critical",
        )
    if segment.kind == "perimeter":
        return (
            Expect.CLOSED,
            f"{port} must be closed inbound from perimeter segment {probe.segment}",
            2,
            "blocker",
        )
    return (
        Expect.CLOSED,
        f"no approved path from {probe.segment} to {host_name}:{port}; deny all other SMB",
        3,
        "critical",
    )


def smb_ports(policy: Policy) -> list[int]:
    """445 plus every other port the policy approves or excepts (e.g. 139): each is tested
    from every probe, open where approved and closed everywhere else."""
    ports = {445}
    for path in policy.approved_paths:
        ports.update(path.ports)
    ports.update(exc.port for exc in policy.exceptions)
    return sorted(ports)


def plan(config: LoadedConfig, today: date) -> list[Check]:
    policy = config.policy
    checks: list[Check] = []
    ports = smb_ports(policy)
    for name, probe in config.environment.probes.items():
        batch = BatchKey(BatchKind.SCAN, name)
        for host_name, host in policy.smb_hosts.items():
            host_rings = config.environment.host_rings.get(host_name, ())
            for port in ports:
                expect, rule, step, severity = _expected(policy, probe, host_name, port, today)
                checks.append(
                    Check(
                        id=f"{NAME}:{name}/{host_name}:{port}",
                        kind=NAME,
                        step=step,
                        rule=rule,
                        feature=FEATURES[(expect, step)],
                        story=f"{probe.segment} -> {host_name}",
                        severity=severity,
                        batch=batch,
                        marker=_marker(step),
                        probe=name,
                        host=host_name,
                        target=Target(str(host.address), port),
                        expect=expect,
                        rings=tuple(sorted({*probe.rings, *host_rings})),
                    )
                )
        if policy.segments[probe.segment].kind == "perimeter":
            continue
        for target_name, target in policy.perimeter.outbound_targets.items():
            checks.append(
                Check(
                    id=f"{NAME}:{name}/{target_name}:{target.port}",
                    kind=NAME,
                    step=2,
                    rule=f"outbound {target.port} to the internet must be closed "
                    f"({target_name}: {target.description or target.address})",
                    feature="SMB closed outbound to the internet",
                    story=f"{probe.segment} -> internet",
                    severity="blocker",
                    batch=batch,
                    marker=_marker(2),
                    probe=name,
                    host=target_name,
                    target=Target(str(target.address), target.port),
                    expect=Expect.CLOSED,
                    rings=probe.rings,
                )
            )
    return checks


def needs(check: Check, config: LoadedConfig) -> Sequence[Need]:
    return (*target_needs(check), *vantage_needs(check, config))


def observe(check: Check, facts: Facts) -> Observation:
    obs = reach_observation(check, facts)
    if OUTBOUND in facts.values:
        return dataclasses.replace(obs, vantage_outbound=facts.get(OUTBOUND))
    return obs


def _own_block(obs: ReachObservation, target: Target) -> str | None:
    """A closed result the vantage's own outbound rule explains proves nothing of the network."""
    if not isinstance(obs.vantage_outbound, dict):
        return None
    own = outbound_block(obs.vantage_outbound, target)
    return None if own is None else f"the vantage {obs.probe} proves nothing: {own}"


def judge(check: Check, obs: ReachObservation, judging: Judging) -> Verdict:
    assert obs.result is not None and obs.control is not None and obs.probe is not None
    result, control = obs.result, obs.control
    path = f"{check.probe} -> {check.host or result.target.host}:{result.target.port}"
    seen_text = f"{path} {seen(result)}"
    if result.state is ConnectState.ERROR:
        return Verdict(Outcome.ERROR, f"{seen_text}: the probe's own stack failed", "error")
    rule = policy_says(check)
    own = _own_block(obs, result.target)
    if check.expect is Expect.OPEN:
        if result.state is ConnectState.OPEN:
            return Verdict(Outcome.PASSED, f"{seen_text}; {rule}", "open")
        if control.state is not ConnectState.OPEN:
            return Verdict(
                Outcome.ERROR, f"{seen_text}; {blind(obs.probe, control)}", result.state.value
            )
        if own is not None:
            return Verdict(Outcome.ERROR, f"{seen_text} but {own}", result.state.value)
        return Verdict(Outcome.FAILED, f"{seen_text}; {rule}", result.state.value)
    if result.state is ConnectState.OPEN:
        return Verdict(Outcome.FAILED, f"{seen_text}; {rule}", "open")
    if control.state is not ConnectState.OPEN:
        return Verdict(
            Outcome.ERROR, f"{seen_text} but {blind(obs.probe, control)}", result.state.value
        )
    if own is not None:
        return Verdict(Outcome.ERROR, f"{seen_text} but {own}", result.state.value)
    return Verdict(Outcome.PASSED, f"{seen_text}; {rule}", result.state.value)
