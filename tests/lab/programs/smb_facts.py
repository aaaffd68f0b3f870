"""Read each lab Samba server's SMB facts with impacket (and one raw SMB1 negotiate); print JSON.

Usage: python smb_facts.py ADDRESS:SHARE...   (SHARE: one of the server's shares)
The lab account's password comes from SMBTESTS_LAB_SMB_PASSWORD and is never printed.
"""

import json
import os
import socket
import struct
import sys
from concurrent.futures import ThreadPoolExecutor

from impacket import nt_errors, smb3
from impacket.smb3structs import (
    SMB2_DIALECT_002,
    SMB2_DIALECT_21,
    SMB2_NEGOTIATE_SIGNING_REQUIRED,
    SMB2_SESSION_FLAG_ENCRYPT_DATA,
)
from impacket.smbconnection import SessionError, SMBConnection

USER = "smblab"
TIMEOUT = 5


def smb1_negotiate(address: str) -> str:
    """Offer only SMB1's "NT LM 0.12" and read the server's own answer.

    impacket raises a bare struct.error when a server refuses SMB1, which cannot be told from
    other failures; the server's reply says it plainly: DialectIndex 0xFFFF means "none of those".
    """
    dialects = b"\x02NT LM 0.12\x00"
    header = b"\xffSMB" + struct.pack("<BIBHH8sHHHHH", 0x72, 0, 0x18, 0xC853, 0, b"", 0, 0, 0, 0, 0)
    body = struct.pack("<BH", 0, len(dialects)) + dialects
    message = header + body
    with socket.create_connection((address, 445), timeout=TIMEOUT) as sock:
        sock.sendall(struct.pack(">I", len(message)) + message)
        reply = sock.recv(4096)
    if not reply:
        return "refused: connection closed"
    smb = reply[4:]
    if smb[:4] == b"\xfeSMB":
        return "refused: answered with SMB2"
    if smb[:4] != b"\xffSMB" or smb[4] != 0x72:
        return f"error: unexpected reply {smb[:8]!r}"
    (dialect_index,) = struct.unpack("<H", smb[33:35])
    return "refused: no dialect" if dialect_index == 0xFFFF else "accepted"


def connect(address: str, dialect: int | None = None) -> SMBConnection:
    return SMBConnection(address, address, preferredDialect=dialect, timeout=TIMEOUT)


def smb2_02(address: str) -> str:
    """The dialect the server picks when offered SMB 2.0.2 alone, or its refusal."""
    try:
        return hex(connect(address, SMB2_DIALECT_002).getDialect())
    except smb3.SessionError as exc:  # impacket's negotiate raises its SMB3 class
        return f"refused: {nt_errors.ERROR_MESSAGES[exc.get_error_code()][0]}"


def login_unencrypted(address: str, dialect: int | None, user: str, password: str) -> SMBConnection:
    """Log in, then talk in the clear.

    impacket encrypts whenever the server sets SMB2_SESSION_FLAG_ENCRYPT_DATA, which Samba does
    for "encrypt = desired" even on SMB 2.1 or anonymous sessions, where no key exists; impacket
    then fails on an empty AES key. The checks below are about what the server refuses when the
    client does not encrypt, so they clear the flag.
    """
    conn = connect(address, dialect)
    conn.login(user, password)
    conn.getSMBServer()._Session["SessionFlags"] &= ~SMB2_SESSION_FLAG_ENCRYPT_DATA
    return conn


def shares(conn: SMBConnection) -> list[str]:
    return sorted(share["shi1_netname"][:-1] for share in conn.listShares())


def status_name(exc: SessionError) -> str:
    return str(exc.getErrorString()[0])


def anonymous_listing(address: str) -> str:
    try:
        conn = login_unencrypted(address, None, "", "")
    except SessionError as exc:
        return f"denied at login: {status_name(exc)}"
    try:
        return f"allowed: {','.join(shares(conn))}"
    except SessionError as exc:
        return f"denied at listing: {status_name(exc)}"


def encryption(address: str, share: str, password: str) -> str:
    """SMB 2.1 cannot encrypt: a server that requires encryption refuses such a session."""
    try:
        login_unencrypted(address, SMB2_DIALECT_21, USER, password).connectTree(share)
    except SessionError as exc:
        return f"required: {status_name(exc)}"
    return "not required"


def user_shares(address: str, password: str) -> list[str]:
    conn = connect(address)
    conn.login(USER, password)
    return shares(conn)


def facts(address: str, share: str, password: str) -> dict[str, object]:
    checks = {
        "smb1": lambda: smb1_negotiate(address),
        "smb2_02_dialect": lambda: smb2_02(address),
        # The server's own negotiate flag, read over SMB 3.1.1 (impacket's isSigningRequired() is
        # always True there, and it leaves ServerSecurityMode at 0 below SMB 3.0).
        "signing_required": lambda: bool(
            connect(address).getSMBServer()._Connection["ServerSecurityMode"]
            & SMB2_NEGOTIATE_SIGNING_REQUIRED
        ),
        "anonymous_listing": lambda: anonymous_listing(address),
        "user_shares": lambda: user_shares(address, password),
        "encryption": lambda: encryption(address, share, password),
    }
    found: dict[str, object] = {}
    for name, check in checks.items():
        try:
            found[name] = check()
        except Exception as exc:  # every failure is a fact to report, not a crash
            found[name] = f"error: {type(exc).__name__}: {exc}"
    return found


def main() -> None:
    password = os.environ["SMBTESTS_LAB_SMB_PASSWORD"]
    servers = [argument.split(":") for argument in sys.argv[1:]]
    # One thread per server: most of the time goes to waiting for Samba's RPC helpers to start.
    with ThreadPoolExecutor(max_workers=len(servers)) as pool:
        results = pool.map(lambda server: facts(server[0], server[1], password), servers)
        print(
            json.dumps(
                {address: found for (address, _), found in zip(servers, results, strict=True)}
            )
        )


main()
