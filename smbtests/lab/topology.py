"""The lab's network as data: segments, hosts, addresses. Others script against these names."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from typing import Literal

NAMESPACE_PREFIX = "smblab-"
ROUTER_NAMESPACE = f"{NAMESPACE_PREFIX}router"

Role = Literal["runner", "smb-server", "probe", "endpoint"]


@dataclass(frozen=True)
class Segment:
    name: str
    subnet: IPv4Network
    gateway: IPv4Address  # the router's own address in this segment

    @property
    def bridge(self) -> str:
        # Every segment is a bridge in the router namespace, even with one host: one code path,
        # and the forward chain sees every segment the same way.
        return f"br-{self.name}"


@dataclass(frozen=True)
class Host:
    name: str
    segment: Segment
    address: IPv4Address
    role: Role

    @property
    def namespace(self) -> str:
        return f"{NAMESPACE_PREFIX}{self.name}"

    @property
    def router_link(self) -> str:
        """The router-side end of the host's veth pair (the host side is always eth0)."""
        return f"v-{self.name}"


@dataclass(frozen=True)
class Endpoint:
    address: IPv4Address
    port: int

    def __str__(self) -> str:
        return f"{self.address}:{self.port}"


def _segment(name: str, subnet: str, gateway: str) -> Segment:
    return Segment(name, IPv4Network(subnet), IPv4Address(gateway))


MGMT = _segment("mgmt", "10.45.0.0/24", "10.45.0.1")
SERVERS = _segment("servers", "10.45.10.0/24", "10.45.10.1")
CORP = _segment("corp", "10.45.20.0/24", "10.45.20.1")
GUEST = _segment("guest", "10.45.30.0/24", "10.45.30.1")
IOT = _segment("iot", "10.45.40.0/24", "10.45.40.1")
INTERNET = _segment("internet", "198.51.100.0/24", "198.51.100.1")

SEGMENTS: tuple[Segment, ...] = (MGMT, SERVERS, CORP, GUEST, IOT, INTERNET)


def _host(name: str, segment: Segment, address: str, role: Role) -> Host:
    return Host(name, segment, IPv4Address(address), role)


HOSTS: tuple[Host, ...] = (
    _host("mgmt", MGMT, "10.45.0.10", "runner"),  # the runner; may reach everything
    _host("fs1", SERVERS, "10.45.10.11", "smb-server"),
    _host("dc1", SERVERS, "10.45.10.12", "smb-server"),
    _host("print1", SERVERS, "10.45.10.13", "smb-server"),
    _host("corp1", CORP, "10.45.20.21", "probe"),
    _host("win1", CORP, "10.45.20.22", "endpoint"),  # Windows: a WS-Management double (wsman/)
    _host("guest1", GUEST, "10.45.30.31", "probe"),
    _host("iot1", IOT, "10.45.40.41", "probe"),
    _host("inet1", INTERNET, "198.51.100.51", "probe"),
)

HOSTS_BY_NAME: dict[str, Host] = {host.name: host for host in HOSTS}
NAMESPACES: tuple[str, ...] = (ROUTER_NAMESPACE, *(host.namespace for host in HOSTS))

# Positive control: a secondary address on fs1's eth0, so control connections cross the same
# router and routes as the 445 tests without touching smbd (which binds only fs1's own address).
CONTROL = Endpoint(IPv4Address("10.45.10.10"), 8000)
CONTROL_HOST = HOSTS_BY_NAME["fs1"]

# Stands for an SMB server on the internet: without a listener, a "closed" answer to the
# outbound-perimeter test would not prove that the firewall stopped it.
INTERNET_SMB = Endpoint(IPv4Address("198.51.100.51"), 445)
INTERNET_SMB_HOST = HOSTS_BY_NAME["inet1"]

# iot1's second address: a host of the IoT segment that exception EXC-0001 (iot1 -> print1) does
# not name, so "the rest of the segment is denied" is tested from inside the segment
IOT1_SECOND = IPv4Address("10.45.40.42")

SMB_PORT = 445
NETBIOS_PORT = 139
SSH_PORT = 22
WINRM_HTTP_PORT = 5985
WINRM_HTTPS_PORT = 5986


def host(name: str) -> Host:
    return HOSTS_BY_NAME[name]


def hosts_with_role(role: Role) -> tuple[Host, ...]:
    return tuple(h for h in HOSTS if h.role == role)
