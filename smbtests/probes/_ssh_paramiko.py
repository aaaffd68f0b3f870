"""The paramiko side of the `ssh` probe: testinfra's paramiko backend with strict host keys,
the one place paramiko's failures become typed ProbeErrors, and a command run over an exec
channel. Imported only when a probe opens a channel (dial, relay) or runs its commands without
the OpenSSH client: importing paramiko costs ~0.05-0.2 s of this interpreter's time.

testinfra's paramiko backend accepts any host key (WarningPolicy, no known_hosts loaded), so the
client is built here with RejectPolicy against the environment's known_hosts file: an unknown or
changed host key is a ProbeError, never a silent trust-on-first-use.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from pathlib import Path

from smbtests.errors import (
    HostKeyError,
    ProbeAuthError,
    ProbeError,
    ProbeTimeoutError,
    ProbeUnreachableError,
)
from smbtests.probes._paramiko import ParamikoBackend, paramiko
from smbtests.probes._remote import MAX_STDERR, Deadline, Lines

# paramiko logs its transport thread's tracebacks (e.g. a stopped sshd's missing banner); the
# user gets the typed ProbeError below instead, so its log never reaches a terminal or report
_PARAMIKO_LOG = logging.getLogger("paramiko")
_PARAMIKO_LOG.addHandler(logging.NullHandler())
_PARAMIKO_LOG.propagate = False


class _ClientOnce:
    """`client` made once per backend, as functools.cached_property would (kept in the
    instance's __dict__, so testinfra's `del self.client` reconnects), but under a lock of that
    backend alone: on Python 3.11 cached_property holds ONE lock per class while it computes,
    so every probe's SSH handshake waited for the one before (measured: 4 probes in turn)."""

    def __get__(
        self, backend: StrictParamikoBackend | None, owner: type | None = None
    ) -> paramiko.SSHClient:
        assert backend is not None
        with backend._client_lock:
            if "client" not in backend.__dict__:
                backend.__dict__["client"] = backend._new_client()
            client: paramiko.SSHClient = backend.__dict__["client"]
            return client


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
        self._client_lock = threading.Lock()

    client = _ClientOnce()

    def _new_client(self) -> paramiko.SSHClient:
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


def probe_error(name: str, exc: BaseException) -> ProbeError:
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
    if isinstance(exc, paramiko.SSHException) and "protocol banner" in str(exc):
        return ProbeUnreachableError(
            name, "sshd accepted the connection but sent no SSH banner (stopped or hung?)"
        )
    if isinstance(exc, socket.timeout | TimeoutError):
        return ProbeTimeoutError(name, "SSH timed out")
    if isinstance(exc, paramiko.SSHException):
        return ProbeUnreachableError(name, f"SSH failed: {str(exc)[:120]}")
    if isinstance(exc, paramiko.ssh_exception.NoValidConnectionsError):  # as OpenSSH words it
        reasons = sorted({getattr(e, "strerror", None) or str(e) for e in exc.errors.values()})
        return ProbeUnreachableError(name, f"cannot connect over SSH: {'; '.join(reasons)}")
    if isinstance(exc, OSError):
        return ProbeUnreachableError(name, f"cannot connect over SSH: {exc.strerror or exc}")
    return ProbeError(name, f"{type(exc).__name__}: {str(exc)[:120]}")


def _receive(channel: paramiko.Channel, deadline: Deadline, stderr: bool = False) -> bytes:
    channel.settimeout(deadline.remaining())
    try:
        return bytes(channel.recv_stderr(65536) if stderr else channel.recv(65536))
    except TimeoutError:
        raise deadline.missed() from None


def read_lines(
    channel: paramiko.Channel, deadline: Deadline, on_line: Callable[[str], None]
) -> None:
    lines = Lines(deadline.probe, on_line)
    while chunk := _receive(channel, deadline):
        lines.feed(chunk)
    lines.end()


def read_stderr(channel: paramiko.Channel, deadline: Deadline) -> str:
    """The scanner's stderr (its tail names a failure), bounded in time and size."""
    data = b""
    while len(data) < MAX_STDERR and (chunk := _receive(channel, deadline, stderr=True)):
        data += chunk
    return data[-MAX_STDERR:].decode(errors="replace")


def run(
    transport: paramiko.Transport,
    command: str,
    stdin: bytes,
    on_line: Callable[[str], None],
    deadline: Deadline,
) -> tuple[int, str]:
    """(exit status, stderr) of command over one exec channel, its stdout lines handed to
    on_line as they arrive."""
    channel = transport.open_session(timeout=deadline.remaining())
    try:
        channel.exec_command(command)
        try:
            channel.sendall(stdin)
            channel.shutdown_write()
        except OSError:  # the command ended at once (no python?): its exit status says why
            pass
        read_lines(channel, deadline, on_line)
        stderr = read_stderr(channel, deadline)
        if not channel.status_event.wait(deadline.remaining()):
            raise deadline.missed()
        return channel.exit_status, stderr
    finally:
        channel.close()
