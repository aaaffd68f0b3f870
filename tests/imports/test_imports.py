"""`smbtests import ansible|netbox|csv`: small sources written here become a draft policy and
environment that `smbtests validate` accepts, with the guesses marked TODO(human)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from smbtests.cli import main
from smbtests.imports import ansible
from smbtests.imports.mapping import classify

INI = """\
# corp inventory
[fileservers]
fs[01:02] smb_shares=Departments,Home$

[domain_controllers]
dc01 ansible_host=10.20.0.5
dc02 ansible_host=10.20.0.6

[workstations]
ws-101 ansible_host=10.30.1.101

[guest_wifi]
kiosk1 ansible_host=172.20.0.50

[probes]
probe-guest ansible_host=172.20.0.10
probe-corp:2222 ansible_host=10.30.1.10

[probes:vars]
ansible_user=smbprobe
ansible_password=canary-pw-5521

[jump]
jump1 ansible_host=10.10.0.5

[servers:children]
fileservers
domain_controllers

[web]
intranet.example.com
"""

YAML_INVENTORY = """\
all:
  children:
    file_servers:
      hosts:
        nas1: {ansible_host: 10.20.0.11, smb_shares: [projects]}
    print:
      hosts:
        prn01: {ansible_host: 10.20.0.21}
    clients:
      hosts:
        pc1: {ansible_host: 10.30.0.20}
      children:
        smbtests_probes:
          hosts:
            vantage1:
              ansible_host: 10.30.0.10
              ansible_user: audit
              ansible_ssh_private_key_file: /etc/smbtests/id_ed25519
"""


def run_import(tmp_path: Path, source: str, text: str, name: str, *extra: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    out = tmp_path / "out"
    assert main(["import", source, str(path), "-o", str(out), "--name", "corp", *extra]) == 0
    return out


def validated(out: Path, capsys: pytest.CaptureFixture[str]) -> tuple[dict, dict]:
    """The draft's (environment, policy) after `smbtests validate` accepted them."""
    capsys.readouterr()
    assert main(["validate", str(out / "corp.yaml")]) == 0
    assert capsys.readouterr().out.startswith(f"ok {out / 'corp.yaml'}: environment corp")
    environment = yaml.safe_load((out / "corp.yaml").read_text())
    policy = yaml.safe_load((out / "corp-policy.yaml").read_text())
    return environment, policy


def test_ansible_ini_imports_into_files_that_validate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a range line's variables go to every host of the range (as in Ansible); each host's own
    # line adds its address (two SMB hosts on one address are refused by validate)
    text = INI.replace(
        "[fileservers]\n",
        "[fileservers]\nfs01 ansible_host=10.20.0.11\nfs02 ansible_host=10.20.0.13\n"
        "fs03 ansible_host=10.20.0.12\n",
    )
    out = run_import(tmp_path, "ansible", text, "hosts.ini")
    printed = capsys.readouterr().out
    # intranet.example.com has no address, and names are never looked up: left out
    assert "10 hosts read: 5 SMB hosts, 4 segments, 2 probes" in printed
    assert "; 1 left out" in printed
    environment, policy = validated(out, capsys)

    hosts = policy["smb_hosts"]
    assert {n: (h["address"], h["role"]) for n, h in hosts.items()} == {
        "dc01": ("10.20.0.5", "dc"),
        "dc02": ("10.20.0.6", "dc"),
        "fs01": ("10.20.0.11", "file"),
        "fs02": ("10.20.0.13", "file"),
        "fs03": ("10.20.0.12", "file"),
    }
    assert hosts["fs01"]["shares"] == ["Departments", "Home$"]
    assert policy["segments"]["servers"] == {"kind": "servers", "cidrs": ["10.20.0.0/24"]}
    assert policy["segments"]["guest_wifi"]["kind"] == "untrusted"
    assert policy["segments"]["jump"]["kind"] == "mgmt"
    assert policy["approved_paths"] == [
        {"from": ["jump"], "to": ["*"], "reason": "administration of every SMB host"}
    ]
    probes = environment["probes"]
    assert probes["probe-corp"]["port"] == 2222 and probes["probe-corp"]["user"] == "smbprobe"
    assert probes["probe-guest"]["segment"] == "guest_wifi"
    policy_text = (out / "corp-policy.yaml").read_text()
    assert "# TODO(human): left out: intranet.example.com" in policy_text
    assert "# TODO(human): list who may reach which SMB host on 445" in policy_text
    assert "# TODO(human): `control` is a placeholder" in (out / "corp.yaml").read_text()
    for written in out.iterdir():
        assert "canary-pw-5521" not in written.read_text()  # no inventory secret is copied


