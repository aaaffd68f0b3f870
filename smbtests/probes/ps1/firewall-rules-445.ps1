# smbtests:firewall-rules-445
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$PortSide = 'LocalPort'  # rules that admit 445: their local port covers it
# include firewall-445-filters.ps1
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
