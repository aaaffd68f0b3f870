"""The HTTP(S) side of the WS-Management DOUBLE: authentication, shells and commands.

One handler instance serves one TCP connection (HTTP/1.1 keep-alive), which is what NTLM needs:
the connection, not the request, is authenticated. Shells live in the service and outlast
connections, as they do on Windows.

The double behaves like a WinRM listener with AllowUnencrypted = false: Basic is offered only
over HTTPS, and over plain HTTP a request must be sealed with the NTLM session key.
"""

from __future__ import annotations

import base64
import logging
import socket
import socketserver
import ssl
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import spnego.channel_bindings

from smbtests.lab.wsman import auth, powershell, soap
from smbtests.lab.wsman.state import read_state

log = logging.getLogger("smbtests.lab.wsman")

SERVER_HEADER = "smbtests-wsman-double"
MAX_BODY = 1024 * 1024
MAX_SHELLS_PER_USER = 30  # Windows' default MaxShellsPerUser
RECEIVE_WAIT_MAX = 60.0
STDOUT_CHUNK = 4096  # bytes of stdout per Receive, so long output takes several, as on Windows
HANDSHAKE_TIMEOUT = 10.0
IDLE_TIMEOUT = 120.0


Operation = Callable[["WsmanService", soap.Request, str, str, str], bytes]


@dataclass
class Command:
    id: str
    kind: str
    io: powershell.Io = field(default_factory=powershell.Io)
    done: threading.Event = field(default_factory=threading.Event)
    outcome: powershell.Outcome | None = None
    stdout: bytes = b""
    sent: int = 0


@dataclass
class Shell:
    id: str
    owner: str
    codec: str
    commands: dict[str, Command] = field(default_factory=dict)


