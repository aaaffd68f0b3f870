"""dc1's Windows configuration: a second WS-Management double beside dc1's real smbd.

The smbd on 10.45.10.12:445 is the wire; the double on 10.45.10.12:5985/5986 is what dc1's
configuration says it is (a hardened Windows server). No scenario changes the double, so
`smb1-enabled`, which changes only the smbd, is drift between the two, like a GPO that did not
apply. Readings come from programs/win_facts.py in smblab-mgmt (smbtests' WinRM probe over HTTPS,
verified against dc1's own lab CA); reachability of 5985/5986 from the routed segments is in
test_reachability.py, the scenario snapshots (which hold every `dc1-win:*` reading) in
test_scenarios.py, `down` ending the double in test_teardown.py.
"""

from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from cryptography import x509

from smbtests.lab.doubles import DOUBLES
from tests.conftest import Lab
from tests.lab.conftest import (
    CONNECT_TIMEOUT,
    PROGRAMS,
    current_readings,
    namespace,
    smb_facts,
    tracked_process,
    win_facts,
)

pytestmark = pytest.mark.lab

DC1 = "10.45.10.12"
DC1_WIN_DIR = Path("/run/smbtests-lab/dc1-win")
DOUBLE = "dc1/wsman"
STOP_WAIT = 5.0

# The one 445 rule: named subnets (corp, mgmt), never Any.
DC1_SMB_RULE = (
    "File and Printer Sharing (SMB-In): Inbound Allow enabled=True TCP 445"
    " from 10.45.20.0/255.255.255.0,10.45.0.0/255.255.255.0 profile Domain"
)
# dc1's compliant configuration as read over WinRM: a hardened server matching compliant Samba.
COMPLIANT_DC1 = {
    "dc1-win:smb/EnableSMB1Protocol": "False",
    "dc1-win:smb/EnableSMB2Protocol": "True",
    "dc1-win:smb/RequireSecuritySignature": "True",
    "dc1-win:smb/EnableSecuritySignature": "True",
    "dc1-win:smb/EncryptData": "False",
    "dc1-win:smb/RejectUnencryptedAccess": "True",
    "dc1-win:smb/AuditSmb1Access": "True",
    "dc1-win:smb/EnableSMBQUIC": "True",  # declared for remote access
    "dc1-win:smb1-feature": "Disabled",
    **{
        f"dc1-win:firewall/{profile}/{field}": value
        for profile in ("Domain", "Private", "Public")
        for field, value in (
            ("Enabled", "True"),
            ("DefaultInboundAction", "Block"),
            ("LogBlocked", "True"),
            ("LogMaxSizeKilobytes", "16384"),
        )
    },
    "dc1-win:rules-445": DC1_SMB_RULE,
}


def test_compliant_dc1_configuration_read_over_winrm(lab_compliant: dict[str, str]) -> None:
    read = {key: value for key, value in lab_compliant.items() if key.startswith("dc1-win:")}
    dc1 = DOUBLES["dc1"].compliant()
    assert read == {**COMPLIANT_DC1, **current_readings("dc1-win", dc1)}
    assert "Any" not in read["dc1-win:rules-445"]


def test_winrm_on_dc1_from_its_segment_dropped_while_445_answers(lab: Lab) -> None:
    # fs1 and print1 share dc1's segment, switched past the router: only dc1's own table stops
    # them. corp1 is routed: the router drops its WinRM and accepts its 445 (approved path).
    code = (PROGRAMS / "connect.py").read_text()
    targets = [f"{DC1}:5985", f"{DC1}:5986", f"{DC1}:445"]

    def verdicts(client: str) -> dict[str, str]:
        answer: dict[str, str] = json.loads(
            lab.netns_python(namespace(client), code, 15, args=[str(CONNECT_TIMEOUT), *targets])
        )
        return answer

    clients = ("fs1", "print1", "corp1")
    with ThreadPoolExecutor(max_workers=len(clients)) as pool:
        found = dict(zip(clients, pool.map(verdicts, clients), strict=True))
    expected = {f"{DC1}:5985": "filtered", f"{DC1}:5986": "filtered", f"{DC1}:445": "open"}
    assert found == dict.fromkeys(clients, expected)


