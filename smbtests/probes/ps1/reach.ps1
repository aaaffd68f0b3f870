# smbtests:reach
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
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
        catch { Settle $i 'error' $null ($_.Exception.GetBaseException().Message) }
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
