"""What probes and SMB conversations were asked and what they returned: the vocabulary that
execution produces and the check kinds judge. Plain frozen data; nothing here does I/O."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

SMB2_SIGNING_REQUIRED = 0x0002


@dataclass(frozen=True, order=True)
class Target:
    """One TCP endpoint a check connects to, and the probe's address to connect from ("": the
    probe's default for that IP version)."""

    host: str
    port: int
    source: str = ""

    @property
    def version(self) -> int:
        return 6 if ":" in self.host else 4


class ConnectState(StrEnum):
    """What one TCP connect attempt observed, from the probe's own side."""

    OPEN = "open"  # handshake completed
    REFUSED = "refused"  # RST came back
    FILTERED = "filtered"  # no answer before the per-connect timeout
    UNREACHABLE = "unreachable"  # an ICMP error came back from the network
    ERROR = "error"  # the probe's own stack failed (EPERM, no route of its own, ...)


CLOSED_STATES = frozenset({ConnectState.REFUSED, ConnectState.FILTERED, ConnectState.UNREACHABLE})


@dataclass(frozen=True)
class ConnectResult:
    target: Target
    state: ConnectState
    errno: int | None
    latency_ms: float
    detail: str


OnResult = Callable[[ConnectResult], None]


class QuicState(StrEnum):
    """What one QUIC handshake attempt (UDP) observed, from the probe's own side."""

    HANDSHAKE = "handshake"  # TLS 1.3 completed with the ALPN asked for
    ALPN_MISMATCH = "alpn-mismatch"  # a QUIC server refused the ALPN (alert 120) or chose none
    TLS_ALERT = "tls-alert"  # a QUIC server closed the handshake with another alert or error
    CERTIFICATE = "certificate-untrusted"  # completed, but the certificate failed verification
    VERSION_NEGOTIATION = "version-negotiation"  # a QUIC server shares no version with us
    PORT_UNREACHABLE = "port-unreachable"  # ICMP port unreachable: nothing listens there
    UNREACHABLE = "unreachable"  # another ICMP error (host, network, administratively)
    TIMEOUT = "timeout"  # no answer before the timeout
    ERROR = "error"  # the probe's own stack failed (no socket, no route of its own)


@dataclass(frozen=True, order=True)
class QuicRequest:
    """A QUIC handshake to ask of a probe: TLS 1.3 with `alpn` to a UDP target."""

    target: Target
    server_name: str  # SNI, and the name the certificate is verified for
    alpn: str = "smb"


QUIC_SILENT = frozenset({QuicState.PORT_UNREACHABLE, QuicState.UNREACHABLE, QuicState.TIMEOUT})


@dataclass(frozen=True)
class QuicResult:
    target: Target  # a UDP endpoint
    state: QuicState
    latency_ms: float
    detail: str
    alpn: str | None = None  # the ALPN the server chose
    certificate: str | None = None  # the server certificate's subject, when one came
    verified: bool = False  # the certificate chain and name verified against the CA bundle


class HostQuery(StrEnum):
    """A configuration reading from a Windows host; the value is the script's marker kind."""

    SMB_SERVER_CONFIGURATION = "smb-server-configuration"
    SMB1_FEATURE = "smb1-feature"
    FIREWALL_PROFILES = "firewall-profiles"
    FIREWALL_RULES_445 = "firewall-rules-445"
    SMB_CERTIFICATE_MAPPING = "smb-certificate-mapping"
    SMB_SERVER_LIMITS = "smb-server-limits"  # dialect floor/ceiling, auth rate limiter (2025+)
    SMB_CLIENT_CONFIGURATION = "smb-client-configuration"
    SMB_CLIENT_ACCESS = "smb-client-access"  # SMB over QUIC client access control
    NETWORK_PROFILES = "network-profiles"
    FIREWALL_OUTBOUND_445 = "firewall-outbound-445"
    FIREWALL_LOG_TAIL = "firewall-log-tail"  # pfirewall.log's header and last lines: deny records


