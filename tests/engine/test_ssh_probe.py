"""The ssh probe against the lab's real sshd: every failure of the probe itself is a
ProbeError with a one-line reason, never a result."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Lab

PROGRAM = """
import json, sys
from pathlib import Path
from smbtests.errors import ProbeError
from smbtests.observations import Target
from smbtests.probes import _openssh
from smbtests.probes.base import ScanJob
from smbtests.probes.ssh import SshProbe
args = json.loads(sys.argv[1])
key, known_hosts = Path(args["key"]), Path(args["known_hosts"])
login = _openssh.login("10.45.30.31", args["port"], "smbprobe", key, known_hosts, args["deadline"])
ssh = None if args["client"] == "paramiko" else _openssh.client(login)
started = None
if args["client"] == "started":  # as plugins/early.py starts it while pytest collects
    started = _openssh.start_scanner("guest1", args["python"], ssh, login)
probe = SshProbe("guest1", "10.45.30.31", "smbprobe", key, known_hosts, python=args["python"],
                 port=args["port"], channel_timeout=args["deadline"], openssh=ssh,
                 started=started)
try:
    results = probe.scan(ScanJob([Target("10.45.10.10", 8000)], 1.0, 4))
    print(json.dumps({"state": results[0].state.value}))
except ProbeError as exc:
    print(json.dumps({"error": str(exc)}))
finally:
    probe.close()
