"""The one adapter around impacket: SMB facts judged from the server's own answers.

Everything impacket raises is mapped here into SmbUnreachableError (the vantage could not talk
SMB to the host at all: unprovable, an error) or into a fact. Facts come from the server's negotiate
response (its SecurityMode, its chosen dialect), never from impacket's client-side assumptions:
impacket forces "signing required" at SMB 3.1.1 whatever the server says (FIELD-NOTES).
"""

from __future__ import annotations

import contextlib
import random
import socket
import string
import struct
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from impacket import nmb, nt_errors, smb, smb3, smb3structs
from impacket.smbconnection import SessionError, SMBConnection

from smbtests.errors import ProbeError, SmbSilentError
from smbtests.observations import NegotiateResult, SessionResult, Smb1Result
from smbtests.secrets import Credentials

SMB2_SESSION_FLAG_IS_GUEST = 0x0001
SMB2_SESSION_FLAG_IS_NULL = 0x0002
SMB2_SESSION_FLAG_ENCRYPT_DATA = 0x0004
SMB2_SHAREFLAG_ENCRYPT_DATA = 0x0008
SMB1_NO_COMMON_DIALECT = 0xFFFF
STATUS_NOT_SUPPORTED = 0xC00000BB

DIALECT_CODES: dict[str, int] = {
    "2.0.2": 0x0202,
    "2.1": 0x0210,
    "3.0": 0x0300,
    "3.0.2": 0x0302,
    "3.1.1": 0x0311,
}
DIALECT_NAMES = {code: name for name, code in DIALECT_CODES.items()}
# A dialect at which impacket neither forces signing nor needs a session key to talk: anonymous
# and guest sessions are judged here (FIELD-NOTES: guest over 3.1.1 is refused by impacket itself).
UNSIGNED_PROBE_DIALECT = "2.1"
VANTAGE = "runner"

Dial = Callable[[str, int, float], socket.socket]
"""Opens a TCP connection to (host, port) from some vantage, within a timeout: the runner's own
stack (`direct`) or a probe's (an SSH `direct-tcpip` channel bridged to a socket). It raises
OSError/TimeoutError for the network's answer and ProbeError for a failure of the vantage."""


def direct(host: str, port: int, timeout: float) -> socket.socket:
    return socket.create_connection((host, port), timeout=timeout)


class SmbUnreachableError(ProbeError):
    """The vantage could not hold an SMB conversation with the host: nothing is proven."""

    def __init__(self, host: str, message: str, vantage: str = VANTAGE) -> None:
        super().__init__(vantage, f"SMB to {host}: {message}")


def silent(host: str, message: str) -> SmbSilentError:
    return SmbSilentError(VANTAGE, f"SMB to {host}: {message}")


