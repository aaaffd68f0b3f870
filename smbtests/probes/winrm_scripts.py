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

from smbtests.observations import HostQuery, Target

POWERSHELL = "powershell.exe"
POWERSHELL_ARGS = ("-NoProfile", "-NonInteractive", "-EncodedCommand")
CMD_LINE_LIMIT = 8191  # cmd.exe's maximum command line, which every WinRS command passes through


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
        if ($p -match '^(\\d+)-(\\d+)$') {
            if ([int]$Matches[1] -le 445 -and [int]$Matches[2] -ge 445) { return $true }
        }
    }
    return $false
}
$ports = @{}
foreach ($f in Get-NetFirewallPortFilter -All -PolicyStore ActiveStore) {
    if (($f.Protocol -in @('TCP', '6', 'Any')) -and (Test-Covers445 $f.LocalPort)) {
        $ports[$f.InstanceID] = $f
    }
}
$addresses = @{}
foreach ($f in Get-NetFirewallAddressFilter -All -PolicyStore ActiveStore) {
    $addresses[$f.InstanceID] = $f
}
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
# $flight holds target indices in start order, so its first entry has the nearest deadline.
_REACH_BODY = """\
$request = (@($input) -join "`n") | ConvertFrom-Json
$targets = @($request.targets)
$n = $targets.Count
$timeoutMs = [int]$request.timeout_ms
$rows = New-Object 'object[]' $n
$clients = New-Object 'object[]' $n
$tasks = New-Object 'object[]' $n
$start = New-Object 'double[]' $n
$flight = New-Object 'Collections.Generic.List[int]'
$clock = [Diagnostics.Stopwatch]::StartNew()
$next = 0
function Settle([int]$i, [string]$state, $code, [string]$detail) {
    $rows[$i] = [pscustomobject]@{
        i = $i; host = [string]$targets[$i].host; port = [int]$targets[$i].port
        state = $state; errno = $code; detail = $detail
        latency_ms = [Math]::Round($clock.Elapsed.TotalMilliseconds - $start[$i], 3)
    }
    $clients[$i].Close()
    [void]$flight.Remove($i)
}
while ($next -lt $n -or $flight.Count) {
    while ($next -lt $n -and $flight.Count -lt [int]$request.concurrency) {
        $i = $next++
        $clients[$i] = [Net.Sockets.TcpClient]::new()
        $start[$i] = $clock.Elapsed.TotalMilliseconds
        $flight.Add($i)
        $t = $targets[$i]
        try { $tasks[$i] = $clients[$i].ConnectAsync([string]$t.host, [int]$t.port) }
        catch { Settle $i 'error' $null $_.Exception.GetBaseException().Message }
    }
    if (-not $flight.Count) { continue }
    $wait = [Math]::Ceiling($start[$flight[0]] + $timeoutMs - $clock.Elapsed.TotalMilliseconds)
    $pending = [Threading.Tasks.Task[]]@($flight | ForEach-Object { $tasks[$_] })
    $k = [Threading.Tasks.Task]::WaitAny($pending, [int][Math]::Max(0, $wait))
    if ($k -lt 0) {
        $now = $clock.Elapsed.TotalMilliseconds
        foreach ($i in @($flight)) {
            if ($start[$i] + $timeoutMs -le $now) {
                Settle $i 'filtered' $null "no answer within $timeoutMs ms"
            }
        }
        continue
    }
    $i = $flight[$k]
    $task = $tasks[$i]
    if ($task.Status -eq 'RanToCompletion') { Settle $i 'open' $null 'connected'; continue }
    $e = $task.Exception
    if ($e) { $e = $e.GetBaseException() }
    if ($e -isnot [Net.Sockets.SocketException]) {
        Settle $i 'error' $null "$($task.Status): $($e.Message)"
        continue
    }
    $name = [string]$e.SocketErrorCode
    $state = switch ($name) {
        'ConnectionRefused' { 'refused' }
        'TimedOut' { 'filtered' }
        { $_ -in 'HostUnreachable', 'NetworkUnreachable', 'HostDown' } { 'unreachable' }
        default { 'error' }
    }
    Settle $i $state $e.ErrorCode $name
}
,$rows | ConvertTo-Json -Depth 4 -Compress
"""

# Test-NetConnection has no timeout (a filtered port costs about 21 s) and reports one bool:
# it cannot tell a refused port from a filtered one. Kept because auditors know its output.
_REACH_TNC_BODY = """\
$request = (@($input) -join "`n") | ConvertFrom-Json
$targets = @($request.targets)
$rows = @(for ($i = 0; $i -lt $targets.Count; $i++) {
    $t = $targets[$i]
    $clock = [Diagnostics.Stopwatch]::StartNew()
    $r = Test-NetConnection -ComputerName ([string]$t.host) -Port ([int]$t.port) `
        -WarningAction SilentlyContinue
    [pscustomobject]@{
        i = $i; host = [string]$t.host; port = [int]$t.port
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
