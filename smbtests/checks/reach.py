"""reach:PROBE/HOST:PORT — from each probe to each SMB host on each SMB port, and outbound to
the internet: open where an approved path or a live exception says so, closed everywhere else
(seed steps 2 and 3).

A "closed" passes only when the probe reached its positive control in the same batch; without
that it is an error, never a pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date

from smbtests.checks._connect import blind, reach_observation, seen, target_needs
from smbtests.checks._outbound import OUTBOUND, outbound_block, vantage_needs
from smbtests.checks._paths import (
    Source,
    expected,
    host_addresses,
    path_check,
    smb_ports,
    sources,
)
from smbtests.checks.base import BatchKey, BatchKind, Check, Expect, Facts, Family, Need, SmbAnswers
from smbtests.checks.verdicts import Judging, Outcome, Verdict, policy_says, violated
from smbtests.config import LoadedConfig, ProbeConfig
from smbtests.errors import SmbSilentError
from smbtests.observations import (
    ConnectState,
    NegotiateResult,
    Observation,
    ReachObservation,
    Target,
)

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


def plan(config: LoadedConfig, today: date) -> list[Check]:
    checks: list[Check] = []
    for name, probe in config.environment.probes.items():
        for source in sources(probe):
            checks += _to_hosts(config, name, probe, source, today)
            if config.policy.segments[probe.segment].kind != "perimeter":
                checks += _outbound(config, name, probe, source)
    return checks


def _to_hosts(
    config: LoadedConfig, name: str, probe: ProbeConfig, source: Source, today: date
) -> list[Check]:
    policy = config.policy
    checks = []
    ports, origin = smb_ports(policy), (name, probe, source)
    for host in host_addresses(policy, source.address.version):
        for port in ports:
            want = expected(policy, probe.segment, source.address, host.name, port, today)
            feature, marker = FEATURES[(want.expect, want.step)], _marker(want.step)
            checks.append(
                path_check(NAME, config, origin, host, port, want, feature=feature, marker=marker)
            )
    return checks


def _outbound(config: LoadedConfig, name: str, probe: ProbeConfig, source: Source) -> list[Check]:
    checks = []
    for target_name, target in config.policy.perimeter.outbound_targets.items():
        if target.address.version != source.address.version:
            continue
        checks.append(
            Check(
                id=f"{NAME}:{name}{source.label}/{target_name}:{target.port}",
                kind=NAME,
                step=2,
                rule=f"outbound {target.port} to the internet must be closed "
                f"({target_name}: {target.description or target.address})",
                feature="SMB closed outbound to the internet",
                story=f"{probe.segment} -> internet",
                severity="blocker",
                batch=BatchKey(BatchKind.SCAN, name),
                marker=_marker(2),
                probe=name,
                host=target_name,
                target=source.to(target.address, target.port),
                expect=Expect.CLOSED,
                rings=probe.rings,
            )
        )
    return checks


def needs(check: Check, config: LoadedConfig) -> Sequence[Need]:
    return (*target_needs(check), *vantage_needs(check, config))


def followups(check: Check, facts: Facts) -> Sequence[Need]:
    """A target that must be closed but is open: ask whether SMB itself answers there."""
    if check.expect is not Expect.CLOSED or check.target is None:
        return ()
    result = facts.connect(check.target)
    opened = result is not None and result.state is ConnectState.OPEN
    return (SmbAnswers(check.target),) if opened else ()


def observe(check: Check, facts: Facts) -> Observation:
    obs = reach_observation(check, facts)
    assert check.target is not None
    if OUTBOUND in facts.values:
        obs = replace(obs, vantage_outbound=facts.get(OUTBOUND))
    answer = facts.values.get(SmbAnswers(check.target))
    if isinstance(answer, NegotiateResult):
        return replace(obs, smb=answer)
    if isinstance(answer, SmbSilentError):
        return replace(obs, smb_note=str(answer), tcp_only=True)
    return obs if answer is None else replace(obs, smb_note=str(answer))


def _own_block(obs: ReachObservation, target: Target) -> str | None:
    """A closed result the vantage's own outbound rule explains proves nothing of the network."""
    if not isinstance(obs.vantage_outbound, dict):
        return None
    own = outbound_block(obs.vantage_outbound, target)
    return None if own is None else f"the vantage {obs.probe} proves nothing: {own}"


def _smb_seen(obs: ReachObservation) -> str:
    if obs.smb is not None:
        signing = {True: "required", False: "not required", None: "unknown"}
        return (
            f"; SMB ANSWERED ({obs.smb.detail}; signing {signing[obs.smb.signing_required]}): "
            "a real SMB exposure"
        )
    if obs.tcp_only:
        return f"; only TCP answered, SMB stayed silent ({obs.smb_note}): a proxy or tarpit"
    return "" if obs.smb_note is None else f"; whether SMB answers is unknown ({obs.smb_note})"


def judge(check: Check, obs: ReachObservation, judging: Judging) -> Verdict:
    assert obs.result is not None and obs.control is not None and obs.probe is not None
    result, control = obs.result, obs.control
    path = f"{check.probe} -> {check.host or result.target.host}:{result.target.port}"
    seen_text = f"{path} {seen(result)}"
    if result.state is ConnectState.ERROR:
        return Verdict(Outcome.ERROR, f"{seen_text}: the probe's own stack failed", "error")
    rule = policy_says(check)
    own = _own_block(obs, result.target)
    expected_open = check.expect is Expect.OPEN
    if result.state is ConnectState.OPEN:
        if expected_open:
            return Verdict(Outcome.PASSED, f"{seen_text}; {rule}", "open")
        observed = "tcp-only" if obs.tcp_only else "open"
        return violated(check, f"{seen_text}{_smb_seen(obs)}", observed)
    # not open: evidence only from a probe that proved it can connect and whose own rules do
    # not explain it
    word = result.state.value
    if control.state is not ConnectState.OPEN:
        joint = "; " if expected_open else " but "
        return Verdict(Outcome.ERROR, f"{seen_text}{joint}{blind(obs.probe, control)}", word)
    if own is not None:
        return Verdict(Outcome.ERROR, f"{seen_text} but {own}", word)
    outcome = Outcome.FAILED if expected_open else Outcome.PASSED
    return Verdict(outcome, f"{seen_text}; {rule}", word)
