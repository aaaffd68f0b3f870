"""Cross-references: what one model alone cannot check (names that must exist, addresses that
must lie in a segment and in scope, settings that only make sense together).

Each rule is a small function that raises one located PolicyError with the fix.
"""

from __future__ import annotations

import ipaddress
import zoneinfo
from collections.abc import Iterable

from smbtests.config.environment import DenyLog, Environment, ProbeConfig, WindowsHost
from smbtests.config.policy import Policy
from smbtests.config.source import KeyPath, SourceDocument, path_label, suggest
from smbtests.config.types import Address, Network, within
from smbtests.errors import PolicyError

CLEAR_TEXT_BASIC = "basic auth sends the password in clear; set `allow_basic: true` only for a lab"


def located(doc: SourceDocument, path: KeyPath, message: str) -> PolicyError:
    return PolicyError(f"{doc.where(path)}: {path_label(path)}: {message}")


def check_reference(
    doc: SourceDocument, path: KeyPath, value: str, names: Iterable[str], what: str
) -> None:
    names = list(names)
    if value in names:
        return
    if what == "segment or CIDR":
        try:
            ipaddress.ip_network(value, strict=False)
            return
        except ValueError:
            pass
    raise located(doc, path, f"unknown {what} `{value}`{suggest(value, names)}")


# ---------------------------------------------------------------- policy


def resolve_policy(policy: Policy, doc: SourceDocument) -> None:
    _hosts_in_segments(policy, doc)
    _sweep_sizes(policy, doc)
    _outbound_names(policy, doc)
    _approved_path_references(policy, doc)
    _exception_references(policy, doc)
    if policy.perimeter.quic is not None:
        for j, host in enumerate(policy.perimeter.quic.hosts):
            where = ("perimeter", "quic", "hosts", j)
            check_reference(doc, where, host, policy.smb_hosts, "SMB host")


def _hosts_in_segments(policy: Policy, doc: SourceDocument) -> None:
    for name, host in policy.smb_hosts.items():
        if policy.segment_of(host.address) is None:
            raise located(
                doc,
                ("smb_hosts", name, "address"),
                f"{host.address} lies in no declared segment; add its subnet to a segment",
            )


def _sweep_sizes(policy: Policy, doc: SourceDocument) -> None:
    """Sweeps stay bounded: every range they cover whole must fit `sweep.max_addresses`."""
    if not policy.sweep.enabled:
        return
    cap = policy.sweep.max_addresses
    whole: list[tuple[KeyPath, Network]] = [
        (("segments", name, "cidrs", i), cidr)
        for name, segment in policy.segments.items()
        for i, cidr in enumerate(segment.cidrs)
        if cidr.version == 4  # IPv6 segments are swept at their declared addresses only
    ]
    whole += [(("sweep", "ranges", i), net) for i, net in enumerate(policy.sweep.ranges)]
    for path, network in whole:
        if network.num_addresses > cap:
            raise located(
                doc,
                path,
                f"{network} has {network.num_addresses} addresses, more than a sweep covers "
                f"(sweep.max_addresses: {cap}); raise sweep.max_addresses, list smaller "
                "ranges, or set sweep.enabled: false",
            )


def _outbound_names(policy: Policy, doc: SourceDocument) -> None:
    for name in policy.perimeter.outbound_targets:
        if name in policy.smb_hosts:
            raise located(
                doc,
                ("perimeter", "outbound_targets", name),
                f"`{name}` is also an SMB host; give the outbound target its own name",
            )


def _approved_path_references(policy: Policy, doc: SourceDocument) -> None:
    for index, path in enumerate(policy.approved_paths):
        for j, source in enumerate(path.from_):
            check_reference(
                doc,
                ("approved_paths", index, "from", j),
                source,
                policy.segments,
                "segment or CIDR",
            )
        for j, target in enumerate(path.to):
            if target != "*":
                check_reference(
                    doc, ("approved_paths", index, "to", j), target, policy.smb_hosts, "SMB host"
                )


def _exception_references(policy: Policy, doc: SourceDocument) -> None:
    seen: set[str] = set()
    for index, exc in enumerate(policy.exceptions):
        where = ("exceptions", index)
        if exc.id in seen:
            raise located(doc, (*where, "id"), f"exception id `{exc.id}` is used twice")
        seen.add(exc.id)
        check_reference(doc, (*where, "from"), exc.from_, policy.segments, "segment or CIDR")
        check_reference(doc, (*where, "to"), exc.to, policy.smb_hosts, "SMB host")
        if exc.expires < exc.created:
            raise located(doc, (*where, "expires"), "expires before it was created")


