# smbtests:firewall-log-tail
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
# The end of each Windows Firewall log the profiles in force name (LogFileName, usually
# %systemroot%\system32\LogFiles\Firewall\pfirewall.log), bounded: its first lines (the
# `#Fields:` header the columns come from) and its last $TailLines lines. A log that does not
# exist or cannot be read stops the script: the reader reports it unreadable, never empty.
$HeadLines = 8
$TailLines = 5000
$paths = @{}
foreach ($p in Get-NetFirewallProfile -PolicyStore ActiveStore) {
    if ($p.LogFileName) {
        $paths[[Environment]::ExpandEnvironmentVariables($p.LogFileName)] = $true
    }
}
$files = @(foreach ($path in @($paths.Keys | Sort-Object)) {
    [pscustomobject]@{
        Path = [string]$path
        Head = @(Get-Content -LiteralPath $path -TotalCount $HeadLines | ForEach-Object { [string]$_ })
        Lines = @(Get-Content -LiteralPath $path -Tail $TailLines | ForEach-Object { [string]$_ })
    }
})
[pscustomobject]@{ Files = $files; TailLines = $TailLines } | ConvertTo-Json -Depth 4 -Compress