class WsmanService:
    """The Windows Remote Shell resource: Create, Command, Send, Receive, Signal, Delete."""

    def __init__(self, state_path: Path, machine: str) -> None:
        self.state_path = state_path
        self.machine = machine
        self._shells: dict[str, Shell] = {}
        self._lock = threading.Lock()

    def shell_count(self) -> int:
        with self._lock:
            return len(self._shells)

    def handle(self, data: bytes, user: str, client: str, address: str) -> tuple[int, bytes]:
        """HTTP status and envelope for one request; faults go out with status 500."""
        relates_to = ""
        try:
            request = soap.parse_request(data)
            relates_to = request.message_id
            if request.resource_uri != soap.SHELL_URI:
                raise soap.FaultError(
                    "a:DestinationUnreachable",
                    "The WS-Management service cannot process the request. The resource URI "
                    "is not supported.",
                    soap.CODE_INVALID_URI,
                )
            operation = self._operations.get(request.action)
            if operation is None:
                raise soap.FaultError(
                    "a:ActionNotSupported",
                    "The WS-Management service cannot process the request. The WS-Addressing "
                    "action URI is invalid.",
                    soap.CODE_INVALID_ACTION,
                )
            reply = operation(self, request, user, client, address)
        except soap.FaultError as fault:
            log.info("DOUBLE %s fault %s (%s)", client, fault.subcode, fault.code)
            return 500, soap.fault_envelope(fault, relates_to, self.machine)
        return 200, reply

    # ------------------------------------------------------------------ lookups

    def _shell(self, request: soap.Request, user: str) -> Shell:
        with self._lock:
            shell = self._shells.get(request.shell_id or "")
        if shell is None or shell.owner != user:
            raise soap.FaultError(
                "w:InvalidSelectors",
                "The WS-Management service cannot process the request because the request "
                "contained invalid selectors for the resource.",
                soap.CODE_SHELL_NOT_FOUND,
                detail=(
                    f"The request for the Windows Remote Shell with ShellId {request.shell_id} "
                    "failed because the shell was not found on the server. Possible causes "
                    "are: the specified ShellId is incorrect or the shell no longer exists on "
                    "the server."
                ),
            )
        return shell

    @staticmethod
    def _command(shell: Shell, command_id: str | None) -> Command:
        command = shell.commands.get(command_id or "")
        if command is None:
            raise soap.FaultError(
                "w:InvalidParameter",
                f"The command {command_id} was not found in shell {shell.id}.",
                soap.CODE_INVALID_PARAMETER,
            )
        return command

    @staticmethod
    def _body(request: soap.Request, tag: str) -> Any:
        if request.body is None or request.body.tag != f"{{{soap.RSP}}}{tag}":
            raise soap.FaultError("w:SchemaValidationError", f"The request body is not rsp:{tag}.")
        return request.body

    # ------------------------------------------------------------------ operations

    def _create(self, request: soap.Request, user: str, client: str, address: str) -> bytes:
        codepage = request.options.get("WINRS_CODEPAGE", "437")
        codec = "utf-8" if codepage == "65001" else "cp437"
        shell = Shell(str(uuid.uuid4()).upper(), user, codec)
        with self._lock:
            if sum(1 for s in self._shells.values() if s.owner == user) >= MAX_SHELLS_PER_USER:
                raise soap.FaultError(
                    "w:QuotaLimit",
                    f"The WS-Management service cannot process the request. This user is "
                    f"allowed a maximum number of {MAX_SHELLS_PER_USER} concurrent shells, "
                    "which has been exceeded.",
                    soap.CODE_MAX_SHELLS,
                )
            self._shells[shell.id] = shell
        log.info("DOUBLE %s Create shell=%s codepage=%s", client, shell.id, codepage)
        return soap.shell_created(request, address, shell.id, user, client)

    def _delete(self, request: soap.Request, user: str, client: str, address: str) -> bytes:
        shell = self._shell(request, user)
        with self._lock:
            self._shells.pop(shell.id, None)
        for command in shell.commands.values():
            command.io.terminated.set()
        log.info("DOUBLE %s Delete shell=%s", client, shell.id)
        return soap.response(request, "")

    def _run_command(self, request: soap.Request, user: str, client: str, address: str) -> bytes:
        shell = self._shell(request, user)
        body = self._body(request, "CommandLine")
        program = (body.findtext(f"{{{soap.RSP}}}Command") or "").strip()
        arguments = [(a.text or "").strip() for a in body.iterfind(f"{{{soap.RSP}}}Arguments")]
        command_line = " ".join([program, *arguments])
        decoded = powershell.decode_command_line(command_line)
        kind = "-"
        if isinstance(decoded, str):
            kind = powershell.script_kind(decoded) or "unsupported"
        command = Command(str(uuid.uuid4()).upper(), kind)
        shell.commands[command.id] = command
        threading.Thread(
            target=self._execute,
            args=(command, decoded),
            name=f"double-command-{command.id[:8]}",
            daemon=True,
        ).start()
        log.info(
            "DOUBLE %s Command shell=%s command=%s kind=%s", client, shell.id, command.id, kind
        )
        return soap.command_started(request, command.id)

    def _execute(self, command: Command, decoded: str | powershell.Outcome) -> None:
        if isinstance(decoded, powershell.Outcome):
            command.outcome = decoded
        else:
            command.outcome = powershell.run(decoded, command.io, self.state_path)
        command.done.set()

    def _send(self, request: soap.Request, user: str, client: str, address: str) -> bytes:
        shell = self._shell(request, user)
        body = self._body(request, "Send")
        for stream in body.iterfind(f"{{{soap.RSP}}}Stream"):
            command = self._command(shell, stream.get("CommandId"))
            try:
                data = base64.b64decode(stream.text or "", validate=True)
            except ValueError:
                raise soap.FaultError(
                    "w:SchemaValidationError", "The stdin stream is not base64."
                ) from None
            command.io.feed(data, stream.get("End", "false").lower() == "true")
        return soap.response(request, "<rsp:SendResponse/>")

    def _receive(self, request: soap.Request, user: str, client: str, address: str) -> bytes:
        shell = self._shell(request, user)
        body = self._body(request, "Receive")
        desired = body.find(f"{{{soap.RSP}}}DesiredStream")
        command = self._command(shell, None if desired is None else desired.get("CommandId"))
        if not command.done.wait(min(request.operation_timeout, RECEIVE_WAIT_MAX)):
            raise soap.FaultError(
                "w:TimedOut",
                "The WS-Management service cannot complete the operation within the time "
                "specified in OperationTimeout.",
                soap.CODE_OPERATION_TIMEOUT,
                sender=False,
            )
        outcome = command.outcome
        assert outcome is not None
        if command.sent == 0:
            command.stdout = outcome.stdout.encode(shell.codec, errors="replace")
        chunk = command.stdout[command.sent : command.sent + STDOUT_CHUNK]
        command.sent += len(chunk)
        stdout = base64.b64encode(chunk).decode("ascii")
        if command.sent < len(command.stdout):
            return soap.received(request, command.id, stdout, "", None)
        stderr = base64.b64encode(outcome.stderr.encode(shell.codec, errors="replace")).decode()
        log.info(
            "DOUBLE %s Receive command=%s kind=%s exit=%d",
            client,
            command.id,
            command.kind,
            outcome.exit_code,
        )
        return soap.received(request, command.id, stdout, stderr, outcome.exit_code)

    def _signal(self, request: soap.Request, user: str, client: str, address: str) -> bytes:
        shell = self._shell(request, user)
        body = self._body(request, "Signal")
        command = self._command(shell, body.get("CommandId"))
        code = (body.findtext(f"{{{soap.RSP}}}Code") or "").strip()
        if code == soap.TERMINATE:
            command.io.terminated.set()
            shell.commands.pop(command.id, None)
        log.info("DOUBLE %s Signal command=%s %s", client, command.id, code.rsplit("/", 1)[-1])
        return soap.response(request, "<rsp:SignalResponse/>")

    _operations: ClassVar[dict[str, Operation]] = {
        soap.CREATE: _create,
        soap.DELETE: _delete,
        soap.COMMAND: _run_command,
        soap.SEND: _send,
        soap.RECEIVE: _receive,
        soap.SIGNAL: _signal,
    }


