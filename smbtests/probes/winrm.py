"""The `winrm` probe: a Windows host reached with pywinrm, for reachability and host settings.

One probe holds one WinRM shell and reuses it for every command to its host (a shell costs a
round trip and counts against the host's MaxShellsPerUser). Commands run one at a time: NTLM
message encryption numbers its messages, so a session cannot be shared between threads.

Failures never leave as pywinrm, requests or spnego exceptions: `_probe_error` maps each one to
a ProbeError whose message names what failed and never holds the password. Any failure other
than a PowerShell error drops the shell and session, so the next call starts clean.

The password never reaches a URL, a log line, an exception message or a repr. Functions that
receive it mark their frames `__tracebackhide__` so pytest's traceback, which prints every
frame's arguments, cannot show it.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import winrm.exceptions
from winrm.protocol import Protocol

from smbtests.errors import ProbeError, SmbSilentError
from smbtests.observations import ConnectResult, HostQuery, NegotiateResult, Target
from smbtests.probes import winrm_scripts
from smbtests.probes.base import ScanJob, ShareRequest
from smbtests.probes.winrm_errors import (
    CommandTimeoutError,
    OutputError,
    ScriptError,
    describe_failure,
    excerpt,
    masked,
    powershell_error,
    require_auth_library,
)
from smbtests.probes.winrm_output import (
    check_shape,
    reach_results,
    smb_negotiate_reading,
    smb_path_reading,
)
from smbtests.probes.winrm_settings import WinRMSettings
from smbtests.secrets import account_name

if TYPE_CHECKING:
    from smbtests.config import ProbeConfig, Timing, WinRMConnection

__all__ = ["HostQuery", "WinRMProbe", "WinRMSettings", "open_from_config"]

log = logging.getLogger(__name__)

T = TypeVar("T")

STDIN_CHUNK = 64 * 1024  # keeps each Send under WinRM's 150 KiB MaxEnvelopeSize once base64'd
MAX_OUTPUT = 16 * 1024 * 1024
TNC_SECONDS_PER_TARGET = 25.0  # Test-NetConnection waits about 21 s on a filtered port

# pyspnego logs whole NTLM messages at DEBUG; those are crackable offline.
_CHATTY_AUTH_LOGGERS = ("spnego", "requests_ntlm", "requests_credssp")

SMB_DIRECT = 445
OFFERED = "2.0.2-3.0.2"  # the dialects smb-negotiate.ps1 offers in its one NEGOTIATE


class WinRMProbe:
    """A Windows vantage point and configuration reader over WinRM."""

    def __init__(self, name: str, settings: WinRMSettings, password: str) -> None:
        __tracebackhide__ = True
        self.name = name
        self.settings = settings
        self._password = password
        self._lock = threading.Lock()
        self._protocol: Protocol | None = None
        self._shell_id: str | None = None
        if settings.scheme == "https" and not settings.verify_tls:
            log.warning(
                "winrm %s: TLS certificate verification is OFF for %s; anyone on the path can "
                "impersonate the host",
                name,
                settings.endpoint,
            )
        if settings.test_netconnection:
            log.warning(
                "winrm %s: Test-NetConnection mode: about 21 s per filtered target, and refused "
                "ports are reported as filtered",
                name,
            )

    def __repr__(self) -> str:
        s = self.settings
        return f"WinRMProbe({self.name!r}, {s.endpoint}, {s.transport}, user={s.username!r})"

    # ------------------------------------------------------------------ public

    def scan(self, job: ScanJob) -> list[ConnectResult]:
        """One PowerShell command answers the whole batch, so results arrive together."""
        results = self._scan(job.targets, job.timeout, job.concurrency)
        if job.on_result is not None:
            for result in results:
                job.on_result(result)
        return results

    def _scan(
        self, targets: Sequence[Target], timeout: float, concurrency: int
    ) -> list[ConnectResult]:
        if not targets:
            return []
        test_netconnection = self.settings.test_netconnection
        if test_netconnection:
            connects = len(targets) * TNC_SECONDS_PER_TARGET
        else:
            connects = math.ceil(len(targets) / max(1, concurrency)) * timeout
        return self._run(
            winrm_scripts.reach_script(test_netconnection),
            winrm_scripts.reach_request(targets, timeout, max(1, concurrency)),
            self.settings.command_timeout + connects,
            lambda data: reach_results(data, targets, test_netconnection),
        )

    def run_json(self, kind: HostQuery | str) -> object:
        """Run the reading `kind` on the host; its JSON document, checked for shape."""
        query = HostQuery(kind)
        return self._run(
            winrm_scripts.query_script(query),
            None,
            self.settings.command_timeout,
            lambda data: check_shape(query, data),
        )

    def map_shares(self, request: ShareRequest) -> object:
        """smb-negotiate.ps1, then (if SMB answered) smb-path.ps1 on the host: the approved
        account's SMB from there, as one document (docs/winrm.md). The account's password goes
        on stdin and is masked in any failure's message."""
        __tracebackhide__ = True
        host, shares, timeout = request.host, request.shares, request.timeout
        if self.settings.scheme == "https" and not self.settings.verify_tls:
            # over HTTPS pywinrm leaves the body to TLS: unverified, anyone on the path would
            # read the approved account's password from stdin
            raise ProbeError(
                self.name,
                "SMB from this vantage carries the approved account's password, and TLS "
                "verification is off (verify_tls: false): set ca_bundle and verify_tls: true",
            )
        negotiate = self._negotiate(host, timeout)
        # any SMB2 answer will do, a refusal of the dialects offered included: the host's own
        # client negotiates its own next (3.1.1 with contexts)
        if not negotiate["Answered"]:
            return {"Negotiate": negotiate, "Login": None, "Shares": [], "Sysvol": None}
        # IPC$, every share and the SYSVOL walk each wait on the host's SMB client
        budget = self.settings.command_timeout + (len(shares) + 2) * timeout
        mapped = self._run(
            winrm_scripts.script(winrm_scripts.SMB_PATH_KIND),
            winrm_scripts.smb_path_request(request),
            budget,
            lambda data: smb_path_reading(data, host, shares, request.sysvol),
            secret=request.account.password,
        )
        return {"Negotiate": negotiate, **mapped}

    def smb_answers(self, host: str, port: int, timeout: float) -> NegotiateResult:
        """Whether SMB itself answers at host:port from this Windows host (smb-negotiate.ps1),
        as `smb.smb_answers` tells from the other vantages; SmbSilentError when only TCP does."""
        __tracebackhide__ = True
        if port != SMB_DIRECT:
            raise ProbeError(self.name, f"smb-negotiate talks SMB direct (445), not port {port}")
        found = self._negotiate(host, timeout)
        if not found["Connected"]:
            raise ProbeError(self.name, f"SMB to {host}: TCP 445: {found['Detail']}")
        if not found["Answered"]:
            raise SmbSilentError(self.name, f"SMB to {host}: {found['Detail']}")
        dialect = found["Dialect"] if isinstance(found["Dialect"], str) else None
        mode = found["SecurityMode"] if isinstance(found["SecurityMode"], int) else None
        status = found["Status"]  # the shapes were checked: int or None
        if status:  # an SMB2 answer refusing the dialects offered: SMB answered all the same
            return NegotiateResult(OFFERED, False, None, None, f"server answered 0x{status:08x}")
        return NegotiateResult(
            OFFERED, True, dialect, mode, f"server chose {dialect}, SecurityMode 0x{mode or 0:x}"
        )

    def _negotiate(self, host: str, timeout: float) -> dict[str, object]:
        return self._run(
            winrm_scripts.script(winrm_scripts.SMB_NEGOTIATE_KIND),
            winrm_scripts.smb_negotiate_request(host, timeout),
            self.settings.command_timeout + 2 * timeout,
            lambda data: smb_negotiate_reading(data, host),
        )

    def close(self) -> None:
        """Delete the shell and end the session; never raises (it runs in cleanup paths)."""
        with self._lock:
            protocol, shell_id = self._protocol, self._shell_id
            self._protocol = self._shell_id = None
            if protocol is None:
                return
            try:
                if shell_id is not None:
                    protocol.close_shell(shell_id)
            except Exception as exc:  # the shell times out on the host by itself
                log.warning("winrm %s: %s", self.name, self._probe_error(exc))
            finally:
                protocol.transport.close_session()

    # ------------------------------------------------------------------ commands

    def _run(
        self,
        script: str,
        stdin: bytes | None,
        budget: float,
        parse: Callable[[Any], T],
        secret: str = "",
    ) -> T:
        __tracebackhide__ = True
        kind = script.split("\n", 1)[0].removeprefix("# smbtests:")
        hidden = (self._password, secret)
        with self._lock:
            started = time.monotonic()
            try:
                out = masked(self._execute(script, stdin, budget, hidden), hidden)
                try:
                    data = json.loads(out)
                except ValueError:
                    raise OutputError(f"{kind} printed no JSON: {excerpt(out)}") from None
                result = parse(data)
            except (ScriptError, OutputError) as exc:
                raise self._probe_error(exc, secret) from None
            except Exception as exc:
                self._drop_session()
                raise self._probe_error(exc, secret) from None
            log.info(
                "winrm %s: %s done in %.0f ms", self.name, kind, (time.monotonic() - started) * 1e3
            )
            return result

    def _execute(
        self, script: str, stdin: bytes | None, budget: float, hidden: Sequence[str]
    ) -> str:
        deadline = time.monotonic() + budget
        protocol, shell_id = self._shell()
        command_id = protocol.run_command(
            shell_id,
            winrm_scripts.POWERSHELL,
            (*winrm_scripts.POWERSHELL_ARGS, winrm_scripts.encode_command(script)),
            console_mode_stdin=stdin is None,
        )
        if stdin is not None:
            for offset in range(0, len(stdin), STDIN_CHUNK):
                chunk = stdin[offset : offset + STDIN_CHUNK]
                end = offset + STDIN_CHUNK >= len(stdin)
                protocol.send_command_input(shell_id, command_id, chunk, end=end)
        collected = self._collect(protocol, shell_id, command_id, deadline)
        if collected is None:
            self._terminate(protocol, shell_id, command_id)
            raise CommandTimeoutError(budget)
        stdout, stderr, exit_code = collected
        protocol.cleanup_command(shell_id, command_id)
        if exit_code != 0:
            raise ScriptError(exit_code, powershell_error(stderr, hidden))
        try:
            return stdout.decode("utf-8-sig")  # a byte-order mark is not part of the JSON
        except UnicodeDecodeError:
            raise OutputError("output is not UTF-8") from None

    def _collect(
        self, protocol: Protocol, shell_id: str, command_id: str, deadline: float
    ) -> tuple[bytes, bytes, int] | None:
        """stdout, stderr and exit code; None when the deadline passes first."""
        stdout, stderr = bytearray(), bytearray()
        # Each Receive is bounded by the host's operation timeout and our read timeout; the
        # deadline bounds how many we make.
        while time.monotonic() < deadline:
            try:
                out, err, exit_code, done = protocol.get_command_output_raw(shell_id, command_id)
            except winrm.exceptions.WinRMOperationTimeoutError:
                continue  # the host's way of saying "still running"
            stdout += out
            stderr += err
            if len(stdout) + len(stderr) > MAX_OUTPUT:
                raise OutputError(f"output exceeds {MAX_OUTPUT // (1024 * 1024)} MiB")
            if done:
                return bytes(stdout), bytes(stderr), exit_code
        return None

    def _shell(self) -> tuple[Protocol, str]:
        if self._protocol is None:
            self._protocol = self._connect()
        if self._shell_id is None:
            self._shell_id = self._protocol.open_shell(codepage=65001, noprofile=True)
            log.info("winrm %s: shell opened on %s", self.name, self.settings.endpoint)
        return self._protocol, self._shell_id

    def _connect(self) -> Protocol:
        for logger_name in _CHATTY_AUTH_LOGGERS:
            chatty = logging.getLogger(logger_name)
            if chatty.getEffectiveLevel() < logging.INFO:
                chatty.setLevel(logging.INFO)
        s = self.settings
        require_auth_library(s.transport)
        verify = s.scheme == "https" and s.verify_tls
        return Protocol(
            s.endpoint,
            transport=s.transport,
            username=s.username,
            password=self._password,
            server_cert_validation="validate" if verify else "ignore",
            # None: the system trust store, never REQUESTS_CA_BUNDLE from the environment
            ca_trust_path=str(s.ca_bundle) if s.ca_bundle else None,  # type: ignore[arg-type]
            read_timeout_sec=s.read_timeout,
            operation_timeout_sec=s.operation_timeout,
            message_encryption="auto",
            proxy=None,  # never a proxy from the environment: WinRM goes straight to the host
        )

    def _terminate(self, protocol: Protocol, shell_id: str, command_id: str) -> None:
        try:
            protocol.cleanup_command(shell_id, command_id)
        except Exception as exc:  # the session is dropped next; the host reaps the command
            log.warning("winrm %s: could not stop a timed-out command: %s", self.name, type(exc))

    def _drop_session(self) -> None:
        if self._protocol is not None:
            self._protocol.transport.close_session()
        self._protocol = self._shell_id = None

    # ------------------------------------------------------------------ errors

    def _probe_error(self, exc: BaseException, secret: str = "") -> ProbeError:
        """The one place a failure becomes a ProbeError; its message never holds the password
        (nor `secret`, the SMB account's a command carried)."""
        message = describe_failure(exc, self.settings)
        for hidden in (self._password, secret):
            if hidden:
                message = message.replace(hidden, "***")
        return ProbeError(self.name, message)


# ---------------------------------------------------------------------- engine glue


def open_from_config(
    name: str, config: ProbeConfig | WinRMConnection, password: str, timing: Timing
) -> WinRMProbe:
    """A WinRMProbe for an environment's probe entry (the model has checked its fields)."""
    __tracebackhide__ = True
    assert config.address is not None and config.credential is not None
    credential = config.credential
    username = account_name(credential)
    settings = WinRMSettings(
        address=config.address,
        username=username,
        port=config.port,
        scheme=config.winrm_scheme,
        transport=config.winrm_auth,
        allow_basic=config.allow_basic,
        ca_bundle=config.ca_bundle,
        verify_tls=config.verify_tls,
        test_netconnection=config.winrm_test_netconnection,
        command_timeout=timing.probe_timeout,
    )
    return WinRMProbe(name, settings, password)
