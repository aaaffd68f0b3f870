# smbtests:firewall-outbound-445
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
# What may stop this host's own connects to remote port 445: each profile's default outbound
# action and every outbound rule whose port filter is TCP or Any and covers remote port 445.
function Test-Covers445([string[]]$Ports) {
    foreach ($p in $Ports) {
        if ($p -eq 'Any' -or $p -eq '445') { return $true }
        if ($p -match '^(\d+)-(\d+)$') {
            if ([int]$Matches[1] -le 445 -and [int]$Matches[2] -ge 445) { return $true }
        }
    }
    return $false
}
$ports = @{}
foreach ($f in Get-NetFirewallPortFilter -All -PolicyStore ActiveStore) {
    if (($f.Protocol -in @('TCP', '6', 'Any')) -and (Test-Covers445 $f.RemotePort)) {
        $ports[$f.InstanceID] = $f
    }
}
$addresses = @{}
foreach ($f in Get-NetFirewallAddressFilter -All -PolicyStore ActiveStore) {
    $addresses[$f.InstanceID] = $f
}
$profiles = @(Get-NetFirewallProfile -PolicyStore ActiveStore | ForEach-Object {
    [pscustomobject]@{
        Name = $_.Name
        Enabled = [string]$_.Enabled
        DefaultOutboundAction = [string]$_.DefaultOutboundAction
    }
})
$rules = @(Get-NetFirewallRule -All -PolicyStore ActiveStore -Direction Outbound |
    Where-Object { $ports.ContainsKey($_.InstanceID) } |
    ForEach-Object {
        [pscustomobject]@{
            Name = $_.Name
            DisplayName = $_.DisplayName
            Action = [string]$_.Action
            Enabled = [string]$_.Enabled
            Profile = [string]$_.Profile
            Protocol = [string]$ports[$_.InstanceID].Protocol
            RemotePort = [string[]]@($ports[$_.InstanceID].RemotePort)
            RemoteAddress = [string[]]@($addresses[$_.InstanceID].RemoteAddress)
        }
    })
[pscustomobject]@{ Profiles = $profiles; Rules = $rules } | ConvertTo-Json -Depth 4 -Compress
