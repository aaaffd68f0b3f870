# smbtests:firewall-rules-445
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
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
            DisplayGroup = $_.DisplayGroup
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