# ---------------------------------------------------------------- environment


def resolve_environment(env: Environment, policy: Policy, doc: SourceDocument) -> None:
    for name, probe in env.probes.items():
        _probe(env, policy, doc, ("probes", name), probe)
    _policy_addresses_in_scope(env, policy, doc)
    if env.discovery.probe is not None:
        check_reference(doc, ("discovery", "probe"), env.discovery.probe, env.probes, "probe")
    for host_name in env.host_rings:
        check_reference(doc, ("host_rings", host_name), host_name, policy.smb_hosts, "SMB host")
    dialing = [n for n, p in env.probes.items() if p.transport in ("local", "ssh")]
    for host_name, probe_name in env.smb.host_vantage.items():
        where = ("smb", "host_vantage", host_name)
        check_reference(doc, where, host_name, policy.smb_hosts, "SMB host")
        check_reference(doc, where, probe_name, dialing, "local or ssh probe")
    for host_name in env.quic.server_names:
        where = ("quic", "server_names", host_name)
        check_reference(doc, where, host_name, policy.smb_hosts, "SMB host")
    winrm_probes = [n for n, p in env.probes.items() if p.transport == "winrm"]
    for name, windows in env.windows_hosts.items():
        _windows_host(policy, doc, ("windows_hosts", name), windows, winrm_probes)
    for name, deny in env.deny_logs.items():
        _deny_log(env, doc, ("deny_logs", name), deny, winrm_probes)


