"""How a WinRM call failed, in words: `describe_failure` is the one place where pywinrm, requests
and spnego failures become the message of a ProbeError; PowerShell's CLIXML error text; the
masking of secrets before any text is shortened for a message."""

from __future__ import annotations

import html
import importlib
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

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


def _missing_library(exc: MissingLibraryError, where: str) -> str:
    _, extra, why = AUTH_LIBRARIES[exc.transport]
    return (
        f"winrm_auth {exc.transport} for {where} needs a library that is not installed "
        f"({exc.missing} cannot be imported): pip install '{extra}' into the runner's "
        f"environment ({why}), or use winrm_auth: ntlm"
    )


def _wsman_fault(exc: winrm.exceptions.WSManFaultError, where: str) -> str:
    code = exc.wsman_fault_code
    what = "shell not found" if code == SHELL_NOT_FOUND else exc.fault_subcode or "fault"
    return f"WinRM fault from {where}: {what} (code {code}): {excerpt(exc.reason)}"


Describe = Callable[[Any, str, "WinRMSettings"], str]
# What each failure says, by its type: the first row whose types match wins, so a subclass
# stands before its base (requests' ConnectTimeout is a ConnectionError).
_DESCRIPTIONS: tuple[
    tuple[type[BaseException] | tuple[type[BaseException], ...], Describe], ...
] = (
    (ScriptError, lambda e, _w, _s: f"PowerShell exited {e.exit_code}: {e.message}"),
    (OutputError, lambda e, w, _s: f"unexpected output from {w}: {e}"),
    (MissingLibraryError, lambda e, w, _s: _missing_library(e, w)),
    (CommandTimeoutError, lambda e, w, _s: f"command on {w} did not finish within {e.seconds:g} s"),
    (
        requests.exceptions.SSLError,
        lambda e, w, _s: (
            f"TLS to {w} failed (certificate not trusted or wrong host?): {innermost_reason(e)}"
        ),
    ),
    (
        requests.exceptions.ConnectTimeout,
        lambda _e, w, s: f"connecting to {w} timed out after {s.read_timeout} s",
    ),
    (
        requests.exceptions.ReadTimeout,
        lambda _e, w, s: f"{w} did not answer within {s.read_timeout} s",
    ),
    (
        requests.exceptions.ConnectionError,
        lambda e, w, _s: f"cannot connect to {w}: {innermost_reason(e)}",
    ),
    (
        requests.exceptions.RequestException,
        lambda e, w, _s: f"HTTP to {w} failed: {type(e).__name__}",
    ),
    (
        (winrm.exceptions.AuthenticationError, PermissionError),
        lambda _e, w, s: (
            f"{w} rejected the credentials of {s.username!r} ({s.transport}, HTTP 401)"
        ),
    ),
    (winrm.exceptions.WSManFaultError, lambda e, w, _s: _wsman_fault(e, w)),
    (winrm.exceptions.WinRMTransportError, lambda e, w, _s: f"{w} answered HTTP {e.code}"),
    (winrm.exceptions.WinRMOperationTimeoutError, lambda _e, w, _s: f"{w} timed out an operation"),
    (winrm.exceptions.WinRMError, lambda e, w, _s: f"WinRM to {w} failed: {excerpt(str(e))}"),
    (
        # pywinrm checks RelatesTo with assert and finds ids with next()
        (AssertionError, StopIteration, ET.ParseError, KeyError, ValueError),
        lambda e, w, _s: f"malformed WinRM reply from {w} ({type(e).__name__})",
    ),
)


def describe_failure(exc: BaseException, s: WinRMSettings) -> str:
    where = s.endpoint
    for types, describe in _DESCRIPTIONS:
        if isinstance(exc, types):
            return describe(exc, where, s)
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
