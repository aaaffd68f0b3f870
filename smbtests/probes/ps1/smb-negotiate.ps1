# smbtests:smb-negotiate
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
# Whether SMB answers at host:445 after the handshake: one raw SMB2 NEGOTIATE (docs/winrm.md)
$r = (@($input) -join "`n") | ConvertFrom-Json
$wait = [int]$r.timeout_ms
$n = [ordered]@{ Host = [string]$r.host; Connected = $false; Answered = $false; Status = $null
    Dialect = $null; SecurityMode = $null; Detail = 'answered' }
$c = [Net.Sockets.TcpClient]::new()
try {
    if (-not $c.ConnectAsync($n.Host, 445).Wait($wait)) { throw [TimeoutException]::new('TimedOut') }
    $n.Connected = $true
    # NetBIOS length 108, SMB2 header (NEGOTIATE, 1 credit), dialects 2.0.2 2.1 3.0 3.0.2
    $q = [byte[]]::new(112)
    $q[3] = 108; $q[4] = 0xFE; $q[5] = 0x53; $q[6] = 0x4D; $q[7] = 0x42; $q[8] = 64; $q[18] = 1
    $q[68] = 36; $q[70] = 4; $q[72] = 1
    [Array]::Copy([guid]::NewGuid().ToByteArray(), 0, $q, 80, 16)  # ClientGuid, as Windows sends
    $q[104] = 2; $q[105] = 2; $q[106] = 0x10; $q[107] = 2; $q[109] = 3; $q[110] = 2; $q[111] = 3
    $st = $c.GetStream()
    $st.ReadTimeout = $wait
    $st.Write($q, 0, 112)
    # the first 70 bytes of the answer hold all we read: status, SecurityMode, dialect
    $a = [byte[]]::new(4096)
    $got = 0
    while ($got -lt 74) {
        $k = $st.Read($a, $got, 4096 - $got)
        if ($k -le 0) { throw [IO.EndOfStreamException]::new('the server hung up') }
        $got += $k
    }
    if ([BitConverter]::ToUInt32($a, 4) -ne 0x424D53FE) {
        throw [IO.InvalidDataException]::new('no SMB2 answer')
    }
    $n.Answered = $true
    $n.Status = [long][BitConverter]::ToUInt32($a, 12)
    $n.SecurityMode = [int][BitConverter]::ToUInt16($a, 70)
    $names = @{ 514 = '2.0.2'; 528 = '2.1'; 768 = '3.0'; 770 = '3.0.2'; 785 = '3.1.1' }
    $n.Dialect = $names[[int][BitConverter]::ToUInt16($a, 72)]
} catch {
    $x = $_.Exception.GetBaseException()
    $n.Detail = $x.Message
    if ($x -is [Net.Sockets.SocketException]) { $n.Detail = [string]$x.SocketErrorCode }
    if ($n.Connected) { $n.Detail = "SMB2 NEGOTIATE after the handshake: $($n.Detail)" }
} finally {
    $c.Close()
}
[pscustomobject]$n | ConvertTo-Json -Depth 4 -Compress