def _deny_log(
    env: Environment, doc: SourceDocument, where: KeyPath, deny: DenyLog, winrm_probes: list[str]
) -> None:
    windows = [*winrm_probes, *(n for n in env.windows_hosts if n not in winrm_probes)]
    if deny.via is not None and deny.via in windows:
        if deny.format != "pfirewall":
            raise located(doc, (*where, "format"), "a log read over WinRM is `pfirewall`")
        if deny.path is not None:
            raise located(
                doc,
                (*where, "path"),
                "leave `path` out: over WinRM the firewall profiles' LogFileName names the log",
            )
    elif deny.path is None or not (deny.path.startswith("/") or deny.path[1:3] == ":\\"):
        raise located(doc, (*where, "path"), "give the log's absolute path")
    try:
        zoneinfo.ZoneInfo(deny.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise located(
            doc, (*where, "timezone"), "not an IANA time zone (e.g. Europe/Berlin)"
        ) from None
    if deny.via is not None and deny.via not in windows:
        ssh_probes = [n for n, p in env.probes.items() if p.transport == "ssh"]
        check_reference(
            doc, (*where, "via"), deny.via, ssh_probes + windows, "ssh or winrm probe, Windows host"
        )


def _in_scope(env: Environment, address: Address) -> bool:
    return any(address in network for network in env.scope)


def _probe(
    env: Environment, policy: Policy, doc: SourceDocument, where: KeyPath, probe: ProbeConfig
) -> None:
    check_reference(doc, (*where, "segment"), probe.segment, policy.segments, "segment")
    if probe.transport != "local" and not probe.address:
        raise located(doc, (*where, "address"), f"a {probe.transport} probe needs `address`")
    if probe.source_address is None:
        try:
            ipaddress.ip_address(str(probe.address))
        except ValueError:
            raise located(
                doc,
                (*where, "source_address"),
                "set `source_address` (the address its connections come from)",
            ) from None
    segment_cidrs = policy.segments[probe.segment].cidrs
    if not any(probe.own_address in cidr for cidr in segment_cidrs):
        raise located(
            doc,
            (*where, "segment"),
            f"the probe's address {probe.own_address} is not in segment {probe.segment} "
            f"({', '.join(map(str, segment_cidrs))}); fix the segment or set "
            "`source_address` to the address its connections come from",
        )
    if probe.control is None:
        raise located(
            doc,
            (*where, "control"),
            "every probe needs a positive control (address, port) it is meant to reach "
            "across the same boundary; without it no `closed` verdict can be trusted",
        )
    if not _in_scope(env, probe.control.address):
        raise located(
            doc,
            (*where, "control", "address"),
            f"address {probe.control.address} outside the environment's scope",
        )
    _sources(policy, doc, where, probe)
    _smb_port_control(env, policy, doc, where, probe)
    _transport_settings(doc, where, probe)


def _smb_port_control(
    env: Environment, policy: Policy, doc: SourceDocument, where: KeyPath, probe: ProbeConfig
) -> None:
    control = probe.smb_port_control
    if control is None:
        return
    at = (*where, "smb_port_control")
    segment_cidrs = policy.segments[probe.segment].cidrs
    for index, address in enumerate(control.all_addresses):
        place = (*at, "address") if index == 0 else (*at, "addresses", index - 1)
        if not _in_scope(env, address):
            raise located(doc, place, f"address {address} outside the environment's scope")
        if not any(address in cidr for cidr in segment_cidrs):
            raise located(
                doc,
                place,
                f"{address} is not in segment {probe.segment}: the SMB-port control must answer "
                "inside the probe's own segment, with no router between them",
            )
    versions = {a.version for a in control.all_addresses}
    for source in probe.all_sources:
        if source.version not in versions:
            raise located(
                doc,
                (*at, "addresses"),
                f"the probe sends from {source} but its SMB-port control has no IPv"
                f"{source.version} address; add one, or its SMB-port results there cannot pass",
            )


def _sources(policy: Policy, doc: SourceDocument, where: KeyPath, probe: ProbeConfig) -> None:
    segment_cidrs = policy.segments[probe.segment].cidrs
    for index, source in enumerate(probe.sources):
        if not any(source in cidr for cidr in segment_cidrs):
            raise located(
                doc,
                (*where, "sources", index),
                f"{source} is not in segment {probe.segment} "
                f"({', '.join(map(str, segment_cidrs))}); a probe sends only from its segment",
            )
        if probe.transport == "winrm" and probe.default_source(source.version) != source:
            raise located(
                doc,
                (*where, "sources", index),
                "a winrm probe cannot choose its source address; list one address per IP "
                "version at most",
            )


def _transport_settings(doc: SourceDocument, where: KeyPath, probe: ProbeConfig) -> None:
    if probe.transport == "ssh":
        for key in ("user", "key", "known_hosts"):
            if getattr(probe, key) is None:
                raise located(doc, (*where, key), f"an ssh probe needs `{key}`")
    if probe.transport == "winrm":
        if probe.credential is None:
            raise located(doc, (*where, "credential"), "a winrm probe needs `credential`")
        if probe.winrm_auth == "basic" and not probe.allow_basic:
            raise located(doc, (*where, "winrm_auth"), CLEAR_TEXT_BASIC)


def _policy_addresses_in_scope(env: Environment, policy: Policy, doc: SourceDocument) -> None:
    for name, host in policy.smb_hosts.items():
        if not _in_scope(env, host.address):
            raise located(
                doc,
                ("scope",),
                f"SMB host {name}: address {host.address} outside the scope; a mistyped "
                "address? fix it; add its network to `scope` only if it is yours",
            )
    for name, target in policy.perimeter.outbound_targets.items():
        if not _in_scope(env, target.address):
            raise located(
                doc,
                ("scope",),
                f"outbound target {name}: address {target.address} outside the scope",
            )
    for network in policy.discovery.ranges:
        if not any(within(network, s) for s in env.scope):
            raise located(doc, ("scope",), f"discovery range {network} is outside the scope")


def _windows_host(
    policy: Policy,
    doc: SourceDocument,
    where: KeyPath,
    windows: WindowsHost,
    winrm_probes: list[str],
) -> None:
    if (windows.probe is None) == (windows.winrm is None):
        raise located(doc, where, "give exactly one of `probe` (a winrm probe) or `winrm`")
    if windows.probe is not None:
        check_reference(doc, (*where, "probe"), windows.probe, winrm_probes, "winrm probe")
    if (
        windows.winrm is not None
        and windows.winrm.winrm_auth == "basic"
        and not windows.winrm.allow_basic
    ):
        raise located(doc, (*where, "winrm", "winrm_auth"), CLEAR_TEXT_BASIC)
    if windows.smb_host is not None:
        check_reference(doc, (*where, "smb_host"), windows.smb_host, policy.smb_hosts, "SMB host")
