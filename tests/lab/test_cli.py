"""`smbtests lab status|exec|scenario` as a user meets them."""

from __future__ import annotations

import json
import os

import pytest

from tests.conftest import Lab

pytestmark = pytest.mark.lab

PASSWORD_ENV = "SMBTESTS_LAB_SMB_PASSWORD"
WIN_PASSWORD_ENV = "SMBTESTS_LAB_WIN_PASSWORD"


def test_status_healthy(lab: Lab) -> None:
    result = lab.cli("lab", "status")
    assert result.returncode == 0, result.stdout
    assert result.stdout.rstrip().endswith("healthy")
    for needle in (
        "fs1",
        "10.45.10.11",
        "smbd 10.45.10.11:445 open",
        "control 10.45.10.10:8000 open",
        "wsman 10.45.20.22:5985 open, wsman-tls 10.45.20.22:5986 open",
        # dc1: the real smbd (the wire) beside the double playing its Windows configuration
        "smbd 10.45.10.12:445 open, wsman 10.45.10.12:5985 open, wsman-tls 10.45.10.12:5986 open",
    ):
        assert needle in result.stdout


def test_status_json(lab: Lab) -> None:
    report = json.loads(lab.cli_ok("lab", "status", "--json"))
    assert report["healthy"] is True
    assert report["active_scenarios"] == []
    answering = {s["name"]: s["answer"] for h in report["hosts"] for s in h["services"]}
    assert answering == {
        "fs1/smbd": "open",
        "fs1/control": "open",
        "fs1/control6": "open",
        "dc1/smbd": "open",
        "dc1/wsman": "open",
        "dc1/wsman-tls": "open",
        "print1/smbd": "open",
        "corp1/sshd": "open",
        "guest1/sshd": "open",
        "iot1/sshd": "open",
        "inet1/sshd": "open",
        "inet1/smb-listener": "open",
        "inet1/smb-listener6": "open",
        "win1/wsman": "open",
        "win1/wsman-tls": "open",
        "guestctl/smb-control": "open",
        "guestctl/smb-control6": "open",
        "guestctl/netbios-control": "open",
        "guestctl/netbios-control6": "open",
        # the SMB over QUIC stand-in in front of fs1 and the QUIC control: a QUIC handshake
        "fs1/quic": "open",
        "fs1/quic6": "open",
        "fs1/quic-control": "open",
        "fs1/quic-control6": "open",
    }


def test_exec_runs_in_mgmt_with_password_and_exit_code(lab: Lab) -> None:
    code = (
        "import os, socket, sys;"
        "s = socket.create_connection(('10.45.10.10', 8000), timeout=2);"
        "print(s.getsockname()[0], os.getcwd(), os.environ['KEPT'],"
        f" len(os.environ['{PASSWORD_ENV}']),"
        f" os.environ['{WIN_PASSWORD_ENV}'] =="
        " open('/run/smbtests-lab/secrets/win_password').read());"
        "sys.exit(7)"
    )
    env = {**os.environ, "KEPT": "yes"}
    env.pop(PASSWORD_ENV, None)
    env.pop(WIN_PASSWORD_ENV, None)
    result = lab.cli("lab", "exec", "--", "/usr/bin/python3", "-c", code, env=env)
    assert result.returncode == 7, result.stderr
    source, cwd, kept, length, win_matches = result.stdout.split()
    assert (source, cwd, kept, win_matches) == ("10.45.0.10", os.getcwd(), "yes", "True")
    assert int(length) == len(lab.smb_password())
    for password in (lab.smb_password(), lab.win_password()):
        assert password not in result.stdout + result.stderr


def test_secrets_are_private(lab: Lab) -> None:
    for name in ("smb_password", "win_password"):
        assert (lab.state_dir / "secrets" / name).stat().st_mode & 0o777 == 0o600
    assert (lab.state_dir / "secrets").stat().st_mode & 0o777 == 0o700
    assert (lab.state_dir / "ssh" / "id_ed25519").stat().st_mode & 0o777 == 0o600


def test_unknown_scenario_is_one_clear_line(lab: Lab) -> None:
    result = lab.cli("lab", "scenario", "no-such-thing")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


def test_non_root_gets_one_clear_message(lab: Lab) -> None:
    result = lab.cli_as_nobody("lab", "status")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "smbtests: the lab needs root (network namespaces, nftables, smbd, sshd): "
        "run it as root, e.g. `sudo smbtests lab ...`"
    ]


def test_missing_programs_name_the_packages(lab: Lab) -> None:
    # An empty PATH hides every program `up` needs; the check runs before anything is touched.
    result = lab.cli("lab", "up", env={**os.environ, "PATH": "/nonexistent"})
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert "apt-get install -y" in line
    for package in ("iproute2", "nftables", "samba", "openssh-client"):
        assert package in line
    assert lab.cli("lab", "status").returncode == 0
