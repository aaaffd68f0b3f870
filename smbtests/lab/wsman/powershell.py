"""The PowerShell host of the WS-Management DOUBLE: the scripts it recognises and their answers.

It runs no PowerShell. It recognises a script by its first line, `# smbtests:<kind>`, plus the
cmdlets that kind must call, and answers from the state file what the script would print on
Windows. Anything else fails the way PowerShell fails under WinRS: a CLIXML error record on
stderr and exit code 1, so a check the double does not model errors instead of passing.

Reachability is real: `reach` connects from wherever the double runs (in the lab, win1's
namespace) and reports each connect as the TcpClient script does on Windows, with Winsock
error numbers (10061 refused, 10065 host unreachable, ...). So is SMB: `smb-negotiate` and
`smb-path` are answered by the double's own SMB client (`smb_client.py`) against the real hosts.
"""

from __future__ import annotations

import base64
import errno
import itertools
import json
import re
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from smbtests.lab.wsman import current, firewall_log, smb_client
from smbtests.lab.wsman.state import State, read_state

CMD_LINE_LIMIT = 8191
STDIN_WAIT = 60.0  # seconds a stdin-reading script waits for the client's input
STALL_LIMIT = 600.0  # a stalled command ends by itself after this long, whatever the client does

# Cmdlets (or .NET types) each kind's script must mention; a script that lost them is not one
# the double models, even with the right marker.
REQUIRED_NAMES: dict[str, tuple[str, ...]] = {
    "smb-server-configuration": ("Get-SmbServerConfiguration", "ConvertTo-Json"),
    "smb1-feature": ("Get-WindowsOptionalFeature", "SMB1Protocol", "ConvertTo-Json"),
    "firewall-profiles": ("Get-NetFirewallProfile", "ConvertTo-Json"),
    "firewall-rules-445": (
        "Get-NetFirewallRule",
        "Get-NetFirewallPortFilter",
        "Get-NetFirewallAddressFilter",
        "ConvertTo-Json",
    ),
    "smb-certificate-mapping": ("Get-SmbServerCertificateMapping", "ConvertTo-Json"),
    "reach": ("Net.Sockets.TcpClient", "ConnectAsync", "WaitAny", "ConvertTo-Json"),
    "reach-tnc": ("Test-NetConnection", "ConvertTo-Json"),
    **current.REQUIRED_NAMES,
    **firewall_log.REQUIRED_NAMES,
    **smb_client.REQUIRED_NAMES,
}
STDIN_KINDS = frozenset({"reach", "reach-tnc"}) | smb_client.STDIN_KINDS

_MARKER = re.compile(r"\A# smbtests:([a-z0-9-]+)\r?\n")
_POWERSHELL = re.compile(r"(?i)^powershell(\.exe)?$")

# Linux errno -> (Winsock SocketErrorCode name, number, state the TcpClient script reports)
_WINSOCK = {
    errno.ECONNREFUSED: ("ConnectionRefused", 10061, "refused"),
    errno.EHOSTUNREACH: ("HostUnreachable", 10065, "unreachable"),
    errno.ENETUNREACH: ("NetworkUnreachable", 10051, "unreachable"),
    errno.EHOSTDOWN: ("HostDown", 10064, "unreachable"),
    errno.ENETDOWN: ("NetworkDown", 10050, "error"),
    errno.EACCES: ("AccessDenied", 10013, "error"),
    errno.EPERM: ("AccessDenied", 10013, "error"),
    errno.EADDRNOTAVAIL: ("AddressNotAvailable", 10049, "error"),
}


@dataclass
class Outcome:
    stdout: str
    stderr: str
    exit_code: int


class Io:
    """What a running command shares with the shell: its stdin and a terminate signal."""

    def __init__(self) -> None:
        self._stdin = bytearray()
        self._lock = threading.Lock()
        self.stdin_closed = threading.Event()
        self.terminated = threading.Event()

    def feed(self, data: bytes, end: bool) -> None:
        with self._lock:
            self._stdin += data
        if end:
            self.stdin_closed.set()

    def read_stdin(self) -> bytes | None:
        """All of stdin once the client closed it; None if it did not within STDIN_WAIT."""
        if not self.stdin_closed.wait(STDIN_WAIT):
            return None
        with self._lock:
            return bytes(self._stdin)


