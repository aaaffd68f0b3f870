# smbtests:smb-server-configuration
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
Get-SmbServerConfiguration |
    Select-Object -Property @(
        'EnableSMB1Protocol', 'EnableSMB2Protocol', 'RequireSecuritySignature',
        'EnableSecuritySignature', 'EncryptData', 'RejectUnencryptedAccess', 'AuditSmb1Access',
        'EnableSMBQUIC'
    ) |
    ConvertTo-Json -Depth 4 -Compress