def test_dc1_filter_touches_only_winrm(lab: Lab) -> None:
    listed = subprocess.run(
        ["ip", "netns", "exec", namespace("dc1"), "nft", "list", "ruleset"],
        capture_output=True,
        text=True,
        check=True,
        timeout=10,
    ).stdout
    tables = [line for line in listed.splitlines() if line.startswith("table ")]
    assert tables == ["table inet smblab_dc1 {"]
    drops = [line.strip() for line in listed.splitlines() if " drop" in line]
    assert drops == [
        'tcp dport { 5985, 5986 } ip saddr != 10.45.0.0/24 drop comment "WinRM: mgmt only"'
    ]
    assert "policy accept" in listed


def test_double_runs_in_dc1_with_its_own_files(lab: Lab) -> None:
    process = tracked_process(lab, DOUBLE)
    assert process["namespace"] == "smblab-dc1"
    argv = process["argv"]
    assert isinstance(argv, list)
    for option, value in (
        ("--bind", DC1),
        ("--http-port", "5985"),
        ("--https-port", "5986"),
        ("--user", "labadmin"),
        ("--password-file", str(lab.state_dir / "secrets" / "win_password")),
        ("--state", str(DC1_WIN_DIR / "state.json")),
        ("--cert-dir", str(DC1_WIN_DIR)),
        ("--hostname", "dc1"),
    ):
        assert argv[argv.index(option) + 1] == value
    pids = subprocess.run(
        ["ip", "netns", "pids", namespace("dc1")], capture_output=True, text=True, check=True
    ).stdout.split()
    assert str(process["pid"]) in pids

    assert DC1_WIN_DIR.stat().st_mode & 0o777 == 0o700
    assert (DC1_WIN_DIR / "server-key.pem").stat().st_mode & 0o777 == 0o600
    ca_pem = (DC1_WIN_DIR / "ca.pem").read_bytes()
    ca = x509.load_pem_x509_certificate(ca_pem)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert "DOUBLE" in ca.subject.rfc4514_string()
    assert ca_pem != (lab.state_dir / "win1" / "ca.pem").read_bytes()  # a CA of its own
    server = x509.load_pem_x509_certificate((DC1_WIN_DIR / "server.pem").read_bytes())
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "dc1" in names.get_values_for_type(x509.DNSName)
    assert DC1 in {str(a) for a in names.get_values_for_type(x509.IPAddress)}
    state = json.loads((DC1_WIN_DIR / "state.json").read_text())
    assert (state["schema"], state["computer_name"], state["auth_broken"]) == (1, "DC1", False)


def test_smb1_enabled_is_drift_between_wire_and_configuration(lab: Lab) -> None:
    state_file = DC1_WIN_DIR / "state.json"
    compliant = state_file.read_text()
    # Tamper with the configuration first: applying any scenario writes it compliant again.
    tampered = json.loads(compliant)
    tampered["smb_server_configuration"]["EnableSMB1Protocol"] = True
    state_file.write_text(json.dumps(tampered))
    with lab.scenario("smb1-enabled"):
        assert state_file.read_text() == compliant
        with ThreadPoolExecutor(max_workers=2) as pool:
            wire = pool.submit(smb_facts, lab)
            configuration = pool.submit(win_facts, lab, "dc1")
            # the wire accepts SMB1 ...
            assert wire.result()["dc1"]["smb1"] == "accepted"
            # ... while the configuration still says it is off
            read = configuration.result()
        assert read["dc1-win:smb/EnableSMB1Protocol"] == "False"
        assert read["dc1-win:smb1-feature"] == "Disabled"
        assert state_file.read_text() == compliant
    assert state_file.read_text() == compliant
