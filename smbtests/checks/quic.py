"""quic:PROBE/HOST:PORT — SMB over QUIC (UDP 443) reaches remote users and nobody else (seed
step 2): from a probe in a perimeter segment (the remote users' side) a real QUIC handshake,
TLS 1.3 with ALPN `smb`, completes to every host the policy declares for remote access
(`perimeter.quic.hosts`) and to no other; from an untrusted segment, to none. The handshake runs
in the runner (aioquic, sans-IO: smbtests/quic.py) and its datagrams leave from the probe's own
stack (probes/udprelay.py), so it is made from the probe's position.

UDP has no refusal a silent firewall must send, so "no QUIC answer" (timeout, an ICMP error)
passes a must-be-closed check only when the probe's QUIC control (`control.quic_port`, the
`quic:PROBE/control:PORT` checks) completed its handshake in the same batch; without it, an
error. A QUIC server that answers but refuses SMB (ALPN mismatch, another TLS alert, no common
QUIC version) is a located refusal: closed to SMB over QUIC, failed where it must be open.
Planned only when the policy has `perimeter.quic`, and from `local` and `ssh` probes (a winrm
vantage cannot relay UDP).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from smbtests.checks._paths import (
    Expectation,
    HostAddress,
    Source,
    address_label,
    host_addresses,
    path_check,
    sources,
)
from smbtests.checks.base import Check, Expect, Facts, Family, Need
from smbtests.checks.control import control_check
from smbtests.checks.verdicts import Judging, Outcome, Verdict, policy_says, violated
from smbtests.config import LoadedConfig, ProbeConfig
from smbtests.config.types import Address
from smbtests.observations import (
    QUIC_SILENT,
    Observation,
    QuicObservation,
    QuicRequest,
    QuicResult,
    QuicState,
    Target,
)

NAME = "quic"
FAMILY = Family.REACH
FEATURE = "SMB over QUIC reaches remote users only"
CONTROL = "control"  # the host part of a QUIC control's id
CONTROL_RULE = (
    "the probe completes a QUIC handshake with its control, so its 'no QUIC answer' results "
    "are the network's"
)
VANTAGES = ("perimeter", "untrusted")
# answers that prove a QUIC server there refused SMB over QUIC: no control needed
REFUSALS = frozenset({QuicState.ALPN_MISMATCH, QuicState.TLS_ALERT, QuicState.VERSION_NEGOTIATION})


def plan(config: LoadedConfig, today: date) -> list[Check]:
    access = config.policy.perimeter.quic
    if access is None:
        return []
    checks = []
    for name, probe in config.environment.probes.items():
        kind = config.policy.segments[probe.segment].kind
        if probe.transport == "winrm" or kind not in VANTAGES:
            continue
        for source in sources(probe):
            checks += [_control(name, probe, source, a) for a in _controls(probe, source)]
            for host in host_addresses(config.policy, source.address.version):
                opened = kind == "perimeter" and host.name in access.hosts
                checks.append(_check(config, (name, probe, source), host, access.port, opened))
    return checks


def _controls(probe: ProbeConfig, source: Source) -> list[Address]:
    assert probe.control is not None  # the loader rejects probes without one
    if probe.control.quic_port is None:
        return []
    return [a for a in probe.control.all_addresses if a.version == source.address.version]


def _control(name: str, probe: ProbeConfig, source: Source, address: Address) -> Check:
    assert probe.control is not None and probe.control.quic_port is not None
    port = probe.control.quic_port
    label = address_label(address, probe.control.address)
    where = f"{source.label}/{CONTROL}{label}:{port}"
    return control_check(name, probe, where, source.to(address, port), CONTROL_RULE, NAME)


def _check(
    config: LoadedConfig,
    origin: tuple[str, ProbeConfig, Source],
    host: HostAddress,
    port: int,
    opened: bool,
) -> Check:
    segment = origin[1].segment
    if opened:
        rule = f"remote users in {segment} reach {host.name} over SMB over QUIC (UDP {port})"
    else:
        rule = f"{segment} must not reach {host.name} over SMB over QUIC (UDP {port})"
    perimeter = config.policy.segments[segment].kind == "perimeter"
    severity = "blocker" if perimeter and not opened else "critical"
    want = Expectation(Expect.OPEN if opened else Expect.CLOSED, rule, 2, severity)
    return path_check(
        NAME, config, origin, host, port, want, feature=FEATURE, marker="smb_perimeter"
    )


def _request(check: Check, config: LoadedConfig) -> QuicRequest:
    assert check.target is not None
    names = config.environment.quic.server_names
    server_name = names.get(check.host or "", check.target.host)
    return QuicRequest(check.target, server_name)


def needs(check: Check, config: LoadedConfig) -> Sequence[Need]:
    own = _request(check, config)
    if check.host is None:  # a control needs only itself
        return (own,)
    assert check.probe is not None and check.target is not None
    probe = config.environment.probes[check.probe]
    assert probe.control is not None
    if probe.control.quic_port is None:
        return (own,)
    controls = [
        QuicRequest(Target(str(a), probe.control.quic_port, check.target.source), str(a))
        for a in probe.control.all_addresses
        if a.version == check.target.version
    ]
    return (own, *controls[:1])


def observe(check: Check, facts: Facts) -> Observation:
    wanted = [n for n in facts.values if isinstance(n, QuicRequest)]
    own = next(n for n in wanted if n.target == check.target)
    control = next((n for n in wanted if n.target != check.target), None)
    assert facts.probe is not None
    result: QuicResult = facts.get(own)
    return QuicObservation(result, None if control is None else facts.get(control), facts.probe)


def _seen(result: QuicResult) -> str:
    return f"{result.state.value.upper()} ({result.detail}; {result.latency_ms:.1f} ms)"


def judge(check: Check, obs: QuicObservation, judging: Judging) -> Verdict:
    result, control = obs.result, obs.control
    target = result.target
    path = f"{check.probe} -> {check.host or target.host}:{target.port}/udp {_seen(result)}"
    if result.state is QuicState.ERROR:
        return Verdict(Outcome.ERROR, f"{path}: the probe's own stack failed", "error")
    word = result.state.value
    if check.host is None:
        if result.state is QuicState.HANDSHAKE:
            return Verdict(Outcome.PASSED, f"{path}; QUIC control reachable", word)
        return Verdict(
            Outcome.ERROR,
            f"{path}: probe {check.probe} cannot prove UDP is blocked; none of its 'no QUIC "
            "answer' results can be trusted",
            word,
        )
    rule = policy_says(check)
    proved = control is not None and control.state is QuicState.HANDSHAKE
    blind = (
        f"probe {check.probe} has no QUIC control (set control.quic_port)"
        if control is None
        else f"probe {check.probe} could not prove it can do QUIC: its control "
        f"{control.target.host}:{control.target.port} was {_seen(control)}"
    )
    if check.expect is Expect.OPEN:
        if result.state is QuicState.HANDSHAKE:
            return Verdict(Outcome.PASSED, f"{path}; {rule}", word)
        if result.state in QUIC_SILENT and not proved:
            return Verdict(Outcome.ERROR, f"{path}; {blind}", word)
        return violated(check, path, word)
    if result.state in (QuicState.HANDSHAKE, QuicState.CERTIFICATE):
        return violated(check, f"{path}: SMB over QUIC ANSWERED (ALPN {result.alpn})", word)
    if result.state in REFUSALS:
        return Verdict(
            Outcome.PASSED,
            f"{path}: a QUIC server answers there but refuses SMB over QUIC; {rule}",
            word,
        )
    if not proved:
        return Verdict(Outcome.ERROR, f"{path} but {blind}", word)
    return Verdict(Outcome.PASSED, f"{path}; {rule}", word)
