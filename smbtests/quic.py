"""SMB over QUIC handshakes, made from a probe's position: the only module that talks to aioquic.

aioquic's QuicConnection is sans-IO, so the QUIC and TLS 1.3 state machine runs here in the
runner while the probe only carries UDP datagrams (probes/udprelay.py, over its SSH channel or
in-process): the handshake's packets leave from the probe's own stack and address. Every
handshake of a batch runs at once over one relay, each bounded by the same timeout.

The certificate: aioquic is told not to verify (CERT_NONE), so a server that answers always
completes and shows its certificate; when the environment names a CA bundle
(`quic.ca_bundle`) the chain and the name dialled are verified here afterwards, and a failure
is its own word (`certificate-untrusted`) instead of an indistinct TLS alert. Without a bundle
the result records the certificate as unverified.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.connection import QuicConnection
from aioquic.quic.events import ConnectionTerminated, HandshakeCompleted
from aioquic.tls import AlertDescription, verify_certificate

from smbtests.errors import ProbeError
from smbtests.observations import QuicRequest, QuicResult, QuicState
from smbtests.probes._datagrams import DatagramLink, RelayEvent
from smbtests.probes.base import DatagramRelay

CRYPTO_ERROR = 0x100  # a TLS alert travels as QUIC error 0x100 + the alert (RFC 9001 4.8)
RELAY_SPARE = 15.0  # the relay outlives the handshakes by this much, then ends by itself
HELLO_WAIT = 15.0  # python3's start on the probe
ICMP_WORDS = {"ECONNREFUSED": QuicState.PORT_UNREACHABLE}


@dataclass
class _Attempt:
    request: QuicRequest
    connection: QuicConnection
    started: float
    result: QuicResult | None = None

    def settle(
        self,
        state: QuicState,
        detail: str,
        alpn: str | None = None,
        certificate: str | None = None,
        verified: bool = False,
    ) -> None:
        if self.result is None:
            elapsed = (time.monotonic() - self.started) * 1000
            target = self.request.target
            self.result = QuicResult(target, state, elapsed, detail, alpn, certificate, verified)


def from_probe(
    probe: object, requests: Sequence[QuicRequest], timeout: float, ca_bundle: Path | None
) -> dict[QuicRequest, QuicResult | ProbeError]:
    """Every handshake from `probe`'s position over one relay; a failure of the probe or its
    relay is each request's ProbeError (never a QUIC answer)."""
    name = str(getattr(probe, "name", "?"))
    if not isinstance(probe, DatagramRelay):
        error = ProbeError(name, "this probe cannot send UDP from its position (local, ssh can)")
        return dict.fromkeys(requests, error)
    try:
        link = DatagramLink(name, probe.relay(timeout + RELAY_SPARE), HELLO_WAIT)
        try:
            return dict(handshakes(link, requests, timeout, ca_bundle))
        finally:
            link.close()
    except ProbeError as exc:
        return dict.fromkeys(requests, exc)
    except Exception as exc:  # a bug or an aioquic surprise: the probe's failure, not evidence
        return dict.fromkeys(requests, ProbeError(name, f"{type(exc).__name__}: {str(exc)[:160]}"))


def handshakes(
    link: DatagramLink,
    requests: Sequence[QuicRequest],
    timeout: float,
    ca_bundle: Path | None,
) -> dict[QuicRequest, QuicResult]:
    """One handshake per request, all at once over `link`, each settled within `timeout`."""
    attempts: dict[int, _Attempt] = {}
    now = time.monotonic()
    for ident, request in enumerate(requests, start=1):
        configuration = QuicConfiguration(
            is_client=True,
            alpn_protocols=[request.alpn],
            server_name=request.server_name,
            verify_mode=ssl.CERT_NONE,
        )
        connection = QuicConnection(configuration=configuration)
        link.open(ident, request.target)
        connection.connect((request.target.host, request.target.port), now)
        attempts[ident] = _Attempt(request, connection, now)
    deadline = now + timeout
    while (active := {i: a for i, a in attempts.items() if a.result is None}) and (
        time.monotonic() < deadline
    ):
        for ident, attempt in active.items():
            for datagram, _ in attempt.connection.datagrams_to_send(time.monotonic()):
                link.send(ident, datagram)
        timers = [t for a in active.values() if (t := a.connection.get_timer()) is not None]
        event = link.next_event(min([deadline, *timers]) - time.monotonic())
        if event is not None and event.ident in active:
            _receive(active[event.ident], event)
        now = time.monotonic()
        for ident, attempt in active.items():
            timer = attempt.connection.get_timer()
            if timer is not None and timer <= now:
                attempt.connection.handle_timer(now)
            _drain(attempt, ca_bundle)
            if attempt.result is not None:  # a CONNECTION_CLOSE, so the server forgets us
                attempt.connection.close()
                for datagram, _ in attempt.connection.datagrams_to_send(now):
                    link.send(ident, datagram)
    for attempt in attempts.values():
        attempt.settle(QuicState.TIMEOUT, f"no QUIC answer in {timeout:g} s")
    return {a.request: a.result for a in attempts.values() if a.result is not None}


