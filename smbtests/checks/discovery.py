"""discovery:RANGE — no undeclared host in a policy range answers on the discovery ports
(seed step 1: the inventory is complete).

The discovery probe connects to every address of the range on every port, in the same batch
as its control; any listener that is neither a declared SMB host nor a declared outbound
target fails the check. Connects the probe itself could not make leave the range unproven.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from datetime import date

from smbtests.checks._connect import range_observation, range_unproven
from smbtests.checks._paths import port_control_addresses
from smbtests.checks.base import BatchKey, BatchKind, Check, Connect, Facts, Family, Need
from smbtests.checks.verdicts import Judging, Outcome, Verdict, violated
from smbtests.config import LoadedConfig
from smbtests.errors import ProbeError
from smbtests.observations import (
    ConnectResult,
    ConnectState,
    DiscoveryObservation,
    Observation,
    Target,
)

NAME = "discovery"
FAMILY = Family.OTHER


def plan(config: LoadedConfig, today: date) -> list[Check]:
    policy = config.policy
    probe = config.environment.discovery.probe
    if probe is None or not policy.discovery.ranges:
        return []
    ports = ", ".join(map(str, policy.discovery.ports))
    return [
        Check(
            id=f"{NAME}:{network}",
            kind=NAME,
            step=1,
            rule=f"no undeclared host in {network} answers on {ports}",
            feature="No undeclared SMB listeners",
            story=str(network),
            severity="critical",
            batch=BatchKey(BatchKind.SCAN, probe),
            marker="smb_inventory",
            probe=probe,
            discovery_range=str(network),
        )
        for network in policy.discovery.ranges
    ]


def needs(check: Check, config: LoadedConfig) -> Sequence[Need]:
    assert check.discovery_range is not None
    network = ipaddress.ip_network(check.discovery_range)
    controls = port_control_addresses(config.environment)
    return [
        Connect(Target(str(address), port))
        for address in network.hosts()
        if address not in controls
        for port in config.policy.discovery.ports
    ]


def observe(check: Check, facts: Facts) -> Observation:
    network = ipaddress.ip_network(check.discovery_range or "")
    # on each port scanned: a port the probe's SMB-port control did not answer on is unproven
    ports = sorted({need.target.port for need in facts.values if isinstance(need, Connect)})
    found = [facts.control_for(Target(str(network.network_address), p)) for p in ports or [0]]
    control = next(
        (c for c in found if c is not None and c.state is not ConnectState.OPEN), found[0]
    )
    if control is None:
        raise ProbeError(
            check.probe or "?", f"no control in IPv{network.version} proves it can connect"
        )
    results: list[ConnectResult] = [facts.get(need) for need in facts.values]
    return range_observation(check.discovery_range or "", results, control, by_address=True)


def judge(check: Check, obs: DiscoveryObservation, judging: Judging) -> Verdict:
    unproven = range_unproven(obs, check.probe or "?", f"in {obs.range}", "the range is not proven")
    if unproven is not None:
        return unproven
    policy = judging.policy
    declared = {str(h.address) for h in policy.smb_hosts.values()} | {
        str(t.address) for t in policy.perimeter.outbound_targets.values()
    }
    rogue = [address for address in obs.listeners if address not in declared]
    summary = ", ".join(f"{n} {s}" for s, n in sorted(obs.states.items()))
    if rogue:
        return violated(
            check,
            f"undeclared SMB listener(s) in {obs.range}: {', '.join(rogue)} ({summary})",
            "undeclared:" + ",".join(rogue),
        )
    known = ", ".join(obs.listeners) or "none"
    return Verdict(
        Outcome.PASSED,
        f"{obs.scanned} addresses in {obs.range} scanned ({summary}); declared listeners: {known}",
        "clean",
    )
