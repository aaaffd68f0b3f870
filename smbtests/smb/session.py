"""Sessions: login, share listing, tree connects and the SYSVOL read, over a connection we
dialled, with every impacket failure mapped to a refusal (an NTSTATUS answer) or an error."""

from __future__ import annotations

import contextlib
import struct
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from impacket import nmb, smb, smb3, smb3structs
from impacket.smbconnection import SessionError, SMBConnection

from smbtests.errors import ProbeError, SmbCutError
from smbtests.observations import NegotiateResult, SessionResult
from smbtests.secrets import Credentials
from smbtests.smb.wire import (
    DIALECT_CODES,
    DIALECT_NAMES,
    SMB2_SESSION_FLAG_ENCRYPT_DATA,
    Dial,
    SmbOffOfferError,
    SmbUnreachableError,
    connect,
    describe,
    direct,
    negotiate_smb2,
    silent,
    status_name,
)


def open_session(
    host: str,
    port: int,
    timeout: float,
    credentials: Credentials | None,
    dialect: str | None,
    shares_to_open: tuple[str, ...] = (),
    dial: Dial = direct,
    sysvol: str | None = None,
) -> SessionResult:
    """Log in (anonymous when credentials is None), list shares and try to open some; with
    `sysvol`, also read a file of that share (what GPO processing reads).

    A server's refusal (an NTSTATUS answer) is a fact in the result. Anything else - no TCP, a
    reset, an impacket failure - raises SmbUnreachableError (SmbSilentError once the handshake
    completed): "could not list" is never taken for "refused". Credentials never reach a
    traceback: impacket's exceptions are caught here and re-raised without their frames.
    """
    sock = connect(host, port, timeout, dial)
    preferred = DIALECT_CODES[dialect] if dialect else None
    try:
        # impacket talks over the connection we opened, so the vantage is whoever dialled it
        session = nmb.NetBIOSTCPSession("", host, host, nmb.TYPE_SERVER, port, timeout, sock=sock)
        answer = _multi_protocol_negotiate(session, timeout)
        conn = SMBConnection(
            host,
            host,
            sess_port=port,
            timeout=timeout,
            existingConnection=smb3.SMB3(
                host,
                host,
                None,
                nmb.TYPE_SERVER,
                port,
                timeout,
                preferredDialect=preferred,
                session=session,
                negSessionResponse=answer,
            ),
        )
    except (SessionError, smb3.SessionError) as exc:
        sock.close()
        raise SmbUnreachableError(
            host, f"SMB {dialect or 'negotiate'} refused: {status_name(exc)}"
        ) from None
    except Exception as exc:
        sock.close()
        raise _failure(
            exc, host, f"SMB {dialect} negotiate" if dialect else "SMB negotiate"
        ) from None
    raw_dialect = conn.getDialect()
    chosen = (
        DIALECT_NAMES.get(raw_dialect, str(raw_dialect)) if isinstance(raw_dialect, int) else "1"
    )
    try:
        result = _session(conn, host, chosen, credentials, shares_to_open)
        if sysvol is not None and result.logged_in:
            return replace(result, sysvol_file=_read_policy_file(conn, host, sysvol))
        return result
    finally:
        # closing a dead session must not hide the verdict
        with contextlib.suppress(Exception):
            conn.close()


def once_more_if_cut(session: Callable[[], SessionResult]) -> SessionResult:
    """A session the server broke after the handshake (a reset, a closed connection) is
    opened once more; a second break is the error. The lab's Samba 4.17 DC cut one now and
    then (NetBIOSError "Error while reading from remote" listing its shares), even one at a
    time. A refusal is an answer and silence a timeout: neither is retried (a silent host
    would cost every vantage twice its timeout, in turn). Only a complete answer is a fact,
    so a retry cannot make one up."""
    try:
        return session()
    except SmbCutError:
        return session()


