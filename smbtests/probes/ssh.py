"""The `ssh` probe: a Linux host reached with pytest-testinfra's paramiko backend.

testinfra's paramiko backend accepts any host key (WarningPolicy, no known_hosts loaded), so the
client is built here with RejectPolicy against the environment's known_hosts file: an unknown or
changed host key is a ProbeError, never a silent trust-on-first-use.
"""

from __future__ import annotations

import logging
import shlex
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from smbtests.errors import (
    BadOutputError,
    ForwardingRefusedError,
    HostKeyError,
    ProbeAuthError,
    ProbeError,
    ProbeTimeoutError,
    ProbeUnreachableError,
)
from smbtests.observations import ConnectResult
from smbtests.probes._paramiko import ParamikoBackend, paramiko
from smbtests.probes._records import ScanReader, scan_request
from smbtests.probes._tunnel import bridge
from smbtests.probes.base import ScanJob

# paramiko logs its transport thread's tracebacks (e.g. a stopped sshd's missing banner); the
# user gets the typed ProbeError below instead, so its log never reaches a terminal or report
_PARAMIKO_LOG = logging.getLogger("paramiko")
_PARAMIKO_LOG.addHandler(logging.NullHandler())
_PARAMIKO_LOG.propagate = False

SCANNER_SOURCE = resources.files("smbtests.probes").joinpath("scanner.py").read_text()
RELAY_SOURCE = resources.files("smbtests.probes").joinpath("udprelay.py").read_text()


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
    if isinstance(exc, paramiko.SSHException) and "protocol banner" in str(exc):
        return ProbeUnreachableError(
            name, "sshd accepted the connection but sent no SSH banner (stopped or hung?)"
        )
    if isinstance(exc, socket.timeout | TimeoutError):
        return ProbeTimeoutError(name, "SSH timed out")
    if isinstance(exc, paramiko.SSHException):
        return ProbeUnreachableError(name, f"SSH failed: {str(exc)[:120]}")
    if isinstance(exc, OSError):
        return ProbeUnreachableError(name, f"cannot connect over SSH: {exc.strerror or exc}")
    return ProbeError(name, f"{type(exc).__name__}: {str(exc)[:120]}")


MAX_LINE = 1 << 20  # a scanner record is ~100 bytes; a longer line is not the protocol
MAX_STDERR = 64 << 10


@dataclass(frozen=True)
class _Deadline:
    """One deadline for a whole remote call, whatever the probe prints in between."""

    probe: str
    seconds: float
    at: float

    def remaining(self) -> float:
        left = self.at - time.monotonic()
        if left <= 0:
            raise self.missed()
        return left

    def missed(self) -> ProbeTimeoutError:
        return ProbeTimeoutError(
            self.probe,
            f"the scanner did not finish within {self.seconds:g} s "
            "(timing.probe_timeout bounds the whole remote call)",
        )


def _receive(channel: paramiko.Channel, deadline: _Deadline, stderr: bool = False) -> bytes:
    channel.settimeout(deadline.remaining())
    try:
        return bytes(channel.recv_stderr(65536) if stderr else channel.recv(65536))
    except TimeoutError:
        raise deadline.missed() from None


def _read_lines(
    channel: paramiko.Channel, deadline: _Deadline, on_line: Callable[[str], None]
) -> None:
    pending = b""
    while chunk := _receive(channel, deadline):
        *lines, pending = (pending + chunk).split(b"\n")
        if len(pending) > MAX_LINE:
            raise BadOutputError(deadline.probe, "scanner wrote a line of over 1 MiB")
        for line in lines:
            on_line(line.decode(errors="replace"))
    if pending:
        on_line(pending.decode(errors="replace"))


