# smbtests:firewall-profiles
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$rows = @(Get-NetFirewallProfile -PolicyStore ActiveStore | ForEach-Object {
    [pscustomobject]@{
        Name = $_.Name
        Enabled = [string]$_.Enabled
        DefaultInboundAction = [string]$_.DefaultInboundAction
        LogBlocked = [string]$_.LogBlocked
        LogFileName = $_.LogFileName
        LogMaxSizeKilobytes = $_.LogMaxSizeKilobytes
    }
})
,$rows | ConvertTo-Json -Depth 4 -Compress
