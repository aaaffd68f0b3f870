"""The SMB wire: connections from a vantage, bounded exchanges, and our own negotiates (SMB1
alone; SMB2/3 dialects alone or together), judged from the server's own answers."""

from __future__ import annotations

import random
import socket
import string
import struct
import time
from collections.abc import Callable
from typing import Any

from impacket import nt_errors, smb, smb3, smb3structs
from impacket.smbconnection import SessionError

from smbtests.errors import ProbeError, SmbCutError, SmbSilentError
from smbtests.observations import NegotiateResult, Smb1Result, offer_name

SMB2_SESSION_FLAG_IS_GUEST = 0x0001
SMB2_SESSION_FLAG_IS_NULL = 0x0002
SMB2_SESSION_FLAG_ENCRYPT_DATA = 0x0004
SMB2_SHAREFLAG_ENCRYPT_DATA = 0x0008
SMB1_NO_COMMON_DIALECT = 0xFFFF
STATUS_NOT_SUPPORTED = 0xC00000BB
STATUS_NOT_IMPLEMENTED = 0xC0000002
# an NTSTATUS answer to an SMB1-only negotiate that says "not this protocol" (any other, e.g.
# STATUS_INSUFFICIENT_RESOURCES from a connection limit, proves nothing)
SMB1_REFUSALS = frozenset({STATUS_NOT_SUPPORTED, STATUS_NOT_IMPLEMENTED})

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


class SmbOffOfferError(SmbUnreachableError):
    """The server chose a dialect the negotiate did not offer: SMB answers there, yet nothing
    about the dialects offered is proven. `answer` is what it said."""

    def __init__(self, host: str, answer: NegotiateResult) -> None:
        super().__init__(host, answer.detail)
        self.answer = answer


def silent(host: str, message: str, cut: bool = False) -> SmbSilentError:
    """SMB did not answer after the handshake; `cut`: the conversation was broken off."""
    kind = SmbCutError if cut else SmbSilentError
    return kind(VANTAGE, f"SMB to {host}: {message}")


def describe(exc: BaseException) -> str:
    """An exception as the user reads it: its class and its text (never the class alone)."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text[:160]}" if text else type(exc).__name__


def connect(host: str, port: int, timeout: float, dial: Dial) -> socket.socket:
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
    SMB2 answer, or NOT_SUPPORTED / NOT_IMPLEMENTED. A hang-up or reset with nothing read, or
    another status, proves nothing (an IPS, a connection limit, a dead service may do it):
    SmbSilentError, like no connection at all."""
    sock = connect(host, port, timeout, dial)
    try:
        answer = _exchange(sock, _smb1_negotiate_request(), timeout)
    except TimeoutError:
        raise silent(host, "no answer to an SMB1 negotiate (timed out)") from None
    except OSError as exc:
        raise silent(host, f"SMB1 negotiate failed: {exc.strerror or exc}") from None
    finally:
        sock.close()
    return smb1_verdict(host, answer)


def _smb1_negotiate_request() -> bytes:
    packet = smb.NewSMBPacket()
    packet["Flags1"] = smb.SMB.FLAGS1_PATHCASELESS | smb.SMB.FLAGS1_CANONICALIZED_PATHS
    packet["Flags2"] = (
        smb.SMB.FLAGS2_EXTENDED_SECURITY | smb.SMB.FLAGS2_NT_STATUS | smb.SMB.FLAGS2_UNICODE
    )
    command = smb.SMBCommand(smb.SMB.SMB_COM_NEGOTIATE)
    command["Data"] = b"\x02NT LM 0.12\x00"
    packet.addCommand(command)
    data: bytes = packet.getData()
    return data


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
        if status in SMB1_REFUSALS:
            return Smb1Result(False, f"server answered the SMB1 negotiate with 0x{status:08x}")
        if status:  # a connection limit or a busy server says nothing of SMB1
            raise silent(host, f"SMB1 negotiate answered 0x{status:08x}: unprovable")
    if answer[:4] != b"\xffSMB" or len(answer) < 37:
        raise silent(host, f"not an SMB answer to negotiate: {answer[:8]!r}")
    word_count = answer[32]
    dialect_index = struct.unpack("<H", answer[33:35])[0] if word_count >= 1 else None  # len>=37
    if dialect_index in (None, SMB1_NO_COMMON_DIALECT):
        return Smb1Result(False, "server answered 'no common dialect' (DialectIndex 0xFFFF)")
    return Smb1Result(True, f"server accepted NT LM 0.12 (DialectIndex {dialect_index})")


NEGOTIATE_FIXED = 64 + 36  # the SMB2 header and a negotiate request's fixed part


