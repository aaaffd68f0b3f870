# Shared by the 445 firewall readings, which set $PortSide first: $ports, the TCP (or Any)
# port filters whose $PortSide covers 445, $addresses, the address filters, by rule, and
# Get-RuleRow, what both readings report of such a rule (a reading adds what only it needs).
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
function Get-RuleRow($Rule) {
    [ordered]@{
        Name = $Rule.Name
        DisplayName = $Rule.DisplayName
        Action = [string]$Rule.Action
        Enabled = [string]$Rule.Enabled
        Profile = [string]$Rule.Profile
        Protocol = [string]$ports[$Rule.InstanceID].Protocol
        $PortSide = [string[]]@($ports[$Rule.InstanceID].$PortSide)
        RemoteAddress = [string[]]@($addresses[$Rule.InstanceID].RemoteAddress)
    }
}
