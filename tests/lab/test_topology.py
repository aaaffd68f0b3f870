"""The lab's network is the one DESIGN.md promises, and none of it touches the root namespace."""

from __future__ import annotations

import json
import subprocess
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

import pytest

from tests.conftest import Lab

pytestmark = pytest.mark.lab

HOSTS = {
    "mgmt": ("10.45.0.10", "10.45.0.1"),
    "fs1": ("10.45.10.11", "10.45.10.1"),
    "dc1": ("10.45.10.12", "10.45.10.1"),
    "print1": ("10.45.10.13", "10.45.10.1"),
    "corp1": ("10.45.20.21", "10.45.20.1"),
    "win1": ("10.45.20.22", "10.45.20.1"),
    "guest1": ("10.45.30.31", "10.45.30.1"),
    "iot1": ("10.45.40.41", "10.45.40.1"),
    "inet1": ("198.51.100.51", "198.51.100.1"),
    "guestctl": ("10.45.30.30", "10.45.30.1"),  # guest1's SMB-port control
}
# each host's IPv6 address: its IPv4 host number, read as hex, in its segment's /64
HOSTS6 = {
    "mgmt": ("fd45::10", "fd45::1"),
    "fs1": ("fd45:0:0:10::11", "fd45:0:0:10::1"),
    "dc1": ("fd45:0:0:10::12", "fd45:0:0:10::1"),
    "print1": ("fd45:0:0:10::13", "fd45:0:0:10::1"),
    "corp1": ("fd45:0:0:20::21", "fd45:0:0:20::1"),
    "win1": ("fd45:0:0:20::22", "fd45:0:0:20::1"),
    "guest1": ("fd45:0:0:30::31", "fd45:0:0:30::1"),
    "iot1": ("fd45:0:0:40::41", "fd45:0:0:40::1"),
    "inet1": ("2001:db8:51::51", "2001:db8:51::1"),
    "guestctl": ("fd45:0:0:30::30", "fd45:0:0:30::1"),
}
ROUTER_ADDRESSES = {
    "10.45.0.1",
    "10.45.10.1",
    "10.45.20.1",
    "10.45.30.1",
    "10.45.40.1",
    "198.51.100.1",
    "198.51.100.10",  # the lab edge's public address (perimeter.public_addresses)
}
LAB_NETWORKS = (IPv4Network("10.45.0.0/16"), IPv4Network("198.51.100.0/24"))
LAB_NETWORKS6 = (IPv6Network("fd45::/48"), IPv6Network("2001:db8:51::/64"))


def ip_json(*args: str) -> list[dict[str, object]]:
    out = subprocess.run(
        ["ip", "-j", *args], capture_output=True, text=True, check=True, timeout=10
    )
    return json.loads(out.stdout) if out.stdout.strip() else []


def addresses(namespace: str | None, device: str | None = None, family: str = "-4") -> set[str]:
    scope = ["-n", namespace] if namespace else []
    selector = ["dev", device] if device else []
    return {
        info["local"]
        for link in ip_json(*scope, family, "addr", "show", *selector)
        for info in link["addr_info"]  # type: ignore[attr-defined]
    }


def sysctl(namespace: str, key: str) -> str:
    path = "/proc/sys/" + key.replace(".", "/")
    out = subprocess.run(
        ["ip", "netns", "exec", namespace, "cat", path], capture_output=True, text=True, timeout=10
    )
    return out.stdout.strip()


def test_every_lab_namespace_exists(lab: Lab) -> None:
    listed = {
        line.split()[0]
        for line in subprocess.run(
            ["ip", "netns", "list"], capture_output=True, text=True, check=True
        ).stdout.splitlines()
    }
    expected = {"smblab-router", *(f"smblab-{host}" for host in HOSTS)}
    assert expected <= listed


@pytest.mark.parametrize("host", sorted(HOSTS))
def test_host_addresses_and_routes_in_both_families(lab: Lab, host: str) -> None:
    namespace = f"smblab-{host}"
    address, gateway = HOSTS[host]
    assert address in addresses(namespace, "eth0")
    routes = ip_json("-n", namespace, "-4", "route", "show", "default")
    assert [r["gateway"] for r in routes] == [gateway]
    address6, gateway6 = HOSTS6[host]
    assert address6 in addresses(namespace, "eth0", "-6")
    routes6 = ip_json("-n", namespace, "-6", "route", "show", "default")
    assert [r["gateway"] for r in routes6] == [gateway6]
    # static addresses only: no router advertisements or autoconfiguration
    assert sysctl(namespace, "net.ipv6.conf.eth0.accept_ra") == "0"
    assert sysctl(namespace, "net.ipv6.conf.eth0.autoconf") == "0"
    links = {link["ifname"]: link for link in ip_json("-n", namespace, "link", "show")}
    assert set(links) == {"lo", "eth0"}
    assert "UP" in links["lo"]["flags"]  # type: ignore[operator]


def test_control_address_is_secondary_on_fs1(lab: Lab) -> None:
    links = ip_json("-n", "smblab-fs1", "-4", "addr", "show", "dev", "eth0")
    addresses = [(a["local"], a.get("secondary", False)) for a in links[0]["addr_info"]]  # type: ignore[attr-defined]
    assert addresses == [("10.45.10.11", False), ("10.45.10.10", True)]


def test_router_forwards_has_gateways_and_no_default_route(lab: Lab) -> None:
    assert sysctl("smblab-router", "net.ipv4.ip_forward") == "1"
    assert sysctl("smblab-router", "net.ipv6.conf.all.forwarding") == "1"
    assert addresses("smblab-router") - {"127.0.0.1"} == ROUTER_ADDRESSES
    gateways6 = {gateway for _, gateway in HOSTS6.values()}
    assert gateways6 <= addresses("smblab-router", family="-6")
    assert ip_json("-n", "smblab-router", "-4", "route", "show", "default") == []
    assert ip_json("-n", "smblab-router", "-6", "route", "show", "default") == []


def test_root_namespace_has_no_lab_link_address_or_route(lab: Lab) -> None:
    for address in addresses(None):
        assert not any(IPv4Address(address) in net for net in LAB_NETWORKS), address
    for address in addresses(None, family="-6"):
        assert not any(IPv6Address(address) in net for net in LAB_NETWORKS6), address
    for route in ip_json("-6", "route", "show", "table", "all"):
        destination = str(route["dst"])
        if destination in ("default", "::/0") or destination.startswith(("fe80", "ff00")):
            continue
        if "/" in destination or ":" in destination:
            network6 = IPv6Network(destination, strict=False)
            assert not any(network6.overlaps(net) for net in LAB_NETWORKS6), route
    for route in ip_json("-4", "route", "show", "table", "all"):
        destination = str(route["dst"])
        if destination in ("default", "0.0.0.0/0"):
            continue
        network = IPv4Network(destination, strict=False)
        assert not any(network.overlaps(net) for net in LAB_NETWORKS), route
    root_links = {str(link["ifname"]) for link in ip_json("link", "show")}
    assert not {name for name in root_links if name.startswith(("v-", "br-"))}


def test_router_ruleset_is_the_committed_file(lab: Lab) -> None:
    listed = subprocess.run(
        ["ip", "netns", "exec", "smblab-router", "nft", "list", "table", "inet", "smblab"],
        capture_output=True,
        text=True,
        check=True,
        timeout=10,
    ).stdout
    for comment in (
        "perimeter: nothing inside reaches SMB on the internet",
        "approved: corp -> fs1, dc1, print1",
        "exception EXC-0001: iot1 -> print1 scan-to-share",
    ):
        assert comment in listed
    assert "policy drop" in listed
