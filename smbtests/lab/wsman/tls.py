"""The lab CA and the HTTPS certificate of the WS-Management DOUBLE, made fresh at every start.

trustme (a library made for test CAs) makes both. Clients verify against `ca.pem`; the CA's
private key stays in memory and is never written, so nothing else can be signed with it once
the double has started.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import trustme


@dataclass(frozen=True)
class TlsFiles:
    ca: Path
    certificate: Path
    key: Path


def make_lab_ca(directory: Path, hostname: str, addresses: list[str]) -> TlsFiles:
    """A new CA and a server certificate for `hostname` and `addresses`, written to directory."""
    directory.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(
        organization_name="smbtests lab",
        organization_unit_name="smbtests lab CA (WS-Management DOUBLE)",
    )
    server = ca.issue_cert(hostname, *addresses, common_name=f"{hostname} (WS-Management DOUBLE)")
    files = TlsFiles(directory / "ca.pem", directory / "server.pem", directory / "server-key.pem")
    ca.cert_pem.write_to_path(str(files.ca))
    files.certificate.write_bytes(b"".join(blob.bytes() for blob in server.cert_chain_pems))
    if files.key.exists():
        files.key.unlink()
    # the key is born private (0600), never readable for a moment
    descriptor = os.open(files.key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as stream:
        stream.write(server.private_key_pem.bytes())
    return files
