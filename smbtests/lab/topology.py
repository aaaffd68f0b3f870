"""The lab's network as data: segments, hosts, addresses. Others script against these names."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import Literal

NAMESPACE_PREFIX = "smblab-"
ROUTER_NAMESPACE = f"{NAMESPACE_PREFIX}router"

Role = Literal["runner", "smb-server", "probe", "endpoint", "control"]


def _same_number(address: IPv4Address, subnet: IPv4Network, subnet6: IPv6Network) -> IPv6Address:
    number = int(address) - int(subnet.network_address)
    return subnet6[int(str(number), 16)]


@dataclass(frozen=True)
class Segment:
    name: str
    subnet: IPv4Network
    gateway: IPv4Address  # the router's own address in this segment
    # the segment's IPv6 prefix (a ULA /64; documentation space on the internet side) and the
    # router's address in it: the lab is dual-stack, as Windows networks are by default
    subnet6: IPv6Network
    gateway6: IPv6Address

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
    def address6(self) -> IPv6Address:
        """The host's IPv6 address: its IPv4 host number, read as hex digits, in its segment's
        IPv6 prefix (10.45.10.11 -> fd45:0:0:10::11), so the two are easy to tell apart."""
        return _same_number(self.address, self.segment.subnet, self.segment.subnet6)

    @property
    def namespace(self) -> str:
        return f"{NAMESPACE_PREFIX}{self.name}"

    @property
    def router_link(self) -> str:
        """The router-side end of the host's veth pair (the host side is always eth0)."""
        return f"v-{self.name}"


@dataclass(frozen=True)
class Endpoint:
    address: IPv4Address | IPv6Address
    port: int
    quic: bool = False  # a UDP endpoint that answers a QUIC handshake (lab/quic.py), not TCP

    def __str__(self) -> str:
        where = f"[{self.address}]" if self.address.version == 6 else str(self.address)
        return f"{'quic/' if self.quic else ''}{where}:{self.port}"


def _segment(name: str, subnet: str, gateway: str, subnet6: str) -> Segment:
    v4, v6 = IPv4Network(subnet), IPv6Network(subnet6)
    return Segment(name, v4, IPv4Address(gateway), v6, _same_number(IPv4Address(gateway), v4, v6))


MGMT = _segment("mgmt", "10.45.0.0/24", "10.45.0.1", "fd45::/64")
SERVERS = _segment("servers", "10.45.10.0/24", "10.45.10.1", "fd45:0:0:10::/64")
CORP = _segment("corp", "10.45.20.0/24", "10.45.20.1", "fd45:0:0:20::/64")
GUEST = _segment("guest", "10.45.30.0/24", "10.45.30.1", "fd45:0:0:30::/64")
IOT = _segment("iot", "10.45.40.0/24", "10.45.40.1", "fd45:0:0:40::/64")
INTERNET = _segment("internet", "198.51.100.0/24", "198.51.100.1", "2001:db8:51::/64")

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
    # guest1's SMB-port control: listeners on 445 and 139 beside guest1 on the guest bridge (no
    # router between them), so only guest1's own output chain can stop its connects there
    _host("guestctl", GUEST, "10.45.30.30", "control"),
)

HOSTS_BY_NAME: dict[str, Host] = {host.name: host for host in HOSTS}
NAMESPACES: tuple[str, ...] = (ROUTER_NAMESPACE, *(host.namespace for host in HOSTS))

# Positive control: a secondary address on fs1's eth0, so control connections cross the same
# router and routes as the 445 tests without touching smbd (which binds only fs1's own address).
CONTROL = Endpoint(IPv4Address("10.45.10.10"), 8000)
CONTROL6 = Endpoint(IPv6Address("fd45:0:0:10::10"), 8000)
CONTROL_HOST = HOSTS_BY_NAME["fs1"]

SMB_PORT_CONTROL_HOST = HOSTS_BY_NAME["guestctl"]

# Stands for an SMB server on the internet: without a listener, a "closed" answer to the
# outbound-perimeter test would not prove that the firewall stopped it.
INTERNET_SMB = Endpoint(IPv4Address("198.51.100.51"), 445)
INTERNET_SMB6 = Endpoint(IPv6Address("2001:db8:51::51"), 445)
INTERNET_SMB_HOST = HOSTS_BY_NAME["inet1"]

# iot1's second address: a host of the IoT segment that exception EXC-0001 (iot1 -> print1) does
# not name, so "the rest of the segment is denied" is tested from inside the segment
IOT1_SECOND = IPv4Address("10.45.40.42")

# The organisation's public edge address, on the router's internet side: what the internet sees.
# The compliant router answers nothing there; scenario edge-port-forward forwards its 445 to fs1.
PUBLIC_EDGE = IPv4Address("198.51.100.10")
# Addresses only scenarios bring up: fs1's undeclared second interface, an SMB server on the
# internet the policy does not declare as an outbound target.
FS1_SECOND = IPv4Address("10.45.10.21")
INTERNET_ROGUE_SMB = Endpoint(IPv4Address("198.51.100.77"), 445)

# SMB over QUIC (UDP): a stand-in in front of fs1 on fs1's own addresses, and a QUIC positive
# control on the TCP control's addresses (lab/quic.py)
QUIC_PORT = 443
QUIC_HOST = HOSTS_BY_NAME["fs1"]
QUIC_ENDPOINTS = (
    Endpoint(QUIC_HOST.address, QUIC_PORT, quic=True),
    Endpoint(QUIC_HOST.address6, QUIC_PORT, quic=True),
)
QUIC_CONTROLS = (
    Endpoint(CONTROL.address, QUIC_PORT, quic=True),
    Endpoint(CONTROL6.address, QUIC_PORT, quic=True),
)

SMB_PORT = 445
NETBIOS_PORT = 139
SSH_PORT = 22
WINRM_HTTP_PORT = 5985
WINRM_HTTPS_PORT = 5986


def host(name: str) -> Host:
    return HOSTS_BY_NAME[name]


def hosts_with_role(role: Role) -> tuple[Host, ...]:
    return tuple(h for h in HOSTS if h.role == role)