class WsmanHTTPServer(ThreadingHTTPServer):
    """One listener (HTTP or HTTPS) of the double; both share one WsmanService."""

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        service: WsmanService,
        account: auth.Account,
        tls: ssl.SSLContext | None = None,
        bindings: spnego.channel_bindings.GssChannelBindings | None = None,
    ) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, WsmanHandler)
        self.service = service
        self.account = account
        self.tls = tls
        self.bindings = bindings

    def server_bind(self) -> None:
        # HTTPServer.server_bind also looks up a DNS name for the bind address (socket.getfqdn),
        # which nothing here uses; where no DNS server answers, as in a lab namespace, that
        # lookup holds the listener back for the resolver's whole timeout (5 s).
        socketserver.TCPServer.server_bind(self)
        self.server_name = str(self.server_address[0])
        self.server_port = int(self.server_address[1])

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.tls is None:
            super().finish_request(request, client_address)
            return
        # The handshake runs here, in the connection's thread, so a slow or failing client
        # never holds up accept().
        request.settimeout(HANDSHAKE_TIMEOUT)
        try:
            wrapped = self.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            log.info("DOUBLE %s TLS handshake failed: %s", client_address[0], exc)
            return
        try:
            super().finish_request(wrapped, client_address)
        finally:
            wrapped.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.exception("DOUBLE %s request failed", client_address[0])


