# smbtests:firewall-outbound-445
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
# What may stop this host's own connects to remote port 445: each profile's default outbound
# action and every outbound rule whose port filter is TCP or Any and covers remote port 445.
$PortSide = 'RemotePort'  # rules on connects to 445: their remote port covers it
# include firewall-445-filters.ps1
$profiles = @(Get-NetFirewallProfile -PolicyStore ActiveStore | ForEach-Object {
    [pscustomobject]@{
        Name = $_.Name
        Enabled = [string]$_.Enabled
        DefaultOutboundAction = [string]$_.DefaultOutboundAction
    }
})
$rules = @(Get-NetFirewallRule -All -PolicyStore ActiveStore -Direction Outbound |
    Where-Object { $ports.ContainsKey($_.InstanceID) } |
    ForEach-Object { [pscustomobject](Get-RuleRow $_) })
[pscustomobject]@{ Profiles = $profiles; Rules = $rules } | ConvertTo-Json -Depth 4 -Compress
