"""How a WinRM call failed, in words: `describe_failure` is the one place where pywinrm, requests
and spnego failures become the message of a ProbeError; PowerShell's CLIXML error text; the
masking of secrets before any text is shortened for a message."""

from __future__ import annotations

import html
import importlib
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import TYPE_CHECKING

import requests
import winrm.exceptions

if TYPE_CHECKING:
    from smbtests.probes.winrm_settings import WinRMSettings

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
