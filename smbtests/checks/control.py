"""control:PROBE — the probe reaches its positive control (seed step 6).

Every scan batch connects to the probe's control, a service the probe's segment is meant to
reach across the same boundary as its SMB tests. A probe that cannot reach it is blind: none of
its "closed" results can be trusted, so this check errors and so do they.

A probe with an `smb_port_control` (a listener on the SMB ports inside its own segment) also
connects to it on each of those ports (`control:PROBE/[ADDRESS]:PORT`): a probe whose own host
drops its connects to 445 reaches the routed control all the same, so only this one shows it;
its "closed" results on a port whose control did not answer error.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from smbtests.checks._connect import blind, reach_observation, seen, target_needs
from smbtests.checks._paths import port_control_targets, sources
from smbtests.checks.base import BatchKey, BatchKind, Check, Expect, Facts, Family, Need
from smbtests.checks.verdicts import Judging, Outcome, Verdict
from smbtests.config import LoadedConfig, ProbeConfig
from smbtests.observations import ConnectState, Observation, ReachObservation, Target

NAME = "control"
FAMILY = Family.REACH


def plan(config: LoadedConfig, today: date) -> list[Check]:
    checks = []
    for name, probe in config.environment.probes.items():
        assert probe.control is not None  # the loader rejects probes without one
        primary = probe.control.address
        for source in sources(probe):
            for address in probe.control.all_addresses:
                if address.version != source.address.version:
                    continue
                where = "" if address == primary else f"/[{address}]:{probe.control.port}"
                checks.append(
                    control_check(
                        name,
                        probe,
                        source.label + where,
                        source.to(address, probe.control.port),
                        ROUTED,
                    )
                )
        for target in port_control_targets(probe):
            label = "" if not target.source else f"[{target.source}]"
            checks.append(
                control_check(
                    name, probe, f"{label}/[{target.host}]:{target.port}", target, AT_PORT
                )
            )
    return checks


ROUTED = "the probe reaches its positive control, so its 'closed' results are real"
AT_PORT = (
    "the probe's own host lets its connects to this SMB port out (a control inside its own "
    "segment), so its 'closed' results on this port are the network's"
)


def control_check(
    name: str, probe: ProbeConfig, where: str, target: Target, rule: str, kind: str = NAME
) -> Check:
    """A positive control of probe `name` (also the `quic` kind's, with its own kind)."""
    return Check(
        id=f"{kind}:{name}{where}",
        kind=kind,
        step=6,
        rule=rule,
        feature="Probes can prove a port is blocked",
        story=probe.segment,
        severity="critical",
        batch=BatchKey(BatchKind.SCAN, name),
        marker="smb_verification",
        probe=name,
        target=target,
        expect=Expect.OPEN,
        rings=probe.rings,
    )


def needs(check: Check, config: LoadedConfig) -> Sequence[Need]:
    return target_needs(check)


def observe(check: Check, facts: Facts) -> Observation:
    return reach_observation(check, facts)


def judge(check: Check, obs: ReachObservation, judging: Judging) -> Verdict:
    assert obs.result is not None and obs.control is not None and obs.probe is not None
    result = obs.result
    seen_text = f"{check.probe} -> {check.host or result.target.host}:{result.target.port} "
    seen_text += seen(result)
    if result.state is ConnectState.ERROR:
        return Verdict(Outcome.ERROR, f"{seen_text}: the probe's own stack failed", "error")
    if result.state is ConnectState.OPEN:
        return Verdict(Outcome.PASSED, f"{seen_text}; control reachable", "open")
    return Verdict(
        Outcome.ERROR,
        f"{blind(obs.probe, result)}; no 'closed' result from it can be trusted",
        result.state.value,
    )
