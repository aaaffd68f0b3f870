"""Every scenario changes exactly what it names, and `compliant` restores the lab exactly.

Each test compares a full snapshot of the lab (reachability from every client, SMB facts of every
server, SSH to every probe, win1 and dc1's Windows configuration read over WinRM, the policy
overlay) with the compliant one: the difference must be the scenario's change and nothing else,
and after `compliant` there must be none. No scenario changes dc1's configuration (`dc1-win:*`):
under `smb1-enabled` only the wire (`smb:dc1/smb1`) moves, which is the drift to detect.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from typing import Any

import pytest

from smbtests.lab.wsman import current, default_state
from tests.conftest import Lab
from tests.lab.programs import win_facts

pytestmark = pytest.mark.lab

Snapshot = Callable[[], dict[str, str]]


def expired_overlay() -> str:
    expires = datetime.date.today() - datetime.timedelta(days=30)
    return f"exceptions:\n  - id: EXC-0001\n    expires: {expires.isoformat()}\n"


# win1's 445 rules as read over WinRM: the compliant one, and the one win-445-allow-any adds.
CORP_SMB_RULE = (
    "SMB-In (corp servers): Inbound Allow enabled=True TCP 445 from 10.45.20.0/255.255.255.0"
    " profile Domain"
)
ANY_SMB_RULE = "SMB-In (any): Inbound Allow enabled=True TCP 445 from Any profile Any"


def win1_refuses_logons(compliant: dict[str, str]) -> dict[str, str]:
    """Every reading of win1, over either port and client, ends in HTTP 401 (a ProbeError)."""
    return {key: "error: HTTP 401" for key in compliant if key.startswith(("win:", "winrm-reach:"))}


def win1_current(name: str) -> Callable[[dict[str, str]], dict[str, str]]:
    """What a 2025-era win1 scenario moves in the readings the probe brings back over HTTPS."""
    return lambda _: _current_changes(name)


def _current_changes(name: str) -> dict[str, str]:
    before, after = default_state(), current.SCENARIOS[name](default_state())

    def facts(state: dict[str, Any]) -> dict[str, str]:
        found = {
            f"win:{query}": win_facts.as_fact(current.ANSWERS[str(query)](state, b"", None))
            for query in win_facts.CURRENT_QUERIES
        }
        rules = [r for r in state["firewall_rules"] if "445" in r["LocalPort"]]
        found["win:rules-445"] = "; ".join(sorted(win_facts.rule_line(r) for r in rules))
        return found

    old, new = facts(before), facts(after)
    return {key: value for key, value in new.items() if old[key] != value}


# scenario -> (compliant snapshot -> {observation: value under the scenario}); every other
# observation must not move.
CHANGES: dict[str, Callable[[dict[str, str]], dict[str, str]]] = {
    "guest-445-open": lambda _: {"reach:guest1/fs1:445": "open"},
    "iot-445-open": lambda _: {
        "reach:iot1/fs1:445": "open",
        "reach:iot1/dc1:445": "open",
        # iot1's second address is no exception's source: print1 opens to it too
        **{f"reach:iot1[10.45.40.42]/{h}:445": "open" for h in ("fs1", "dc1", "print1")},
    },
    "netbios-139-open": lambda _: {"reach:guest1/fs1:139": "open"},
    "ipv6-left-open": lambda _: {"reach:guest1/fs1-v6:445": "open"},
    "exception-whole-segment": lambda _: {"reach:iot1[10.45.40.42]/print1:445": "open"},
    # a port-forward applies to every flow that crosses the edge, from inside too
    "edge-port-forward": lambda _: {
        f"reach:{client}/edge:445": "open"
        for client in ("mgmt", "corp1", "win1", "guest1", "iot1", "iot1[10.45.40.42]", "inet1")
    },
    # fs1's second address did not exist (mgmt: no route to it); now smbd answers there
    "server-second-address": lambda compliant: {
        "reach:guest1/fs1-second:445": "open",
        "reach:mgmt/fs1-second:445": "open",
    },
    "denied-path-tcp-only": lambda _: {"reach:guest1/fs1:445": "open"},
    "undeclared-outbound-smb": lambda _: {
        "reach:corp1/inet-rogue:445": "open",
        "reach:win1/inet-rogue:445": "open",
        "reach:inet1/inet-rogue:445": "open",  # its own new address
    },
    # SMB breaks after the handshake, or only for corp's clients: the connects the snapshot makes
    # still complete; the live suite's smb-path checks hold what these break
    "approved-path-broken": lambda _: {},
    "fs1-refuses-corp": lambda _: {},
    "fs1-share-refuses-win1": lambda _: {},
    "sysvol-unreadable-from-corp": lambda _: {},
    "workstation-publishes-445": lambda _: {
        "reach:corp1/win1:445": "open",  # its segment's bridge switches it: no router between
        "reach:mgmt/win1:445": "open",
    },
    "internet-445-open": lambda _: {
        "reach:inet1/fs1:445": "open",
        "reach:inet1/dc1:445": "open",
        "reach:inet1/print1:445": "open",
    },
    # the whole corp segment loses fs1: win1 too, through its own sockets and the double's
    "approved-path-blocked": lambda _: {
        "reach:corp1/fs1:445": "filtered",
        "reach:win1/fs1:445": "filtered",
        "winrm-reach:win1/fs1:445": "filtered",
    },
    "smb1-enabled": lambda _: {"smb:dc1/smb1": "accepted"},
    "dc1-quic-off": lambda _: {"dc1-win:smb/EnableSMBQUIC": "False"},
    "dc1-encryption-drift": lambda _: {"dc1-win:smb/EncryptData": "True"},
    "dc1-firewall-drift": lambda compliant: {
        "dc1-win:rules-445": compliant["dc1-win:rules-445"].replace(",10.45.0.0/255.255.255.0", "")
    },
    # UDP only: the snapshot's connects are TCP; the live suite's quic checks hold what these
    # break (the stand-in stopped, answering another ALPN, or let in from every segment)
    "quic-endpoint-down": lambda _: {},
    "quic-alpn-wrong": lambda _: {},
    "quic-open-to-all": lambda _: {},
    # dc1's configuration, not its wire: the 445 rule's corp entry typed on into guest
    "dc1-445-scope-widened": lambda compliant: {
        "dc1-win:rules-445": compliant["dc1-win:rules-445"].replace(
            "10.45.20.0/255.255.255.0", "10.45.20.0-10.45.30.255"
        )
    },
    "dialect-below-floor": lambda _: {"smb:print1/smb2_02_dialect": "0x202"},
    "signing-optional": lambda _: {"smb:print1/signing_required": "False"},
    "guest-access": lambda _: {
        "smb:fs1/anonymous_listing": "allowed: IPC$,data,public",
        # a key-less session cannot encrypt: opening it means encryption is no longer required
        "smb:fs1/encryption": "not required",
    },
    "rogue-smb-listener": lambda _: {
        "reach:mgmt/iot1:445": "open",
        "reach:iot1[10.45.40.42]/iot1:445": "open",  # the same host, from its second address
    },
    "probe-down": lambda _: {"ssh:guest1": "failed"},
    # guest1's 445 targets are filtered anyway; its control connection is what goes dark, while
    # SSH into guest1 (ssh:guest1) keeps working.
    "probe-blind": lambda _: {
        "reach:guest1/control:8000": "filtered",
        "reach:guest1/guest-control:445": "filtered",
        "reach:guest1/guest-control:139": "filtered",
    },
    # only guest1's SMB ports go dark: its SMB-port control, not its routed control
    "probe-blocks-own-445": lambda _: {
        "reach:guest1/guest-control:445": "filtered",
        "reach:guest1/guest-control:139": "filtered",
    },
    "exception-expired": lambda _: {"policy-overlay": expired_overlay()},
    "win-smb1-enabled": lambda _: {
        "win:smb/EnableSMB1Protocol": "True",
        "win:smb1-feature": "Enabled",
    },
    # read twice: through the probe over HTTPS and through winrm.Session over HTTP
    "win-signing-off": lambda _: {
        "win:smb/RequireSecuritySignature": "False",
        "win:http/RequireSecuritySignature": "False",
    },
    "win-firewall-logging-off": lambda _: {
        f"win:firewall/{profile}/LogBlocked": "False" for profile in ("Domain", "Private", "Public")
    },
    "win-445-allow-any": lambda _: {"win:rules-445": f"{ANY_SMB_RULE}; {CORP_SMB_RULE}"},
    "win-auth-broken": win1_refuses_logons,
    **{name: win1_current(name) for name in current.SCENARIOS},
}


def difference(before: dict[str, str], after: dict[str, str]) -> dict[str, str]:
    assert before.keys() == after.keys()
    return {key: after[key] for key in before if before[key] != after[key]}


def test_every_scenario_is_covered(lab: Lab) -> None:
    listed = lab.cli_ok("lab", "scenario", "--list").splitlines()
    assert sorted(line.split()[0] for line in listed) == sorted([*CHANGES, "compliant"])


@pytest.mark.parametrize("name", sorted(CHANGES))
def test_scenario_changes_exactly_its_target(
    lab: Lab, lab_snapshot: Snapshot, lab_compliant: dict[str, str], name: str
) -> None:
    with lab.scenario(name):
        state = json.loads((lab.state_dir / "state.json").read_text())
        assert state["active_scenarios"] == [name]
        assert difference(lab_compliant, lab_snapshot()) == CHANGES[name](lab_compliant)
    assert difference(lab_compliant, lab_snapshot()) == {}
    state = json.loads((lab.state_dir / "state.json").read_text())
    assert state["active_scenarios"] == []


def test_scenario_replaces_the_active_one(
    lab: Lab, lab_snapshot: Snapshot, lab_compliant: dict[str, str]
) -> None:
    # a router rule, then win1's state file, then a stopped service: each undoes the one before
    lab.cli_ok("lab", "scenario", "guest-445-open")
    lab.cli_ok("lab", "scenario", "win-signing-off")
    with lab.scenario("probe-down"):
        assert difference(lab_compliant, lab_snapshot()) == CHANGES["probe-down"](lab_compliant)


def test_status_follows_the_scenario(lab: Lab) -> None:
    with lab.scenario("probe-down"):
        result = lab.cli("lab", "status", "--json")
        assert result.returncode == 0, result.stdout  # stopped on purpose is still healthy
        report = json.loads(result.stdout)
        assert report["active_scenarios"] == ["probe-down"]
        guest1 = next(h for h in report["hosts"] if h["name"] == "guest1")
        assert guest1["services"] == [
            {
                "name": "guest1/sshd",
                "endpoint": "10.45.30.31:22",
                "answer": "stopped",
                "expected": False,
            }
        ]
