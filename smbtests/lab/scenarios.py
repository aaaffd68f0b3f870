"""Scenarios: one reversible break each, so tests can show exactly which checks catch it.

Applying a scenario first restores the compliant lab, so exactly one is active at a time.
Router changes are rules added to chain `scenario` of table inet smblab (see router.nft), each
commented "scenario NAME"; `compliant` flushes that chain. win1's scenarios (win-*) rewrite the
WS-Management double's state file, which it re-reads for every command: no restart. dc1's double
(its Windows configuration) is only ever restored to compliant: `smb1-enabled` changes dc1's
smbd, the wire, and leaves the configuration saying SMB1 is off, which is the drift to detect.
The equivalent of the router ones by hand:

    ip netns exec smblab-router nft add rule inet smblab scenario ip saddr @guest \\
        ip daddr 10.45.10.11 tcp dport 445 accept comment '"scenario guest-445-open"'
    ip netns exec smblab-router nft flush chain inet smblab scenario
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from smbtests.errors import LabError
from smbtests.lab import doubles, netns, paths, samba, services
from smbtests.lab.state import LabState
from smbtests.lab.topology import ROUTER_NAMESPACE, host
from smbtests.lab.wsman import current, scenario_state, write_state

COMPLIANT = "compliant"
EXPIRED_EXCEPTION = "EXC-0001"
EXPIRED_DAYS_AGO = 30

BLIND_PROBE = host("guest1")
BLIND_TABLE = "smblab_blind"
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
            "approved-path-blocked",
            "router drops the approved path corp -> fs1:445",
            _router_rule(
                "approved-path-blocked", "ip saddr @corp ip daddr 10.45.10.11 tcp dport 445 drop"
            ),
        ),
        Scenario(
            "smb1-enabled",
            "dc1 accepts SMB1 (server min protocol = NT1)",
            _samba_change("dc1", min_protocol="NT1"),
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
        Scenario("probe-down", "guest1's sshd is stopped", _probe_down),
        Scenario(
            "probe-blind",
            "guest1 drops every new outbound connection; SSH into it still works",
            _probe_blind,
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
    )
}


def restore_compliant(state: LabState) -> None:
    """Undo every scenario, whichever is recorded: each step is a no-op where nothing changed."""
    netns.nft(ROUTER_NAMESPACE, "flush chain inet smblab scenario\n")
    tables = netns.nft_list(BLIND_PROBE.namespace, "list", "tables").split()
    if BLIND_TABLE in tables:
        netns.nft(BLIND_PROBE.namespace, f"delete table inet {BLIND_TABLE}\n")
    paths.POLICY_OVERLAY.unlink(missing_ok=True)
    for double in doubles.DOUBLES.values():
        write_state(double.state_file, double.compliant())
    services.stop(services.ROGUE_SMBD, state)
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
