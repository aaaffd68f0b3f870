"""What a WinRM reply means: PowerShell's CLIXML error text, the JSON shape of every reading
and the reachability rows, each checked strictly (a reply that does not fit raises OutputError),
and `describe_failure`, the one place where pywinrm, requests and spnego failures become the
words of a ProbeError: a made-up state is never returned."""

from __future__ import annotations

import html
import importlib
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import requests
import winrm.exceptions

from smbtests.observations import ConnectResult, ConnectState, HostQuery, Target

if TYPE_CHECKING:
    from smbtests.probes.winrm import WinRMSettings

SHELL_NOT_FOUND = 2150858843


class OutputError(Exception):
    """The host answered, but not with what the script prints."""


class ScriptError(Exception):
    def __init__(self, exit_code: int, message: str) -> None:
        super().__init__(exit_code, message)
        self.exit_code = exit_code
        self.message = message


# What pywinrm 0.5 imports for an authentication (winrm/transport.py; it only sets HAVE_KERBEROS
# or HAVE_CREDSSP on failure and says so at the first request): the module, the package to install
# and why it is not simply there.
AUTH_LIBRARIES = {
    "kerberos": (
        "winrm.vendor.requests_kerberos",
        "pywinrm[kerberos]",
        "its vendored requests-kerberos needs pykerberos (winkerberos on Windows), which builds "
        "against the system's Kerberos headers (apt install libkrb5-dev) and uses the ticket "
        "of a prior kinit",
    ),
    "credssp": ("requests_credssp", "pywinrm[credssp]", "it needs requests-credssp"),
}


class MissingLibraryError(Exception):
    """The transport the environment names needs a library this runner does not have."""

    def __init__(self, transport: str, missing: str) -> None:
        super().__init__(transport, missing)
        self.transport = transport
        self.missing = missing


def require_auth_library(transport: str) -> None:
    """Raise MissingLibraryError before any traffic when `transport` cannot work here."""
    if transport not in AUTH_LIBRARIES:
        return  # ntlm and basic come with pywinrm's own dependencies
    module = AUTH_LIBRARIES[transport][0]
    try:
        importlib.import_module(module)
    except ImportError as exc:
        first: BaseException = exc  # pykerberos' absence hides behind the winkerberos fallback
        while isinstance(first.__context__, ImportError):
            first = first.__context__
        raise MissingLibraryError(transport, getattr(first, "name", None) or module) from None


