# smbtests:smb-certificate-mapping
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$supported = [bool](Get-Command Get-SmbServerCertificateMapping -ErrorAction SilentlyContinue)
$mappings = @()
if ($supported) {
    $mappings = @(Get-SmbServerCertificateMapping | ForEach-Object {
        [pscustomobject]@{
            Name = $_.Name
            Subject = $_.Subject
            Thumbprint = $_.Thumbprint
            StoreName = $_.StoreName
            Type = [string]$_.Type
            Flags = [string]$_.Flags
        }
    })
}
[pscustomobject]@{
    Supported = $supported
    EnableSMBQUIC = (Get-SmbServerConfiguration).EnableSMBQUIC
    Mappings = $mappings
} | ConvertTo-Json -Depth 4 -Compress