def powershell_error(message: str, category: str, error_id: str) -> str:
    """An error record as powershell.exe writes it to a redirected stderr (CLIXML)."""
    lines = [
        message,
        f"    + CategoryInfo          : {category}",
        f"    + FullyQualifiedErrorId : {error_id}",
    ]
    records = "".join(f'<S S="Error">{escape(line)}_x000D__x000A_</S>' for line in lines)
    return (
        "#< CLIXML\r\n"
        '<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
        f"{records}</Objs>"
    )


def _failed(message: str, category: str, error_id: str) -> Outcome:
    return Outcome("", powershell_error(message, category, error_id), 1)


def _is_encoded_switch(word: str) -> bool:
    """PowerShell takes any prefix of -EncodedCommand, and its alias -ec."""
    word = word.lower()
    return word == "-ec" or (len(word) >= 2 and "-encodedcommand".startswith(word))


def decode_command_line(command_line: str) -> str | Outcome:
    """The script inside `powershell -EncodedCommand ...`, or how cmd.exe/PowerShell fails."""
    if len(command_line) > CMD_LINE_LIMIT:
        return Outcome("", "The command line is too long.\r\n", 1)
    words = command_line.split()
    if not words or not _POWERSHELL.match(words[0]):
        program = words[0] if words else ""
        return Outcome(
            "",
            f"'{program}' is not recognized as an internal or external command,\r\n"
            "operable program or batch file.\r\n",
            1,
        )
    for switch, value in itertools.pairwise(words[1:]):
        if _is_encoded_switch(switch):
            try:
                return base64.b64decode(value, validate=True).decode("utf-16-le")
            except ValueError:
                return _failed(
                    "Cannot process the command because the value specified with "
                    "-EncodedCommand is not properly encoded.",
                    "InvalidArgument: (:) [], ParameterBindingException",
                    "InvalidEncodedCommand",
                )
    return _failed(
        "This WS-Management DOUBLE runs only `powershell -EncodedCommand <script>`.",
        "NotImplemented: (:) [], DoubleException",
        "smbtests.Double.UnsupportedCommandLine",
    )


def script_kind(script: str) -> str | None:
    """The kind a script is, if it is one the double models."""
    match = _MARKER.match(script)
    if match is None:
        return None
    kind = match.group(1)
    required = REQUIRED_NAMES.get(kind)
    if required is None or not all(name in script for name in required):
        return None
    return kind


def run(script: str, io: Io, state_path: Path) -> Outcome:
    """Answer one script as the modelled Windows host would."""
    kind = script_kind(script)
    if kind is None:
        first = script.splitlines()[0][:80] if script else ""
        return _failed(
            f"This WS-Management DOUBLE does not model the script it was sent (first line: "
            f"{first!r}); a check the double cannot answer must error, not pass.",
            "NotImplemented: (:) [], DoubleException",
            "smbtests.Double.UnsupportedScript",
        )
    try:
        state = read_state(state_path)
    except (OSError, ValueError) as exc:
        return _failed(
            f"The DOUBLE's state file is unusable: {exc}",
            "ReadError: (:) [], DoubleException",
            "smbtests.Double.StateUnreadable",
        )
    faults = state.get("lab_faults", {})
    if kind in faults.get("stall", ()):
        io.terminated.wait(STALL_LIMIT)
        return _failed("The pipeline has been stopped.", "OperationStopped", "PipelineStopped")
    stdin = b""
    if kind in STDIN_KINDS:
        received = io.read_stdin()
        if received is None:
            return _failed(
                "No input arrived on stdin.", "ReadError: (:) [], DoubleException", "NoInput"
            )
        stdin = received
    if kind in faults.get("stdout", {}):
        return Outcome(str(faults["stdout"][kind]), "", 0)
    try:
        if kind == firewall_log.KIND:  # the one answer read from a file beside the state
            document = firewall_log.answer(state, firewall_log.beside(state_path))
        else:
            document = ANSWERS[kind](state, stdin, io)
    except FileNotFoundError as exc:
        return _failed(
            f"Cannot find path '{exc.filename}' because it does not exist.",
            "ObjectNotFound: (:) [Get-Content], ItemNotFoundException",
            "PathNotFound,Microsoft.PowerShell.Commands.GetContentCommand",
        )
    except (KeyError, TypeError, ValueError) as exc:
        return _failed(
            f"Cannot answer {kind}: {type(exc).__name__}: {exc}",
            "InvalidData: (:) [], DoubleException",
            "smbtests.Double.BadInput",
        )
    return Outcome(json.dumps(document, separators=(",", ":")) + "\r\n", "", 0)