def test_ansible_yaml_inventory_and_map_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = run_import(tmp_path, "ansible", YAML_INVENTORY, "inventory.yml", "--map", "PRINT=print")
    environment, policy = validated(out, capsys)
    assert policy["smb_hosts"]["nas1"] == {
        "address": "10.20.0.11",
        "role": "file",
        "shares": ["projects"],
    }
    assert policy["smb_hosts"]["prn01"]["role"] == "print"
    vantage = environment["probes"]["vantage1"]
    assert vantage["segment"] == "clients"  # the parent group names the probe's segment
    assert (vantage["user"], vantage["key"]) == ("audit", "/etc/smbtests/id_ed25519")
    assert policy["segments"]["clients"]["kind"] == "trusted"


def test_no_probe_in_the_source_gives_a_local_runner_to_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = run_import(tmp_path, "ansible", "[nas]\n10.1.2.3\n", "hosts")
    environment, _ = validated(out, capsys)
    assert environment["probes"]["runner"]["transport"] == "local"
    assert "no host mapped to `probe`" in (out / "corp.yaml").read_text()


def test_netbox_csv_and_json_exports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv_text = (
        "IP Address,Status,Role,DNS Name,Device,Tags\n"
        "10.20.0.11/22,Active,,fs1.corp.example,FS01,smb\n"
        "10.20.0.5/22,Active,,dc1.corp.example,DC01,domain-controller\n"
        "10.20.0.7/32,Active,,,DC02,domain-controller\n"
        "10.20.0.99/22,Deprecated,,old.corp.example,OLD,smb\n"
        '172.21.0.10/24,Active,,,probe-iot,"probe,iot"\n'
    )
    out = run_import(tmp_path, "netbox", csv_text, "ip-addresses.csv")
    environment, policy = validated(out, capsys)
    assert policy["smb_hosts"]["FS01"]["role"] == "file"
    assert policy["smb_hosts"]["DC01"]["role"] == "dc"
    assert "OLD" not in policy["smb_hosts"]  # not active
    # NetBox's own prefix; DC02's /32 names only the host, which lies in FS01's /22
    assert policy["segments"]["servers"]["cidrs"] == ["10.20.0.0/22"]
    assert policy["smb_hosts"]["DC02"]["address"] == "10.20.0.7"
    assert "10.20.0.0/22: assumed" not in (out / "corp-policy.yaml").read_text()
    assert environment["probes"]["probe-iot"]["segment"] == "iot"

    page = {
        "count": 2,
        "results": [
            {"name": "PRN01", "role": {"slug": "print-server"}, "status": {"value": "active"},
             "primary_ip4": {"address": "10.20.0.21/24"}, "tags": []},
            {"name": "FS02", "device_role": {"slug": "file-server"},
             "primary_ip4": {"address": "10.20.0.12/24"}, "tags": [{"slug": "tier1"}]},
        ],
    }  # fmt: skip
    out = tmp_path / "json-out"
    (tmp_path / "devices.json").write_text(json.dumps(page))
    assert main(["import", "netbox", str(tmp_path / "devices.json"), "-o", str(out),
                 "--name", "corp"]) == 0  # fmt: skip
    _, policy = validated(out, capsys)
    assert {n: h["role"] for n, h in policy["smb_hosts"].items()} == {
        "FS02": "file",
        "PRN01": "print",
    }


