"""Build the lab's namespaces, links, addresses, routes, router firewall and the doubles' filters.

Every link is made from inside the router namespace with its peer placed straight into the host's
namespace, so the machine's root namespace never holds a lab link, address or route.
"""

from __future__ import annotations

import sys
from importlib import resources

from smbtests.lab import netns
from smbtests.lab.topology import (
    CONTROL,
    CONTROL6,
    CONTROL_HOST,
    HOSTS,
    HOSTS_BY_NAME,
    IOT1_SECOND,
    PUBLIC_EDGE,
    ROUTER_NAMESPACE,
    SEGMENTS,
)

ROUTER_RULESET = "files/router.nft"
ROUTER_TABLE = ("inet", "smblab")
WIN1_RULESET = "files/win1.nft"
DC1_RULESET = "files/dc1.nft"

_IPV6 = {
    # Static addresses only: no router advertisements, no autoconfiguration, and no duplicate
    # address detection (which would hold every new address "tentative" for a second or two).
    # "default" first: links created later in the namespace inherit it.
    **{
        f"net.ipv6.conf.{which}.{key}": value
        for which in ("default", "all")
        for key, value in (
            ("disable_ipv6", "0"),
            ("accept_ra", "0"),
            ("autoconf", "0"),
            ("accept_dad", "0"),
            ("dad_transmits", "0"),
        )
    },
}
_ROUTER = {
    "net.ipv4.ip_forward": "1",
    "net.ipv6.conf.all.forwarding": "1",
    # Keep bridged (same-segment) frames out of the inet hooks: the router filters routed
    # traffic between segments, as a layer-3 firewall behind access switches does.
    "net.bridge.bridge-nf-call-iptables": "0",
    # and IPv6 ones too: without it the forward chain drops the neighbour solicitations of two
    # hosts of one segment (measured: guest1 -> guestctl over IPv6 stayed INCOMPLETE)
    "net.bridge.bridge-nf-call-ip6tables": "0",
}


# One connect from a secondary address to the control, so the router learns where it lives.
_ANNOUNCE = (
    "import socket, sys\n"
    "with socket.socket() as s:\n"
    "    s.bind((sys.argv[1], 0)); s.settimeout(5); s.connect((sys.argv[2], int(sys.argv[3])))\n"
)


def announce_secondary_addresses() -> None:
    """Make the router resolve iot1's second address before any probe uses it.

    A real host announces a new address (gratuitous ARP); `ip addr add` here does not, and the
    first connects from it, made while every probe scans at once, were measured to go
    unanswered for a whole connect timeout (the per-source control turned them into errors).
    """
    iot1 = HOSTS_BY_NAME["iot1"]
    argv = [
        sys.executable,
        "-c",
        _ANNOUNCE,
        str(IOT1_SECOND),
        str(CONTROL.address),
        str(CONTROL.port),
    ]
    netns.run(netns.exec_argv(iot1.namespace, argv))


# The neighbour (ARP) table is one per machine (gc_thresh3 1024 entries across every namespace).
# A sweep makes every probe and the router resolve every address of their segments; with the
# kernel's default (3 solicitations a second apart) the unresolved ones pile up, the table
# overflows and new entries fail, so a live listener's replies are dropped and it looks
# filtered. In the lab an answer comes in microseconds: a new address is solicited once, 200 ms
# apart, so an absent one is given up quickly; a known neighbour is still re-checked the
# kernel's three times (ucast_solicit), so a live host never drops out. Per device, in the
# lab's namespaces only.
_QUICK_NEIGHBOURS = {"mcast_solicit": "1", "retrans_time_ms": "200"}


def _quick_neighbours(namespace: str, devices: list[str]) -> None:
    netns.sysctl(
        namespace,
        {
            f"net.ipv4.neigh.{device}.{key}": value
            for device in devices
            for key, value in _QUICK_NEIGHBOURS.items()
        },
    )


