# smbtests:smb-server-limits
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
# Windows Server 2025 and Windows 11 24H2 added these settings; older builds lack the
# properties, which are then reported as null (data, not an error).
$config = Get-SmbServerConfiguration
function Get-Setting([string]$Name) {
    $property = $config.PSObject.Properties[$Name]
    if ($property) { return $property.Value }
    return $null
}
$min = Get-Setting 'Smb2DialectMin'
$max = Get-Setting 'Smb2DialectMax'
$delay = Get-Setting 'InvalidAuthenticationDelayTimeInMs'
[pscustomobject]@{
    Smb2DialectMin = if ($null -ne $min) { [string]$min } else { $null }
    Smb2DialectMax = if ($null -ne $max) { [string]$max } else { $null }
    InvalidAuthenticationDelayTimeInMs = if ($null -ne $delay) { [int64]$delay } else { $null }
} | ConvertTo-Json -Depth 4 -Compress