# ---------------------------------------------------------------------- configuration answers


def _smb_server_configuration(state: State, stdin: bytes, io: Io) -> object:
    return dict(state["smb_server_configuration"])


def _smb1_feature(state: State, stdin: bytes, io: Io) -> object:
    return dict(state["smb1_feature"])


def _firewall_profiles(state: State, stdin: bytes, io: Io) -> object:
    return list(state["firewall_profiles"])


def _covers_445(ports: list[str]) -> bool:
    for port in ports:
        if port in ("Any", "445"):
            return True
        bounds = re.fullmatch(r"(\d+)-(\d+)", port)
        if bounds and int(bounds[1]) <= 445 <= int(bounds[2]):
            return True
    return False


def _firewall_rules_445(state: State, stdin: bytes, io: Io) -> object:
    return [
        rule
        for rule in state["firewall_rules"]
        if rule["Protocol"] in ("TCP", "6", "Any") and _covers_445(rule["LocalPort"])
    ]


def _smb_certificate_mapping(state: State, stdin: bytes, io: Io) -> object:
    mapping = state["smb_certificate_mapping"]
    supported = bool(mapping["Supported"])
    return {
        "Supported": supported,
        "EnableSMBQUIC": state["smb_server_configuration"].get("EnableSMBQUIC"),
        "Mappings": list(mapping["Mappings"]) if supported else [],
    }


# ---------------------------------------------------------------------- reachability


def _request(stdin: bytes) -> tuple[list[tuple[str, int]], dict[str, Any]]:
    request = json.loads(stdin.decode("utf-8"))
    targets = [(str(t["host"]), int(t["port"])) for t in request["targets"]]
    return targets, request


def _connect(host: str, port: int, timeout: float) -> tuple[str, int | None, str, float]:
    """One connect as TcpClient.ConnectAsync + Wait(timeout) reports it on Windows."""
    started = time.monotonic()

    def elapsed() -> float:
        return round((time.monotonic() - started) * 1000.0, 3)

    try:
        with socket.create_connection((host, port), timeout=timeout):
            return "open", None, "connected", elapsed()
    except TimeoutError:
        return "filtered", None, f"no answer within {round(timeout * 1000)} ms", elapsed()
    except socket.gaierror:
        return "error", 11001, "HostNotFound", elapsed()
    except OSError as exc:
        name, number, state = _WINSOCK.get(
            exc.errno or 0, (f"SocketError({exc.errno})", exc.errno, "error")
        )
        return state, number, name, elapsed()


def _reach(state: State, stdin: bytes, io: Io) -> object:
    targets, request = _request(stdin)
    timeout = int(request["timeout_ms"]) / 1000.0
    workers = max(1, min(int(request["concurrency"]), len(targets), 256))

    def one(index: int) -> dict[str, Any]:
        host, port = targets[index]
        status, number, detail, latency = _connect(host, port, timeout)
        return {
            "i": index,
            "host": host,
            "port": port,
            "state": status,
            "errno": number,
            "latency_ms": latency,
            "detail": detail,
        }

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="double-reach") as pool:
        return list(pool.map(one, range(len(targets))))


def _reach_tnc(state: State, stdin: bytes, io: Io) -> object:
    targets, _ = _request(stdin)
    timeout = float(state.get("tnc_connect_timeout", 21.0))
    rows = []
    for index, (host, port) in enumerate(targets):
        status, _, _, latency = _connect(host, port, timeout)
        rows.append(
            {
                "i": index,
                "host": host,
                "port": port,
                "TcpTestSucceeded": status == "open",
                "latency_ms": latency,
            }
        )
        if io.terminated.is_set():
            break
    return rows


ANSWERS: dict[str, Callable[[State, bytes, Io], object]] = {
    "smb-server-configuration": _smb_server_configuration,
    "smb1-feature": _smb1_feature,
    "firewall-profiles": _firewall_profiles,
    "firewall-rules-445": _firewall_rules_445,
    "smb-certificate-mapping": _smb_certificate_mapping,
    "reach": _reach,
    "reach-tnc": _reach_tnc,
    **current.ANSWERS,
    **smb_client.ANSWERS,
}
