# smbtests:smb-client-configuration
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
# BlockNTLM exists from Windows Server 2025 and Windows 11 24H2 on: null on older builds.
$config = Get-SmbClientConfiguration
$block = $config.PSObject.Properties['BlockNTLM']
[pscustomobject]@{
    EnableInsecureGuestLogons = [bool]$config.EnableInsecureGuestLogons
    RequireSecuritySignature = [bool]$config.RequireSecuritySignature
    BlockNTLM = if ($block -and $null -ne $block.Value) { [bool]$block.Value } else { $null }
} | ConvertTo-Json -Depth 4 -Compress
