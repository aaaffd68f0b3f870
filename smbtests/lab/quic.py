"""The lab's SMB over QUIC STAND-IN: an aioquic server that completes QUIC handshakes (TLS 1.3,
ALPN `smb`) on UDP 443 and speaks nothing after them.

It is not SMB over QUIC: Samba's QUIC transport needs a kernel module (quic.ko) this machine
does not have, and Windows' needs Windows. What the engine's `quic` checks prove is
reachability: that a real QUIC handshake with ALPN `smb` completes from the remote users' side
and nowhere else, which this stand-in answers exactly like a real server's transport would.
`lab up` runs it in fs1's namespace (on fs1's addresses, in front of fs1) and a second one as
the QUIC positive control on 10.45.10.10 (the TCP control's address), tracked by PID like every
lab service.

Usage: python -m smbtests.lab.quic ADDRESS PORT ALPN CERT KEY
Runs until SIGTERM.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import trustme
from aioquic.asyncio.server import serve as quic_serve
from aioquic.quic.configuration import QuicConfiguration

from smbtests.lab import paths

# One lab CA for every QUIC endpoint of the lab; environments/lab.yaml names its ca.pem
QUIC_DIR = paths.STATE_DIR / "quic"
CA_FILE = QUIC_DIR / "ca.pem"
CERT_FILE = QUIC_DIR / "server.pem"
KEY_FILE = QUIC_DIR / "server-key.pem"
SERVER_NAME = "fs1.lab.example"


def prepare_tls(addresses: list[str]) -> None:
    """The lab's QUIC CA and one server certificate for fs1's name and every QUIC address, made
    once per `lab up` (trustme; the CA's key is never written)."""
    if CA_FILE.exists():
        return
    QUIC_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
    ca = trustme.CA(
        organization_name="smbtests lab",
        organization_unit_name="smbtests lab CA (SMB over QUIC stand-in)",
    )
    server = ca.issue_cert(SERVER_NAME, *addresses, common_name=f"{SERVER_NAME} (QUIC stand-in)")
    CERT_FILE.write_bytes(b"".join(blob.bytes() for blob in server.cert_chain_pems))
    descriptor = os.open(KEY_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as stream:
        stream.write(server.private_key_pem.bytes())
    ca.cert_pem.write_to_path(str(CA_FILE))  # last: its presence says the set is complete


async def _run(address: str, port: int, alpn: str, cert: Path, key: Path) -> None:
    configuration = QuicConfiguration(is_client=False, alpn_protocols=[alpn])
    configuration.load_cert_chain(cert, key)
    await quic_serve(address, port, configuration=configuration)
    await asyncio.Event().wait()  # until SIGTERM


if __name__ == "__main__":
    address, port, alpn, cert, key = sys.argv[1:6]
    asyncio.run(_run(address, int(port), alpn, Path(cert), Path(key)))