def test_csv_with_documented_columns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (
        "\ufeffName;Address;Role;Segment;Shares\n"
        "FS01;10.20.0.11;File server;datacenter;Departments;\n"
        "probe-guest;172.20.0.10;probe;guest-wifi;\n"
    )
    out = run_import(tmp_path, "csv", text, "hosts.csv")
    environment, policy = validated(out, capsys)
    assert policy["smb_hosts"]["FS01"] == {
        "address": "10.20.0.11",
        "role": "file",
        "shares": ["Departments"],
    }
    assert policy["segments"]["datacenter"]["kind"] == "servers"
    assert policy["segments"]["guest-wifi"]["kind"] == "untrusted"
    assert environment["probes"]["probe-guest"]["segment"] == "guest-wifi"


def test_existing_files_need_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = run_import(tmp_path, "ansible", "[nas]\n10.1.2.3\n", "hosts")
    args = ["import", "ansible", str(tmp_path / "hosts"), "-o", str(out), "--name", "corp"]
    capsys.readouterr()
    assert main(args) == 2
    assert capsys.readouterr().err == (
        f"smbtests: {out / 'corp.yaml'} exists; pass --force to overwrite it, "
        "or choose another -o folder\n"
    )
    assert main([*args, "--force"]) == 0


@pytest.mark.parametrize(
    ("source", "name", "text", "extra", "message"),
    [
        ("ansible", "hosts", "[web]\n10.0.0.1\n", (),
         "no host maps to an SMB role (file, dc, print, admin)"),
        ("ansible", "hosts", "[nas]\n10.0.0.1 badvar\n", (), "hosts:2: `badvar` is not key=value"),
        ("ansible", "hosts", "[nas:oops]\n", (), "hosts:1: `[nas:oops]` is not a section"),
        ("ansible", "inv.yml", "all:\n  host: {}\n", (), "all: unknown key `host`"),
        ("ansible", "hosts", "[nas]\n10.0.0.1\n", ("--map", "nas=fileserver"),
         "--map nas=fileserver: give LABEL=ROLE with ROLE one of file, dc"),
        ("csv", "h.csv", "host,ip\nfs,10.0.0.1\n", (), "h.csv:1: missing column name, address"),
        ("csv", "h.csv", "name,address\nfs,10.0.0.300\n", (), "h.csv:2: `10.0.0.300` is not IPv4"),
        ("netbox", "n.csv", "Name,Status\nfs,Active\n", (), "n.csv: no address column"),
    ],
)  # fmt: skip
def test_bad_input_is_one_clear_message(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    source: str,
    name: str,
    text: str,
    extra: tuple[str, ...],
    message: str,
) -> None:
    (tmp_path / name).write_text(text)
    args = ["import", source, str(tmp_path / name), "-o", str(tmp_path / "out"), *extra]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_default_mapping_matches_words_not_substrings() -> None:
    assert classify("domain_controllers", {}) == "dc"
    assert classify("FileServers", {}) == "file"
    assert classify("offsite", {}) is None  # `fs` hides in it, but is not a word of it
    assert classify("guest-wifi", {}) == "untrusted"
    assert classify("offsite", {"offsite": "file"}) == "file"


def test_host_ranges_expand_like_ansible() -> None:
    assert ansible.expand_range("fs[01:03].corp") == ["fs01.corp", "fs02.corp", "fs03.corp"]
    assert ansible.expand_range("db-[a:c]") == ["db-a", "db-b", "db-c"]
    assert ansible.expand_range("n[0:10:5]") == ["n0", "n5", "n10"]


def test_the_documented_csv_example_imports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "import.md").read_text()
    (example,) = re.findall(r"```csv\n(.*?)```", doc, flags=re.S)
    out = run_import(tmp_path, "csv", example, "hosts.csv")
    _, policy = validated(out, capsys)
    assert policy["smb_hosts"]["FS01"]["shares"] == ["Departments", "Home$"]