class WsmanHandler(BaseHTTPRequestHandler):
    server: WsmanHTTPServer
    protocol_version = "HTTP/1.1"
    # Without it every reply waits ~200 ms for the client's delayed ACK (FIELD-NOTES).
    disable_nagle_algorithm = True
    timeout = IDLE_TIMEOUT

    def setup(self) -> None:
        super().setup()
        self._ntlm: auth.NtlmAcceptor | None = None

    def version_string(self) -> str:
        return SERVER_HEADER

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("DOUBLE %s %s", self.client_address[0], format % args)

    def do_GET(self) -> None:
        self._reply(405, b"")

    def do_POST(self) -> None:
        client = self.client_address[0]
        body = self._read_body()
        if body is None:
            return
        if self.path.split("?", 1)[0].rstrip("/").lower() != "/wsman":
            self._reply(404, b"")
            return
        user = self._authenticate(client)
        if user is None:
            return
        content_type = self.headers.get("Content-Type", "")
        sealed = auth.is_encrypted(content_type)
        if sealed:
            if self._ntlm is None or not self._ntlm.complete:
                self._reply(400, b"")
                return
            try:
                body = self._ntlm.unseal(body)
            except auth.SealError as exc:
                log.info("DOUBLE %s refused an encrypted body: %s", client, exc)
                self._reply(400, b"")
                return
        elif body and self.server.tls is None:
            log.info("DOUBLE %s refused an unencrypted body over http", client)
            refusal = soap.FaultError(
                "w:AccessDenied",
                "The WinRM service refuses unencrypted traffic (AllowUnencrypted = false).",
                sender=True,
            )
            self._reply(500, soap.fault_envelope(refusal, "", self.server.service.machine))
            return
        if not body:
            self._reply(200, b"")  # the client's empty POST that sets up encryption
            return
        local_host, local_port = self.connection.getsockname()[:2]
        address = f"{self.server.scheme}://{local_host}:{local_port}/wsman"
        status, reply = self.server.service.handle(body, user, client, address)
        self._reply(status, reply, seal=sealed)

    # ------------------------------------------------------------------ plumbing

    def _read_body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            self._reply(411, b"")
            return None
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            self.close_connection = True
            self._reply(413, b"")
            return None
        return self.rfile.read(length)

    def _authenticate(self, client: str) -> str | None:
        """The authenticated user, or None after replying 401 (or a challenge)."""
        header = self.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        scheme = scheme.lower()
        user: str | None
        if scheme in ("negotiate", "ntlm"):
            user = self._ntlm_step(client, scheme, token.strip())
            if user is None:
                return None
        elif scheme == "basic" and self.server.tls is not None:
            user = self._basic(client, token.strip())
        elif not header and self._ntlm is not None and self._ntlm.complete:
            user = self._ntlm.user
        else:
            if header:
                log.info("DOUBLE %s auth scheme %r not offered here", client, scheme)
            user = None
        if user is not None and self._auth_broken():
            log.info("DOUBLE %s auth refused for %s: the state says auth_broken", client, user)
            self._ntlm = None
            user = None
        if user is None:
            self._reply(401, b"", offer=True)
        return user

    def _basic(self, client: str, token: str) -> str | None:
        try:
            username, password = auth.basic_credentials(token)
        except auth.AuthError as exc:
            log.info("DOUBLE %s basic auth failed: %s", client, exc)
            return None
        if not self.server.account.matches(username, password):
            log.info("DOUBLE %s basic auth failed for user %r", client, username)
            return None
        log.debug("DOUBLE %s basic auth ok for %s", client, username)
        return self.server.account.username

    def _ntlm_step(self, client: str, scheme: str, token: str) -> str | None:
        if self._ntlm is None or self._ntlm.complete:
            self._ntlm = auth.NtlmAcceptor(self.server.bindings)
        try:
            answer = self._ntlm.step(token)
        except auth.AuthError as exc:
            log.info("DOUBLE %s ntlm auth failed: %s", client, exc)
            self._ntlm = None
            self._reply(401, b"", offer=True)
            return None
        if answer is not None:
            self._reply(401, b"", challenge=f"{scheme.capitalize()} {answer}")
            return None
        log.info("DOUBLE %s ntlm auth ok for %s (%s)", client, self._ntlm.user, self.server.scheme)
        return self._ntlm.user

    def _auth_broken(self) -> bool:
        try:
            return bool(read_state(self.server.service.state_path).get("auth_broken"))
        except (OSError, ValueError):
            return True  # an unreadable state must not let anyone in by accident

    def _reply(
        self,
        status: int,
        body: bytes,
        *,
        offer: bool = False,
        challenge: str | None = None,
        seal: bool = False,
    ) -> None:
        content_type = "application/soap+xml;charset=UTF-8"
        if seal and self._ntlm is not None:
            body = self._ntlm.seal(body)
            content_type = auth.ENCRYPTED_CONTENT_TYPE
        self.send_response(status)
        if challenge is not None:
            self.send_header("WWW-Authenticate", challenge)
        if offer:
            self.send_header("WWW-Authenticate", "Negotiate")
            if self.server.tls is not None:
                self.send_header("WWW-Authenticate", 'Basic realm="WSMAN"')
        if body:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        if status >= 400 or challenge is not None:
            log.debug("DOUBLE %s -> %d", self.client_address[0], status)


def tls_context(certificate: Path, key: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certificate, key)
    return context


def start(server: WsmanHTTPServer) -> threading.Thread:
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.2},
        name=f"double-{server.scheme}",
        daemon=True,
    )
    thread.start()
    return thread


def bound_port(server: WsmanHTTPServer) -> int:
    port: int = server.socket.getsockname()[1]
    return port