def describe(exc: BaseException) -> str:
    """An exception as the user reads it: its class and its text (never the class alone)."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text[:160]}" if text else type(exc).__name__


def _connect(host: str, port: int, timeout: float, dial: Dial) -> socket.socket:
    try:
        return dial(host, port, timeout)
    except ProbeError:
        raise
    except TimeoutError:
        raise SmbUnreachableError(host, f"TCP {port} timed out after {timeout:g} s") from None
    except OSError as exc:
        raise SmbUnreachableError(host, f"TCP {port}: {exc.strerror or exc}") from None


MAX_NEGOTIATE_ANSWER = 65536  # a negotiate response is a few hundred bytes


def _exchange(sock: socket.socket, payload: bytes, timeout: float) -> bytes | None:
    """Send one NetBIOS-framed message; the answer's payload, or None if the server hung up.

    The whole exchange is bounded by `timeout` (a server dripping bytes cannot hold it open).
    """
    deadline = time.monotonic() + timeout
    sock.settimeout(timeout)
    sock.sendall(struct.pack(">I", len(payload)) + payload)
    header = _read_exact(sock, 4, deadline)
    if header is None:
        return None
    length = struct.unpack(">I", header)[0] & 0x00FFFFFF
    if length > MAX_NEGOTIATE_ANSWER:
        raise OSError(f"answer announces {length} bytes; not an SMB negotiate response")
    return _read_exact(sock, length, deadline)


def _read_exact(sock: socket.socket, count: int, deadline: float) -> bytes | None:
    data = bytearray()
    while len(data) < count:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        sock.settimeout(left)
        try:
            chunk = sock.recv(count - len(data))
        except ConnectionResetError:
            return None
        if not chunk:
            return None
        data += chunk
    return bytes(data)


def negotiate_smb1(host: str, port: int, timeout: float, dial: Dial = direct) -> Smb1Result:
    """Offer only NT LM 0.12 (SMB1). Only a server's answer refuses it: "no common dialect", an
    SMB2 answer, or an NTSTATUS. A hang-up or reset with nothing read proves nothing (an IPS, a
    connection limit, a dead service may do it): SmbSilentError, like no connection at all."""
    sock = _connect(host, port, timeout, dial)
    packet = smb.NewSMBPacket()
    packet["Flags1"] = smb.SMB.FLAGS1_PATHCASELESS | smb.SMB.FLAGS1_CANONICALIZED_PATHS
    packet["Flags2"] = (
        smb.SMB.FLAGS2_EXTENDED_SECURITY | smb.SMB.FLAGS2_NT_STATUS | smb.SMB.FLAGS2_UNICODE
    )
    command = smb.SMBCommand(smb.SMB.SMB_COM_NEGOTIATE)
    command["Data"] = b"\x02NT LM 0.12\x00"
    packet.addCommand(command)
    try:
        answer = _exchange(sock, packet.getData(), timeout)
    except TimeoutError:
        raise silent(host, "no answer to an SMB1 negotiate (timed out)") from None
    except OSError as exc:
        raise silent(host, f"SMB1 negotiate failed: {exc.strerror or exc}") from None
    finally:
        sock.close()
    return smb1_verdict(host, answer)


def smb1_verdict(host: str, answer: bytes | None) -> Smb1Result:
    """What the server's answer to an SMB1-only negotiate says (pure; one branch per answer)."""
    if answer is None:
        raise silent(
            host, "connection closed after an SMB1-only negotiate with nothing read: unprovable"
        )
    if answer[:4] == b"\xfeSMB":
        return Smb1Result(False, "server answered an SMB1-only negotiate with SMB2")
    if answer[:4] == b"\xffSMB" and len(answer) >= 9:
        status = struct.unpack("<I", answer[5:9])[0]
        if status:
            return Smb1Result(False, f"server answered the SMB1 negotiate with 0x{status:08x}")
    if answer[:4] != b"\xffSMB" or len(answer) < 37:
        raise silent(host, f"not an SMB answer to negotiate: {answer[:8]!r}")
    word_count = answer[32]
    dialect_index = struct.unpack("<H", answer[33:35])[0] if word_count >= 1 else None  # len>=37
    if dialect_index in (None, SMB1_NO_COMMON_DIALECT):
        return Smb1Result(False, "server answered 'no common dialect' (DialectIndex 0xFFFF)")
    return Smb1Result(True, f"server accepted NT LM 0.12 (DialectIndex {dialect_index})")


def _negotiate_request(dialect: str) -> bytes:
    request = smb3structs.SMB2Negotiate()
    request["SecurityMode"] = smb3structs.SMB2_NEGOTIATE_SIGNING_ENABLED
    request["Capabilities"] = smb3structs.SMB2_GLOBAL_CAP_ENCRYPTION
    request["ClientGuid"] = bytes(random.getrandbits(8) for _ in range(16))
    request["Dialects"] = [DIALECT_CODES[dialect]]
    request["DialectCount"] = 1
    if dialect == "3.1.1":
        # 3.1.1 requires a preauth-integrity context; offer encryption capabilities too
        preauth = smb3structs.SMB2PreAuthIntegrityCapabilities()
        preauth["HashAlgorithmCount"] = 1
        preauth["SaltLength"] = 32
        preauth["HashAlgorithms"] = b"\x01\x00"  # SHA-512
        preauth["Salt"] = "".join(random.choice(string.ascii_letters) for _ in range(32))
        first = smb3structs.SMB2NegotiateContext()
        first["ContextType"] = smb3structs.SMB2_PREAUTH_INTEGRITY_CAPABILITIES
        first["Data"] = preauth.getData()
        first["DataLength"] = len(first["Data"])
        ciphers = smb3structs.SMB2EncryptionCapabilities()
        ciphers["CipherCount"] = 1
        ciphers["Ciphers"] = b"\x01\x00"  # AES-128-CCM
        second = smb3structs.SMB2NegotiateContext()
        second["ContextType"] = smb3structs.SMB2_ENCRYPTION_CAPABILITIES
        second["Data"] = ciphers.getData()
        second["DataLength"] = len(second["Data"])
        contexts = smb3structs.SMB311ContextData()
        # header 64 + fixed negotiate 36 + one dialect 2 = 102, padded to 8 -> 104
        contexts["NegotiateContextOffset"] = 104
        contexts["NegotiateContextCount"] = 2
        request["ClientStartTime"] = contexts.getData()
        request["Padding"] = b"\x00\x00"
        pad = b"\x00" * ((8 - len(first.getData()) % 8) % 8)
        request["NegotiateContextList"] = first.getData() + pad + second.getData()
    packet = smb3structs.SMB2Packet()
    packet["Command"] = smb3structs.SMB2_NEGOTIATE
    packet["Data"] = request
    data: bytes = packet.getData()
    return data


