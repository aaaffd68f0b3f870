"""sweep:PROBE/RANGE:PORT — from each probe, every address of every range the policy declares
answers on an SMB port only where the policy approves it (seed steps 1-3: no undeclared
listener, no exposure the inventory does not know).

The ranges: every IPv4 segment whole; in every IPv6 segment the addresses the policy and the
environment declare there plus `sweep.ranges` (a /64 cannot be swept); `sweep.ranges` outside
every segment (internet samples, for outbound); and, from perimeter probes, the organisation's
`perimeter.public_addresses` (what the internet sees: a port-forward shows up there). Addresses
a reach check of the same probe already judges (the SMB hosts', the outbound targets') are
left to it, so one fault fails one check. One item per probe x range x port lists every
offender. A winrm probe does not sweep: its connects run as one PowerShell batch, too slow for
thousands of addresses (its reach checks still cover every declared address).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date

from smbtests.checks._connect import range_observation, range_unproven
from smbtests.checks._paths import Source, port_control_addresses, smb_ports, sources
from smbtests.checks.base import BatchKey, BatchKind, Check, Connect, Facts, Family, Need
from smbtests.checks.verdicts import Judging, Outcome, Verdict, violated
from smbtests.config import LoadedConfig, Policy, ProbeConfig
from smbtests.config.types import Address, Network
from smbtests.errors import ProbeError
from smbtests.observations import DiscoveryObservation, Observation

NAME = "sweep"
FAMILY = Family.REACH
PUBLIC = "public"  # the range label of perimeter.public_addresses


@dataclass(frozen=True)
class Range:
    label: str  # the network as written, or "public"
    addresses: tuple[Address, ...]


def plan(config: LoadedConfig, today: date) -> list[Check]:
    policy = config.policy
    if not policy.sweep.enabled:
        return []
    checks = []
    for name, probe in config.environment.probes.items():
        if probe.transport == "winrm":
            continue
        for swept, _source in _ranges(config, probe):
            for port in smb_ports(policy):
                checks.append(
                    Check(
                        id=f"{NAME}:{name}/{swept.label}:{port}",
                        kind=NAME,
                        step=1,
                        rule=f"no address in {swept.label} answers on {port} from {probe.segment} "
                        "outside the approved paths",
                        feature="No SMB exposure outside the inventory",
                        story=f"{probe.segment} -> {swept.label}",
                        severity="critical",
                        batch=BatchKey(BatchKind.SCAN, name),
                        marker="smb_inventory",
                        probe=name,
                        discovery_range=swept.label,
                        rings=probe.rings,
                    )
                )
    return checks


def _ranges(config: LoadedConfig, probe: ProbeConfig) -> Iterator[tuple[Range, Source]]:
    """Every range this probe sweeps, with the source it sweeps it from (the default one of
    the range's IP version; a probe without one cannot sweep that family)."""
    policy = config.policy
    perimeter = policy.segments[probe.segment].kind == "perimeter"
    judged = _judged_by_reach(policy) | port_control_addresses(config.environment)
    defaults = {s.address.version: s for s in sources(probe) if not s.label}
    candidates: list[Range] = []
    for segment in policy.segments.values():
        if perimeter and segment.kind == "perimeter":
            continue  # the internet's own listeners are not the organisation's exposure
        candidates += [_segment_range(config, cidr) for cidr in segment.cidrs]
    candidates += [
        Range(str(network), tuple(_hosts(network)))
        for network in policy.sweep.ranges
        if policy.segment_of(network.network_address) is None
    ]
    if perimeter and policy.perimeter.public_addresses:
        candidates.append(Range(PUBLIC, policy.perimeter.public_addresses))
    for swept in candidates:
        addresses = tuple(a for a in swept.addresses if a not in judged)
        source = defaults.get(addresses[0].version) if addresses else None
        if source is not None:
            yield Range(swept.label, addresses), source


def _segment_range(config: LoadedConfig, cidr: Network) -> Range:
    if cidr.version == 4:
        return Range(str(cidr), tuple(_hosts(cidr)))
    declared = {a for a in _declared(config) if a in cidr}
    for network in config.policy.sweep.ranges:
        if network.version == 6 and network.network_address in cidr:
            declared.update(_hosts(network))
    return Range(str(cidr), tuple(sorted(declared, key=int)))


def _hosts(network: Network) -> Iterator[Address]:
    # the size is bounded at load (sweep.max_addresses)
    addresses = network.hosts() if network.num_addresses > 2 else iter(network)
    return (ipaddress.ip_address(str(address)) for address in addresses)


def _declared(config: LoadedConfig) -> Iterator[Address]:
    policy, env = config.policy, config.environment
    for host in policy.smb_hosts.values():
        yield from host.all_addresses
    yield from (t.address for t in policy.perimeter.outbound_targets.values())
    for probe in env.probes.values():
        yield from probe.all_sources
        if probe.control is not None:
            yield from probe.control.all_addresses


def _judged_by_reach(policy: Policy) -> set[Address]:
    found = {a for host in policy.smb_hosts.values() for a in host.all_addresses}
    return found | {t.address for t in policy.perimeter.outbound_targets.values()}


def needs(check: Check, config: LoadedConfig) -> Sequence[Need]:
    probe = config.environment.probes[check.probe or ""]
    port = int(check.id.rsplit(":", 1)[1])
    for swept, source in _ranges(config, probe):
        if swept.label == check.discovery_range:
            return [Connect(source.to(address, port)) for address in swept.addresses]
    return ()


def observe(check: Check, facts: Facts) -> Observation:
    results = [facts.get(need) for need in facts.values]
    control = facts.control_for(results[0].target) if results else None
    if control is None:
        raise ProbeError(check.probe or "?", "no control in this IP version proves it can connect")
    return range_observation(check.discovery_range or "", results, control, by_address=False)


def _what(address: str, probe_segment: str, policy: Policy) -> str:
    ip = ipaddress.ip_address(address)
    if ip in policy.perimeter.public_addresses:
        return "the organisation's public address (a port-forward or an exposed edge)"
    segment = policy.segment_of(ip)
    if segment is None:
        return "outside every segment"
    if segment == probe_segment:
        return f"publishing SMB inside its own segment {segment}"
    if policy.segments[segment].kind == "perimeter":
        return f"an undeclared SMB destination on the internet side ({segment})"
    return f"an undeclared listener in segment {segment}"


def judge(check: Check, obs: DiscoveryObservation, judging: Judging) -> Verdict:
    probe = check.probe or "?"
    unproven = range_unproven(obs, probe, f"from {probe} to {obs.range}", "not proven")
    if unproven is not None:
        return unproven
    port = check.id.rsplit(":", 1)[1]
    summary = ", ".join(f"{n} {s}" for s, n in sorted(obs.states.items()))
    if obs.listeners:
        segment = check.story.split(" -> ")[0]
        found = "; ".join(
            f"{address}:{port} ({_what(address, segment, judging.policy)})"
            for address in obs.listeners
        )
        return violated(
            check,
            f"{probe} reached SMB where the policy approves none: {found} ({summary})",
            "open:" + ",".join(obs.listeners),
        )
    return Verdict(
        Outcome.PASSED,
        f"{probe} swept {obs.scanned} addresses of {obs.range} on {port}: none answers ({summary})",
        "clean",
    )
