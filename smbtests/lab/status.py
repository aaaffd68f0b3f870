"""`lab status`: each host, its address, its services, and whether they answer right now."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from smbtests.errors import LabError
from smbtests.lab import netns, network, services
from smbtests.lab.state import LabState
from smbtests.lab.topology import HOSTS, ROUTER_NAMESPACE


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    endpoint: str
    # "open" / "refused" / "filtered" / "error: ..." from a connect, or "stopped" when the
    # active scenario stopped it on purpose.
    answer: str
    expected: bool

    @property
    def healthy(self) -> bool:
        return self.answer == "open" if self.expected else True


@dataclass(frozen=True)
class HostStatus:
    name: str
    namespace: str
    address: str
    namespace_present: bool
    address_present: bool
    services: tuple[ServiceStatus, ...]

    @property
    def healthy(self) -> bool:
        return (
            self.namespace_present
            and self.address_present
            and all(s.healthy for s in self.services)
        )


@dataclass(frozen=True)
class LabStatus:
    hosts: tuple[HostStatus, ...]
    router_present: bool
    router_ruleset_loaded: bool
    active_scenarios: tuple[str, ...]

    @property
    def healthy(self) -> bool:
        return (
            self.router_present
            and self.router_ruleset_loaded
            and all(h.healthy for h in self.hosts)
        )

    def as_dict(self) -> dict[str, object]:
        document = asdict(self)
        document["healthy"] = self.healthy
        for host_doc, host_status in zip(document["hosts"], self.hosts, strict=True):
            host_doc["healthy"] = host_status.healthy
        return document


def _eth0_addresses(namespace: str) -> set[str]:
    listing = netns.run(
        ["ip", "-n", namespace, "-4", "-o", "addr", "show", "dev", "eth0"], check=False
    ).stdout
    return {fields[3].split("/")[0] for fields in map(str.split, listing.splitlines())}


def _ruleset_loaded() -> bool:
    table = netns.run(
        netns.exec_argv(ROUTER_NAMESPACE, ["nft", "list", "table", *network.ROUTER_TABLE]),
        check=False,
    )
    return table.returncode == 0


def _services(state: LabState, present: set[str]) -> list[tuple[services.Service, ServiceStatus]]:
    """Every compliant service, plus any a scenario added; stopped ones are not checked."""
    running = [s for s in services.ALL_SERVICES.values() if s.name in state.processes]
    checkable = [s for s in running if {s.check_from, s.host.namespace} <= present]
    try:
        answers = services.check(checkable)
    except LabError as exc:
        answers = {name: f"error: {exc}" for s in checkable for name in s.answers}
    found = []
    for service in services.ALL_SERVICES.values():
        expected = service in running
        if not expected and service not in services.COMPLIANT_SERVICES:
            continue
        for name, endpoint in service.answers.items():
            answer = answers.get(name, "error: namespace missing") if expected else "stopped"
            found.append((service, ServiceStatus(name, str(endpoint), answer, expected)))
    return found


def collect(state: LabState) -> LabStatus:
    present = set(netns.lab_namespaces())
    service_statuses = _services(state, present)
    hosts = []
    for host in HOSTS:
        in_ns = host.namespace in present
        hosts.append(
            HostStatus(
                name=host.name,
                namespace=host.namespace,
                address=str(host.address),
                namespace_present=in_ns,
                address_present=in_ns and str(host.address) in _eth0_addresses(host.namespace),
                services=tuple(status for svc, status in service_statuses if svc.host == host),
            )
        )
    router_present = ROUTER_NAMESPACE in present
    return LabStatus(
        hosts=tuple(hosts),
        router_present=router_present,
        router_ruleset_loaded=router_present and _ruleset_loaded(),
        active_scenarios=tuple(state.active_scenarios),
    )


def render(status: LabStatus) -> str:
    rows = [("HOST", "NAMESPACE", "ADDRESS", "SERVICES")]
    ruleset = "loaded" if status.router_ruleset_loaded else "MISSING"
    rows.append(
        (
            "router",
            ROUTER_NAMESPACE if status.router_present else f"{ROUTER_NAMESPACE} MISSING",
            ".1 of each segment",
            f"nftables table inet smblab {ruleset}",
        )
    )
    for host in status.hosts:
        namespace = host.namespace if host.namespace_present else f"{host.namespace} MISSING"
        address = host.address if host.address_present else f"{host.address} MISSING"
        described = ", ".join(
            f"{s.name.split('/')[1]} {s.endpoint} {s.answer}" for s in host.services
        )
        rows.append((host.name, namespace, address, described or "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True))
        + "  "
        + row[3]
        for row in rows
    ]
    scenario = ", ".join(status.active_scenarios) or "compliant"
    lines.append(f"scenario: {scenario}")
    lines.append("healthy" if status.healthy else "NOT healthy")
    return "\n".join(lines)