def _negotiate_request(offer: tuple[str, ...]) -> bytes:
    """An SMB2 NEGOTIATE offering the dialects in `offer` (the server picks one of them)."""
    if not offer:  # no dialect to offer: a request no server can answer with a proof
        raise ValueError("an SMB2 negotiate offers at least one dialect")
    request = smb3structs.SMB2Negotiate()
    request["SecurityMode"] = smb3structs.SMB2_NEGOTIATE_SIGNING_ENABLED
    request["Capabilities"] = smb3structs.SMB2_GLOBAL_CAP_ENCRYPTION
    request["ClientGuid"] = bytes(random.getrandbits(8) for _ in range(16))
    request["Dialects"] = [DIALECT_CODES[dialect] for dialect in offer]
    request["DialectCount"] = len(offer)
    if "3.1.1" in offer:
        # 3.1.1 requires a preauth-integrity context; offer encryption capabilities too
        preauth = smb3structs.SMB2PreAuthIntegrityCapabilities()
        preauth["HashAlgorithmCount"] = 1
        preauth["SaltLength"] = 32
        preauth["HashAlgorithms"] = b"\x01\x00"  # SHA-512
        preauth["Salt"] = "".join(random.choice(string.ascii_letters) for _ in range(32))
        first = _negotiate_context(smb3structs.SMB2_PREAUTH_INTEGRITY_CAPABILITIES, preauth)
        ciphers = smb3structs.SMB2EncryptionCapabilities()
        ciphers["CipherCount"] = 1
        ciphers["Ciphers"] = b"\x01\x00"  # AES-128-CCM
        second = _negotiate_context(smb3structs.SMB2_ENCRYPTION_CAPABILITIES, ciphers)
        contexts = smb3structs.SMB311ContextData()
        # the context list starts 8-aligned after the dialects (2 bytes each)
        dialects_end = NEGOTIATE_FIXED + 2 * len(offer)
        offset = dialects_end + (8 - dialects_end % 8) % 8
        contexts["NegotiateContextOffset"] = offset
        contexts["NegotiateContextCount"] = 2
        request["ClientStartTime"] = contexts.getData()
        request["Padding"] = b"\x00" * (offset - dialects_end)
        pad = b"\x00" * ((8 - len(first.getData()) % 8) % 8)
        request["NegotiateContextList"] = first.getData() + pad + second.getData()
    packet = smb3structs.SMB2Packet()
    packet["Command"] = smb3structs.SMB2_NEGOTIATE
    packet["Data"] = request
    data: bytes = packet.getData()
    return data


def _negotiate_context(kind: int, body: Any) -> Any:
    """One SMB 3.1.1 negotiate context around a capabilities structure."""
    context = smb3structs.SMB2NegotiateContext()
    context["ContextType"] = kind
    context["Data"] = body.getData()
    context["DataLength"] = len(context["Data"])
    return context


def negotiate_smb2(
    host: str, port: int, offer: tuple[str, ...], timeout: float, dial: Dial = direct
) -> NegotiateResult:
    """Offer the SMB2/3 dialects in `offer` and read the server's own answer: the one it chose
    (by MS-SMB2 the highest it shares), or its refusal of them all."""
    name, request = offer_name(offer), _negotiate_request(offer)
    sock = connect(host, port, timeout, dial)
    try:
        answer = _exchange(sock, request, timeout)
    except TimeoutError:
        raise silent(host, f"no answer to an SMB negotiate offering {name}") from None
    except OSError as exc:
        raise silent(host, f"SMB negotiate offering {name}: {exc.strerror or exc}") from None
    finally:
        sock.close()
    # Only the status MS-SMB2 prescribes for "no common dialect" is a refusal; a hang-up or any
    # other answer (connection limits, an IPS, a crash) proves nothing about the dialects.
    if answer is None:
        raise silent(host, f"server hung up on an SMB negotiate offering {name}")
    if answer[:4] != b"\xfeSMB":
        raise silent(host, f"not an SMB2 answer to negotiate: {answer[:8]!r}")
    try:
        response = smb3structs.SMB2Packet(answer)
        status = int(response["Status"])
        body = None if status else smb3structs.SMB2Negotiate_Response(response["Data"])
    except (struct.error, ValueError, KeyError, IndexError):
        raise SmbUnreachableError(
            host, f"malformed answer to a negotiate offering {name}"
        ) from None
    if body is None:
        if status == STATUS_NOT_SUPPORTED:
            return NegotiateResult(name, False, None, None, "server refused it (NOT_SUPPORTED)")
        raise SmbUnreachableError(host, f"negotiate offering {name} answered 0x{status:08x}")
    chosen = DIALECT_NAMES.get(body["DialectRevision"], f"0x{body['DialectRevision']:04x}")
    mode = int(body["SecurityMode"])
    if chosen not in offer:  # a server that breaks the protocol proves nothing either way
        detail = f"server chose {chosen}, which a negotiate offering {name} did not offer"
        raise SmbOffOfferError(host, NegotiateResult(name, False, chosen, mode, detail))
    return NegotiateResult(
        name, True, chosen, mode, f"server chose {chosen}, SecurityMode 0x{mode:x}"
    )


def status_name(exc: SessionError | smb3.SessionError) -> str:
    code = int(exc.getErrorCode() if isinstance(exc, SessionError) else exc.get_error_code())
    known = nt_errors.ERROR_MESSAGES.get(code)
    return str(known[0]) if known else f"0x{code:08x}"