def _multi_protocol_negotiate(session: Any, timeout: float) -> Any:
    """The first exchange of a client that lets the server choose (as impacket's own connect
    does): an SMB1 negotiate offering "SMB 2.???"; to a server answering SMB2, impacket then
    offers the preferred dialect (or all). Samba hangs up on impacket's SMB2 negotiate sent as
    the first message of a connection we opened (measured in the lab)."""
    packet = smb.NewSMBPacket()
    packet["Flags2"] = (
        smb.SMB.FLAGS2_EXTENDED_SECURITY | smb.SMB.FLAGS2_NT_STATUS | smb.SMB.FLAGS2_UNICODE
    )
    command = smb.SMBCommand(smb.SMB.SMB_COM_NEGOTIATE)
    # SMB2 dialects only: a server that still accepts SMB1 would otherwise pick NT LM 0.12
    command["Data"] = b"\x02SMB 2.002\x00\x02SMB 2.???\x00"
    packet.addCommand(command)
    session.send_packet(packet.getData())
    answer = session.recv_packet(timeout).get_trailer()
    if answer[:4] != b"\xfeSMB":
        raise OSError(
            f"the server did not answer SMB2 to a multi-protocol negotiate: {answer[:8]!r}"
        )
    return smb3structs.SMB2Packet(answer)


SILENT = (OSError, TimeoutError, nmb.NetBIOSError, nmb.NetBIOSTimeout, struct.error)


def _failure(exc: Exception, host: str, step: str) -> ProbeError:
    """A failure that is no server answer: after the handshake, the network or the peer broke
    SMB (silent), or impacket itself failed (unreachable, an error)."""
    if isinstance(exc, SILENT):
        quiet = isinstance(exc, TimeoutError | nmb.NetBIOSTimeout | struct.error)
        message = f"{step} failed after the handshake: {describe(exc)}"
        return silent(host, message, cut=not quiet)  # silence or garbage is no cut
    return SmbUnreachableError(host, f"{step} failed: {describe(exc)}")


POLICY_FILE = "gpt.ini"
MAX_SYSVOL_ENTRIES = 200  # directory entries walked while looking for a policy file


def _read_policy_file(conn: Any, host: str, share: str) -> str:
    """Find a group policy's gpt.ini in the share (breadth first, bounded) and read it whole,
    as a client processing GPOs does; its path, or a refusal status prefixed with "refused:"."""
    queue, walked = [""], 0
    try:
        tree = conn.connectTree(share)
    except Exception as exc:
        return f"refused: {_refusal(exc, host, f'tree connect to {share}')}"
    with contextlib.suppress(Exception):
        conn.disconnectTree(tree)
    while queue and walked < MAX_SYSVOL_ENTRIES:
        directory = queue.pop(0)
        try:
            entries = conn.listPath(share, f"{directory}*")
        except Exception as exc:
            return f"refused: {_refusal(exc, host, f'listing {share}/{directory}')}"
        for entry in entries:
            walked += 1
            name = str(entry.get_longname())
            if name in (".", ".."):
                continue
            path = f"{directory}{name}"
            if entry.is_directory():
                queue.append(f"{path}\\")
            elif name.lower() == POLICY_FILE:
                chunks: list[bytes] = []
                try:
                    conn.getFile(share, path, chunks.append)
                except Exception as exc:
                    # Samba now and then answers the CLOSE after a complete read with
                    # STATUS_INVALID_PARAMETER under concurrent readers (lab: 11 of 90 reads
                    # at 6 at once); a client that read every byte has read the policy
                    if not chunks or sum(map(len, chunks)) != entry.get_filesize():
                        return f"refused: {_refusal(exc, host, f'reading {share}/{path}')}"
                return f"{share}\\{path} ({sum(map(len, chunks))} bytes)"
    return f"refused: no {POLICY_FILE} in the first {MAX_SYSVOL_ENTRIES} entries of {share}"


