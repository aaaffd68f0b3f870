"""win1: the WS-Management double as the lab's Windows endpoint, seen from the runner's side.

WinRM readings come from programs/win_facts.py, run inside smblab-mgmt: smbtests' probe over
HTTPS and pywinrm's `winrm.Session` over HTTP. Win scenarios are in test_scenarios.py, the
WinRM ports' reachability from every segment in test_reachability.py.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from cryptography import x509

from smbtests.lab.wsman import default_state
from tests.conftest import Lab
from tests.lab.conftest import current_readings, tracked_process

pytestmark = pytest.mark.lab

WIN1_DIR = Path("/run/smbtests-lab/win1")
DOUBLE = "win1/wsman"
STOP_WAIT = 5.0

# The compliant win1 as docs/winrm.md ("The state file") describes it, as read over WinRM.
COMPLIANT_WIN1 = {
    "win:smb/EnableSMB1Protocol": "False",
    "win:smb/EnableSMB2Protocol": "True",
    "win:smb/RequireSecuritySignature": "True",
    "win:smb/EnableSecuritySignature": "True",
    "win:smb/EncryptData": "False",
    "win:smb/RejectUnencryptedAccess": "True",
    "win:smb/AuditSmb1Access": "True",
    "win:smb/EnableSMBQUIC": "False",
    "win:smb1-feature": "Disabled",
    **{
        f"win:firewall/{profile}/{field}": value
        for profile in ("Domain", "Private", "Public")
        for field, value in (
            ("Enabled", "True"),
            ("DefaultInboundAction", "Block"),
            ("LogMaxSizeKilobytes", "16384"),
        )
    },
    **{f"win:firewall/{profile}/LogBlocked": "True" for profile in ("Domain", "Private", "Public")},
    "win:rules-445": (
        "SMB-In (corp servers): Inbound Allow enabled=True TCP 445 from 10.45.20.0/255.255.255.0"
        " profile Domain"
    ),
    "win:http/RequireSecuritySignature": "True",
}
# win1 is in corp: corp -> fs1, dc1, print1 on 445 approved, the control open to all, SMB on the
# internet behind the perimeter.
WIN1_REACH = {
    "fs1:445": "open",
    "dc1:445": "open",
    "print1:445": "open",
    "control:8000": "open",
    "inet-smb:445": "filtered",
}


def test_compliant_win1_read_over_winrm(lab_compliant: dict[str, str]) -> None:
    read = {key: value for key, value in lab_compliant.items() if key.startswith("win:")}
    assert read == {**COMPLIANT_WIN1, **current_readings("win", default_state())}


def test_reach_from_win1_over_winrm_follows_corp(lab_compliant: dict[str, str]) -> None:
    for target, verdict in WIN1_REACH.items():
        assert lab_compliant[f"winrm-reach:win1/{target}"] == verdict, target
        # the double's real connects agree with plain sockets from win1's namespace
        assert lab_compliant[f"reach:win1/{target}"] == verdict, target


def test_files_at_their_documented_paths(lab: Lab) -> None:
    ca = x509.load_pem_x509_certificate((WIN1_DIR / "ca.pem").read_bytes())
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert "DOUBLE" in ca.subject.rfc4514_string()
    secret = lab.state_dir / "secrets" / "win_password"
    assert secret.stat().st_mode & 0o777 == 0o600
    assert len(lab.win_password()) >= 16
    assert lab.win_password() != lab.smb_password()
    state = json.loads((WIN1_DIR / "state.json").read_text())
    assert (state["schema"], state["auth_broken"]) == (1, False)
    assert (WIN1_DIR / "server-key.pem").stat().st_mode & 0o777 == 0o600


def test_double_runs_in_win1_on_both_ports(lab: Lab) -> None:
    process = tracked_process(lab, DOUBLE)
    assert process["namespace"] == "smblab-win1"
    argv = process["argv"]
    assert isinstance(argv, list)
    for option, value in (
        ("--bind", "10.45.20.22"),
        ("--http-port", "5985"),
        ("--https-port", "5986"),
        ("--user", "labadmin"),
        ("--state", str(WIN1_DIR / "state.json")),
        ("--cert-dir", str(WIN1_DIR)),
    ):
        assert argv[argv.index(option) + 1] == value
    pids = subprocess.run(
        ["ip", "netns", "pids", "smblab-win1"], capture_output=True, text=True, check=True
    ).stdout.split()
    assert str(process["pid"]) in pids