class CommandTimeoutError(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(seconds)
        self.seconds = seconds


def describe_failure(exc: BaseException, s: WinRMSettings) -> str:
    where = s.endpoint
    if isinstance(exc, ScriptError):
        return f"PowerShell exited {exc.exit_code}: {exc.message}"
    if isinstance(exc, OutputError):
        return f"unexpected output from {where}: {exc}"
    if isinstance(exc, MissingLibraryError):
        _, extra, why = AUTH_LIBRARIES[exc.transport]
        return (
            f"winrm_auth {exc.transport} for {where} needs a library that is not installed "
            f"({exc.missing} cannot be imported): pip install '{extra}' into the runner's "
            f"environment ({why}), or use winrm_auth: ntlm"
        )
    if isinstance(exc, CommandTimeoutError):
        return f"command on {where} did not finish within {exc.seconds:g} s"
    if isinstance(exc, requests.exceptions.SSLError):
        why = innermost_reason(exc)
        return f"TLS to {where} failed (certificate not trusted or wrong host?): {why}"
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return f"connecting to {where} timed out after {s.read_timeout} s"
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return f"{where} did not answer within {s.read_timeout} s"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return f"cannot connect to {where}: {innermost_reason(exc)}"
    if isinstance(exc, requests.exceptions.RequestException):
        return f"HTTP to {where} failed: {type(exc).__name__}"
    if isinstance(exc, winrm.exceptions.AuthenticationError | PermissionError):
        return f"{where} rejected the credentials of {s.username!r} ({s.transport}, HTTP 401)"
    if isinstance(exc, winrm.exceptions.WSManFaultError):
        code = exc.wsman_fault_code
        what = "shell not found" if code == SHELL_NOT_FOUND else exc.fault_subcode or "fault"
        return f"WinRM fault from {where}: {what} (code {code}): {excerpt(exc.reason)}"
    if isinstance(exc, winrm.exceptions.WinRMTransportError):
        return f"{where} answered HTTP {exc.code}"
    if isinstance(exc, winrm.exceptions.WinRMOperationTimeoutError):
        return f"{where} timed out an operation"
    if isinstance(exc, winrm.exceptions.WinRMError):
        return f"WinRM to {where} failed: {excerpt(str(exc))}"
    if isinstance(exc, AssertionError | StopIteration | ET.ParseError | KeyError | ValueError):
        # pywinrm checks RelatesTo with assert and finds ids with next()
        return f"malformed WinRM reply from {where} ({type(exc).__name__})"
    if type(exc).__module__.startswith("spnego"):
        return f"authentication with {where} failed ({type(exc).__name__})"
    return f"{type(exc).__name__} talking to {where}: {excerpt(str(exc))}"


def innermost_reason(exc: BaseException) -> str:
    """The innermost cause's text, short: requests nests urllib3's, which nests ssl's."""
    inner: BaseException = exc
    seen = 0
    while seen < 10:
        nested = inner.args[0] if inner.args and isinstance(inner.args[0], BaseException) else None
        nested = nested or getattr(inner, "reason", None) or inner.__cause__ or inner.__context__
        if not isinstance(nested, BaseException):
            break
        inner = nested
        seen += 1
    return excerpt(str(inner))


def excerpt(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


_CLIXML_ERROR = re.compile(r'<S S="Error">(.*?)</S>', re.DOTALL)
_CLIXML_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


def masked(text: str, hidden: Sequence[str]) -> str:
    """text with each secret (and its JSON-escaped form) replaced: applied before anything
    re-spaces or cuts the text, so no part of a secret survives a shortened message."""
    for secret in hidden:
        if secret:
            for form in {secret, json.dumps(secret)[1:-1]}:
                text = text.replace(form, "***")
    return text


def powershell_error(stderr: bytes, hidden: Sequence[str] = ()) -> str:
    """The error text of PowerShell's stderr, which arrives as CLIXML under WinRS."""
    text = stderr.decode("utf-8", errors="replace")
    parts = _CLIXML_ERROR.findall(text)
    if parts:
        unescaped = (html.unescape(part) for part in parts)
        text = "".join(_CLIXML_ESCAPE.sub(lambda m: chr(int(m[1], 16)), u) for u in unescaped)
    return excerpt(masked(text, hidden), 300) or "no error text"


# ---------------------------------------------------------------------- output shapes

_BOOL = (bool,)
_OPT_BOOL = (bool, type(None))
_STR = (str,)
_OPT_STR = (str, type(None))
_INT = (int,)
_OPT_INT = (int, type(None))
_LIST = (list,)

_SHAPES: dict[HostQuery, dict[str, tuple[type, ...]]] = {
    HostQuery.SMB_SERVER_CONFIGURATION: {
        "EnableSMB1Protocol": _BOOL,
        "EnableSMB2Protocol": _BOOL,
        "RequireSecuritySignature": _BOOL,
        "EnableSecuritySignature": _BOOL,
        "EncryptData": _BOOL,
        "RejectUnencryptedAccess": _BOOL,
        # newer Windows builds only: null elsewhere
        "AuditSmb1Access": _OPT_BOOL,
        "EnableSMBQUIC": _OPT_BOOL,
    },
    HostQuery.SMB1_FEATURE: {"FeatureName": _STR, "State": _STR},
    HostQuery.FIREWALL_PROFILES: {
        "Name": _STR,
        "Enabled": _STR,
        "DefaultInboundAction": _STR,
        "LogBlocked": _STR,
        "LogFileName": _OPT_STR,
        "LogMaxSizeKilobytes": _INT,
    },
    HostQuery.FIREWALL_RULES_445: {
        "Name": _STR,
        "DisplayName": _STR,
        "DisplayGroup": _OPT_STR,
        "Direction": _STR,
        "Action": _STR,
        "Enabled": _STR,
        "Profile": _STR,
        "Protocol": _STR,
        "LocalPort": _LIST,
        "RemoteAddress": _LIST,
    },
    HostQuery.SMB_CERTIFICATE_MAPPING: {
        "Supported": _BOOL,
        "EnableSMBQUIC": _OPT_BOOL,
        "Mappings": _LIST,
    },
    HostQuery.SMB_SERVER_LIMITS: {
        "Smb2DialectMin": _OPT_STR,
        "Smb2DialectMax": _OPT_STR,
        "InvalidAuthenticationDelayTimeInMs": _OPT_INT,
    },
    HostQuery.SMB_CLIENT_CONFIGURATION: {
        "EnableInsecureGuestLogons": _BOOL,
        "RequireSecuritySignature": _BOOL,
        "BlockNTLM": _OPT_BOOL,
    },
    HostQuery.SMB_CLIENT_ACCESS: {"Supported": _BOOL, "Mappings": _LIST},
    HostQuery.NETWORK_PROFILES: {
        "InterfaceAlias": _STR,
        "InterfaceIndex": _INT,
        "Name": _STR,
        "NetworkCategory": _STR,
    },
    HostQuery.FIREWALL_OUTBOUND_445: {"Profiles": _LIST, "Rules": _LIST},
    HostQuery.FIREWALL_LOG_TAIL: {"Files": _LIST, "TailLines": _INT},
}
_LIST_QUERIES = {
    HostQuery.FIREWALL_PROFILES,
    HostQuery.FIREWALL_RULES_445,
    HostQuery.NETWORK_PROFILES,
}
_MAPPING_SHAPE = {
    "Name": _STR,
    "Subject": _OPT_STR,
    "Thumbprint": _STR,
    "StoreName": _OPT_STR,
    "Type": _STR,
    "Flags": _STR,
}
_LOG_FILE_SHAPE: dict[str, tuple[type, ...]] = {"Path": _STR, "Head": _LIST, "Lines": _LIST}
# The rows nested in an object reading: (key, shape of each row)
_NESTED: dict[HostQuery, tuple[tuple[str, dict[str, tuple[type, ...]]], ...]] = {
    HostQuery.SMB_CERTIFICATE_MAPPING: (("Mappings", _MAPPING_SHAPE),),
    HostQuery.SMB_CLIENT_ACCESS: (
        ("Mappings", {"Name": _STR, "RequireClientAuthentication": _BOOL, "Entries": _LIST}),
    ),
    HostQuery.FIREWALL_OUTBOUND_445: (
        ("Profiles", {"Name": _STR, "Enabled": _STR, "DefaultOutboundAction": _STR}),
        (
            "Rules",
            {
                "Name": _STR,
                "DisplayName": _STR,
                "Action": _STR,
                "Enabled": _STR,
                "Profile": _STR,
                "Protocol": _STR,
                "RemotePort": _LIST,
                "RemoteAddress": _LIST,
            },
        ),
    ),
    HostQuery.FIREWALL_LOG_TAIL: (("Files", _LOG_FILE_SHAPE),),
}
_ACCESS_ENTRY_SHAPE: dict[str, tuple[type, ...]] = {
    "IdentifierType": _STR,
    "Identifier": _STR,
    "Access": _STR,
}


def _check_object(what: str, data: object, shape: dict[str, tuple[type, ...]]) -> None:
    if not isinstance(data, dict):
        raise OutputError(f"{what} is {type(data).__name__}, expected an object")
    for key, types in shape.items():
        if key not in data:
            raise OutputError(f"{what} lacks {key}")
        value = data[key]
        # bool is an int in Python; JSON true must not pass as a number
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise OutputError(f"{what}.{key} is {type(value).__name__}: {excerpt(repr(value), 60)}")


def _check_strings(what: str, row: Mapping[str, object]) -> None:
    for key in ("LocalPort", "RemotePort", "RemoteAddress", "Head", "Lines"):
        values = row.get(key, [])
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise OutputError(f"{what}.{key} holds a non-string")


def check_shape(query: HostQuery, data: object) -> object:
    shape = _SHAPES[query]
    if query in _LIST_QUERIES:
        if not isinstance(data, list):
            raise OutputError(f"{query} is {type(data).__name__}, expected a list")
        for number, row in enumerate(data):
            _check_object(f"{query}[{number}]", row, shape)
            _check_strings(f"{query}[{number}]", row)
        return data
    _check_object(str(query), data, shape)
    assert isinstance(data, dict)
    for key, row_shape in _NESTED.get(query, ()):
        for number, row in enumerate(data[key]):
            _check_object(f"{query}.{key}[{number}]", row, row_shape)
            _check_strings(f"{query}.{key}[{number}]", row)
            if query is HostQuery.SMB_CLIENT_ACCESS:
                for index, entry in enumerate(row["Entries"]):
                    _check_object(
                        f"{query}.{key}[{number}].Entries[{index}]", entry, _ACCESS_ENTRY_SHAPE
                    )
    return data


_NEGOTIATE_SHAPE: dict[str, tuple[type, ...]] = {
    "Host": _STR,
    "Connected": _BOOL,
    "Answered": _BOOL,
    "Status": _OPT_INT,
    "Dialect": _OPT_STR,
    "SecurityMode": _OPT_INT,
    "Detail": _STR,
}
_MAPPING_ROW: dict[str, tuple[type, ...]] = {
    "Share": _STR,
    "Mapped": _BOOL,
    "Readable": _BOOL,
    "ErrorCode": _OPT_INT,
    "Error": _OPT_STR,
}
_SYSVOL_SHAPE: dict[str, tuple[type, ...]] = {
    "Share": _STR,
    "File": _OPT_STR,
    "Bytes": _OPT_INT,
    "ErrorCode": _OPT_INT,
    "Error": _OPT_STR,
}


def smb_negotiate_reading(data: object, host: str) -> dict[str, object]:
    """smb-negotiate.ps1's document, checked, for the host asked."""
    _check_object("smb-negotiate", data, _NEGOTIATE_SHAPE)
    assert isinstance(data, dict)
    if data["Host"] != host:
        raise OutputError(f"smb-negotiate answered for {data['Host']!r}, asked {host!r}")
    if data["Answered"] and not data["Connected"]:
        raise OutputError("smb-negotiate: answered without a connection")
    return data


def smb_path_reading(
    data: object, host: str, shares: Sequence[str], sysvol: str | None
) -> dict[str, object]:
    """smb-path.ps1's document, checked: for the host asked, its login (the IPC$ mapping) and,
    once logged in, a row per share asked, in order, and the SYSVOL read asked (a file with its
    size, or a failure with its code): a DC's document without it proves nothing."""
    shape: dict[str, tuple[type, ...]] = {
        "Host": _STR,
        "Login": (dict,),
        "Shares": _LIST,
        "Dialect": _STR,
    }
    _check_object("smb-path", data, shape)
    assert isinstance(data, dict)
    if data["Host"] != host:
        raise OutputError(f"smb-path answered for {data['Host']!r}, asked {host!r}")
    _check_object("smb-path.Login", data["Login"], _MAPPING_ROW)
    _check_sysvol(data.get("Sysvol"), sysvol if data["Login"]["Mapped"] else None)
    rows = data["Shares"]
    for number, row in enumerate(rows):
        _check_object(f"smb-path.Shares[{number}]", row, _MAPPING_ROW)
    named = [row["Share"] for row in rows]
    if named != (list(shares) if data["Login"]["Mapped"] else []):
        raise OutputError(f"smb-path mapped {named}, asked {list(shares)}")
    return {key: data.get(key) for key in ("Login", "Shares", "Dialect", "Sysvol")}


def _check_sysvol(document: object, asked: str | None) -> None:
    if asked is None:
        if document is not None:
            raise OutputError("smb-path read a SYSVOL it was not asked for")
        return
    if document is None:
        raise OutputError(f"smb-path: no SYSVOL read of {asked!r}, which was asked")
    _check_object("smb-path.Sysvol", document, _SYSVOL_SHAPE)
    assert isinstance(document, dict)
    if document["Share"] != asked:
        raise OutputError(f"smb-path read SYSVOL {document['Share']!r}, asked {asked!r}")
    read = document["File"] is not None
    if read != (document["Bytes"] is not None) or read == (document["ErrorCode"] is not None):
        raise OutputError("smb-path.Sysvol: a file needs its size and no error, a failure a code")


def reach_results(
    data: object, targets: Sequence[Target], test_netconnection: bool
) -> list[ConnectResult]:
    if not isinstance(data, list) or len(data) != len(targets):
        got = len(data) if isinstance(data, list) else type(data).__name__
        raise OutputError(f"reach answered {got} rows for {len(targets)} targets")
    results = []
    for index, (row, target) in enumerate(zip(data, targets, strict=True)):
        if not isinstance(row, dict) or row.get("i") != index:
            raise OutputError(f"reach row {index} is not the row for target {index}")
        if row.get("host") != target.host or row.get("port") != target.port:
            raise OutputError(
                f"reach row {index} is for {row.get('host')}:{row.get('port')}, "
                f"expected {target.host}:{target.port}"
            )
        try:
            latency = float(row["latency_ms"])
            if test_netconnection:
                succeeded = row["TcpTestSucceeded"]
                if not isinstance(succeeded, bool):
                    raise TypeError
                state = ConnectState.OPEN if succeeded else ConnectState.FILTERED
                errno = None
                detail = f"Test-NetConnection: TcpTestSucceeded={succeeded}" + (
                    "" if succeeded else " (it cannot tell refused from filtered)"
                )
            else:
                state = ConnectState(row["state"])
                errno = None if row["errno"] is None else int(row["errno"])
                detail = str(row["detail"])[:200]
        except (KeyError, TypeError, ValueError):
            malformed = excerpt(repr(row), 120)
            raise OutputError(f"reach row {index} is malformed: {malformed}") from None
        results.append(ConnectResult(target, state, errno, latency, detail))
    return results
