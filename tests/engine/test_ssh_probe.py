"""The ssh probe against the lab's real sshd: every failure of the probe itself is a
ProbeError with a one-line reason, never a result."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Lab

PROGRAM = """
import json, sys
from pathlib import Path
from smbtests.errors import ProbeError
from smbtests.observations import Target
from smbtests.probes.ssh import SshProbe
args = json.loads(sys.argv[1])
probe = SshProbe("guest1", "10.45.30.31", "smbprobe", Path(args["key"]),
                 Path(args["known_hosts"]), python=args["python"], channel_timeout=10)
try:
    results = probe.scan([Target("10.45.10.10", 8000)], 1.0, 4)
    print(json.dumps({"state": results[0].state.value}))
except ProbeError as exc:
    print(json.dumps({"error": str(exc)}))
finally:
    probe.close()
"""
SSH_DIR = Path("/run/smbtests-lab/ssh")


def probe(key: Path, known_hosts: Path, python: str = "/usr/bin/python3") -> dict[str, str]:
    args = json.dumps({"key": str(key), "known_hosts": str(known_hosts), "python": python})
    done = subprocess.run(
        ["ip", "netns", "exec", "smblab-mgmt", sys.executable, "-c", PROGRAM, args],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture
def foreign_key(tmp_path: Path) -> Path:
    key = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return key


@pytest.mark.lab
def test_probe_failures_are_errors_with_a_reason(
    lab: Lab, tmp_path: Path, foreign_key: Path
) -> None:
    key, known = SSH_DIR / "id_ed25519", SSH_DIR / "known_hosts"
    assert probe(key, known) == {"state": "open"}

    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    assert "host key not in known_hosts" in probe(key, empty)["error"]

    # the right address with another host's key: an impersonation must not be trusted
    lines = known.read_text().splitlines()
    corp_key = next(line for line in lines if line.startswith("10.45.20.21 ")).split(" ", 1)[1]
    forged = tmp_path / "forged_known_hosts"
    forged.write_text(f"10.45.30.31 {corp_key}\n")
    assert "does not match known_hosts" in probe(key, forged)["error"]

    assert "authentication failed" in probe(foreign_key, known)["error"]
    assert "scanner exited 127" in probe(key, known, python="/nonexistent/python3")["error"]

    with lab.scenario("probe-down"):
        assert "cannot connect over SSH" in probe(key, known)["error"]
