"""The probes: key-only SSH as smbprobe from mgmt, with strict host-key checking that holds."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Lab

pytestmark = pytest.mark.lab

PROBES = ("corp1", "guest1", "inet1", "iot1")
SshRun = Callable[..., subprocess.CompletedProcess[str]]


@pytest.mark.parametrize("probe", PROBES)
def test_key_login_runs_system_python(lab_ssh: SshRun, probe: str) -> None:
    result = lab_ssh(probe)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "True\n"  # not root
    assert result.stderr == ""  # nothing (banner, motd, chdir warning) pollutes the channel


@pytest.mark.parametrize("probe", PROBES)
def test_unknown_host_key_is_refused(lab_ssh: SshRun, tmp_path: Path, probe: str) -> None:
    empty = tmp_path / "known_hosts"
    empty.touch()
    result = lab_ssh(probe, empty)
    assert result.returncode == 255
    assert "Host key verification failed" in result.stderr


def test_known_hosts_has_one_line_per_probe(lab: Lab) -> None:
    lines = (Path("/run/smbtests-lab/ssh/known_hosts")).read_text().splitlines()
    addresses = sorted(line.split()[0] for line in lines)
    assert addresses == ["10.45.20.21", "10.45.30.31", "10.45.40.41", "198.51.100.51"]
    assert all(line.split()[1] == "ssh-ed25519" for line in lines)


def test_password_login_is_not_offered(lab: Lab) -> None:
    result = subprocess.run(
        [
            "ip", "netns", "exec", "smblab-mgmt", "ssh", "-F", "/dev/null",
            "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "PreferredAuthentications=password",
            "smbprobe@10.45.20.21", "true",
        ],
        capture_output=True, text=True, timeout=15, check=False,
    )  # fmt: skip
    assert result.returncode == 255
    assert "Permission denied (publickey)" in result.stderr
