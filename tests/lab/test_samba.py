"""Each lab smbd is real Samba with the compliant hardening, read from the server's own answers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

pytestmark = pytest.mark.lab

SERVERS = ("dc1", "fs1", "print1")
SHARES = {
    "fs1": ["IPC$", "data"],
    "dc1": ["IPC$", "netlogon", "sysvol"],
    "print1": ["IPC$", "scans"],
}
ENCRYPTION = {
    "fs1": "required: STATUS_ACCESS_DENIED",
    "dc1": "not required",
    "print1": "not required",
}


@pytest.fixture(scope="module")
def facts(lab_smb_facts: Callable[[], dict[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    return lab_smb_facts()


@pytest.mark.parametrize("server", SERVERS)
def test_smb1_negotiation_refused(facts: dict[str, dict[str, Any]], server: str) -> None:
    assert facts[server]["smb1"] == "refused: no dialect"


@pytest.mark.parametrize("server", SERVERS)
def test_smb2_02_accepted_but_by_print1(facts: dict[str, dict[str, Any]], server: str) -> None:
    """print1 starts at SMB 2.1, its role's floor (server min protocol = SMB2_10)."""
    expected = "refused: STATUS_NOT_SUPPORTED" if server == "print1" else "0x202"
    assert facts[server]["smb2_02_dialect"] == expected


@pytest.mark.parametrize("server", SERVERS)
def test_signing_required_by_server(facts: dict[str, dict[str, Any]], server: str) -> None:
    assert facts[server]["signing_required"] is True


@pytest.mark.parametrize("server", SERVERS)
def test_anonymous_share_listing_denied(facts: dict[str, dict[str, Any]], server: str) -> None:
    verdict = facts[server]["anonymous_listing"]
    # fs1 requires encryption, which a key-less session cannot do: Samba refuses the session
    # itself. dc1 and print1 let the session in and refuse the share listing.
    stage = "login" if server == "fs1" else "listing"
    assert verdict == f"denied at {stage}: STATUS_ACCESS_DENIED"


@pytest.mark.parametrize("server", SERVERS)
def test_lab_user_sees_its_shares(facts: dict[str, dict[str, Any]], server: str) -> None:
    assert facts[server]["user_shares"] == SHARES[server]


@pytest.mark.parametrize("server", SERVERS)
def test_encryption_setting(facts: dict[str, dict[str, Any]], server: str) -> None:
    assert facts[server]["encryption"] == ENCRYPTION[server]
