"""Real QUIC handshakes on loopback (no lab needed): the runner's aioquic client over the UDP
relay, in-process (the local probe) and as the `python3 -c` script the ssh probe sends, against
the lab's stand-in server code. Each outcome has its own word."""

from __future__ import annotations

import asyncio
import shlex
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from aioquic.asyncio.server import serve
from aioquic.quic.configuration import QuicConfiguration

from smbtests.errors import ProbeError
from smbtests.observations import QuicRequest, QuicResult, QuicState, Target
from smbtests.probes._remote import python_command
from smbtests.probes.local import LocalProbe
from smbtests.probes.ssh import RELAY_SOURCE
from smbtests.quic import from_probe, offered_versions

LOOPBACK = "127.0.0.1"


class ScriptProbe:
    """The relay script run as the ssh probe runs it (`python3 -I -S -c SOURCE LIFETIME`), its
    stdin and stdout one end of a socket pair."""

    name = "script"

    def __init__(self, source: str = RELAY_SOURCE) -> None:
        self.source = source
        self.children: list[subprocess.Popen[bytes]] = []

    def relay(self, lifetime: float) -> socket.socket:
        mine, theirs = socket.socketpair()
        argv = [*shlex.split(python_command(sys.executable, self.source)), str(lifetime)]
        self.children.append(subprocess.Popen(argv, stdin=theirs.fileno(), stdout=theirs.fileno()))
        theirs.close()
        return mine


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("quic")
    ca = trustme.CA()
    server = ca.issue_cert(LOOPBACK, "fs1.lab.example")
    server.cert_chain_pems[0].write_to_path(str(directory / "cert.pem"))
    server.private_key_pem.write_to_path(str(directory / "key.pem"))
    ca.cert_pem.write_to_path(str(directory / "ca.pem"))
    return directory


@pytest.fixture(scope="module")
def servers(tls: Path) -> Iterator[dict[str, int]]:
    """aioquic servers on loopback (ALPN smb and h3), in a thread's event loop; name -> port."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    ports = {}
    for alpn in ("smb", "h3"):
        configuration = QuicConfiguration(is_client=False, alpn_protocols=[alpn])
        configuration.load_cert_chain(tls / "cert.pem", tls / "key.pem")
        started = asyncio.run_coroutine_threadsafe(
            serve(LOOPBACK, 0, configuration=configuration), loop
        ).result(timeout=10)
        transport = started._transport
        assert transport is not None
        ports[alpn] = transport.get_extra_info("sockname")[1]
    yield ports
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=5)


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def one(probe: object, port: int, name: str, ca: Path | None, timeout: float = 3.0) -> QuicResult:
    request = QuicRequest(Target(LOOPBACK, port), name)
    found = from_probe(probe, [request], timeout, ca)[request]
    assert isinstance(found, QuicResult), found
    return found


@pytest.mark.parametrize("probe", [LocalProbe("local"), ScriptProbe()], ids=["local", "script"])
def test_a_handshake_with_alpn_smb_and_a_verified_certificate(
    probe: object, servers: dict[str, int], tls: Path
) -> None:
    found = one(probe, servers["smb"], "fs1.lab.example", tls / "ca.pem")
    assert found.state is QuicState.HANDSHAKE and found.verified and found.alpn == "smb"


def test_without_a_bundle_the_certificate_is_recorded_unverified(servers: dict[str, int]) -> None:
    found = one(LocalProbe("local"), servers["smb"], "anything", None)
    assert found.state is QuicState.HANDSHAKE and not found.verified
    assert "unverified" in found.detail and found.certificate


def test_every_answer_has_its_word(servers: dict[str, int], tls: Path) -> None:
    """All at once over one relay: ALPN refused, wrong name, nothing listening, silence."""
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind((LOOPBACK, 0))
    requests = {
        QuicRequest(Target(LOOPBACK, servers["h3"]), LOOPBACK): QuicState.ALPN_MISMATCH,
        QuicRequest(Target(LOOPBACK, servers["smb"]), "wrong.example"): QuicState.CERTIFICATE,
        QuicRequest(Target(LOOPBACK, free_udp_port()), LOOPBACK): QuicState.PORT_UNREACHABLE,
        QuicRequest(Target(LOOPBACK, silent.getsockname()[1]), LOOPBACK): QuicState.TIMEOUT,
    }
    with silent:
        found = from_probe(ScriptProbe(), list(requests), 2.0, tls / "ca.pem")
    assert {r: getattr(v, "state", v) for r, v in found.items()} == requests


def test_version_negotiation_is_its_own_word() -> None:
    """A server that speaks another QUIC version answers the Initial with a version list."""
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind((LOOPBACK, 0))

    def answer() -> None:
        data, peer = server.recvfrom(2048)
        dcid = data[6 : 6 + data[5]]
        scid_at = 6 + data[5]
        scid = data[scid_at + 1 : scid_at + 1 + data[scid_at]]
        packet = bytes([0x80]) + b"\0\0\0\0" + bytes([len(scid)]) + scid
        server.sendto(packet + bytes([len(dcid)]) + dcid + b"\x0a\x0a\x0a\x0a", peer)

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    with server:
        found = one(LocalProbe("local"), server.getsockname()[1], LOOPBACK, None)
    thread.join(timeout=5)
    assert found.state is QuicState.VERSION_NEGOTIATION and "0x0a0a0a0a" in found.detail


def test_offered_versions_reads_past_the_connection_ids() -> None:
    packet = b"\x80\0\0\0\0" + b"\x02ab" + b"\x01c" + b"\0\0\0\x01" + b"\x6b\x33\x43\xcf"
    assert offered_versions(packet) == "0x00000001, 0x6b3343cf"


@pytest.mark.parametrize(
    "source",
    ["pass", "import os; os.write(1, b'not the protocol at all')"],
    ids=["no-hello", "garbage"],
)
def test_a_relay_that_does_not_speak_the_protocol_errors_every_request(source: str) -> None:
    requests = [QuicRequest(Target(LOOPBACK, 1), LOOPBACK), QuicRequest(Target(LOOPBACK, 2), "x")]
    found = from_probe(ScriptProbe(source), requests, 1.0, None)
    assert set(found) == set(requests)
    assert all(isinstance(value, ProbeError) for value in found.values())


def test_a_probe_without_a_relay_errors_every_request() -> None:
    request = QuicRequest(Target(LOOPBACK, 1), LOOPBACK)
    found = from_probe(object(), [request], 1.0, None)[request]
    assert isinstance(found, ProbeError) and "cannot send UDP" in str(found)
