# Shared by the 445 firewall readings, which set $PortSide first: $ports, the TCP (or Any)
# port filters whose $PortSide covers 445, and $addresses, the address filters, by rule.
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
    if (($f.Protocol -in @('TCP', '6', 'Any')) -and (Test-Covers445 $f.$PortSide)) {
        $ports[$f.InstanceID] = $f
    }
}
$addresses = @{}
foreach ($f in Get-NetFirewallAddressFilter -All -PolicyStore ActiveStore) {
    $addresses[$f.InstanceID] = $f
}
