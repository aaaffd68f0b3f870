"""Observations of the running lab, made from inside its namespaces with plain tools.

Addresses are written out from DESIGN.md rather than imported from smbtests.lab: the tests check
the lab against its contract, not against itself.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Lab

PROGRAMS = Path(__file__).parent / "programs"
# generous: a loaded CI machine must not turn a live path into "filtered"
CONNECT_TIMEOUT = 1.5

CLIENTS = {
    "mgmt": "10.45.0.10",
    "corp1": "10.45.20.21",
    "win1": "10.45.20.22",  # plain sockets from win1's namespace, beside the double's own
    "guest1": "10.45.30.31",
    "iot1": "10.45.40.41",
    "inet1": "198.51.100.51",
    # iot1's second address, which the one-host exception EXC-0001 does not name
    "iot1[10.45.40.42]": "10.45.40.42",
}
PROBES = ("corp1", "guest1", "iot1", "inet1")
SMB_SERVERS = {"fs1": "10.45.10.11", "dc1": "10.45.10.12", "print1": "10.45.10.13"}
FIRST_SHARE = {"fs1": "data", "dc1": "netlogon", "print1": "scans"}
TARGETS = {
    **{f"{name}:445": f"{address}:445" for name, address in SMB_SERVERS.items()},
    "fs1:139": "10.45.10.11:139",  # the NetBIOS session service
    "fs1-v6:445": "[fd45:0:0:10::11]:445",
    "fs1-second:445": "10.45.10.21:445",  # only scenario server-second-address brings it up
    "edge:445": "198.51.100.10:445",  # the public edge address
    "inet-smb:445": "198.51.100.51:445",
    "inet-rogue:445": "198.51.100.77:445",  # only scenario undeclared-outbound-smb
    "iot1:445": "10.45.40.41:445",
    "win1:445": "10.45.20.22:445",
    "control:8000": "10.45.10.10:8000",
    # guest1's SMB-port control, beside it on the guest segment
    "guest-control:445": "10.45.30.30:445",
    "guest-control:139": "10.45.30.30:139",
    "win1:5985": "10.45.20.22:5985",
    "win1:5986": "10.45.20.22:5986",
    # dc1's second listener set: the WS-Management double playing its Windows configuration
    "dc1:5985": "10.45.10.12:5985",
    "dc1:5986": "10.45.10.12:5986",
}
# Addresses that exist only under a scenario: while absent, a connect ends in ICMP "no route" or
# in silence, whichever comes first (the router's neighbour lookup is a race with the timeout)
ABSENT_ADDRESSES = frozenset({"fs1-second:445", "inet-rogue:445"})
SILENT = frozenset({"filtered", "error: [Errno 113] No route to host"})

GATEWAYS = {
    "mgmt": "10.45.0.1",
    "corp1": "10.45.20.1",
    "win1": "10.45.20.1",
    "guest1": "10.45.30.1",
    "iot1": "10.45.40.1",
    "inet1": "198.51.100.1",
    "iot1[10.45.40.42]": "10.45.40.1",
}


def namespace(host: str) -> str:
    return f"smblab-{host.split('[')[0]}"


def alive(pid: int) -> bool:
    """A live process, not a zombie: an exited daemon may wait for a reaper for a while."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def reach_matrix(lab: Lab) -> dict[str, str]:
    """`reach:CLIENT/TARGET` -> open | refused | filtered, all clients at once."""
    code = (PROGRAMS / "connect.py").read_text()

    def from_client(client: str) -> dict[str, str]:
        own = CLIENTS[client]
        targets = {n: t for n, t in TARGETS.items() if not t.startswith(f"{own}:")}
        targets["gateway:445"] = f"{GATEWAYS[client]}:445"
        source = ["--from", own] if "[" in client else []
        answer = json.loads(
            lab.netns_python(
                namespace(client),
                code,
                15,
                args=[str(CONNECT_TIMEOUT), *source, *targets.values()],
            )
        )
        return {
            f"reach:{client}/{name}": (
                "no answer" if name in ABSENT_ADDRESSES and answer[t] in SILENT else answer[t]
            )
            for name, t in targets.items()
        }

    with ThreadPoolExecutor(max_workers=len(CLIENTS)) as pool:
        results: dict[str, str] = {}
        for part in pool.map(from_client, CLIENTS):
            results.update(part)
    return results


def smb_facts(lab: Lab) -> dict[str, dict[str, Any]]:
    """Facts of every lab Samba server, read with impacket from mgmt (see programs/)."""
    args = [f"{SMB_SERVERS[name]}:{FIRST_SHARE[name]}" for name in SMB_SERVERS]
    out = lab.netns_python(
        namespace("mgmt"),
        (PROGRAMS / "smb_facts.py").read_text(),
        60,
        args=args,
        env={"SMBTESTS_LAB_SMB_PASSWORD": lab.smb_password()},
        python=sys.executable,
    )
    by_address = json.loads(out)
    return {name: by_address[address] for name, address in SMB_SERVERS.items()}


