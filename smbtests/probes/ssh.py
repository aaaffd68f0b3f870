"""The `ssh` probe: a Linux host reached with pytest-testinfra's paramiko backend
(probes/_ssh_paramiko.py, strict host keys), its commands (the scanner, a log's tail) through
the OpenSSH client where `ssh` is on PATH (probes/_openssh.py: the same known_hosts, key and
strictness, typed errors alike). paramiko is imported only once a channel is opened or a
command runs without OpenSSH.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from smbtests.errors import (
    BadOutputError,
    ForwardingRefusedError,
    ProbeError,
    ProbeUnreachableError,
)
from smbtests.observations import ConnectResult
from smbtests.probes import _openssh
from smbtests.probes._records import ScanReader, scan_request
from smbtests.probes._remote import SCANNER_SOURCE, Deadline, python_command
from smbtests.probes.base import ScanJob

if TYPE_CHECKING:
    import paramiko

    from smbtests.probes._ssh_paramiko import StrictParamikoBackend

RELAY_SOURCE = resources.files("smbtests.probes").joinpath("udprelay.py").read_text()


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
        openssh: str | None = None,
        started: _openssh.Command | None = None,
    ) -> None:
        """`openssh`: the OpenSSH client that runs the probe's commands (None: paramiko does);
        `started`: a scanner already started with it (`_openssh.start_scanner`), for the
        first scan."""
        self.name = name
        self._rate = connects_per_second
        self._python = python
        self._channel_timeout = channel_timeout
        for path in (key, known_hosts):
            if not path.is_file():
                raise ProbeError(name, f"{path} does not exist or is not a file")
        self._login = _openssh.login(address, port, user, key, known_hosts, channel_timeout)
        self._openssh = openssh
        self._started = started
        self._backend: StrictParamikoBackend | None = None  # made at the first channel

    def _transport(self) -> paramiko.Transport:
        from smbtests.probes._ssh_paramiko import StrictParamikoBackend, probe_error

        if self._backend is None:
            login = self._login
            self._backend = StrictParamikoBackend(
                login.address,
                login.port,
                login.user,
                login.key,
                login.known_hosts,
                timeout=login.connect_timeout,
            )
        try:
            transport = self._backend.client.get_transport()
        except Exception as exc:  # connecting maps here, like a scan's failures
            raise probe_error(self.name, exc) from None
        if transport is None or not transport.is_active():
            raise ProbeUnreachableError(self.name, "SSH transport closed")
        return transport

    def dial(self, host: str, port: int, timeout: float) -> socket.socket:
        """A TCP connection from the probe to host:port through an SSH `direct-tcpip` channel,
        bridged to a socket: the probe's sshd makes the connect, so nothing runs on the probe."""
        from smbtests.probes._paramiko import paramiko
        from smbtests.probes._ssh_paramiko import probe_error
        from smbtests.probes._tunnel import bridge

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
            raise probe_error(self.name, exc) from None
        return bridge(channel)

    def relay(self, lifetime: float) -> socket.socket:
        """The stdlib-only UDP relay as `python3 -c` on one exec channel, bridged to a socket
        (no netcat, nothing built from input: the lifetime is a number)."""
        from smbtests.probes._tunnel import bridge

        command = f"{python_command(self._python, RELAY_SOURCE)} {lifetime:.1f}"
        try:
            channel = self._transport().open_session(timeout=self._channel_timeout)
            channel.exec_command(command)
        except ProbeError:
            raise
        except Exception as exc:
            raise _mapped(self.name, exc) from None
        return bridge(channel)

    def _run(self, command: str, stdin: bytes, on_line: Callable[[str], None]) -> tuple[int, str]:
        """Run command with stdin; hand each stdout line to on_line as it arrives. The whole
        call is bounded by one deadline, whatever the probe prints (a drip of blank lines
        resets no timer)."""
        if self._openssh is not None:  # its handshake counts: half the deadline bounds it
            deadline = Deadline.after(self.name, self._channel_timeout)
            started, self._started = self._started, None
            if started is None or started.command != command:
                if started is not None:
                    started.close()
                started = _openssh.Command(self.name, self._openssh, self._login, command)
            try:
                return started.run(stdin, on_line, deadline)
            finally:
                started.close()
        from smbtests.probes import _ssh_paramiko

        transport = self._transport()  # its handshake is bounded by the connect timeout
        deadline = Deadline.after(self.name, self._channel_timeout)
        return _ssh_paramiko.run(transport, command, stdin, on_line, deadline)

    def scan(self, job: ScanJob) -> list[ConnectResult]:
        command = python_command(self._python, SCANNER_SOURCE)
        reader = ScanReader(self.name, job.targets, job.on_result)
        try:
            request = scan_request(job.targets, job.timeout, job.concurrency, self._rate)
            code, err = self._run(command, request, reader.line)
        except ProbeError:
            raise
        except Exception as exc:  # every backend failure maps here, once
            raise _mapped(self.name, exc) from None
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
            code, err = self._run(python_command(self._python, script), path.encode(), lines.append)
        except ProbeError:
            raise
        except Exception as exc:
            raise _mapped(self.name, exc) from None
        if code != 0:
            tail = err.strip().splitlines()[-1:] or ["no stderr"]
            raise BadOutputError(self.name, f"reading {path} exited {code}: {tail[0][:160]}")
        return "\n".join(lines)  # the lines come without their newlines

    def close(self) -> None:
        if self._started is not None:  # started, never asked: ended with its client
            self._started.close()
            self._started = None
        if self._backend is not None and "client" in self._backend.__dict__:
            self._backend.client.close()


def _mapped(name: str, exc: BaseException) -> ProbeError:
    """A failure that is not yet a ProbeError, through paramiko's mapping (which knows
    sockets' too)."""
    from smbtests.probes._ssh_paramiko import probe_error

    return probe_error(name, exc)
