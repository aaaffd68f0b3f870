"""The `ssh` probe: a Linux host reached with pytest-testinfra's paramiko backend.

testinfra's paramiko backend accepts any host key (WarningPolicy, no known_hosts loaded), so the
client is built here with RejectPolicy against the environment's known_hosts file: an unknown or
changed host key is a ProbeError, never a silent trust-on-first-use.
"""

from __future__ import annotations

import functools
import shlex
import socket
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import paramiko
from testinfra.backend.paramiko import ParamikoBackend

from smbtests.errors import (
    BadOutputError,
    HostKeyError,
    ProbeAuthError,
    ProbeError,
    ProbeTimeoutError,
    ProbeUnreachableError,
)
from smbtests.observations import ConnectResult, OnResult, Target
from smbtests.probes._records import (
    parse_lines,
    record_result,
    results_from_records,
    scan_request,
)

SCANNER_SOURCE = resources.files("smbtests.probes").joinpath("scanner.py").read_text()


class StrictParamikoBackend(ParamikoBackend):  # type: ignore[misc]
    """testinfra's paramiko backend with strict host-key checking against one known_hosts."""

    def __init__(
        self, address: str, port: int, user: str, key: Path, known_hosts: Path, timeout: float
    ) -> None:
        super().__init__(f"paramiko://{user}@{address}:{port}", ssh_identity_file=str(key))
        self._address = address
        self._port = port
        self._user = user
        self._known_hosts = known_hosts
        self._connect_timeout = timeout

    @functools.cached_property
    def client(self) -> paramiko.SSHClient:
        client = paramiko.SSHClient()
        client.load_host_keys(str(self._known_hosts))
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        try:
            self._connect(client)
        except BaseException:
            client.close()  # else paramiko's transport thread lingers until sshd's grace time
            raise
        return client

    def _connect(self, client: paramiko.SSHClient) -> None:
        client.connect(
            hostname=self._address,
            port=self._port,
            username=self._user,
            key_filename=self.ssh_identity_file,
            timeout=self._connect_timeout,
            banner_timeout=self._connect_timeout,
            auth_timeout=self._connect_timeout,
            allow_agent=False,
            look_for_keys=False,
        )


def _probe_error(name: str, exc: BaseException) -> ProbeError:
    """The one place a paramiko/socket failure becomes a typed ProbeError; one line, no secrets."""
    if isinstance(exc, paramiko.BadHostKeyException):
        return HostKeyError(
            name, "host key does not match known_hosts (possible impersonation); check the probe"
        )
    if isinstance(exc, paramiko.AuthenticationException):
        return ProbeAuthError(name, "SSH authentication failed; check the probe's user and key")
    if isinstance(exc, paramiko.SSHException) and "not found in known_hosts" in str(exc):
        return HostKeyError(
            name, "host key not in known_hosts; add the probe's key (strict checking is on)"
        )
    if isinstance(exc, socket.timeout | TimeoutError):
        return ProbeTimeoutError(name, "SSH timed out")
    if isinstance(exc, paramiko.SSHException):
        return ProbeUnreachableError(name, f"SSH failed: {str(exc)[:120]}")
    if isinstance(exc, OSError):
        return ProbeUnreachableError(name, f"cannot connect over SSH: {exc.strerror or exc}")
    return ProbeError(name, f"{type(exc).__name__}: {str(exc)[:120]}")


class SshProbe:
    def __init__(
        self,
        name: str,
        address: str,
        user: str,
        key: Path,
        known_hosts: Path,
        port: int = 22,
        python: str = "python3",
        channel_timeout: float = 60.0,
    ) -> None:
        self.name = name
        self._python = python
        self._channel_timeout = channel_timeout
        for path in (key, known_hosts):
            if not path.is_file():
                raise ProbeError(name, f"{path} does not exist or is not a file")
        self._backend = StrictParamikoBackend(
            address, port, user, key, known_hosts, timeout=min(channel_timeout, 15.0)
        )

    def _run(self, command: str, stdin: bytes, on_line: Callable[[str], None]) -> tuple[int, str]:
        """Run command with stdin; hand each stdout line to on_line as it arrives."""
        transport = self._backend.client.get_transport()
        if transport is None or not transport.is_active():
            raise ProbeUnreachableError(self.name, "SSH transport closed")
        channel = transport.open_session(timeout=self._channel_timeout)
        channel.settimeout(self._channel_timeout)
        try:
            channel.exec_command(command)
            channel.sendall(stdin)
            channel.shutdown_write()
            # the channel timeout bounds every read; the scanner itself ends after its targets
            for line in channel.makefile("rb"):
                on_line(line.decode(errors="replace"))
            stderr = channel.makefile_stderr("rb").read()
            return channel.recv_exit_status(), stderr.decode(errors="replace")
        finally:
            channel.close()

    def scan(
        self,
        targets: Sequence[Target],
        timeout: float,
        concurrency: int,
        on_result: OnResult | None = None,
    ) -> list[ConnectResult]:
        command = f"{shlex.quote(self._python)} -c {shlex.quote(SCANNER_SOURCE)}"
        records: list[dict[str, Any]] = []

        def on_line(line: str) -> None:
            for record in parse_lines(self.name, line):
                records.append(record)
                if on_result is not None and "done" not in record:
                    on_result(record_result(self.name, targets, record))

        try:
            code, err = self._run(command, scan_request(targets, timeout, concurrency), on_line)
        except ProbeError:
            raise
        except Exception as exc:  # every backend failure maps here, once
            raise _probe_error(self.name, exc) from None
        if code != 0:
            tail = err.strip().splitlines()[-1:] or ["no stderr"]
            raise BadOutputError(self.name, f"scanner exited {code}: {tail[0][:160]}")
        return results_from_records(self.name, targets, records)

    def read_tail(self, path: str, limit: int) -> str:
        """The last `limit` bytes of a text file on the probe (a firewall's deny log); the path
        travels on stdin, never in the command line."""
        script = (
            "import os,sys;p=sys.stdin.read();f=open(p,'rb');f.seek(0,2);n=f.tell();"
            f"f.seek(max(0,n-{int(limit)}));sys.stdout.write(f.read().decode('utf-8','replace'))"
        )
        lines: list[str] = []
        try:
            command = f"{shlex.quote(self._python)} -c {shlex.quote(script)}"
            code, err = self._run(command, path.encode(), lines.append)
        except ProbeError:
            raise
        except Exception as exc:
            raise _probe_error(self.name, exc) from None
        if code != 0:
            tail = err.strip().splitlines()[-1:] or ["no stderr"]
            raise BadOutputError(self.name, f"reading {path} exited {code}: {tail[0][:160]}")
        return "".join(lines)

    def close(self) -> None:
        if "client" in self._backend.__dict__:
            self._backend.client.close()
