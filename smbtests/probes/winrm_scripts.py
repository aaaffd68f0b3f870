"""The PowerShell the `winrm` probe runs on a Windows host: one `ps1/<kind>.ps1` file per kind of
reading, shipped in the package and read at run time (tests/unit/test_ps1_scripts.py parses each
with a PowerShell grammar and holds its cmdlets to the Windows Server 2016 list).

Every script starts with the marker line `# smbtests:<kind>`, stops at the first error
(`$ErrorActionPreference = 'Stop'`, so a failing cmdlet exits 1 instead of printing nothing)
and ends by printing one compact JSON document. Enum-typed cmdlet properties are cast to
[string]: ConvertTo-Json writes enums as bare numbers, which differ between PowerShell versions.

Code several readings share lives in `ps1/include/<name>.ps1`; a script's line
`# include <name>.ps1` stands for it, and the loader puts it there, so the host still gets one
self-contained script (nothing is dot-sourced on the host).

Firewall reads use `-PolicyStore ActiveStore`, the rules and profiles in force (group policy
included); the default store shows only locally made settings and would hide a GPO that did
or did not apply.

Reachability scripts and smb-path take their requests on stdin, not inside the script: WinRS
runs the command through cmd.exe, whose command line stops at 8191 characters, and the script
travels base64-encoded UTF-16 (about 2.7 characters per script character). smb-path's request
holds the SMB account's password: on stdin it stays inside the encrypted WinRM session and out
of the command line, which Windows records (process creation events, 4688).
"""

from __future__ import annotations

import base64
import functools
import importlib.resources
import json
import re
from collections.abc import Sequence

from smbtests.observations import HostQuery, Target
from smbtests.probes.base import ShareRequest

POWERSHELL = "powershell.exe"
POWERSHELL_ARGS = ("-NoProfile", "-NonInteractive", "-EncodedCommand")
CMD_LINE_LIMIT = 8191  # cmd.exe's maximum command line, which every WinRS command passes through


REACH_KIND = "reach"
REACH_TNC_KIND = "reach-tnc"
SMB_NEGOTIATE_KIND = "smb-negotiate"
SMB_PATH_KIND = "smb-path"
SCRIPT_DIR = "ps1"  # package data beside this module: one <kind>.ps1 per script
INCLUDE_DIR = "include"  # beside them: code several scripts share
INCLUDE = re.compile(r"^# include ([a-z0-9-]+\.ps1)\n", re.MULTILINE)


@functools.cache
def script(kind: str) -> str:
    """The script of one kind, exactly as it is sent: the packaged `ps1/<kind>.ps1` with each
    `# include <name>.ps1` line replaced by `ps1/include/<name>.ps1`."""
    text = _packaged(SCRIPT_DIR, f"{kind}.ps1")
    return INCLUDE.sub(lambda line: _packaged(SCRIPT_DIR, INCLUDE_DIR, line[1]), text)


def _packaged(*parts: str) -> str:
    resource = importlib.resources.files("smbtests.probes").joinpath(*parts)
    return resource.read_text(encoding="utf-8")


def script_kinds() -> tuple[str, ...]:
    """Every kind the probe sends: one per HostQuery, the two reach scripts and the two of
    smb-path (one script would pass cmd.exe's command line limit)."""
    return (
        *(query.value for query in HostQuery),
        REACH_KIND,
        REACH_TNC_KIND,
        SMB_NEGOTIATE_KIND,
        SMB_PATH_KIND,
    )


def query_script(query: HostQuery) -> str:
    return script(query.value)


def reach_script(test_netconnection: bool) -> str:
    return script(REACH_TNC_KIND if test_netconnection else REACH_KIND)


def reach_request(targets: Sequence[Target], timeout: float, concurrency: int) -> bytes:
    """The stdin document of the reach scripts."""
    body = {
        "targets": [{"host": t.host, "port": t.port} for t in targets],
        "timeout_ms": max(1, round(timeout * 1000)),
        "concurrency": concurrency,
    }
    return json.dumps(body, separators=(",", ":")).encode("ascii") + b"\r\n"


def smb_negotiate_request(host: str, timeout: float) -> bytes:
    """The stdin document of smb-negotiate.ps1."""
    body = {"host": host, "timeout_ms": max(1, round(timeout * 1000))}
    return json.dumps(body, separators=(",", ":")).encode("utf-8") + b"\r\n"


def smb_path_request(request: ShareRequest) -> bytes:
    """The stdin document of smb-path.ps1. It holds the approved account's password: it travels
    only on stdin, inside the encrypted WinRM session, never in the script or a log line."""
    __tracebackhide__ = True
    account = request.account
    body = {
        "host": request.host,
        "shares": list(request.shares),
        "sysvol": request.sysvol,
        "username": account.username,
        "domain": account.domain,
        "password": account.password,
        "timeout_ms": max(1, round(request.timeout * 1000)),
    }
    return json.dumps(body, separators=(",", ":")).encode("utf-8") + b"\r\n"


def encode_command(script: str) -> str:
    """PowerShell's -EncodedCommand form: base64 of the UTF-16LE script."""
    return base64.b64encode(script.encode("utf-16-le")).decode("ascii")


def command_line(script: str) -> str:
    return " ".join((POWERSHELL, *POWERSHELL_ARGS, encode_command(script)))