@dataclass(frozen=True)
class Smb1Result:
    accepted: bool
    detail: str


def offer_name(offer: tuple[str, ...]) -> str:
    """How an SMB2/3 negotiate's offer is named in its result and its messages."""
    return ", ".join(offer)


@dataclass(frozen=True)
class NegotiateResult:
    offered: str  # offer_name of the dialects offered
    accepted: bool
    dialect: str | None
    security_mode: int | None
    detail: str

    @property
    def signing_required(self) -> bool | None:
        if self.security_mode is None:
            return None
        return bool(self.security_mode & SMB2_SIGNING_REQUIRED)


@dataclass(frozen=True)
class SessionResult:
    """What a login + share listing showed."""

    dialect: str | None
    logged_in: bool
    listed: bool
    shares: tuple[str, ...]
    session_flags: int | None
    status: str
    opened_shares: tuple[str, ...] = ()
    failed_shares: tuple[tuple[str, str], ...] = ()
    sysvol_file: str | None = None  # the policy file read, or "refused: WHY"; None: not tried


# ---------------------------------------------------------------- per-check observations


@dataclass(frozen=True)
class ReachObservation:
    """A connect to the check's target plus, from the same batch, the probe's control."""

    result: ConnectResult | None  # None: no probe could test this (an exception's source)
    control: ConnectResult | None
    probe: str | None
    # a denied path found open: did SMB answer (the negotiate) or only TCP (tcp_only)?
    smb: NegotiateResult | None = None
    smb_note: str | None = None  # why there is no SMB answer: silence, or the probe's failure
    tcp_only: bool = False
    vantage_outbound: object | None = None  # a Windows vantage's firewall-outbound-445 reading


@dataclass(frozen=True)
class QuicObservation:
    """A QUIC handshake to the check's target plus, from the same probe in the same batch, the
    handshake to the probe's QUIC control (None: no QUIC control of that IP version)."""

    result: QuicResult
    control: QuicResult | None
    probe: str


@dataclass(frozen=True)
class DiscoveryObservation:
    range: str
    scanned: int
    listeners: tuple[str, ...]  # addresses that completed a handshake
    errors: tuple[ConnectResult, ...]
    states: Mapping[str, int]
    control: ConnectResult


@dataclass(frozen=True)
class Smb1Observation:
    result: Smb1Result


@dataclass(frozen=True)
class NegotiationObservation:
    negotiations: tuple[NegotiateResult, ...]


@dataclass(frozen=True)
class SessionObservation:
    session: SessionResult
    as_user: str


@dataclass(frozen=True)
class SmbPathObservation:
    """The approved account's SMB from a probe's position; `session` None: the handshake
    completed but SMB stayed silent or broke (`silence` says how)."""

    session: SessionResult | None
    silence: str | None
    as_user: str


@dataclass(frozen=True)
class EncryptionObservation:
    """The same account twice: over 3.x (can encrypt) and over 2.1 (cannot)."""

    capable: SessionResult
    plain: SessionResult
    as_user: str


@dataclass(frozen=True)
class WindowsObservation:
    """Readings of a Windows host's own configuration (query kind -> JSON document), and for
    drift checks what the wire showed of the same host."""

    readings: Mapping[str, object]
    wire_smb1: Smb1Result | None = None
    wire_negotiations: tuple[NegotiateResult, ...] = ()
    # the approved account over 3.x and over 2.1 (drift's encryption), or why there is none
    wire_encryption: EncryptionObservation | None = None
    wire_note: str | None = None
    wire_source: str | None = None  # the runner's address toward the host (firewall drift)


Observation = (
    ReachObservation
    | QuicObservation
    | DiscoveryObservation
    | Smb1Observation
    | NegotiationObservation
    | SessionObservation
    | SmbPathObservation
    | EncryptionObservation
    | WindowsObservation
)
