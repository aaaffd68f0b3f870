"""`down` leaves the machine as `up` found it; `up` clears whatever a previous lab left behind.

These tests take the session's lab down and bring it up again, so they run in any order.
"""

from __future__ import annotations

import json
import os
import pwd
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import Lab
from tests.lab.conftest import alive

pytestmark = pytest.mark.lab

STATE_DIR = Path("/run/smbtests-lab")


def lab_namespaces() -> list[str]:
    listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    return [line.split()[0] for line in listing.stdout.splitlines() if line.startswith("smblab-")]


def lab_pids() -> set[int]:
    pids: set[int] = set()
    for namespace in lab_namespaces():
        out = subprocess.run(["ip", "netns", "pids", namespace], capture_output=True, text=True)
        pids |= {int(pid) for pid in out.stdout.split()}
    return pids


DOUBLE_DIRS = {str(STATE_DIR / "win1").encode(), str(STATE_DIR / "dc1-win").encode()}


def lab_network_inodes() -> set[int]:
    """The lab's network namespaces, by inode: what tells its processes from anyone else's."""
    return {os.stat(f"/run/netns/{name}").st_ino for name in lab_namespaces()}


def lab_doubles(network_inodes: set[int]) -> list[int]:
    """Live WS-Management doubles in the lab's namespaces (win1's, dc1's), found by command line
    and namespace, not by record; another sandbox's lab has the same command lines."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().split(b"\0")
            network = os.stat(cmdline.parent / "ns" / "net").st_ino
        except OSError:
            continue
        if b"smbtests.lab.wsman" in argv and not DOUBLE_DIRS.isdisjoint(argv):
            pid = int(cmdline.parent.name)
            if network in network_inodes and alive(pid):
                found.append(pid)
    return found


def sshd_running() -> bool:
    names = []
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            names.append(comm.read_text().strip())
        except OSError:
            continue
    return "sshd" in names


def user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def test_down_leaves_nothing_and_up_restores(lab: Lab) -> None:
    state = json.loads((STATE_DIR / "state.json").read_text())
    pids = lab_pids() | {p["pid"] for p in state["processes"].values()}
    assert len(pids) >= 10 + 3  # the services plus Samba's own helpers
    doubles = sorted(state["processes"][name]["pid"] for name in ("win1/wsman", "dc1/wsman"))
    networks = lab_network_inodes()
    assert sorted(lab_doubles(networks)) == doubles

    started = time.monotonic()
    lab.cli_ok("lab", "down")
    down_seconds = time.monotonic() - started

    assert lab_namespaces() == []
    assert not [pid for pid in pids if alive(pid)]
    assert lab_doubles(networks) == []
    assert not STATE_DIR.exists()
    for user in state["created_users"]:
        assert not user_exists(user)
    if not sshd_running():  # with someone else's sshd running, down keeps /run/sshd on purpose
        for path in state["created_paths"]:
            assert not Path(path).exists()
    assert down_seconds < 5

    started = time.monotonic()
    lab.cli_ok("lab", "up")
    assert time.monotonic() - started < 10
    assert lab.cli("lab", "status").returncode == 0


def test_down_twice_is_harmless(lab: Lab) -> None:
    lab.cli_ok("lab", "down")
    lab.cli_ok("lab", "down")
    assert lab_namespaces() == []
    lab.cli_ok("lab", "up")


def test_up_clears_stale_namespaces_and_their_processes(lab: Lab) -> None:
    lab.cli_ok("lab", "down")
    subprocess.run(["ip", "netns", "add", "smblab-fs1"], check=True)
    subprocess.run(["ip", "netns", "add", "smblab-stale"], check=True)
    stale = subprocess.Popen(
        ["ip", "netns", "exec", "smblab-stale", "sleep", "60"], start_new_session=True
    )
    try:
        lab.cli_ok("lab", "up")
        stale.wait(timeout=5)  # ended by `up`, not by us
        assert "smblab-stale" not in lab_namespaces()
        assert lab.cli("lab", "status").returncode == 0
    finally:
        if stale.poll() is None:
            stale.kill()
            stale.wait(timeout=5)


def test_up_over_a_running_lab_and_with_a_scenario(lab: Lab) -> None:
    lab.cli_ok("lab", "up", "--scenario", "exception-expired")
    state = json.loads((STATE_DIR / "state.json").read_text())
    assert state["active_scenarios"] == ["exception-expired"]
    assert (STATE_DIR / "policy-overlay.yaml").exists()
    lab.cli_ok("lab", "up")
    assert not (STATE_DIR / "policy-overlay.yaml").exists()
    assert os.stat(STATE_DIR).st_mode & 0o777 == 0o711
