# smbtests:smb-client-access
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
# SMB over QUIC client access control (Windows Server 2022 Azure Edition with KB5027223,
# Windows Server 2025): which clients each certificate mapping admits. Where the cmdlets do
# not exist that is reported as data, so a policy that needs the control fails, not errors.
$mapping = Get-Command Get-SmbServerCertificateMapping -ErrorAction SilentlyContinue
$access = Get-Command Get-SmbClientAccessToServer -ErrorAction SilentlyContinue
$supported = [bool]$mapping -and [bool]$access
$mappings = @()
if ($supported) {
    $mappings = @(Get-SmbServerCertificateMapping | ForEach-Object {
        $required = $_.PSObject.Properties['RequireClientAuthentication']
        [pscustomobject]@{
            Name = $_.Name
            RequireClientAuthentication = [bool]($required -and $required.Value)
            Entries = @(Get-SmbClientAccessToServer -Name $_.Name | ForEach-Object {
                [pscustomobject]@{
                    IdentifierType = [string]$_.IdentifierType
                    Identifier = [string]$_.Identifier
                    Access = [string]$_.Access
                }
            })
        }
    })
}
[pscustomobject]@{ Supported = $supported; Mappings = $mappings } |
    ConvertTo-Json -Depth 4 -Compress
