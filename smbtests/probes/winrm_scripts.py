"""The PowerShell the `winrm` probe runs on a Windows host, one script per kind of reading.

Every script starts with the marker line `# smbtests:<kind>`, stops at the first error
(`$ErrorActionPreference = 'Stop'`, so a failing cmdlet exits 1 instead of printing nothing)
and ends by printing one compact JSON document. Enum-typed cmdlet properties are cast to
[string]: ConvertTo-Json writes enums as bare numbers, which differ between PowerShell versions.

Firewall reads use `-PolicyStore ActiveStore`, the rules and profiles in force (group policy
included); the default store shows only locally made settings and would hide a GPO that did
or did not apply.

Reachability scripts take their target list on stdin, not inside the script: WinRS runs the
command through cmd.exe, whose command line stops at 8191 characters, and the script travels
base64-encoded UTF-16 (about 2.7 characters per script character).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from enum import StrEnum

from smbtests.probes.base import Target

POWERSHELL = "powershell.exe"
POWERSHELL_ARGS = ("-NoProfile", "-NonInteractive", "-EncodedCommand")
CMD_LINE_LIMIT = 8191  # cmd.exe's maximum command line, which every WinRS command passes through


class HostQuery(StrEnum):
    """A configuration reading from a Windows host; the value is the script's marker kind."""

    SMB_SERVER_CONFIGURATION = "smb-server-configuration"
    SMB1_FEATURE = "smb1-feature"
    FIREWALL_PROFILES = "firewall-profiles"
    FIREWALL_RULES_445 = "firewall-rules-445"
    SMB_CERTIFICATE_MAPPING = "smb-certificate-mapping"


REACH_KIND = "reach"
REACH_TNC_KIND = "reach-tnc"

_PRELUDE = "$ErrorActionPreference = 'Stop'\n$ProgressPreference = 'SilentlyContinue'\n"


def _script(kind: str, body: str) -> str:
    return f"# smbtests:{kind}\n{_PRELUDE}{body}"


_QUERY_BODIES: dict[HostQuery, str] = {
    HostQuery.SMB_SERVER_CONFIGURATION: """\
Get-SmbServerConfiguration |
    Select-Object EnableSMB1Protocol, EnableSMB2Protocol, RequireSecuritySignature,
        EnableSecuritySignature, EncryptData, RejectUnencryptedAccess, AuditSmb1Access,
        EnableSMBQUIC |
    ConvertTo-Json -Depth 4 -Compress
""",
    HostQuery.SMB1_FEATURE: """\
Get-WindowsOptionalFeature -Online -FeatureName SMB1Protocol |
    Select-Object FeatureName, @{ Name = 'State'; Expression = { [string]$_.State } } |
    ConvertTo-Json -Depth 4 -Compress
""",
    HostQuery.FIREWALL_PROFILES: """\
$rows = @(Get-NetFirewallProfile -PolicyStore ActiveStore |
    Select-Object Name,
        @{ Name = 'Enabled'; Expression = { [string]$_.Enabled } },
        @{ Name = 'DefaultInboundAction'; Expression = { [string]$_.DefaultInboundAction } },
        @{ Name = 'LogBlocked'; Expression = { [string]$_.LogBlocked } },
        LogFileName, LogMaxSizeKilobytes)
,$rows | ConvertTo-Json -Depth 4 -Compress
""",
    # A rule lets 445 in when its port filter is TCP or Any and one of its local ports is 445,
    # Any, or a range around 445. Filters are read once for all rules: per-rule filter lookups
    # cost a WMI round trip each.
    HostQuery.FIREWALL_RULES_445: """\
function Test-Covers445([string[]]$Ports) {
    foreach ($p in $Ports) {
        if ($p -eq 'Any' -or $p -eq '445') { return $true }
        if ($p -match '^(\\d+)-(\\d+)$' -and [int]$Matches[1] -le 445 -and [int]$Matches[2] -ge 445) {
            return $true
        }
    }
    return $false
}
$ports = @{}
foreach ($f in Get-NetFirewallPortFilter -All -PolicyStore ActiveStore) {
    if ($f.Protocol -in 'TCP', '6', 'Any' -and (Test-Covers445 $f.LocalPort)) { $ports[$f.InstanceID] = $f }
}
$addresses = @{}
foreach ($f in Get-NetFirewallAddressFilter -All -PolicyStore ActiveStore) { $addresses[$f.InstanceID] = $f }
$rows = @(Get-NetFirewallRule -All -PolicyStore ActiveStore |
    Where-Object { $ports.ContainsKey($_.InstanceID) } |
    ForEach-Object {
        [pscustomobject]@{
            Name = $_.Name
            DisplayName = $_.DisplayName
            Direction = [string]$_.Direction
            Action = [string]$_.Action
            Enabled = [string]$_.Enabled
            Profile = [string]$_.Profile
            Protocol = [string]$ports[$_.InstanceID].Protocol
            LocalPort = [string[]]@($ports[$_.InstanceID].LocalPort)
            RemoteAddress = [string[]]@($addresses[$_.InstanceID].RemoteAddress)
        }
    })
,$rows | ConvertTo-Json -Depth 4 -Compress
""",
    # Get-SmbServerCertificateMapping exists only where SMB over QUIC does; its absence is
    # reported as data, so a policy that needs QUIC fails on such a host instead of erroring.
    HostQuery.SMB_CERTIFICATE_MAPPING: """\
$supported = [bool](Get-Command Get-SmbServerCertificateMapping -ErrorAction SilentlyContinue)
$mappings = @()
if ($supported) {
    $mappings = @(Get-SmbServerCertificateMapping | ForEach-Object {
        [pscustomobject]@{
            Name = $_.Name
            Subject = $_.Subject
            Thumbprint = $_.Thumbprint
            StoreName = $_.StoreName
            Type = [string]$_.Type
            Flags = [string]$_.Flags
        }
    })
}
[pscustomobject]@{
    Supported = $supported
    EnableSMBQUIC = (Get-SmbServerConfiguration).EnableSMBQUIC
    Mappings = $mappings
} | ConvertTo-Json -Depth 4 -Compress
""",
}

