"""The plan: policy x environment -> a sorted list of checks, one per test item.

Pure and deterministic: the same files give the same checks in the same order on every xdist
worker. Each check knows the rule it proves, the seed step, its vantage and what it expects.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from smbtests.model import BASELINE_DEFAULTS, LoadedConfig, Policy, ProbeConfig, Target

STEP_TITLES: dict[int, str] = {
    1: "1 Inventory",
    2: "2 Perimeter and untrusted zones",
    3: "3 Least privilege",
    4: "4 Hardening",
    5: "5 Deployment",
    6: "6 Verification",
    7: "7 Exceptions",
}


class Kind(StrEnum):
    CONTROL = "control"
    REACH = "reach"
    DISCOVERY = "discovery"
    SMB1 = "smb1"
    SIGNING = "signing"
    DIALECT = "dialect"
    ENCRYPTION = "encryption"
    ANONYMOUS = "anonymous"
    GUEST = "guest"
    ACCESS = "access"
    EXCEPTION = "exception"
    WIN_SMB1 = "win-smb1"
    WIN_SIGNING = "win-signing"
    WIN_ENCRYPTION = "win-encryption"
    WIN_FIREWALL = "win-firewall"
    WIN_FIREWALL_LOG = "win-firewall-log"
    WIN_445_RULES = "win-445-rules"
    WIN_QUIC = "win-quic"
    DRIFT = "drift"


# Kinds answered by a probe's connect batch; SMB conversations from the runner; readings of a
# Windows host's own configuration over WinRM.
SCAN_KINDS = frozenset({Kind.CONTROL, Kind.REACH, Kind.DISCOVERY, Kind.EXCEPTION})
WINDOWS_KINDS = frozenset(
    {
        Kind.WIN_SMB1,
        Kind.WIN_SIGNING,
        Kind.WIN_ENCRYPTION,
        Kind.WIN_FIREWALL,
        Kind.WIN_FIREWALL_LOG,
        Kind.WIN_445_RULES,
        Kind.WIN_QUIC,
        Kind.DRIFT,
    }
)

MARKERS: dict[Kind, str] = {
    Kind.CONTROL: "smb_verification",
    Kind.DISCOVERY: "smb_inventory",
    Kind.ACCESS: "smb_inventory",
    Kind.EXCEPTION: "smb_exceptions",
    Kind.WIN_FIREWALL: "smb_deployment",
    Kind.WIN_FIREWALL_LOG: "smb_deployment",
    Kind.WIN_445_RULES: "smb_deployment",
    Kind.DRIFT: "smb_verification",
}


class Expect(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True, repr=False)
class Check:
    """One test item: what is checked, from where, what the policy expects, and why."""

    id: str
    kind: Kind
    step: int
    rule: str
    feature: str
    story: str
    severity: str
    probe: str | None = None
    host: str | None = None
    target: Target | None = None
    expect: Expect | None = None
    exception_id: str | None = None
    discovery_range: str | None = None
    windows_role: str | None = None
    rings: tuple[str, ...] = ()

    def __repr__(self) -> str:
        # Short and stable: reports derive history ids and parameter values from it.
        return f"Check({self.id!r})"

    @property
    def marker(self) -> str:
        if self.kind in MARKERS:
            return MARKERS[self.kind]
        if self.kind is Kind.REACH:
            return "smb_perimeter" if self.step == 2 else "smb_segmentation"
        return "smb_hardening"

    @property
    def xdist_group(self) -> str:
        """Under pytest-xdist: every scan on one worker (I/O-bound, started together so their
        timeouts overlap), SMB talk spread per host (CPU-bound impacket work)."""
        return "scans" if self.kind in SCAN_KINDS else self.batch_key

    @property
    def batch_key(self) -> str:
        """Checks sharing a key run as one batch (one probe's scan, or one host's SMB talk)."""
        if self.kind in SCAN_KINDS:
            return f"probe:{self.probe}"
        if self.kind in WINDOWS_KINDS:
            return f"win:{self.host}"
        return f"smb:{self.host}"


def _expected_reach(
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
            f"445 must be closed inbound from perimeter segment {probe.segment}",
            2,
            "blocker",
        )
    return (
        Expect.CLOSED,
        f"no approved path from {probe.segment} to {host_name}:{port}; deny all other 445",
        3,
        "critical",
    )


def _smb_ports(policy: Policy) -> list[int]:
    """445 plus every other port the policy approves or excepts (e.g. 139): each is tested
    from every probe, open where approved and closed everywhere else."""
    ports = {445}
    for path in policy.approved_paths:
        ports.update(path.ports)
    ports.update(exc.port for exc in policy.exceptions)
    return sorted(ports)


def _probe_checks(config: LoadedConfig, today: date) -> list[Check]:
    policy = config.policy
    checks: list[Check] = []
    ports = _smb_ports(policy)
    for name, probe in config.environment.probes.items():
        control = probe.control
        assert control is not None  # the loader rejects probes without one
        checks.append(
            Check(
                id=f"control:{name}",
                kind=Kind.CONTROL,
                step=6,
                rule="the probe reaches its positive control, so its 'closed' results are real",
                feature="Probes can prove a port is blocked",
                story=probe.segment,
                severity="critical",
                probe=name,
                target=Target(str(control.address), control.port),
                expect=Expect.OPEN,
                rings=probe.rings,
            )
        )
        for host_name, host in policy.smb_hosts.items():
            for port in ports:
                expect, rule, step, severity = _expected_reach(
                    policy, probe, host_name, port, today
                )
                feature = {
                    (Expect.OPEN, 3): "Approved SMB paths work",
                    (Expect.OPEN, 7): "Excepted SMB paths work",
                    (Expect.CLOSED, 2): "445 closed from untrusted and perimeter segments",
                    (Expect.CLOSED, 3): "445 denied outside approved paths",
                }[(expect, step)]
                checks.append(
                    Check(
                        id=f"reach:{name}/{host_name}:{port}",
                        kind=Kind.REACH,
                        step=step,
                        rule=rule,
                        feature=feature,
                        story=f"{probe.segment} -> {host_name}",
                        severity=severity,
                        probe=name,
                        host=host_name,
                        target=Target(str(host.address), port),
                        expect=expect,
                        rings=tuple(
                            sorted(
                                {*probe.rings, *config.environment.host_rings.get(host_name, ())}
                            )
                        ),
                    )
                )
        if policy.segments[probe.segment].kind != "perimeter":
            for target_name, target in policy.perimeter.outbound_targets.items():
                checks.append(
                    Check(
                        id=f"reach:{name}/{target_name}:{target.port}",
                        kind=Kind.REACH,
                        step=2,
                        rule=f"outbound {target.port} to the internet must be closed "
                        f"({target_name}: {target.description or target.address})",
                        feature="445 closed outbound to the internet",
                        story=f"{probe.segment} -> internet",
                        severity="blocker",
                        probe=name,
                        host=target_name,
                        target=Target(str(target.address), target.port),
                        expect=Expect.CLOSED,
                        rings=probe.rings,
                    )
                )
    return checks


def _discovery_checks(config: LoadedConfig) -> list[Check]:
    policy = config.policy
    probe = config.environment.discovery.probe
    if probe is None or not policy.discovery.ranges:
        return []
    return [
        Check(
            id=f"discovery:{network}",
            kind=Kind.DISCOVERY,
            step=1,
            rule=f"no undeclared host in {network} answers on "
            f"{', '.join(map(str, policy.discovery.ports))}",
            feature="No undeclared SMB listeners",
            story=str(network),
            severity="critical",
            probe=probe,
            discovery_range=str(network),
        )
        for network in policy.discovery.ranges
    ]


def _smb_checks(config: LoadedConfig) -> list[Check]:
    policy = config.policy
    checks: list[Check] = []
    has_credential = config.environment.smb.credential is not None
    for host_name, host in policy.smb_hosts.items():
        baseline = policy.baseline_for(host_name)
        target = Target(str(host.address), 445)
        rings = config.environment.host_rings.get(host_name, ())
        entries: list[tuple[Kind, str, str, str]] = []
        if baseline.smb1 == "refused":
            entries.append((Kind.SMB1, "SMB1 negotiation is refused", "SMB1 refused", "critical"))
        if baseline.signing == "required":
            entries.append(
                (
                    Kind.SIGNING,
                    "the server requires signing at every SMB2/3 dialect it offers",
                    "SMB signing required",
                    "critical",
                )
            )
        entries.append(
            (
                Kind.DIALECT,
                f"no dialect below SMB {baseline.min_dialect} is accepted",
                "SMB dialect floor",
                "normal",
            )
        )
        if baseline.encryption == "required":
            entries.append(
                (
                    Kind.ENCRYPTION,
                    "sessions are encrypted (the server demands it)",
                    "SMB encryption required",
                    "critical",
                )
            )
        if baseline.anonymous == "refused":
            entries.append(
                (
                    Kind.ANONYMOUS,
                    "no share can be listed without credentials",
                    "No anonymous SMB access",
                    "critical",
                )
            )
        if baseline.guest == "refused":
            entries.append(
                (
                    Kind.GUEST,
                    "the guest account cannot list shares",
                    "No guest SMB access",
                    "critical",
                )
            )
        if has_credential:
            entries.append(
                (
                    Kind.ACCESS,
                    f"the declared shares ({', '.join(host.shares) or 'none'}) "
                    "open with the approved account",
                    "Declared shares work",
                    "normal",
                )
            )
        for kind, rule, feature, severity in entries:
            checks.append(
                Check(
                    id=f"{kind}:{host_name}",
                    kind=kind,
                    step=6 if kind is Kind.ACCESS else 4,
                    rule=rule,
                    feature=feature,
                    story=host_name,
                    severity=severity,
                    host=host_name,
                    target=target,
                    rings=rings,
                )
            )
    return checks


def _exception_checks(config: LoadedConfig) -> list[Check]:
    policy = config.policy
    checks = []
    for exc in policy.exceptions:
        host = policy.smb_hosts[exc.to]
        networks = policy.networks_of(exc.from_)
        probe = next(
            (
                name
                for name, p in sorted(config.environment.probes.items())
                if any(p.own_address in net for net in networks)
            ),
            None,
        )
        checks.append(
            Check(
                id=f"exception:{exc.id}",
                kind=Kind.EXCEPTION,
                step=7,
                rule=f"exception {exc.id} is complete, approved by someone else, reviewed, "
                "unexpired and in use",
                feature="Exceptions are governed",
                story=exc.id,
                severity="normal",
                probe=probe,
                host=exc.to,
                target=Target(str(host.address), exc.port),
                exception_id=exc.id,
            )
        )
    return checks


def _windows_checks(config: LoadedConfig) -> list[Check]:
    policy = config.policy
    checks: list[Check] = []
    for name, windows in config.environment.windows_hosts.items():
        baseline = (
            policy.baseline_for(windows.smb_host)
            if windows.smb_host is not None
            else policy.hardening.over(BASELINE_DEFAULTS)
        )
        profiles = ", ".join(policy.deployment.firewall_profiles)
        exposure = (
            "no enabled inbound rule allows 445 from any address"
            if windows.role == "server"
            else "no enabled inbound rule allows 445 in the Public or Private profile"
        )
        entries: list[tuple[Kind, int, str, str, str]] = [
            (
                Kind.WIN_FIREWALL,
                5,
                f"the firewall is on with inbound blocked by default ({profiles})",
                "Windows firewall profiles enforced",
                "critical",
            ),
            (
                Kind.WIN_FIREWALL_LOG,
                5,
                "dropped packets are logged to a file of at least "
                f"{policy.deployment.firewall_log_min_kb} KB ({profiles})",
                "Windows firewall logging on",
                "normal",
            ),
            (Kind.WIN_445_RULES, 2, exposure, "Windows hosts publish no 445", "critical"),
        ]
        if baseline.smb1 == "refused":
            entries.append(
                (
                    Kind.WIN_SMB1,
                    4,
                    "SMB1 is switched off and its feature removed",
                    "SMB1 refused",
                    "critical",
                )
            )
        if baseline.signing == "required":
            entries.append(
                (
                    Kind.WIN_SIGNING,
                    4,
                    "the SMB server requires signing",
                    "SMB signing required",
                    "critical",
                )
            )
        if baseline.encryption == "required":
            entries.append(
                (
                    Kind.WIN_ENCRYPTION,
                    4,
                    "the SMB server encrypts and rejects unencrypted access",
                    "SMB encryption required",
                    "critical",
                )
            )
        if windows.remote_access:
            entries.append(
                (
                    Kind.WIN_QUIC,
                    4,
                    "SMB over QUIC is on with a certificate mapping, "
                    "so remote users never need 445",
                    "SMB over QUIC for remote use",
                    "normal",
                )
            )
        if windows.smb_host is not None:
            entries.append(
                (
                    Kind.DRIFT,
                    6,
                    f"what the wire shows of {windows.smb_host} (SMB1, "
                    "signing) matches the host's own configuration",
                    "Wire and configuration agree",
                    "critical",
                )
            )
        target = None
        if windows.smb_host is not None:
            target = Target(str(policy.smb_hosts[windows.smb_host].address), 445)
        for kind, step, rule, feature, severity in entries:
            checks.append(
                Check(
                    id=f"{kind}:{name}",
                    kind=kind,
                    step=step,
                    rule=rule,
                    feature=feature,
                    story=name,
                    severity=severity,
                    probe=windows.probe,
                    host=name,
                    target=target,
                    windows_role=windows.role,
                    rings=config.environment.probes[windows.probe].rings
                    if windows.probe is not None
                    else config.environment.host_rings.get(windows.smb_host or "", ()),
                )
            )
    return checks


def build_plan(config: LoadedConfig, today: date) -> list[Check]:
    """Every check the policy implies in this environment, sorted by id."""
    checks = [
        *_probe_checks(config, today),
        *_discovery_checks(config),
        *_smb_checks(config),
        *_exception_checks(config),
        *_windows_checks(config),
    ]
    ids = [c.id for c in checks]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"plan produced duplicate check ids: {duplicates}")
    return sorted(checks, key=lambda c: c.id)
