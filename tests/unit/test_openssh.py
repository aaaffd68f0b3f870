"""probes/_openssh.py: the OpenSSH client's options, its failures as typed ProbeErrors, and one
command's run under one deadline (with a stand-in `ssh` that runs locally: the lab's tests in
tests/engine/test_ssh_probe.py run the real client against a real sshd)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from smbtests.errors import (
    HostKeyError,
    ProbeAuthError,
    ProbeError,
    ProbeTimeoutError,
    ProbeUnreachableError,
)
from smbtests.probes._openssh import Command, argv, client, failure_of, login
from smbtests.probes._remote import Deadline

LOGIN = login("10.45.30.31", 2200, "smbprobe", Path("/k/id"), Path("/k/known"), 60.0)


def test_the_client_is_as_strict_as_paramiko_and_reads_no_config_of_its_own() -> None:
    command = argv("/usr/bin/ssh", LOGIN, "python3 -c pass")
    options = dict(a[2:].split("=", 1) for a in command if a.startswith("-o"))
    assert command[1:3] == ["-F", "/dev/null"]  # no ~/.ssh/config, no /etc/ssh/ssh_config
    assert options["StrictHostKeyChecking"] == "yes"
    assert options["UserKnownHostsFile"] == '"/k/known"'
    assert options["GlobalKnownHostsFile"] == "/dev/null"
    assert options["UpdateHostKeys"] == "no"  # known_hosts is never written to
    assert options["IdentityFile"] == '"/k/id"' and options["IdentitiesOnly"] == "yes"
    assert options["IdentityAgent"] == "none" and options["BatchMode"] == "yes"
    assert options["ControlPath"] == "none" and options["ClearAllForwardings"] == "yes"
    assert options["Port"] == "2200" and options["User"] == '"smbprobe"'
    assert options["ConnectTimeout"] == "15"  # half of 60 s, at most 15
    assert options["KexAlgorithms"].startswith("curve25519-sha256,")
    # the address can never be read as an option
    assert command[-3:] == ["--", "10.45.30.31", "python3 -c pass"]


@pytest.mark.parametrize(
    ("stderr", "kind", "words"),
    [
        (
            "@@@@@@@@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n"
            "Host key verification failed.\n",
            HostKeyError,
            "does not match known_hosts",
        ),
        (
            "No ED25519 host key is known for 10.45.30.31 and you have requested strict "
            "checking.\r\nHost key verification failed.\r\n",
            HostKeyError,
            "host key not in known_hosts",
        ),
        (
            "@         WARNING: UNPROTECTED PRIVATE KEY FILE!          @\nPermissions 0644 for "
            "'/k/id' are too open.\nsmbprobe@10.45.30.31: Permission denied (publickey).\n",
            ProbeAuthError,
            "OpenSSH will not use /k/id: others can read it; `chmod 600` it",
        ),
        ("smbprobe@10.45.30.31: Permission denied (publickey).\r\n", ProbeAuthError, "failed"),
        (
            "Connection timed out during banner exchange\r\nConnection to 10.45.30.31 port "
            "2222 timed out\r\n",
            ProbeUnreachableError,
            "sent no SSH banner",
        ),
        (
            "ssh: connect to host 10.45.30.31 port 22: Connection refused\r\n",
            ProbeUnreachableError,
            "cannot connect over SSH: Connection refused",
        ),
        (
            "ssh: connect to host 10.45.30.31 port 22: Connection timed out\r\n",
            ProbeTimeoutError,
            "SSH timed out",
        ),
        (
            "ssh: Could not resolve hostname probe.example: Name or service not known\r\n",
            ProbeUnreachableError,
            "cannot connect over SSH: Name or service not known",
        ),
        (
            "Received disconnect from 10.45.30.31 port 22:2: Too many authentication failures",
            ProbeAuthError,
            "authentication failed",
        ),
        (
            "Unable to negotiate with 10.45.30.31 port 22: no matching key exchange method found",
            ProbeUnreachableError,
            "SSH failed: Unable to negotiate",
        ),
        (
            "Connection to 10.45.30.31 closed by remote host.\r\n",
            ProbeUnreachableError,
            "SSH failed: Connection to 10.45.30.31 closed by remote host.",
        ),
        (
            'command-line line 0: garbage at end of line; "x".\r\n',
            ProbeError,
            "ssh refused its options: command-line line 0",
        ),
    ],
)
def test_the_clients_failures_are_the_typed_errors_paramikos_are(
    stderr: str, kind: type[ProbeError], words: str
) -> None:
    error = failure_of("guest1", LOGIN, stderr)
    assert type(error) is kind and error is not None and words in str(error)
    assert "\n" not in str(error)


def test_paths_reach_the_client_as_one_value_each_as_ssh_reads_them(tmp_path: Path) -> None:
    """Spaces quoted, `%` escaped, relative paths made absolute: what `ssh -G` (which reads
    the options and connects nowhere) resolves is the file itself."""
    odd = tmp_path / "known hosts %d"
    spaced = login("192.0.2.1", 22, "smbprobe", Path("/k/id"), odd, 60.0)
    ssh = client(spaced)
    assert ssh is not None
    command = argv(ssh, spaced, "true")
    done = subprocess.run(
        [command[0], "-G", *command[1:-3], "192.0.2.1"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert f"userknownhostsfile {odd}" in done.stdout.splitlines()


def test_a_value_ssh_config_cannot_carry_leaves_the_commands_to_paramiko() -> None:
    quoted = login("192.0.2.1", 22, "smbprobe", Path('/k/"id"'), Path("/k/known"), 60.0)
    assert client(quoted) is None
    newline = login("192.0.2.1", 22, "smb\nprobe", Path("/k/id"), Path("/k/known"), 60.0)
    assert client(newline) is None


def test_a_remote_command_that_exits_255_is_not_taken_for_the_client() -> None:
    assert failure_of("guest1", LOGIN, "Traceback (most recent call last):\n...\n") is None


def stand_in(tmp_path: Path, body: str) -> str:
    """An `ssh` that ignores its arguments and runs body locally."""
    script = tmp_path / "ssh"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(0o755)
    return str(script)


def test_a_command_gets_its_whole_stdin_while_its_lines_stream(tmp_path: Path) -> None:
    """A request far over the pipe's buffer, echoed back at once: no deadlock, every line."""
    command = Command("guest1", stand_in(tmp_path, "cat"), LOGIN, "scanner")
    lines: list[str] = []
    request = b"".join(b"%d\n" % n for n in range(100_000))
    try:
        code, stderr = command.run(request, lines.append, Deadline.after("guest1", 30.0))
    finally:
        command.close()
    assert (code, stderr) == (0, "")
    assert lines == [str(n) for n in range(100_000)]


