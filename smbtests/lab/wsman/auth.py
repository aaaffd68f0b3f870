"""Authentication and message encryption of the WS-Management DOUBLE.

NTLM is pyspnego's server side. NTLM authenticates a TCP connection, not a request: after the
three-leg exchange (Negotiate, Challenge, Authenticate) the connection is the user's, and over
plain HTTP every message on it is sealed with the session key ("WinRM message encryption",
MS-WSMV 2.2.9.1.1): a multipart/encrypted body whose second part is a 4-byte little-endian
signature length, the NTLM signature and the sealed SOAP message.

pyspnego's NTLM acceptor reads its accounts only from the file named by NTLM_USER_FILE, so the
double writes one (mode 0600, in a private directory) for the one account it serves.

Over HTTPS the client binds its NTLM exchange to the server certificate (channel binding,
RFC 5929 tls-server-end-point); the double checks that binding as Windows does.

Nothing here logs or returns tokens, NTLM messages or the password.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import re
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path

import spnego
import spnego.channel_bindings
import spnego.exceptions
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding

PROTOCOL = "application/HTTP-SPNEGO-session-encrypted"
BOUNDARY = b"--Encrypted Boundary"
OCTET_STREAM = b"\tContent-Type: application/octet-stream\r\n"
ENCRYPTED_CONTENT_TYPE = f'multipart/encrypted;protocol="{PROTOCOL}";boundary="Encrypted Boundary"'


class AuthError(Exception):
    """The client did not prove the account's password; the message is safe to log."""


class SealError(Exception):
    """An encrypted body that does not unseal; the message is safe to log."""


@dataclass(frozen=True)
class Account:
    username: str  # as configured: `user` or `DOMAIN\user`
    password: str

    def __repr__(self) -> str:
        return f"Account({self.username!r}, password=***)"

    def matches(self, username: str, password: str) -> bool:
        wanted = self.username.rsplit("\\", 1)[-1].lower().encode()
        given = username.rsplit("\\", 1)[-1].lower().encode()
        # both comparisons always run: the time taken says nothing about which one failed
        return hmac.compare_digest(wanted, given) & hmac.compare_digest(
            self.password.encode(), password.encode()
        )


def install_ntlm_account(account: Account, computer_name: str) -> Path:
    """Write pyspnego's NTLM account file and point NTLM_USER_FILE at it; returns its directory.

    The account is accepted as `user`, `COMPUTER\\user` and `.\\user`, like a local Windows
    account.
    """
    if any(c in account.password for c in ":\r\n") or not account.password:
        raise ValueError("the password must be non-empty and hold no ':' or line breaks")
    user = account.username.rsplit("\\", 1)[-1]
    if ":" in user:
        raise ValueError("the user name must hold no ':'")
    directory = Path(tempfile.mkdtemp(prefix="smbtests-wsman-ntlm-"))
    store = directory / "ntlm-users"
    lines = [f"{domain}:{user}:{account.password}\n" for domain in ("", computer_name, ".")]
    descriptor = os.open(store, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
        stream.writelines(lines)
    os.environ["NTLM_USER_FILE"] = str(store)
    return directory


def channel_bindings(certificate_pem: bytes) -> spnego.channel_bindings.GssChannelBindings:
    """tls-server-end-point bindings of our certificate, as the client computes them."""
    certificate = x509.load_pem_x509_certificate(certificate_pem)
    algorithm = certificate.signature_hash_algorithm
    if algorithm is None or algorithm.name in ("md5", "sha1"):
        algorithm = hashes.SHA256()
    digest = hashes.Hash(algorithm)
    digest.update(certificate.public_bytes(Encoding.DER))
    return spnego.channel_bindings.GssChannelBindings(
        application_data=b"tls-server-end-point:" + digest.finalize()
    )


class NtlmAcceptor:
    """One connection's NTLM exchange, then its session key for sealing messages."""

    def __init__(self, bindings: spnego.channel_bindings.GssChannelBindings | None) -> None:
        self._context = spnego.server(
            protocol="ntlm",
            options=spnego.NegotiateOptions.use_ntlm,
            channel_bindings=bindings,
        )

    @property
    def complete(self) -> bool:
        return bool(self._context.complete)

    @property
    def user(self) -> str:
        return str(self._context.client_principal or "")

    def step(self, token: str) -> str | None:
        """The base64 answer token, or None once the client is authenticated."""
        try:
            answer = self._context.step(base64.b64decode(token, validate=True))
        except binascii.Error:
            raise AuthError("the token is not base64") from None
        except spnego.exceptions.SpnegoError as exc:
            raise AuthError(f"NTLM rejected the client ({type(exc).__name__})") from None
        if answer is None:
            return None
        return base64.b64encode(answer).decode("ascii")

    def unseal(self, body: bytes) -> bytes:
        """The SOAP message inside a multipart/encrypted body."""
        closing = BOUNDARY + b"--\r\n"
        parts = body.removesuffix(closing).split(BOUNDARY + b"\r\n")
        if not body.endswith(closing) or len(parts) != 3 or parts[0]:
            raise SealError("not a single-part multipart/encrypted body")
        header, payload = parts[1], parts[2]
        length = re.search(rb"Length=(\d+)", header)
        if PROTOCOL.encode() not in header or length is None:
            raise SealError("the encrypted part has no protocol or length")
        if not payload.startswith(OCTET_STREAM) or len(payload) < len(OCTET_STREAM) + 4:
            raise SealError("the encrypted part has no octet-stream payload")
        data = payload[len(OCTET_STREAM) :]
        (signature_length,) = struct.unpack("<I", data[:4])
        signature, sealed = data[4 : 4 + signature_length], data[4 + signature_length :]
        try:
            message = bytes(self._context.unwrap(signature + sealed).data)
        except spnego.exceptions.SpnegoError as exc:
            raise SealError(f"the message does not unseal ({type(exc).__name__})") from None
        if len(message) != int(length.group(1)):
            raise SealError("the unsealed length differs from the declared one")
        return message

    def seal(self, message: bytes) -> bytes:
        wrapped = bytes(self._context.wrap(message, encrypt=True).data)
        # NTLM's signature is the first 16 bytes of the wrapped token
        signature, sealed = wrapped[:16], wrapped[16:]
        return (
            BOUNDARY
            + b"\r\n\tContent-Type: "
            + PROTOCOL.encode()
            + b"\r\n\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length="
            + str(len(message)).encode()
            + b"\r\n"
            + BOUNDARY
            + b"\r\n"
            + OCTET_STREAM
            + struct.pack("<I", len(signature))
            + signature
            + sealed
            + BOUNDARY
            + b"--\r\n"
        )


def basic_credentials(token: str) -> tuple[str, str]:
    try:
        username, _, password = base64.b64decode(token, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise AuthError("the Basic token is not base64 user:password") from None
    return username, password


def is_encrypted(content_type: str) -> bool:
    return content_type.lower().startswith("multipart/encrypted") and PROTOCOL in content_type