# Connects run concurrently (at most `concurrency` in flight, each bounded by timeout_ms);
# WaitAny returns as soon as any connect settles, so latency_ms is each connect's own time.
_REACH_BODY = """\
$request = (@($input) -join "`n") | ConvertFrom-Json
$targets = @($request.targets)
$timeoutMs = [int]$request.timeout_ms
$rows = New-Object 'object[]' $targets.Count
$clock = [Diagnostics.Stopwatch]::StartNew()
$flight = New-Object 'Collections.Generic.List[object]'
$next = 0
function Settle($slot, [string]$state, $code, [string]$detail) {
    $t = $targets[$slot.I]
    $rows[$slot.I] = [pscustomobject]@{
        i = $slot.I; host = [string]$t.host; port = [int]$t.port; state = $state; errno = $code
        latency_ms = [Math]::Round($clock.Elapsed.TotalMilliseconds - $slot.Start, 3); detail = $detail
    }
    $slot.Client.Close()
}
while ($next -lt $targets.Count -or $flight.Count -gt 0) {
    while ($next -lt $targets.Count -and $flight.Count -lt [int]$request.concurrency) {
        $slot = [pscustomobject]@{
            I = $next; Client = [Net.Sockets.TcpClient]::new()
            Start = $clock.Elapsed.TotalMilliseconds; Task = $null
        }
        $next++
        try { $slot.Task = $slot.Client.ConnectAsync([string]$targets[$slot.I].host, [int]$targets[$slot.I].port) }
        catch { Settle $slot 'error' $null $_.Exception.GetBaseException().Message; continue }
        $flight.Add($slot)
    }
    if ($flight.Count -eq 0) { continue }
    $first = ($flight | ForEach-Object { $_.Start } | Measure-Object -Minimum).Minimum
    $wait = [Math]::Max(0, [Math]::Ceiling($first + $timeoutMs - $clock.Elapsed.TotalMilliseconds))
    $k = [Threading.Tasks.Task]::WaitAny([Threading.Tasks.Task[]]@($flight | ForEach-Object { $_.Task }), [int]$wait)
    if ($k -ge 0) {
        $slot = $flight[$k]
        $flight.RemoveAt($k)
        if ($slot.Task.Status -eq 'RanToCompletion') { Settle $slot 'open' $null 'connected'; continue }
        $e = $slot.Task.Exception.GetBaseException()
        if ($e -isnot [Net.Sockets.SocketException]) { Settle $slot 'error' $null $e.Message; continue }
        $name = [string]$e.SocketErrorCode
        $state = switch ($name) {
            'ConnectionRefused' { 'refused' }
            'TimedOut' { 'filtered' }
            { $_ -in 'HostUnreachable', 'NetworkUnreachable', 'HostDown' } { 'unreachable' }
            default { 'error' }
        }
        Settle $slot $state $e.ErrorCode $name
    } else {
        $now = $clock.Elapsed.TotalMilliseconds
        foreach ($slot in @($flight | Where-Object { $_.Start + $timeoutMs -le $now })) {
            [void]$flight.Remove($slot)
            Settle $slot 'filtered' $null "no answer within $timeoutMs ms"
        }
    }
}
,$rows | ConvertTo-Json -Depth 4 -Compress
"""

# Test-NetConnection has no timeout (a filtered port costs about 21 s) and reports one bool:
# it cannot tell a refused port from a filtered one. Kept because auditors know its output.
_REACH_TNC_BODY = """\
$request = (@($input) -join "`n") | ConvertFrom-Json
$targets = @($request.targets)
$rows = @(for ($i = 0; $i -lt $targets.Count; $i++) {
    $clock = [Diagnostics.Stopwatch]::StartNew()
    $r = Test-NetConnection -ComputerName ([string]$targets[$i].host) -Port ([int]$targets[$i].port) -WarningAction SilentlyContinue
    [pscustomobject]@{
        i = $i; host = [string]$targets[$i].host; port = [int]$targets[$i].port
        TcpTestSucceeded = [bool]$r.TcpTestSucceeded
        latency_ms = [Math]::Round($clock.Elapsed.TotalMilliseconds, 3)
    }
})
,$rows | ConvertTo-Json -Depth 4 -Compress
"""


def query_script(query: HostQuery) -> str:
    return _script(query.value, _QUERY_BODIES[query])


def reach_script(test_netconnection: bool) -> str:
    if test_netconnection:
        return _script(REACH_TNC_KIND, _REACH_TNC_BODY)
    return _script(REACH_KIND, _REACH_BODY)


def reach_request(targets: Sequence[Target], timeout: float, concurrency: int) -> bytes:
    """The stdin document of the reach scripts."""
    body = {
        "targets": [{"host": t.host, "port": t.port} for t in targets],
        "timeout_ms": max(1, round(timeout * 1000)),
        "concurrency": concurrency,
    }
    return json.dumps(body, separators=(",", ":")).encode("ascii") + b"\r\n"


def encode_command(script: str) -> str:
    """PowerShell's -EncodedCommand form: base64 of the UTF-16LE script."""
    return base64.b64encode(script.encode("utf-16-le")).decode("ascii")


def command_line(script: str) -> str:
    return " ".join((POWERSHELL, *POWERSHELL_ARGS, encode_command(script)))
