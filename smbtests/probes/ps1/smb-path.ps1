# smbtests:smb-path
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
# IPC$ (the login), each share and SYSVOL mapped with the account from stdin (docs/winrm.md)
$r = (@($input) -join "`n") | ConvertFrom-Json
$pw = [string]$r.password
$u = [string]$r.username
if ($r.domain) { $u = "$($r.domain)\$u" }
$unc = [string]$r.host
if ($unc.Contains(':')) { $unc = $unc.Replace(':', '-').Replace('%', 's') + '.ipv6-literal.net' }
function Get-Failure($e) {
    $code = $null
    if ([string]$e.FullyQualifiedErrorId -match '^Windows System Error (\d+),') {
        $code = [int]$Matches[1]
    }
    elseif ($e.Exception -is [UnauthorizedAccessException]) { $code = 5 }
    @{ ErrorCode = $code; Error = ([string]$e.Exception.Message).Replace($pw, '***') }
}
$m = [Collections.Generic.List[string]]::new()
function Connect-Share([string]$share) {
    $p = "\\$unc\$share"
    $row = @{ Share = $share; Mapped = $false; Readable = $false; ErrorCode = $null; Error = $null }
    try {
        $null = New-SmbMapping -RemotePath $p -UserName $u -Password $pw -Persistent $false
        $m.Add($p)
        $row.Mapped = $true
        $row.Readable = $share -eq 'IPC$' -or (Test-Path -LiteralPath $p)
    } catch {
        $f = Get-Failure $_
        $row.ErrorCode = $f.ErrorCode
        $row.Error = $f.Error
    }
    $row
}
$shares = @()
$dialect = $null
$v = $null
try {
    $login = Connect-Share 'IPC$'
    if ($login.Mapped) {
        $shares = @(@($r.shares) | ForEach-Object { Connect-Share ([string]$_) })
        $dialect = @(Get-SmbConnection -ServerName $unc)[0].Dialect
    }
    if ($login.Mapped -and $r.sysvol) {
        $root = "\\$unc\$($r.sysvol)"
        $v = @{ Share = [string]$r.sysvol; File = $null; Bytes = $null; ErrorCode = 2
            Error = 'no gpt.ini in the first 200 entries' }
        try {
            $todo = [Collections.Generic.Queue[string]]::new()
            $todo.Enqueue($root)
            $walked = 0
            while ($todo.Count -and $walked -lt 200 -and -not $v.File) {
                foreach ($i in @(Get-ChildItem -LiteralPath $todo.Dequeue() -Force)) {
                    $walked++
                    if ($i.PSIsContainer) { $todo.Enqueue($i.FullName); continue }
                    if ($i.Name -ne 'gpt.ini') { continue }
                    $v.Bytes = [IO.File]::ReadAllBytes($i.FullName).Length
                    $v.File = $i.FullName.Substring($root.Length + 1)
                    $v.ErrorCode = $v.Error = $null
                    break
                }
            }
        } catch {
            $f = Get-Failure $_
            $v.ErrorCode = $f.ErrorCode
            $v.Error = $f.Error
        }
    }
} finally {
    # one that cannot be removed ends with the WinRM shell's logon session
    foreach ($p in $m) { try { Remove-SmbMapping -RemotePath $p -Force } catch { $null = $_ } }
}
@{ Host = [string]$r.host; Login = $login; Shares = $shares; Dialect = [string]$dialect; Sysvol = $v } |
    ConvertTo-Json -Depth 4 -Compress
