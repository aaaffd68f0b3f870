# smbtests:smb1-feature
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
Get-WindowsOptionalFeature -Online -FeatureName SMB1Protocol |
    ForEach-Object {
        [pscustomobject]@{ FeatureName = $_.FeatureName; State = [string]$_.State }
    } |
    ConvertTo-Json -Depth 4 -Compress
