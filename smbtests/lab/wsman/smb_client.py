"""The Windows SMB client of the WS-Management DOUBLE: it answers smb-negotiate.ps1 and
smb-path.ps1 for real, from wherever the double runs (in the lab, win1's namespace), against the
real Samba hosts, with the account the script carries on stdin. It is a double, not Windows:
it talks SMB with impacket directly (none of smbtests/smb, whose verdicts it must not share)
and reports what the cmdlets would: New-SmbMapping's Win32 error codes (NTSTATUS mapped as
RtlNtStatusToDosError maps them), Test-Path's answer, Get-SmbConnection's Dialect, the SYSVOL
walk's gpt.ini. It never logs, and no failure's text holds the password.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import struct
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from impacket import nmb
from impacket.smb3structs import FILE_READ_DATA
from impacket.smbconnection import SessionError, SMBConnection

REQUIRED_NAMES: dict[str, tuple[str, ...]] = {
    "smb-negotiate": ("Net.Sockets.TcpClient", "ConnectAsync", "ConvertTo-Json"),
    "smb-path": (
        "New-SmbMapping",
        "Test-Path",
        "Get-SmbConnection",
        "Remove-SmbMapping",
        "ConvertTo-Json",
    ),
}
STDIN_KINDS = frozenset(REQUIRED_NAMES)


def negotiate_request() -> bytes:
    """The script's request bytes: NetBIOS length 108, an SMB2 NEGOTIATE header with one
    credit, SecurityMode "signing enabled", a new ClientGuid, dialects 2.0.2 2.1 3.0 3.0.2."""
    return (
        struct.pack(">I", 108)
        + b"\xfeSMB"
        + struct.pack("<HHIHHIIQIIQ16s", 64, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, b"")
        + struct.pack(
            "<HHHHI16sQ4H", 36, 4, 1, 0, 0, os.urandom(16), 0, 0x0202, 0x0210, 0x0300, 0x0302
        )
    )


SMB_PORT = 445  # what both scripts dial (tests point it elsewhere)
ANSWER_BYTES = 74  # the script reads the NetBIOS header and the first 70 bytes of the answer
DIALECTS = {0x0202: "2.0.2", 0x0210: "2.1", 0x0300: "3.0", 0x0302: "3.0.2", 0x0311: "3.1.1"}
SOCKET_ERRORS = {  # Linux errno -> .NET SocketError name, as SocketErrorCode prints it
    errno.ECONNREFUSED: "ConnectionRefused",
    errno.ECONNRESET: "ConnectionReset",
    errno.EHOSTUNREACH: "HostUnreachable",
    errno.ENETUNREACH: "NetworkUnreachable",
    errno.EHOSTDOWN: "HostDown",
}

# NTSTATUS -> the Win32 code New-SmbMapping reports (RtlNtStatusToDosError); 317 for the rest
WIN32 = {
    0xC000006D: 1326,  # STATUS_LOGON_FAILURE
    0xC000006A: 86,  # STATUS_WRONG_PASSWORD
    0xC0000022: 5,  # STATUS_ACCESS_DENIED
    0xC00000CC: 67,  # STATUS_BAD_NETWORK_NAME
    0xC00000CA: 65,  # STATUS_NETWORK_ACCESS_DENIED
    0xC000006E: 1327,  # STATUS_ACCOUNT_RESTRICTION
    0xC0000071: 1330,  # STATUS_PASSWORD_EXPIRED
    0xC0000072: 1331,  # STATUS_ACCOUNT_DISABLED
    0xC000015B: 1385,  # STATUS_LOGON_TYPE_NOT_GRANTED
    0xC0000234: 1909,  # STATUS_ACCOUNT_LOCKED_OUT
    0xC000000F: 2,  # STATUS_NO_SUCH_FILE
    0xC0000034: 2,  # STATUS_OBJECT_NAME_NOT_FOUND
    0xC000003A: 3,  # STATUS_OBJECT_PATH_NOT_FOUND
    0xC00000BB: 50,  # STATUS_NOT_SUPPORTED
}
MESSAGES = {
    2: "The system cannot find the file specified.",
    3: "The system cannot find the path specified.",
    5: "Access is denied.",
    53: "The network path was not found.",
    59: "An unexpected network error occurred.",
    64: "The specified network name is no longer available.",
    67: "The network name cannot be found.",
    86: "The specified network password is not correct.",
    121: "The semaphore timeout period has expired.",
    1326: "The user name or password is incorrect.",
}
SYSVOL_ENTRIES = 200  # what the script walks at most


def _failure(exc: BaseException) -> dict[str, Any]:
    """The ErrorCode and Error of a failed mapping or read, as the cmdlet's record names them."""
    if isinstance(exc, SessionError):
        status = exc.getErrorCode() & 0xFFFFFFFF
        if status not in WIN32:  # RtlNtStatusToDosError has no mapping: the double names it
            return {
                "ErrorCode": 317,
                "Error": f"Windows System Error 317 (NTSTATUS 0x{status:08X}).",
            }
        code = WIN32[status]
    elif isinstance(exc, TimeoutError | nmb.NetBIOSTimeout):
        code = 121
    elif isinstance(exc, ConnectionRefusedError):
        code = 53
    elif isinstance(exc, OSError | nmb.NetBIOSError | struct.error):
        code = 64
    else:
        code = 59  # anything else in the double's own client
    return {"ErrorCode": code, "Error": MESSAGES.get(code, f"Windows System Error {code}.")}


