# smbtests:firewall-rules-445
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$PortSide = 'LocalPort'  # rules that admit 445: their local port covers it
# include firewall-445-filters.ps1
$rows = @(Get-NetFirewallRule -All -PolicyStore ActiveStore |
    Where-Object { $ports.ContainsKey($_.InstanceID) } |
    ForEach-Object {
        $row = Get-RuleRow $_
        $row['DisplayGroup'] = $_.DisplayGroup
        $row['Direction'] = [string]$_.Direction
        [pscustomobject]$row
    })
,$rows | ConvertTo-Json -Depth 4 -Compress