def ruleset_text(name: str = ROUTER_RULESET) -> str:
    return resources.files("smbtests.lab").joinpath(name).read_text()


def build() -> None:
    for namespace in (ROUTER_NAMESPACE, *(h.namespace for h in HOSTS)):
        netns.add(namespace)
        netns.sysctl(namespace, _IPV6)
        netns.ip(namespace, "link", "set", "lo", "up")
    netns.sysctl(ROUTER_NAMESPACE, _ROUTER)

    for segment in SEGMENTS:
        netns.ip(ROUTER_NAMESPACE, "link", "add", segment.bridge, "type", "bridge")
        netns.ip(
            ROUTER_NAMESPACE, "addr", "add",
            f"{segment.gateway}/{segment.subnet.prefixlen}", "dev", segment.bridge,
        )  # fmt: skip
        netns.ip(
            ROUTER_NAMESPACE, "-6", "addr", "add",
            f"{segment.gateway6}/{segment.subnet6.prefixlen}", "dev", segment.bridge, "nodad",
        )  # fmt: skip
        netns.ip(ROUTER_NAMESPACE, "link", "set", segment.bridge, "up")

    for host in HOSTS:
        link = host.router_link
        netns.ip(
            ROUTER_NAMESPACE, "link", "add", link,
            "type", "veth", "peer", "name", "eth0", "netns", host.namespace,
        )  # fmt: skip
        netns.ip(ROUTER_NAMESPACE, "link", "set", link, "master", host.segment.bridge, "up")
        prefix = host.segment.subnet.prefixlen
        netns.ip(host.namespace, "addr", "add", f"{host.address}/{prefix}", "dev", "eth0")
        prefix6 = host.segment.subnet6.prefixlen
        netns.ip(
            host.namespace,
            "-6",
            "addr",
            "add",
            f"{host.address6}/{prefix6}",
            "dev",
            "eth0",
            "nodad",
        )
        netns.ip(host.namespace, "link", "set", "eth0", "up")
        netns.ip(host.namespace, "route", "add", "default", "via", str(host.segment.gateway))
        netns.ip(host.namespace, "-6", "route", "add", "default", "via", str(host.segment.gateway6))

    # Added after the primary addresses, so they are secondary ones and each host's own traffic
    # keeps leaving from its first address unless a probe binds the second on purpose.
    iot1 = HOSTS_BY_NAME["iot1"]
    for owner, address in ((CONTROL_HOST, CONTROL.address), (iot1, IOT1_SECOND)):
        prefix = owner.segment.subnet.prefixlen
        netns.ip(owner.namespace, "addr", "add", f"{address}/{prefix}", "dev", "eth0")
    prefix6 = CONTROL_HOST.segment.subnet6.prefixlen
    netns.ip(
        CONTROL_HOST.namespace, "-6", "addr", "add",
        f"{CONTROL6.address}/{prefix6}", "dev", "eth0", "nodad",
    )  # fmt: skip

    _quick_neighbours(ROUTER_NAMESPACE, [segment.bridge for segment in SEGMENTS])
    for host in HOSTS:
        _quick_neighbours(host.namespace, ["eth0"])
    internet = next(s for s in SEGMENTS if s.name == "internet")
    netns.ip(
        ROUTER_NAMESPACE, "addr", "add",
        f"{PUBLIC_EDGE}/{internet.subnet.prefixlen}", "dev", internet.bridge,
    )  # fmt: skip
    netns.nft(ROUTER_NAMESPACE, ruleset_text())
    # The WinRM doubles' own filters: the router never sees corp1 -> win1, nor fs1 or print1 ->
    # dc1, which their segment's bridge switches.
    netns.nft(HOSTS_BY_NAME["win1"].namespace, ruleset_text(WIN1_RULESET))
    netns.nft(HOSTS_BY_NAME["dc1"].namespace, ruleset_text(DC1_RULESET))
