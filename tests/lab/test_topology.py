"""The lab's network is the one DESIGN.md promises, and none of it touches the root namespace."""

from __future__ import annotations

import json
import subprocess
from ipaddress import IPv4Address, IPv4Network

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
}
ROUTER_ADDRESSES = {
    "10.45.0.1",
    "10.45.10.1",
    "10.45.20.1",
    "10.45.30.1",
    "10.45.40.1",
    "198.51.100.1",
}
LAB_NETWORKS = (IPv4Network("10.45.0.0/16"), IPv4Network("198.51.100.0/24"))


def ip_json(*args: str) -> list[dict[str, object]]:
    out = subprocess.run(
        ["ip", "-j", *args], capture_output=True, text=True, check=True, timeout=10
    )
    return json.loads(out.stdout) if out.stdout.strip() else []


def ipv4_addresses(namespace: str | None, device: str | None = None) -> set[str]:
    scope = ["-n", namespace] if namespace else []
    selector = ["dev", device] if device else []
    return {
        info["local"]
        for link in ip_json(*scope, "-4", "addr", "show", *selector)
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
def test_host_address_route_and_no_ipv6(lab: Lab, host: str) -> None:
    namespace = f"smblab-{host}"
    address, gateway = HOSTS[host]
    assert address in ipv4_addresses(namespace, "eth0")
    routes = ip_json("-n", namespace, "-4", "route", "show", "default")
    assert [r["gateway"] for r in routes] == [gateway]
    assert sysctl(namespace, "net.ipv6.conf.all.disable_ipv6") == "1"
    assert sysctl(namespace, "net.ipv6.conf.eth0.disable_ipv6") == "1"
    links = {link["ifname"]: link for link in ip_json("-n", namespace, "link", "show")}
    assert set(links) == {"lo", "eth0"}
    assert "UP" in links["lo"]["flags"]  # type: ignore[operator]


def test_control_address_is_secondary_on_fs1(lab: Lab) -> None:
    links = ip_json("-n", "smblab-fs1", "-4", "addr", "show", "dev", "eth0")
    addresses = [(a["local"], a.get("secondary", False)) for a in links[0]["addr_info"]]  # type: ignore[attr-defined]
    assert addresses == [("10.45.10.11", False), ("10.45.10.10", True)]


def test_router_forwards_has_gateways_and_no_default_route(lab: Lab) -> None:
    assert sysctl("smblab-router", "net.ipv4.ip_forward") == "1"
    assert sysctl("smblab-router", "net.ipv6.conf.all.disable_ipv6") == "1"
    assert ipv4_addresses("smblab-router") - {"127.0.0.1"} == ROUTER_ADDRESSES
    assert ip_json("-n", "smblab-router", "-4", "route", "show", "default") == []


def test_root_namespace_has_no_lab_link_address_or_route(lab: Lab) -> None:
    for address in ipv4_addresses(None):
        assert not any(IPv4Address(address) in net for net in LAB_NETWORKS), address
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
