"""The double's connects where a packet filter drops or rejects: only in a namespace we own.

A throwaway network namespace (`smbwt-*`, loopback only, deleted afterwards) gets an nftables
input chain that drops one port and rejects another with ICMP host-unreachable; the double's
reach answer is run inside it. No packet leaves the namespace.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from smbtests.lab.wsman import default_state, write_state

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("ip") or not shutil.which("nft"),
    reason="needs root, iproute2 and nftables to build a private network namespace",
)

DROPPED, REJECTED = 4455, 4456
RULES = f"""
table inet smbwt {{
    chain input {{
        type filter hook input priority 0; policy accept;
        tcp dport {DROPPED} drop
        tcp dport {REJECTED} reject with icmpx host-unreachable
    }}
}}
"""

# Runs inside the namespace: the double answering the probe's own reach script.
SNIPPET = """
import json, sys
from pathlib import Path
from smbtests.lab.wsman import powershell
from smbtests.observations import Target
from smbtests.probes.winrm_scripts import reach_request, reach_script
targets = [Target("127.0.0.1", int(p)) for p in sys.argv[2:]]
io = powershell.Io()
io.feed(reach_request(targets, 0.5, 8), end=True)
outcome = powershell.run(reach_script(False), io, Path(sys.argv[1]))
print(json.dumps({"stdout": outcome.stdout, "stderr": outcome.stderr, "exit": outcome.exit_code}))
"""


def run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True, timeout=10)


@pytest.fixture
def namespace() -> Iterator[str]:
    name = f"smbwt-{secrets.token_hex(4)}"
    run("ip", "netns", "add", name)
    try:
        run("ip", "-n", name, "link", "set", "lo", "up")
        subprocess.run(
            ["ip", "netns", "exec", name, "nft", "-f", "-"],
            input=RULES.encode(),
            check=True,
            capture_output=True,
            timeout=10,
        )
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)


def test_dropped_is_filtered_and_rejected_is_unreachable(namespace: str, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    write_state(state, default_state())
    done = subprocess.run(
        [
            *("ip", "netns", "exec", namespace, sys.executable, "-c", SNIPPET),
            *(str(state), str(DROPPED), str(REJECTED)),
        ],
        capture_output=True,
        timeout=30,
        check=True,
    )
    outcome = json.loads(done.stdout)
    assert outcome["exit"] == 0, outcome["stderr"]
    dropped, rejected = json.loads(outcome["stdout"])
    assert (dropped["state"], dropped["errno"]) == ("filtered", None)
    assert 450 <= dropped["latency_ms"] < 2000
    assert (rejected["state"], rejected["errno"], rejected["detail"]) == (
        "unreachable",
        10065,
        "HostUnreachable",
    )