# ---------------------------------------------------------------------- smb-negotiate.ps1


def _read(sock: socket.socket, count: int, deadline: float) -> bytes:
    data = bytearray()
    while len(data) < count:
        sock.settimeout(max(0.001, deadline - time.monotonic()))
        chunk = sock.recv(4096)
        if not chunk:
            raise EOFError("the server hung up")
        data += chunk
    return bytes(data)


def _negotiate(state: Any, stdin: bytes, io: Any) -> object:
    request = json.loads(stdin.decode("utf-8"))
    host, timeout = str(request["host"]), int(request["timeout_ms"]) / 1000.0
    answer: dict[str, Any] = {
        "Host": host,
        "Connected": False,
        "Answered": False,
        "Status": None,
        "Dialect": None,
        "SecurityMode": None,
        "Detail": "answered",
    }
    try:
        sock = socket.create_connection((host, SMB_PORT), timeout=timeout)
    except TimeoutError:
        return {**answer, "Detail": "TimedOut"}
    except OSError as exc:
        return {**answer, "Detail": SOCKET_ERRORS.get(exc.errno or 0, f"SocketError {exc.errno}")}
    answer["Connected"] = True
    with sock:
        try:
            sock.sendall(negotiate_request())
            data = _read(sock, ANSWER_BYTES, time.monotonic() + timeout)
        except (TimeoutError, EOFError, OSError) as exc:
            why = "TimedOut" if isinstance(exc, TimeoutError) else str(exc)
            if isinstance(exc, OSError) and not isinstance(exc, TimeoutError):
                why = SOCKET_ERRORS.get(exc.errno or 0, f"SocketError {exc.errno}")
            return {**answer, "Detail": f"SMB2 NEGOTIATE after the handshake: {why}"}
    if data[4:8] != b"\xfeSMB":
        return {**answer, "Detail": "SMB2 NEGOTIATE after the handshake: no SMB2 answer"}
    status = struct.unpack_from("<I", data, 12)[0]
    security_mode, revision = struct.unpack_from("<HH", data, 70)
    return {
        **answer,
        "Answered": True,
        "Status": status,
        "SecurityMode": security_mode,
        "Dialect": DIALECTS.get(revision),
    }


# ---------------------------------------------------------------------- smb-path.ps1