print(json.dumps({"paramiko": "paramiko" in sys.modules}))
"""
# paramiko runs the commands where the runner has no `ssh`; "started": the scanner started
# before the probe was made, as plugins/early.py does
CLIENTS = ["openssh", "started", "paramiko"]
SSH_DIR = Path("/run/smbtests-lab/ssh")


def scan_once(
    key: Path,
    known_hosts: Path,
    python: str = "/usr/bin/python3",
    port: int = 22,
    deadline: float = 10.0,
    client: str = "openssh",
) -> dict[str, str]:
    args = json.dumps(
        {
            "key": str(key),
            "known_hosts": str(known_hosts),
            "python": python,
            "port": port,
            "deadline": deadline,
            "client": client,
        }
    )
    done = subprocess.run(
        ["ip", "netns", "exec", "smblab-mgmt", sys.executable, "-c", PROGRAM, args],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "Traceback" not in done.stderr  # a library's traceback is never the message
    *_, answer, imported = done.stdout.strip().splitlines()
    # a scan through OpenSSH leaves paramiko unimported (its import is the runner's time)
    assert json.loads(imported) == {"paramiko": client == "paramiko"}
    return dict(json.loads(answer))


@pytest.fixture
def foreign_key(tmp_path: Path) -> Path:
    key = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return key


@pytest.mark.lab
@pytest.mark.parametrize("client", CLIENTS)
def test_probe_failures_are_errors_with_a_reason(
    lab: Lab, tmp_path: Path, foreign_key: Path, client: str
) -> None:
    key, known = SSH_DIR / "id_ed25519", SSH_DIR / "known_hosts"
    probe = functools.partial(scan_once, client=client)
    assert probe(key, known) == {"state": "open"}

    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    assert "host key not in known_hosts" in probe(key, empty)["error"]
    assert empty.read_text() == ""  # strict: nothing is ever added to it

    # the right address with another host's key: an impersonation must not be trusted
    lines = known.read_text().splitlines()
    corp_key = next(line for line in lines if line.startswith("10.45.20.21 ")).split(" ", 1)[1]
    forged = tmp_path / "forged_known_hosts"
    forged.write_text(f"10.45.30.31 {corp_key}\n")
    assert "does not match known_hosts" in probe(key, forged)["error"]

    assert "authentication failed" in probe(foreign_key, known)["error"]
    assert "not found on the probe" in probe(key, known, python="/nonexistent/python3")["error"]

    with lab.scenario("probe-down"):
        assert "cannot connect over SSH: Connection refused" in probe(key, known)["error"]

    if client != "paramiko":  # OpenSSH refuses a key others can read, and says how to fix it
        shared = tmp_path / "shared_key"
        shared.write_bytes(key.read_bytes())
        shared.chmod(0o644)
        assert "`chmod 600` it" in probe(shared, known)["error"]


@pytest.fixture
def scripts() -> Iterator[Path]:
    """A directory the probe's user can read (pytest's tmp_path is private to root)."""
    with tempfile.TemporaryDirectory(prefix="smbtests-liar-") as name:
        Path(name).chmod(0o755)
        yield Path(name)


def wrapper(scripts: Path, name: str, body: str) -> str:
    """A `python` for the probe that misbehaves around (or instead of) the real scanner."""
    script = scripts / name
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(0o755)
    return str(script)


@pytest.mark.lab
@pytest.mark.parametrize("client", CLIENTS)
def test_a_lying_or_dripping_scanner_is_an_error(lab: Lab, scripts: Path, client: str) -> None:
    key, known = SSH_DIR / "id_ed25519", SSH_DIR / "known_hosts"
    probe = functools.partial(scan_once, client=client)
    exits_3 = wrapper(scripts, "exit3", '/usr/bin/python3 "$@"; exit 3')
    assert "scanner exited 3" in probe(key, known, python=exits_3)["error"]
    twice = wrapper(
        scripts,
        "twice",
        'echo \'{"i": 0, "state": "refused", "errno": 111, "ms": 1, "detail": ""}\'; '
        '/usr/bin/python3 "$@"',
    )
    assert "answered target 0 twice" in probe(key, known, python=twice)["error"]
    no_end = wrapper(scripts, "noend", '/usr/bin/python3 "$@" | grep -v done')
    assert "end marker missing" in probe(key, known, python=no_end)["error"]
    # blank lines forever (bounded by the test's own timeout): the deadline still holds
    drip = wrapper(
        scripts, "drip", "i=0; while [ $i -lt 600 ]; do echo; sleep 0.1; i=$((i+1)); done"
    )
    assert "did not finish within 2 s" in probe(key, known, python=drip, deadline=2.0)["error"]


@pytest.mark.lab
@pytest.mark.parametrize("client", CLIENTS)
def test_an_sshd_that_sends_no_banner_reads_as_such(lab: Lab, client: str) -> None:
    """A stopped (hung) sshd accepts TCP but never speaks: one line, no paramiko traceback."""
    silent = (
        "import socket; s = socket.create_server(('10.45.30.31', 2222)); "
        "print('ready', flush=True); c = s.accept(); c[0].recv(1)"
    )
    server = subprocess.Popen(
        ["ip", "netns", "exec", "smblab-guest1", sys.executable, "-c", silent],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        answer = scan_once(
            SSH_DIR / "id_ed25519", SSH_DIR / "known_hosts", port=2222, deadline=2.0, client=client
        )
        assert "sent no SSH banner" in answer["error"]
    finally:
        server.kill()
        server.wait(10)


TAIL_AND_UNUSED = """
import json, os, sys
from pathlib import Path
from smbtests.probes import _openssh
from smbtests.probes.ssh import SshProbe
args = json.loads(sys.argv[1])
key, known_hosts = Path(args["key"]), Path(args["known_hosts"])
login = _openssh.login("10.45.30.31", 22, "smbprobe", key, known_hosts, 10.0)
ssh = None if args["client"] == "paramiko" else _openssh.client(login)
unused = _openssh.start_scanner("guest1", "/usr/bin/python3", ssh, login) if ssh else None
probe = SshProbe("guest1", "10.45.30.31", "smbprobe", key, known_hosts, openssh=ssh,
                 started=unused, channel_timeout=10.0)
try:
    tail = probe.read_tail(args["path"], 1 << 16)
finally:
    probe.close()
gone = True
if unused is not None:
    try:
        os.kill(unused.pid, 0)
        gone = False
    except ProcessLookupError:
        pass
print(json.dumps({"tail": tail, "unused_scanner_gone": gone}))
"""


@pytest.mark.lab
@pytest.mark.parametrize("client", ["openssh", "paramiko"])
def test_a_logs_tail_keeps_its_lines_and_an_unused_scanner_ends(
    lab: Lab, scripts: Path, client: str
) -> None:
    """A deny log read over SSH comes back line by line (its newlines kept); a scanner started
    early for a probe whose command is another one ends when the probe closes."""
    log = scripts / "deny.log"
    log.write_text("first drop\nsecond drop\nthird drop\n")
    log.chmod(0o644)
    args = {
        "key": str(SSH_DIR / "id_ed25519"),
        "known_hosts": str(SSH_DIR / "known_hosts"),
        "client": client,
        "path": str(log),
    }
    program = [sys.executable, "-c", TAIL_AND_UNUSED, json.dumps(args)]
    done = subprocess.run(
        ["ip", "netns", "exec", "smblab-mgmt", *program],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["tail"].splitlines() == ["first drop", "second drop", "third drop"]
    assert answer["unused_scanner_gone"] is True
