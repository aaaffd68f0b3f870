"""Scenarios: one reversible break each, so tests can show exactly which checks catch it.

Applying a scenario first restores the compliant lab, so exactly one is active at a time.
Router changes are rules added to chain `scenario` of table inet smblab (see router.nft), each
commented "scenario NAME"; `compliant` flushes that chain. win1's scenarios (win-*) rewrite the
WS-Management double's state file, which it re-reads for every command: no restart. dc1's double
(its Windows configuration) is rewritten only by `dc1-445-scope-widened`, `dc1-quic-off`,
`dc1-encryption-drift` and `dc1-firewall-drift`;
`smb1-enabled` changes dc1's smbd, the wire, and leaves the configuration saying SMB1 is off,
the drift to detect.
The equivalent of the router ones by hand:

    ip netns exec smblab-router nft add rule inet smblab scenario ip saddr @guest \\
        ip daddr 10.45.10.11 tcp dport 445 accept comment '"scenario guest-445-open"'
    ip netns exec smblab-router nft flush chain inet smblab scenario
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, replace
from ipaddress import IPv4Address, IPv6Address
from typing import Any

from smbtests.errors import LabError
from smbtests.lab import doubles, netns, paths, samba, services
from smbtests.lab.state import LabState
from smbtests.lab.topology import (
    FS1_SECOND,
    INTERNET_ROGUE_SMB,
    PUBLIC_EDGE,
    QUIC_HOST,
    ROUTER_NAMESPACE,
    host,
)
from smbtests.lab.wsman import current, scenario_state, write_state

COMPLIANT = "compliant"
EXPIRED_EXCEPTION = "EXC-0001"
EXPIRED_DAYS_AGO = 30

BLIND_PROBE = host("guest1")
BLIND_TABLE = "smblab_blind"
# An IPS in front of the router's own rules: its drop is final whatever the router accepts, and
# unlike chain `scenario` it sees established flows (the router accepts those first).
IPS_TABLE = "smblab_ips"
MGMT_ONLY = "10.45.0.0/24"
WIN1_ADDRESS = host("win1").address
DOWN_PROBE = services.ALL_SERVICES["guest1/sshd"]


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    apply: Callable[[LabState], None]


def _router_rule(name: str, rule: str) -> Callable[[LabState], None]:
    def apply(_: LabState) -> None:
        netns.nft(
            ROUTER_NAMESPACE,
            f'add rule inet smblab scenario {rule} comment "scenario {name}"\n',
        )

    return apply


def _samba_change(host_name: str, **changes: Any) -> Callable[[LabState], None]:
    def apply(state: LabState) -> None:
        service = services.ALL_SERVICES[f"{host_name}/smbd"]
        settings = replace(samba.COMPLIANT[host_name], **changes)
        if samba.write_config(service.name, service.host, settings):
            services.restart(service, state)

    return apply


def _guest_access(state: LabState) -> None:
    # An anonymous session has no key to encrypt with, and Samba lets no share (IPC$ included)
    # relax a global "encrypt = required": opening anonymous access on fs1 therefore means
    # encryption "if_required", as it would on a real server. Signing stays mandatory; Samba
    # exempts anonymous sessions from it, while a named guest logon stays refused.
    fs1 = samba.COMPLIANT["fs1"]
    _samba_change(
        "fs1",
        restrict_anonymous=0,
        map_to_guest="bad user",
        encrypt="if_required",
        shares=(*fs1.shares, samba.Share("public", read_only=True, guest_ok=True)),
    )(state)


def _rogue_listener(state: LabState) -> None:
    services.prepare(services.ROGUE_SMBD, samba.ROGUE)
    services.start(services.ROGUE_SMBD, state)
    services.wait_ready([services.ROGUE_SMBD])


NAT_TABLE = "smblab_nat"
# An address a scenario adds to a host: (host, address); removed again by `compliant`.
SCENARIO_ADDRESSES = (("fs1", FS1_SECOND), ("inet1", INTERNET_ROGUE_SMB.address))


def _add_address(host_name: str, address: IPv4Address | IPv6Address) -> None:
    owner = host(host_name)
    prefix = owner.segment.subnet.prefixlen
    netns.ip(owner.namespace, "addr", "add", f"{address}/{prefix}", "dev", "eth0")


def _nat(name: str, rule: str) -> Callable[[LabState], None]:
    """A destination NAT rule on the router, and the forward rule every such rule needs to let
    the translated flows through."""

    def apply(state: LabState) -> None:
        netns.nft(
            ROUTER_NAMESPACE,
            f"table ip {NAT_TABLE} {{\n"
            "\tchain prerouting {\n"
            "\t\ttype nat hook prerouting priority dstnat; policy accept;\n"
            f'\t\t{rule} comment "scenario {name}"\n'
            "\t}\n"
            "}\n",
        )
        _router_rule(name, "ct status dnat accept")(state)

    return apply


def _server_second_address(state: LabState) -> None:
    _add_address("fs1", FS1_SECOND)
    _samba_change("fs1", extra_interfaces=(f"{FS1_SECOND}/24",))(state)
    _router_rule(
        "server-second-address", f"ip saddr @guest ip daddr {FS1_SECOND} tcp dport 445 accept"
    )(state)


def _undeclared_outbound(state: LabState) -> None:
    _add_address("inet1", INTERNET_ROGUE_SMB.address)
    _start(services.ROGUE_INTERNET_SMB, state)
    _router_rule(
        "undeclared-outbound-smb",
        f"ip saddr @corp ip daddr {INTERNET_ROGUE_SMB.address} tcp dport 445 accept",
    )(state)


def _workstation_publishes(state: LabState) -> None:
    _start(services.WORKSTATION_SMB, state)


def _start(service: services.Service, state: LabState) -> None:
    services.prepare(service)
    services.start(service, state)
    services.wait_ready([service])


def _quic_stand_in_down(state: LabState) -> None:
    for suffix in ("", "6"):
        services.stop(services.ALL_SERVICES[f"{QUIC_HOST.name}/quic{suffix}"], state)


def _quic_alpn_wrong(state: LabState) -> None:
    services.stop(services.ALL_SERVICES[f"{QUIC_HOST.name}/quic"], state)
    _start(services.QUIC_WRONG_ALPN, state)


def _probe_down(state: LabState) -> None:
    services.stop(DOWN_PROBE, state)


def _probe_blind(_: LabState) -> None:
    # Inbound SSH keeps working: its replies are "established", only new outbound flows drop.
    netns.nft(
        BLIND_PROBE.namespace,
        f"table inet {BLIND_TABLE} {{\n"
        "\tchain output {\n"
        "\t\ttype filter hook output priority filter; policy accept;\n"
        '\t\tct state new drop comment "scenario probe-blind"\n'
        "\t}\n"
        "}\n",
    )


OWN_445_TABLE = "smblab_own445"


def _probe_blocks_own_445(_: LabState) -> None:
    # Only the SMB ports: guest1 still reaches its routed control (8000), so only its SMB-port
    # control (guestctl) shows that its "closed" 445/139 results are its own host's doing.
    netns.nft(
        BLIND_PROBE.namespace,
        f"table inet {OWN_445_TABLE} {{\n"
        "\tchain output {\n"
        "\t\ttype filter hook output priority filter; policy accept;\n"
        '\t\ttcp dport {{ 139, 445 }} drop comment "scenario probe-blocks-own-445"\n'
        "\t}\n"
        "}\n",
    )


def _ips_drops_payload(_: LabState) -> None:
    # A handshake carries no payload (SYN/ACK of at most 60 bytes); the SMB negotiate does.
    netns.nft(
        ROUTER_NAMESPACE,
        f"table inet {IPS_TABLE} {{\n"
        "\tchain forward {\n"
        "\t\ttype filter hook forward priority filter - 1; policy accept;\n"
        "\t\tip saddr 10.45.20.0/24 ip daddr 10.45.10.11 tcp dport 445 ip length > 100 drop"
        ' comment "scenario approved-path-broken"\n'
        "\t}\n"
        "}\n",
    )


def _sysvol_mgmt_only(state: LabState) -> None:
    dc1 = samba.COMPLIANT["dc1"]
    shares = tuple(
        replace(s, hosts_allow=MGMT_ONLY) if s.name == "sysvol" else s for s in dc1.shares
    )
    _samba_change("dc1", shares=shares)(state)


def _share_refuses_win1(state: LabState) -> None:
    fs1 = samba.COMPLIANT["fs1"]
    shares = tuple(
        replace(s, hosts_allow=f"ALL EXCEPT {WIN1_ADDRESS}") if s.name == "data" else s
        for s in fs1.shares
    )
    _samba_change("fs1", shares=shares)(state)


def expired_overlay(today: datetime.date) -> str:
    expired = today - datetime.timedelta(days=EXPIRED_DAYS_AGO)
    return f"exceptions:\n  - id: {EXPIRED_EXCEPTION}\n    expires: {expired.isoformat()}\n"


def _exception_expired(_: LabState) -> None:
    paths.POLICY_OVERLAY.write_text(expired_overlay(datetime.date.today()))
    paths.POLICY_OVERLAY.chmod(0o644)


def first_line(text: str | None) -> str:
    return " ".join((text or "").split()).rstrip(".")


def _win_state(name: str) -> Callable[[LabState], None]:
    def apply(_: LabState) -> None:
        write_state(doubles.WIN1.state_file, scenario_state(name))

    return apply


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(COMPLIANT, "the lab as the policy says: every break below undone", lambda _: None),
        Scenario(
            "guest-445-open",
            "router accepts guest -> fs1:445",
            _router_rule(
                "guest-445-open", "ip saddr @guest ip daddr 10.45.10.11 tcp dport 445 accept"
            ),
        ),
        Scenario(
            "iot-445-open",
            "router accepts iot -> fs1, dc1, print1 on 445",
            _router_rule(
                "iot-445-open", "ip saddr @iot ip daddr @smb_servers tcp dport 445 accept"
            ),
        ),
        Scenario(
            "internet-445-open",
            "router accepts internet -> fs1, dc1, print1 on 445",
            _router_rule(
                "internet-445-open", "ip saddr @internet ip daddr @smb_servers tcp dport 445 accept"
            ),
        ),
        Scenario(
            "netbios-139-open",
            "router accepts guest -> fs1:139 (the NetBIOS session service; 445 stays blocked)",
            _router_rule(
                "netbios-139-open", "ip saddr @guest ip daddr 10.45.10.11 tcp dport 139 accept"
            ),
        ),
        Scenario(
            "ipv6-left-open",
            "guest's deny rules were written for IPv4 only: guest reaches the SMB hosts over IPv6",
            _router_rule("ipv6-left-open", "ip6 saddr @guest6 ip6 daddr @smb_servers6 accept"),
        ),
        Scenario(
            "exception-whole-segment",
            "the one-host exception iot1 -> print1:445 implemented as iot -> print1:445",
            _router_rule(
                "exception-whole-segment", "ip saddr @iot ip daddr 10.45.10.13 tcp dport 445 accept"
            ),
        ),
        Scenario(
            "approved-path-blocked",
            "router drops the approved path corp -> fs1:445",
            _router_rule(
                "approved-path-blocked", "ip saddr @corp ip daddr 10.45.10.11 tcp dport 445 drop"
            ),
        ),
        Scenario(
            "approved-path-broken",
            "an IPS drops corp -> fs1:445 packets carrying payload: handshakes work, SMB dies",
            _ips_drops_payload,
        ),
        Scenario(
            "fs1-refuses-corp",
            f"fs1 admits SMB clients from mgmt only (hosts allow = {MGMT_ONLY})",
            _samba_change("fs1", hosts_allow=MGMT_ONLY),
        ),
        Scenario(
            "fs1-share-refuses-win1",
            f"fs1's data share refuses win1's address alone (hosts allow = ALL EXCEPT "
            f"{WIN1_ADDRESS}): the path works from corp1, not from the Windows client",
            _share_refuses_win1,
        ),
        Scenario(
            "sysvol-unreadable-from-corp",
            f"dc1's sysvol share admits mgmt only (hosts allow = {MGMT_ONLY})",
            _sysvol_mgmt_only,
        ),
        Scenario(
            "smb1-enabled",
            "dc1 accepts SMB1 (server min protocol = NT1)",
            _samba_change("dc1", min_protocol="NT1"),
        ),
        Scenario(
            "dialect-below-floor",
            "print1 accepts SMB 2.0.2, below its role's floor 2.1 (server min protocol = SMB2_02)",
            _samba_change("print1", min_protocol=samba.PROTOCOLS["2.0.2"]),
        ),
        Scenario(
            "signing-optional",
            "print1 does not require signing (server signing = auto)",
            _samba_change("print1", signing="auto"),
        ),
        Scenario(
            "guest-access",
            "fs1 lets anonymous sessions list shares and read a guest share (encryption relaxed)",
            _guest_access,
        ),
        Scenario(
            "rogue-smb-listener",
            "an undeclared smbd answers 445 on iot1 10.45.40.41",
            _rogue_listener,
        ),
        Scenario(
            "edge-port-forward",
            f"the edge forwards its public address {PUBLIC_EDGE}:445 to fs1:445",
            _nat("edge-port-forward", f"ip daddr {PUBLIC_EDGE} tcp dport 445 dnat to 10.45.10.11"),
        ),
        Scenario(
            "denied-path-tcp-only",
            "a middlebox completes guest's handshakes to fs1:445 and never speaks SMB (the "
            "router hands them to a listener that accepts and hangs up)",
            _nat(
                "denied-path-tcp-only",
                "ip saddr 10.45.30.0/24 ip daddr 10.45.10.11 tcp dport 445 "
                "dnat to 10.45.10.10:8000",
            ),
        ),
        Scenario(
            "server-second-address",
            f"fs1 answers SMB on a second, undeclared address {FS1_SECOND}, open from guest",
            _server_second_address,
        ),
        Scenario(
            "undeclared-outbound-smb",
            f"corp reaches an SMB server on the internet, {INTERNET_ROGUE_SMB}, that no policy "
            "names",
            _undeclared_outbound,
        ),
        Scenario(
            "workstation-publishes-445",
            "win1 (a workstation) listens on 445 in its own segment",
            _workstation_publishes,
        ),
        Scenario("probe-down", "guest1's sshd is stopped", _probe_down),
        Scenario(
            "probe-blind",
            "guest1 drops every new outbound connection; SSH into it still works",
            _probe_blind,
        ),
        Scenario(
            "probe-blocks-own-445",
            "guest1's own host drops its outbound TCP 445 and 139; its control (8000) and SSH "
            "into it still work",
            _probe_blocks_own_445,
        ),
        Scenario(
            "exception-expired",
            f"{EXPIRED_EXCEPTION} expired {EXPIRED_DAYS_AGO} days ago (policy overlay)",
            _exception_expired,
        ),
        Scenario(
            "win-smb1-enabled",
            "win1 has the SMB1 feature installed and EnableSMB1Protocol on",
            _win_state("win-smb1-enabled"),
        ),
        Scenario(
            "win-signing-off",
            "win1's SMB server does not require signing (RequireSecuritySignature false)",
            _win_state("win-signing-off"),
        ),
        Scenario(
            "win-firewall-logging-off",
            "win1's firewall logs no dropped packets, in any profile (LogBlocked False)",
            _win_state("win-firewall-logging-off"),
        ),
        Scenario(
            "win-445-allow-any",
            "win1 has an enabled inbound rule allowing TCP 445 from Any, in every profile",
            _win_state("win-445-allow-any"),
        ),
        Scenario(
            "win-auth-broken",
            "win1 refuses every WinRM logon (HTTP 401)",
            _win_state("win-auth-broken"),
        ),
        *(
            Scenario(name, f"win1: {first_line(change.__doc__)}", _win_state(name))
            for name, change in current.SCENARIOS.items()
        ),
        Scenario(
            "dc1-445-scope-widened",
            f"dc1's 445 rule admits {doubles.WIDENED_CORP}: corp typed as a range into guest",
            lambda _: write_state(doubles.DC1.state_file, doubles.dc1_445_scope_widened()),
        ),
        Scenario(
            "dc1-encryption-drift",
            "dc1's configuration demands encryption (EncryptData) that its smbd does not",
            lambda _: write_state(doubles.DC1.state_file, doubles.dc1_encryption_drift()),
        ),
        Scenario(
            "dc1-firewall-drift",
            "dc1's 445 rule no longer admits mgmt, yet its smbd answers the runner there",
            lambda _: write_state(doubles.DC1.state_file, doubles.dc1_firewall_drift()),
        ),
        Scenario(
            "quic-endpoint-down",
            "fs1's SMB over QUIC stand-in is stopped (both families): remote users lose it",
            _quic_stand_in_down,
        ),
        Scenario(
            "quic-alpn-wrong",
            "fs1's QUIC endpoint on IPv4 answers ALPN h3 instead of smb",
            _quic_alpn_wrong,
        ),
        Scenario(
            "quic-open-to-all",
            "the router admits UDP 443 to fs1 from every segment (IPv4), not just the internet",
            _router_rule("quic-open-to-all", "ip daddr 10.45.10.11 udp dport 443 accept"),
        ),
        Scenario(
            "dc1-quic-off",
            "dc1 is declared for remote access but SMB over QUIC is off (EnableSMBQUIC false)",
            lambda _: write_state(doubles.DC1.state_file, doubles.dc1_quic_off()),
        ),
    )
}


def restore_compliant(state: LabState) -> None:
    """Undo every scenario, whichever is recorded: each step is a no-op where nothing changed."""
    netns.nft(ROUTER_NAMESPACE, "flush chain inet smblab scenario\n")
    scenario_tables = (
        (BLIND_PROBE.namespace, "inet", BLIND_TABLE),
        (BLIND_PROBE.namespace, "inet", OWN_445_TABLE),
        (ROUTER_NAMESPACE, "inet", IPS_TABLE),
        (ROUTER_NAMESPACE, "ip", NAT_TABLE),
    )
    for namespace, family, table in scenario_tables:
        if table in netns.nft_list(namespace, "list", "tables").split():
            netns.nft(namespace, f"delete table {family} {table}\n")
    paths.POLICY_OVERLAY.unlink(missing_ok=True)
    for double in doubles.DOUBLES.values():
        write_state(double.state_file, double.compliant())
    for service in services.SCENARIO_SERVICES:
        services.stop(service, state)
    for host_name, address in SCENARIO_ADDRESSES:
        owner = host(host_name)
        prefix = owner.segment.subnet.prefixlen
        netns.ip(owner.namespace, "addr", "del", f"{address}/{prefix}", "dev", "eth0", check=False)
    for name, settings in samba.COMPLIANT.items():
        service = services.ALL_SERVICES[f"{name}/smbd"]
        if samba.write_config(service.name, service.host, settings):
            services.restart(service, state)
    stopped = [s for s in services.COMPLIANT_SERVICES if not services.is_running(s, state)]
    for service in stopped:
        services.start(service, state)
    services.wait_ready(stopped)
    state.active_scenarios = []
    state.save()


def apply(name: str, state: LabState) -> None:
    scenario = SCENARIOS.get(name)
    if scenario is None:
        raise LabError(f"unknown scenario {name!r}; `smbtests lab scenario --list` shows them")
    restore_compliant(state)
    scenario.apply(state)
    state.active_scenarios = [] if name == COMPLIANT else [name]
    state.save()