def smb_answers(host: str, port: int, timeout: float, dial: Dial = direct) -> NegotiateResult:
    """Whether SMB itself answers at host:port (any SMB2 answer does, a refusal included), or
    SmbSilentError when only TCP does: one negotiate offering 3.1.1."""
    try:
        return negotiate_smb2(host, port, ("3.1.1",), timeout, dial)
    except SmbOffOfferError as exc:  # another dialect, yet an SMB answer all the same
        return exc.answer


# NTSTATUS answers that are the server saying "no" (a fact); any other status, or no answer,
# means the conversation failed and proves nothing.
REFUSALS = frozenset(
    {
        "STATUS_ACCESS_DENIED",
        "STATUS_LOGON_FAILURE",
        "STATUS_ACCOUNT_DISABLED",
        "STATUS_ACCOUNT_RESTRICTION",
        "STATUS_ACCOUNT_LOCKED_OUT",
        "STATUS_PASSWORD_EXPIRED",
        "STATUS_LOGON_TYPE_NOT_GRANTED",
        "STATUS_NETWORK_ACCESS_DENIED",
        "STATUS_BAD_NETWORK_NAME",
        "STATUS_OBJECT_NAME_NOT_FOUND",
        "STATUS_OBJECT_PATH_NOT_FOUND",
        "STATUS_NO_SUCH_FILE",
    }
)


def _refusal(exc: Exception, host: str, step: str) -> str:
    """The refusal status of a server's "no", or SmbUnreachableError for anything else."""
    if isinstance(exc, SessionError):
        status = status_name(exc)
        if status in REFUSALS:
            return status
        raise SmbUnreachableError(host, f"{step}: unexpected answer {status}") from None
    raise _failure(exc, host, step) from None


def _session(
    conn: Any,
    host: str,
    dialect: str,
    credentials: Credentials | None,
    shares_to_open: tuple[str, ...],
) -> SessionResult:
    server = conn.getSMBServer()
    try:
        if credentials is None:
            conn.login("", "")
        else:
            conn.login(credentials.username, credentials.password, credentials.domain)
    except Exception as exc:  # mapped below; no frame holding the password survives
        status = _refusal(exc, host, "login")
        return SessionResult(dialect, False, False, (), None, f"login refused: {status}")
    flags = _server_session_flags(server, dialect)
    try:
        listing = conn.listShares()
        shares = tuple(sorted(str(s["shi1_netname"][:-1]) for s in listing))
        listed, status = True, f"listed {len(shares)} shares"
    except Exception as exc:
        shares, listed = (), False
        status = f"share listing refused: {_refusal(exc, host, 'share listing')}"
    # Declared shares are tried even when listing was refused: a share can be open to a
    # session that may not enumerate (Windows NullSessionShares, a guest-ok Samba share).
    opened: list[str] = []
    failed: list[tuple[str, str]] = []
    for share in shares_to_open:
        try:
            tree = conn.connectTree(share)
        except Exception as exc:
            failed.append((share, _refusal(exc, host, f"tree connect to {share}")))
            continue
        opened.append(share)
        with contextlib.suppress(Exception):
            conn.disconnectTree(tree)
    return SessionResult(
        dialect,
        True,
        listed,
        shares,
        flags,
        status,
        opened_shares=tuple(opened),
        failed_shares=tuple(failed),
    )


def _server_session_flags(server: Any, dialect: str) -> int | None:
    """The server's own SessionFlags, where impacket has not rewritten them.

    At 3.x impacket ORs ENCRYPT_DATA into the stored flags whenever it can encrypt, so they say
    nothing about the server. Below 3.0 they are the server's, but impacket would then try to
    encrypt without a key: the bit is cleared so requests go out plain, as any 2.x client sends
    them, and the server decides.
    """
    session = getattr(server, "_Session", None)
    if not isinstance(session, dict) or dialect not in ("2.0.2", "2.1"):
        return None
    flags = int(session.get("SessionFlags", 0))
    session["SessionFlags"] = flags & ~SMB2_SESSION_FLAG_ENCRYPT_DATA
    return flags