def win_facts(lab: Lab, *doubles: str) -> dict[str, str]:
    """The doubles (default: win1 and dc1) read over WinRM from mgmt (see programs/win_facts.py).

    win1: `win:*`, `winrm-reach:*`; dc1's Windows configuration: `dc1-win:*`.
    """
    out = lab.netns_python(
        namespace("mgmt"),
        (PROGRAMS / "win_facts.py").read_text(),
        60,
        args=[str(CONNECT_TIMEOUT), *doubles],
        env={"SMBTESTS_LAB_WIN_PASSWORD": lab.win_password()},
        python=sys.executable,
    )
    facts: dict[str, str] = json.loads(out)
    return facts


def ssh_command(probe: str, lab: Lab, known_hosts: Path | None = None) -> list[str]:
    ssh_dir = lab.state_dir / "ssh"
    return [
        "ip", "netns", "exec", namespace("mgmt"),
        "ssh", "-F", "/dev/null",
        "-i", str(ssh_dir / "id_ed25519"),
        "-o", "IdentitiesOnly=yes",
        "-o", "BatchMode=yes",
        "-o", "StrictHostKeyChecking=yes",
        "-o", f"UserKnownHostsFile={known_hosts or ssh_dir / 'known_hosts'}",
        "-o", "ConnectTimeout=3",
        f"smbprobe@{CLIENTS[probe]}",
        "/usr/bin/python3", "-c", "'import os; print(os.getuid() != 0)'",
    ]  # fmt: skip


def ssh_run(
    probe: str, lab: Lab, known_hosts: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ssh_command(probe, lab, known_hosts),
        capture_output=True,
        text=True,
        timeout=15,
        check=False,
    )


def ssh_matrix(lab: Lab) -> dict[str, str]:
    def login(probe: str) -> str:
        result = ssh_run(probe, lab)
        return "ok" if result.returncode == 0 and result.stdout.strip() == "True" else "failed"

    with ThreadPoolExecutor(max_workers=len(PROBES)) as pool:
        return {f"ssh:{p}": r for p, r in zip(PROBES, pool.map(login, PROBES), strict=True)}


SNAPSHOT_SMB_FACTS = (
    "smb1",
    "smb2_02_dialect",
    "signing_required",
    "anonymous_listing",
    "encryption",
)


def snapshot(lab: Lab) -> dict[str, str]:
    """Everything a scenario may change, flattened: reachability, SMB facts, SSH, the doubles
    (win1 and dc1's Windows configuration), the policy overlay."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        reach = pool.submit(reach_matrix, lab)
        ssh = pool.submit(ssh_matrix, lab)
        facts = pool.submit(smb_facts, lab)
        win = pool.submit(win_facts, lab)
        observed = {**reach.result(), **ssh.result(), **win.result()}
        for server, server_facts in facts.result().items():
            for fact in SNAPSHOT_SMB_FACTS:
                observed[f"smb:{server}/{fact}"] = str(server_facts[fact])
    overlay = lab.state_dir / "policy-overlay.yaml"
    observed["policy-overlay"] = overlay.read_text() if overlay.exists() else "absent"
    return observed


@pytest.fixture(scope="session")
def lab_snapshot(lab: Lab) -> Callable[[], dict[str, str]]:
    return lambda: snapshot(lab)


@pytest.fixture(scope="session")
def lab_smb_facts(lab: Lab) -> Callable[[], dict[str, dict[str, Any]]]:
    return lambda: smb_facts(lab)


@pytest.fixture(scope="session")
def lab_ssh(lab: Lab) -> Callable[..., subprocess.CompletedProcess[str]]:
    """ssh from mgmt as smbprobe to a probe, strict host-key checking, running a tiny python."""
    return lambda probe, known_hosts=None: ssh_run(probe, lab, known_hosts)


@pytest.fixture(scope="session")
def lab_compliant(lab: Lab) -> dict[str, str]:
    """The compliant lab's snapshot, taken once."""
    return snapshot(lab)


def tracked_process(lab: Lab, service: str) -> dict[str, object]:
    """The lab's record (state.json) of the process running `service`, e.g. "win1/wsman"."""
    process: dict[str, object] = json.loads((lab.state_dir / "state.json").read_text())[
        "processes"
    ][service]
    return process


def current_readings(prefix: str, state: dict[str, Any]) -> dict[str, str]:
    """The 2025-era readings a double answers from `state`, keyed as the snapshot keys them."""
    from smbtests.lab.wsman import current
    from tests.lab.programs import win_facts

    return {
        f"{prefix}:{query}": win_facts.as_fact(current.ANSWERS[str(query)](state, b"", None))
        for query in win_facts.CURRENT_QUERIES
    }