def _mapping(share: str, attempt: Callable[[], bool]) -> dict[str, Any]:
    """One New-SmbMapping (+ Test-Path) row: `attempt` tree-connects and reports readability."""
    row: dict[str, Any] = {"Share": share, "Mapped": False, "Readable": False}
    try:
        readable = attempt()
    except Exception as exc:  # every failure becomes the cmdlet's error code
        return {**row, **_failure(exc)}
    return {**row, "Mapped": True, "Readable": readable, "ErrorCode": None, "Error": None}


def _tree(conn: SMBConnection, share: str) -> bool:
    tree = conn.connectTree(share)
    try:
        if share.upper() == "IPC$":
            return True
        try:
            conn.listPath(share, "*")  # Test-Path -LiteralPath \\host\share
        except SessionError:
            return False
        return True
    finally:
        with contextlib.suppress(Exception):
            conn.disconnectTree(tree)


def _read_all_bytes(conn: SMBConnection, share: str, path: str) -> int:
    """[IO.File]::ReadAllBytes over SMB: open, read to the end, close. Windows' client never
    hands a failed CLOSE of a handle it has read to the caller (Samba answers one with
    STATUS_INVALID_PARAMETER now and then under concurrent readers, measured in the lab)."""
    tree = conn.connectTree(share)
    handle = conn.openFile(tree, path, desiredAccess=FILE_READ_DATA)
    try:
        size = 0
        while chunk := conn.readFile(tree, handle, size):
            size += len(chunk)
        return size
    finally:
        with contextlib.suppress(Exception):
            conn.closeFile(tree, handle)
        with contextlib.suppress(Exception):
            conn.disconnectTree(tree)


def _sysvol(conn: SMBConnection, share: str) -> dict[str, Any]:
    """Breadth first over at most SYSVOL_ENTRIES entries, as the script's Get-ChildItem walk."""
    found: dict[str, Any] = {"Share": share, "File": None, "Bytes": None}
    todo, walked = [""], 0
    try:
        while todo and walked < SYSVOL_ENTRIES:
            folder = todo.pop(0)
            for entry in conn.listPath(share, f"{folder}*"):
                name = str(entry.get_longname())
                if name in (".", ".."):
                    continue
                walked += 1
                if entry.is_directory():
                    todo.append(f"{folder}{name}\\")
                elif name.lower() == "gpt.ini":
                    path = f"{folder}{name}"
                    size = _read_all_bytes(conn, share, path)
                    return {
                        **found,
                        "File": path,
                        "Bytes": size,
                        "ErrorCode": None,
                        "Error": None,
                    }
    except Exception as exc:
        return {**found, **_failure(exc)}
    return {**found, "ErrorCode": 2, "Error": f"no gpt.ini in the first {walked} entries"}


def _path(state: Any, stdin: bytes, io: Any) -> object:
    request = json.loads(stdin.decode("utf-8"))
    host, timeout = str(request["host"]), int(request["timeout_ms"]) / 1000.0
    shares = [str(share) for share in request["shares"]]
    answer: dict[str, Any] = {"Host": host, "Shares": [], "Dialect": "", "Sysvol": None}
    conn: SMBConnection | None = None

    def login() -> bool:
        nonlocal conn
        conn = SMBConnection(host, host, sess_port=SMB_PORT, timeout=timeout)
        conn.login(str(request["username"]), str(request["password"]), str(request["domain"]))
        return _tree(conn, "IPC$")

    answer["Login"] = _mapping("IPC$", login)
    try:
        if conn is None or not answer["Login"]["Mapped"]:
            return answer
        session = conn
        answer["Shares"] = [_mapping(s, partial(_tree, session, s)) for s in shares]
        answer["Dialect"] = DIALECTS.get(session.getDialect(), "")
        if request.get("sysvol"):
            answer["Sysvol"] = _sysvol(session, str(request["sysvol"]))
        return answer
    finally:
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()  # Remove-SmbMapping


ANSWERS: dict[str, Callable[[Any, bytes, Any], object]] = {
    "smb-negotiate": _negotiate,
    "smb-path": _path,
}