def negotiate_smb2(
    host: str, port: int, dialect: str, timeout: float, dial: Dial = direct
) -> NegotiateResult:
    """Offer exactly one SMB2/3 dialect and read the server's own answer to it."""
    sock = _connect(host, port, timeout, dial)
    try:
        answer = _exchange(sock, _negotiate_request(dialect), timeout)
    except TimeoutError:
        raise silent(host, f"no answer to an SMB {dialect} negotiate") from None
    except OSError as exc:
        raise silent(host, f"SMB {dialect} negotiate: {exc.strerror or exc}") from None
    finally:
        sock.close()
    # Only the status MS-SMB2 prescribes for "no common dialect" is a refusal; a hang-up or any
    # other answer (connection limits, an IPS, a crash) proves nothing about the dialect.
    if answer is None:
        raise silent(host, f"server hung up on an SMB {dialect} negotiate")
    if answer[:4] != b"\xfeSMB":
        raise silent(host, f"not an SMB2 answer to negotiate: {answer[:8]!r}")
    try:
        response = smb3structs.SMB2Packet(answer)
        status = int(response["Status"])
        body = None if status else smb3structs.SMB2Negotiate_Response(response["Data"])
    except (struct.error, ValueError, KeyError, IndexError):
        raise SmbUnreachableError(host, f"malformed SMB {dialect} negotiate answer") from None
    if body is None:
        if status == STATUS_NOT_SUPPORTED:
            return NegotiateResult(dialect, False, None, None, "server refused it (NOT_SUPPORTED)")
        raise SmbUnreachableError(host, f"SMB {dialect} negotiate answered 0x{status:08x}")
    chosen = DIALECT_NAMES.get(body["DialectRevision"], f"0x{body['DialectRevision']:04x}")
    return NegotiateResult(
        dialect,
        chosen == dialect,
        chosen,
        int(body["SecurityMode"]),
        f"server chose {chosen}, SecurityMode 0x{body['SecurityMode']:x}",
    )


def _status_name(exc: SessionError | smb3.SessionError) -> str:
    code = int(exc.getErrorCode() if isinstance(exc, SessionError) else exc.get_error_code())
    known = nt_errors.ERROR_MESSAGES.get(code)
    return str(known[0]) if known else f"0x{code:08x}"


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
    sock = _connect(host, port, timeout, dial)
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
            host, f"SMB {dialect or 'negotiate'} refused: {_status_name(exc)}"
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
    command["Data"] = b"\x02NT LM 0.12\x00\x02SMB 2.002\x00\x02SMB 2.???\x00"
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
        return silent(host, f"{step} failed after the handshake: {describe(exc)}")
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
                    return f"refused: {_refusal(exc, host, f'reading {share}/{path}')}"
                return f"{share}\\{path} ({sum(map(len, chunks))} bytes)"
    return f"refused: no {POLICY_FILE} in the first {MAX_SYSVOL_ENTRIES} entries of {share}"


def smb_answers(host: str, port: int, timeout: float, dial: Dial = direct) -> NegotiateResult:
    """Whether SMB itself answers at host:port (any SMB2 answer does, a refusal included), or
    SmbSilentError when only TCP does: one negotiate offering 3.1.1."""
    return negotiate_smb2(host, port, "3.1.1", timeout, dial)


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
        status = _status_name(exc)
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