def test_one_deadline_bounds_the_call_and_close_ends_the_client(tmp_path: Path) -> None:
    command = Command("guest1", stand_in(tmp_path, "echo; exec sleep 30"), LOGIN, "scanner")
    try:
        with pytest.raises(ProbeTimeoutError, match=r"did not finish within 0\.3 s"):
            command.run(b"", lambda _: None, Deadline.after("guest1", 0.3))
    finally:
        command.close()
    with pytest.raises(ProcessLookupError):
        os.kill(command.pid, 0)


def test_the_clients_own_failure_raises_a_remote_commands_exit_is_returned(
    tmp_path: Path,
) -> None:
    refused = "echo 'ssh: connect to host 10.45.30.31 port 22: Connection refused' >&2; exit 255"
    command = Command("guest1", stand_in(tmp_path, refused), LOGIN, "scanner")
    try:
        with pytest.raises(ProbeUnreachableError, match="Connection refused"):
            command.run(b"request", lambda _: None, Deadline.after("guest1", 10.0))
    finally:
        command.close()
    command = Command("guest1", stand_in(tmp_path, "echo oops >&2; exit 3"), LOGIN, "scanner")
    try:
        assert command.run(b"", lambda _: None, Deadline.after("guest1", 10.0)) == (3, "oops\n")
    finally:
        command.close()
