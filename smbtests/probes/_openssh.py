"""Commands on an SSH probe through the OpenSSH client (`ssh` on PATH), one process each.

Why: the handshake then runs in its own process, on another core, instead of in paramiko under
this interpreter's lock while pytest works; and a command can be started early (the scanner,
while pytest collects) and handed its stdin later. Measured at 4 x 256, alternating: 2.30-2.43
s before, 2.08-2.18 s after (docs/field-notes.md). Channels (dial, relay) stay on paramiko
(probes/_ssh_paramiko.py), and without `ssh` on PATH commands do too.

Why by hand: testinfra's ssh backend runs a command to its end with no stdin and no streamed
output, and no library bounds a whole OpenSSH call by one deadline while it streams lines.

The options make the call the same as paramiko's: this file's known_hosts only, strict (an
unknown or changed key fails, nothing is ever written to it), this key only (no agent, no
password, no prompt), no user or system ssh_config, no multiplexing or forwarding. The key
exchange prefers curve25519, as paramiko's does: OpenSSH 9's default post-quantum hybrid cost
~80 ms a connection here. This module is the one place the client's failures (exit 255 and
its stderr) become typed ProbeErrors.
"""

from __future__ import annotations

import math
import os
import re
import selectors
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from smbtests.errors import (
    HostKeyError,
    ProbeAuthError,
    ProbeError,
    ProbeTimeoutError,
    ProbeUnreachableError,
)
from smbtests.probes._remote import MAX_STDERR, SCANNER_SOURCE, Deadline, Lines, python_command

KEX = (
    "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,"
    "ecdh-sha2-nistp521,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,"
    "diffie-hellman-group14-sha256"
)
SSH_FAILED = 255  # the client's own exit status for a failure of its own


@dataclass(frozen=True)
class Login:
    address: str
    port: int
    user: str
    key: Path
    known_hosts: Path
    connect_timeout: float


def login(
    address: str, port: int, user: str, key: Path, known_hosts: Path, channel_timeout: float
) -> Login:
    """The connect (and banner) timeout is half the whole call's, at most 15 s: a probe that
    does not answer is named as such before the call's deadline passes."""
    return Login(address, port, user, key, known_hosts, min(channel_timeout / 2, 15.0))


def client(login: Login) -> str | None:
    """The OpenSSH client smbtests uses for this login, or None (then paramiko runs the
    commands too): none on PATH, or a value its config syntax cannot carry (a double quote or
    a control character; spaces and `%` are quoted and escaped)."""
    values = (login.address, login.user, str(login.key), str(login.known_hosts))
    if any('"' in value or not value.isprintable() for value in values):
        return None
    return shutil.which("ssh")


def _quoted(path: Path) -> str:
    """A path as one ssh_config value: absolute (no `~` expansion), `%` escaped, quoted."""
    return '"' + os.path.abspath(path).replace("%", "%%") + '"'


def argv(ssh: str, login: Login, command: str) -> list[str]:
    options = {
        "BatchMode": "yes",
        "StrictHostKeyChecking": "yes",
        "UserKnownHostsFile": _quoted(login.known_hosts),
        "GlobalKnownHostsFile": "/dev/null",
        "UpdateHostKeys": "no",
        "CheckHostIP": "no",
        "IdentityFile": _quoted(login.key),
        "IdentitiesOnly": "yes",
        "IdentityAgent": "none",
        "PreferredAuthentications": "publickey",
        "ControlMaster": "no",
        "ControlPath": "none",
        "ForwardAgent": "no",
        "ForwardX11": "no",
        "ClearAllForwardings": "yes",
        "PermitLocalCommand": "no",
        "RequestTTY": "no",
        "EscapeChar": "none",
        "ConnectTimeout": str(max(1, math.ceil(login.connect_timeout))),
        "KexAlgorithms": KEX,
        "LogLevel": "ERROR",
        "Port": str(login.port),
        "User": f'"{login.user}"',
    }
    flags = [f"-o{name}={value}" for name, value in options.items()]
    return [ssh, "-F", "/dev/null", *flags, "--", login.address, command]


