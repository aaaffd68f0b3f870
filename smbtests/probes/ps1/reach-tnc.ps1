# smbtests:reach-tnc
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
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