def _read_stderr(channel: paramiko.Channel, deadline: _Deadline) -> str:
    """The scanner's stderr (its tail names a failure), bounded in time and size."""
    data = b""
    while len(data) < MAX_STDERR and (chunk := _receive(channel, deadline, stderr=True)):
        data += chunk
    return data[-MAX_STDERR:].decode(errors="replace")


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
        connects_per_second: float | None = None,
    ) -> None:
        self.name = name
        self._rate = connects_per_second
        self._python = python
        self._channel_timeout = channel_timeout
        for path in (key, known_hosts):
            if not path.is_file():
                raise ProbeError(name, f"{path} does not exist or is not a file")
        self._backend = StrictParamikoBackend(
            address, port, user, key, known_hosts, timeout=min(channel_timeout, 15.0)
        )

    def _transport(self) -> paramiko.Transport:
        try:
            transport = self._backend.client.get_transport()
        except Exception as exc:  # connecting maps here, like a scan's failures
            raise _probe_error(self.name, exc) from None
        if transport is None or not transport.is_active():
            raise ProbeUnreachableError(self.name, "SSH transport closed")
        return transport

    def dial(self, host: str, port: int, timeout: float) -> socket.socket:
        """A TCP connection from the probe to host:port through an SSH `direct-tcpip` channel,
        bridged to a socket: the probe's sshd makes the connect, so nothing runs on the probe."""
        transport = self._transport()
        try:
            channel = transport.open_channel(
                "direct-tcpip", (host, port), ("127.0.0.1", 0), timeout=timeout
            )
        except paramiko.ChannelException as exc:
            if exc.code == paramiko.common.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED:
                raise ForwardingRefusedError(
                    self.name,
                    f"sshd refused to forward to {host}:{port} (administratively prohibited): set "
                    f"`AllowTcpForwarding local` and allow {host}:{port} in `PermitOpen` in the "
                    "probe's sshd_config (docs/policy.md, probe requirements)",
                ) from None
            # sshd tried and the network answered: refused, no route, timed out
            raise OSError(f"from the probe: {exc.text or 'connect failed'}") from None
        except paramiko.SSHException as exc:
            if "timeout" in str(exc).lower():
                raise TimeoutError from None
            raise _probe_error(self.name, exc) from None
        return bridge(channel)

    def relay(self, lifetime: float) -> socket.socket:
        """The stdlib-only UDP relay as `python3 -c` on one exec channel, bridged to a socket
        (no netcat, nothing built from input: the lifetime is a number)."""
        command = f"{shlex.quote(self._python)} -c {shlex.quote(RELAY_SOURCE)} {lifetime:.1f}"
        try:
            channel = self._transport().open_session(timeout=self._channel_timeout)
            channel.exec_command(command)
        except ProbeError:
            raise
        except Exception as exc:
            raise _probe_error(self.name, exc) from None
        return bridge(channel)

    def _run(self, command: str, stdin: bytes, on_line: Callable[[str], None]) -> tuple[int, str]:
        """Run command with stdin; hand each stdout line to on_line as it arrives. The whole
        call is bounded by one deadline, whatever the probe prints (a drip of blank lines
        resets no timer)."""
        transport = self._transport()
        deadline = _Deadline(
            self.name, self._channel_timeout, time.monotonic() + self._channel_timeout
        )
        channel = transport.open_session(timeout=self._channel_timeout)
        try:
            channel.exec_command(command)
            try:
                channel.sendall(stdin)
                channel.shutdown_write()
            except OSError:  # the command ended at once (no python?): its exit status says why
                pass
            _read_lines(channel, deadline, on_line)
            stderr = _read_stderr(channel, deadline)
            if not channel.status_event.wait(deadline.remaining()):
                raise deadline.missed()
            return channel.exit_status, stderr
        finally:
            channel.close()

    def scan(self, job: ScanJob) -> list[ConnectResult]:
        command = f"{shlex.quote(self._python)} -c {shlex.quote(SCANNER_SOURCE)}"
        reader = ScanReader(self.name, job.targets, job.on_result)
        try:
            request = scan_request(job.targets, job.timeout, job.concurrency, self._rate)
            code, err = self._run(command, request, reader.line)
        except ProbeError:
            raise
        except Exception as exc:  # every backend failure maps here, once
            raise _probe_error(self.name, exc) from None
        if code == 127:  # the shell's "command not found"
            raise ProbeError(
                self.name,
                f"{self._python} not found on the probe (exit 127); install python3 there "
                f"or set probes.{self.name}.python",
            )
        return reader.finish(code, err)

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