class Command:
    """One command running on the probe from the moment it is made; `run` gives it its stdin
    and reads it to the end, `close` ends it whatever happened."""

    def __init__(self, name: str, ssh: str, login: Login, command: str) -> None:
        self._name = name
        self._login = login
        self.command = command
        try:
            self._process = subprocess.Popen(
                argv(ssh, login, command),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        except OSError as exc:
            raise ProbeError(name, f"cannot run {ssh}: {exc.strerror or exc}") from None

    @property
    def pid(self) -> int:
        return self._process.pid

    def run(
        self, stdin: bytes, on_line: Callable[[str], None], deadline: Deadline
    ) -> tuple[int, str]:
        """(exit status, stderr) of the command, its stdout lines handed to on_line as they
        arrive; the client's own failures raise their ProbeError."""
        process = self._process
        assert process.stdin and process.stdout and process.stderr
        lines, errors = Lines(self._name, on_line), bytearray()
        pending = memoryview(stdin)
        with selectors.DefaultSelector() as selector:
            os.set_blocking(process.stdin.fileno(), False)
            selector.register(process.stdin, selectors.EVENT_WRITE)
            selector.register(process.stdout, selectors.EVENT_READ)
            selector.register(process.stderr, selectors.EVENT_READ)
            while selector.get_map():
                for key, _ in selector.select(deadline.remaining()):
                    if key.fileobj is process.stdin:
                        pending = _write(process.stdin.fileno(), pending)
                        if not pending:
                            selector.unregister(process.stdin)
                            process.stdin.close()
                        continue
                    chunk = os.read(key.fd, 65536)
                    if not chunk:
                        selector.unregister(key.fileobj)
                    elif key.fileobj is process.stdout:
                        lines.feed(chunk)
                    else:
                        errors += chunk
                        del errors[:-MAX_STDERR]
        lines.end()
        try:
            code = process.wait(deadline.remaining())
        except subprocess.TimeoutExpired:
            raise deadline.missed() from None
        stderr = errors.decode(errors="replace")
        failure = failure_of(self._name, self._login, stderr) if code == SSH_FAILED else None
        if failure is not None:
            raise failure
        return code, stderr

    def close(self) -> None:
        """Ends the client (and with it the remote command); waits for it, bounded."""
        process = self._process
        if process.poll() is None:
            process.kill()
        for pipe in (process.stdin, process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()
        process.wait(5)


def start_scanner(name: str, python: str, ssh: str, probe_login: Login) -> Command:
    """The probe's scanner started now, waiting for its request (the first scan's)."""
    return Command(name, ssh, probe_login, python_command(python, SCANNER_SOURCE))


def _write(fd: int, pending: memoryview) -> memoryview:
    """What is left of stdin after one write; nothing once the command stopped reading."""
    try:
        return pending[os.write(fd, pending[:65536]) :]
    except BlockingIOError:
        return pending
    except BrokenPipeError:  # it ended first (a failed login, a missing python): exit says why
        return pending[:0]


_CONNECT = re.compile(r"ssh: connect to host \S+ port \d+: (.+)")


def failure_of(name: str, login: Login, stderr: str) -> ProbeError | None:
    """The client's failure as the same typed, one-line ProbeError paramiko's gets (ssh.py);
    None when stderr is not the client's (a remote command may exit 255 too)."""
    if "REMOTE HOST IDENTIFICATION HAS CHANGED" in stderr or "has changed and you have" in stderr:
        return HostKeyError(
            name, "host key does not match known_hosts (possible impersonation); check the probe"
        )
    if "host key is known for" in stderr or "Host key verification failed" in stderr:
        return HostKeyError(
            name, "host key not in known_hosts; add the probe's key (strict checking is on)"
        )
    if "UNPROTECTED PRIVATE KEY FILE" in stderr or "bad permissions" in stderr:
        return ProbeAuthError(
            name,
            f"OpenSSH will not use {login.key}: others can read it; `chmod 600` it",
        )
    if "Permission denied" in stderr or "Too many authentication failures" in stderr:
        return ProbeAuthError(name, "SSH authentication failed; check the probe's user and key")
    if "Bad configuration option" in stderr or "garbage at end of line" in stderr:
        return ProbeError(name, f"ssh refused its options: {_first_line(stderr)}")
    if "banner exchange" in stderr or "kex_exchange_identification" in stderr:
        return ProbeUnreachableError(
            name, "sshd accepted the connection but sent no SSH banner (stopped or hung?)"
        )
    if found := _CONNECT.search(stderr) or _RESOLVE.search(stderr):
        reason = found.group(1).strip()
        if "timed out" in reason.lower():
            return ProbeTimeoutError(name, "SSH timed out")
        return ProbeUnreachableError(name, f"cannot connect over SSH: {reason}")
    for line in stderr.splitlines():
        if line.startswith("ssh: ") or any(words in line for words in _BROKEN):
            return ProbeUnreachableError(name, f"SSH failed: {line.strip()[:120]}")
    return None


_RESOLVE = re.compile(r"ssh: Could not resolve hostname \S+: (.+)")
# the client's words for a connection that ended before the command could run
_BROKEN = (
    "Connection closed by",
    "closed by remote host",
    "Connection reset by",
    "Received disconnect",
    "Unable to negotiate",
)


def _first_line(stderr: str) -> str:
    return next((line.strip()[:120] for line in stderr.splitlines() if line.strip()), "")