def _receive(attempt: _Attempt, event: RelayEvent) -> None:
    if event.kind == "E":
        info = event.info or {}
        code = info.get("errno", "EIO")
        if info.get("stage") == "open":  # no socket or no route of the probe's own
            attempt.settle(QuicState.ERROR, f"the probe could not open UDP: {code}")
        else:
            state = ICMP_WORDS.get(code, QuicState.UNREACHABLE)
            attempt.settle(state, f"ICMP error ({code}: {info.get('text', '')})")
    elif event.kind == "D":
        if is_version_negotiation(event.data):
            attempt.settle(
                QuicState.VERSION_NEGOTIATION,
                f"the server offers only QUIC versions {offered_versions(event.data)}",
            )
            return
        attempt.connection.receive_datagram(
            event.data, (attempt.request.target.host, attempt.request.target.port), time.monotonic()
        )


def _drain(attempt: _Attempt, ca_bundle: Path | None) -> None:
    while (event := attempt.connection.next_event()) is not None:
        if isinstance(event, HandshakeCompleted):
            _completed(attempt, event, ca_bundle)
        elif isinstance(event, ConnectionTerminated):
            _terminated(attempt, event)


def _completed(attempt: _Attempt, event: HandshakeCompleted, ca_bundle: Path | None) -> None:
    request = attempt.request
    # the certificate aioquic received (it verified nothing: CERT_NONE, see the docstring)
    tls = attempt.connection.tls
    certificate = getattr(tls, "_peer_certificate", None)
    chain = getattr(tls, "_peer_certificate_chain", [])
    subject = None if certificate is None else certificate.subject.rfc4514_string()
    if event.alpn_protocol != request.alpn:
        attempt.settle(
            QuicState.ALPN_MISMATCH,
            f"the server completed TLS with ALPN {event.alpn_protocol!r}, not {request.alpn!r}",
            alpn=event.alpn_protocol,
            certificate=subject,
        )
        return
    if ca_bundle is None or certificate is None:
        attempt.settle(
            QuicState.HANDSHAKE,
            f"TLS 1.3 with ALPN {request.alpn}; certificate {subject} unverified "
            "(no quic.ca_bundle)",
            alpn=event.alpn_protocol,
            certificate=subject,
        )
        return
    try:
        verify_certificate(
            certificate, chain, server_name=request.server_name, cafile=str(ca_bundle)
        )
    except Exception as exc:  # aioquic raises its Alert* classes; all mean "not trusted"
        attempt.settle(
            QuicState.CERTIFICATE,
            f"ALPN {request.alpn} but certificate {subject} failed verification for "
            f"{request.server_name}: {exc}",
            alpn=event.alpn_protocol,
            certificate=subject,
        )
        return
    attempt.settle(
        QuicState.HANDSHAKE,
        f"TLS 1.3 with ALPN {request.alpn}; certificate {subject} verified for "
        f"{request.server_name}",
        alpn=event.alpn_protocol,
        certificate=subject,
        verified=True,
    )


def _terminated(attempt: _Attempt, event: ConnectionTerminated) -> None:
    code = event.error_code
    reason = event.reason_phrase or "no reason given"
    if code == CRYPTO_ERROR + AlertDescription.no_application_protocol:
        attempt.settle(
            QuicState.ALPN_MISMATCH,
            f"the server refused ALPN {attempt.request.alpn} (TLS alert 120: {reason})",
        )
    elif CRYPTO_ERROR <= code < CRYPTO_ERROR + 0x100:
        alert = _alert_name(code - CRYPTO_ERROR)
        attempt.settle(QuicState.TLS_ALERT, f"TLS alert {code - CRYPTO_ERROR} {alert}: {reason}")
    else:
        attempt.settle(QuicState.TLS_ALERT, f"the server closed with error 0x{code:x}: {reason}")


def _alert_name(value: int) -> str:
    try:
        return f"({AlertDescription(value).name})"
    except ValueError:
        return ""


def is_version_negotiation(datagram: bytes) -> bool:
    """A long-header packet whose version field is 0 (RFC 9000 17.2.1)."""
    return len(datagram) >= 7 and datagram[0] & 0x80 != 0 and datagram[1:5] == b"\0\0\0\0"


def offered_versions(datagram: bytes) -> str:
    """The versions a version negotiation packet lists, after its connection ids."""
    dcid_end = 6 + datagram[5]
    scid_end = dcid_end + 1 + datagram[dcid_end]
    body = datagram[scid_end:]
    versions = [body[i : i + 4].hex() for i in range(0, len(body) - 3, 4)]
    return ", ".join(f"0x{v}" for v in versions) or "none"
