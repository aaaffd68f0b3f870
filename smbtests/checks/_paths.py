"""What the path kinds (control, reach, quic, sweep, exception) share: which addresses a probe
sends from, which addresses a host answers on, how each appears in a check id, what the policy
expects of one (source, host, port), and the check of one path.

Ids keep their short form for the default case (`reach:guest1/fs1:445`: the probe's default
address of that IP version to the host's first address) and name any other address in brackets,
which `-k` accepts: `reach:guest1/fs1[fd45:10::11]:445`, `reach:iot1[10.45.40.42]/print1:445`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from smbtests.checks.base import BatchKey, BatchKind, Check, Expect
from smbtests.config import Environment, LoadedConfig, Policy, ProbeConfig
from smbtests.config.types import Address
from smbtests.observations import Target


@dataclass(frozen=True)
class Source:
    """One address a probe sends from: its label in ids and the address the scanner binds."""

    address: Address
    label: str  # "" for the probe's default address of this IP version, else "[address]"
    bind: str  # "" to let the probe's stack choose (the default), else the address

    def to(self, address: Address, port: int) -> Target:
        return Target(str(address), port, self.bind)


def sources(probe: ProbeConfig) -> list[Source]:
    """Every address the probe tests from, default addresses first."""
    found = []
    for address in probe.all_sources:
        default = probe.default_source(address.version) == address
        label, bind = ("", "") if default else (f"[{address}]", str(address))
        found.append(Source(address, label, bind))
    return found


def address_label(address: Address, primary: Address) -> str:
    return "" if address == primary else f"[{address}]"


@dataclass(frozen=True)
class HostAddress:
    """One address of an SMB host, as the checks of paths to it name it."""

    name: str
    label: str  # the host's name, with the address in brackets for any but its first
    address: Address


def host_addresses(policy: Policy, version: int) -> list[HostAddress]:
    """Every address of IP version `version` of every SMB host, host by host."""
    return [
        HostAddress(name, f"{name}{address_label(address, host.address)}", address)
        for name, host in policy.smb_hosts.items()
        for address in host.all_addresses
        if address.version == version
    ]


def smb_ports(policy: Policy) -> list[int]:
    """The policy's SMB ports plus every port it approves or excepts: each is tested from every
    probe, open where approved and closed everywhere else."""
    ports = set(policy.smb_ports)
    for path in policy.approved_paths:
        ports.update(path.ports)
    ports.update(exc.port for exc in policy.exceptions)
    return sorted(ports)


@dataclass(frozen=True)
class Expectation:
    expect: Expect
    rule: str
    step: int
    severity: str


def expected(
    policy: Policy, segment: str, source: Address, host_name: str, port: int, today: date
) -> Expectation:
    """What the policy demands of `source` (in `segment`) -> SMB host `host_name`:`port`."""
    for path in policy.approved_paths:
        covers = (
            port in path.ports
            and ("*" in path.to or host_name in path.to)
            and any(source in net for ref in path.from_ for net in policy.networks_of(ref))
        )
        if covers:
            return Expectation(
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
            return Expectation(
                Expect.OPEN,
                f"exception {exc.id} ({exc.reason}) keeps this path open until {exc.expires}",
                7,
                "normal",
            )
    kind = policy.segments[segment].kind
    if kind == "untrusted":
        return Expectation(
            Expect.CLOSED, f"untrusted segment {segment} must not reach SMB hosts", 2, "critical"
        )
    if kind == "perimeter":
        return Expectation(
            Expect.CLOSED,
            f"{port} must be closed inbound from perimeter segment {segment}",
            2,
            "blocker",
        )
    return Expectation(
        Expect.CLOSED,
        f"no approved path from {segment} to {host_name}:{port}; deny all other SMB",
        3,
        "critical",
    )


def path_check(
    kind: str,
    config: LoadedConfig,
    origin: tuple[str, ProbeConfig, Source],
    host: HostAddress,
    port: int,
    want: Expectation,
    *,
    feature: str,
    marker: str,
) -> Check:
    """The check of one path, from probe `origin` (its name, its settings and the address it
    sends from) to `host`:`port`, as `want` says it must be, in the probe's scan:
    `KIND:PROBE/HOST:PORT` (addresses in brackets where not the default), in the probe's and
    the host's rings."""
    name, probe, source = origin
    host_rings = config.environment.host_rings.get(host.name, ())
    return Check(
        id=f"{kind}:{name}{source.label}/{host.label}:{port}",
        kind=kind,
        step=want.step,
        rule=want.rule,
        feature=feature,
        story=f"{probe.segment} -> {host.name}",
        severity=want.severity,
        batch=BatchKey(BatchKind.SCAN, name),
        marker=marker,
        probe=name,
        host=host.name,
        target=source.to(host.address, port),
        expect=want.expect,
        rings=tuple(sorted({*probe.rings, *host_rings})),
    )


def control_targets(probe: ProbeConfig) -> list[Target]:
    """The probe's control on each of its addresses, from each source of the same IP version."""
    assert probe.control is not None  # the loader rejects probes without one
    return [
        source.to(address, probe.control.port)
        for source in sources(probe)
        for address in probe.control.all_addresses
        if address.version == source.address.version
    ]


def port_control_targets(probe: ProbeConfig) -> list[Target]:
    """The probe's SMB-port control (when configured) on each of its addresses and ports, from
    each source of the same IP version: the proof that the probe's own host lets those SYNs out."""
    control = probe.smb_port_control
    if control is None:
        return []
    return [
        source.to(address, port)
        for source in sources(probe)
        for address in control.all_addresses
        if address.version == source.address.version
        for port in control.ports
    ]


def port_control_addresses(env: Environment) -> set[Address]:
    """Listeners the environment declares on the SMB ports as controls: proved by control
    checks, not exposures for a sweep or discovery to report."""
    return {
        address
        for probe in env.probes.values()
        if probe.smb_port_control is not None
        for address in probe.smb_port_control.all_addresses
    }
