# smbtests:network-profiles
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
# The firewall applies the profile of each connected interface's network category.
$rows = @(Get-NetConnectionProfile | ForEach-Object {
    [pscustomobject]@{
        InterfaceAlias = $_.InterfaceAlias
        InterfaceIndex = [int]$_.InterfaceIndex
        Name = [string]$_.Name
        NetworkCategory = [string]$_.NetworkCategory
    }
})
,$rows | ConvertTo-Json -Depth 4 -Compress
