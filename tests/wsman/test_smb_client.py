"""The DOUBLE's Windows SMB client (smb-negotiate, smb-path) against real SMB on loopback:
impacket's own SMB server (a fake Samba) and listeners that hang up, stay silent or refuse;
its documents pass the probe's shape checks and read into the verdicts the kind gives; and
through the double's WinRM the account's password travels on stdin and is in no log."""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from impacket import smbserver
from impacket.ntlm import compute_lmhash, compute_nthash

from smbtests.checks import smb_path
from smbtests.checks.base import Facts, SmbNeed
from smbtests.checks.registry import judge
from smbtests.checks.verdicts import Outcome
from smbtests.lab.wsman import default_state, smb_client
from smbtests.probes.base import ShareRequest
from smbtests.probes.winrm_output import smb_negotiate_reading, smb_path_reading
from smbtests.secrets import Credentials
from tests.unit.test_vantage import CONFIG, PLAN, TODAY

from .conftest import Double

LOOPBACK = "127.0.0.1"
SECRET = "Canary-smb-9c2e!"
GPT = "lab.example\\Policies\\{31B2F340-016D-11D2-945F-00C04FB984F9}\\GPT.INI"


@pytest.fixture
def smb_port(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """impacket's SMB server on a free loopback port, shares DATA and SYSVOL (with a gpt.ini)."""
    (tmp_path / "data").mkdir()
    policy = (
        tmp_path / "sysvol" / "lab.example" / "Policies" / "{31B2F340-016D-11D2-945F-00C04FB984F9}"
    )
    policy.mkdir(parents=True)
    (policy / "GPT.INI").write_text("[General]\r\nVersion=1\r\n")
    server = smbserver.SimpleSMBServer(listenAddress=LOOPBACK, listenPort=0)
    server.addShare("DATA", str(tmp_path / "data"))
    server.addShare("SYSVOL", str(tmp_path / "sysvol"))
    server.addCredential("smblab", 0, compute_lmhash(SECRET), compute_nthash(SECRET))
    server.setSMB2Support(True)
    thread = threading.Thread(target=server.start, daemon=True)
    thread.start()
    port = int(server.getServer().server_address[1])
    monkeypatch.setattr(smb_client, "SMB_PORT", port)
    yield port
    server.stop()
    thread.join(5)


def request(
    password: str = SECRET, shares: tuple[str, ...] = (), sysvol: str | None = None
) -> bytes:
    body = {
        "host": LOOPBACK,
        "shares": list(shares),
        "sysvol": sysvol,
        "username": "smblab",
        "domain": "",
        "password": password,
        "timeout_ms": 2000,
    }
    return json.dumps(body).encode()


def verdict(
    check_id: str,
    negotiate: object,
    mapped: object,
    shares: tuple[str, ...],
    sysvol: str | None = None,
) -> Any:
    document = {
        "Negotiate": smb_negotiate_reading(negotiate, LOOPBACK),
        **smb_path_reading(mapped, LOOPBACK, shares, sysvol),
    }
    check = PLAN[check_id]
    facts = Facts({SmbNeed.PATH_FROM_WINDOWS: document}, account="smblab")
    return judge(check, smb_path.observe(check, facts), CONFIG.policy, TODAY)


def test_a_working_path_reads_as_works(smb_port: int) -> None:
    negotiate = smb_client.ANSWERS["smb-negotiate"](None, request(), None)
    assert isinstance(negotiate, dict) and negotiate["Answered"] and negotiate["Status"] == 0
    mapped = smb_client.ANSWERS["smb-path"](
        None, request(shares=("DATA", "SYSVOL"), sysvol="SYSVOL"), None
    )
    assert isinstance(mapped, dict) and mapped["Sysvol"]["File"] == GPT
    assert mapped["Sysvol"]["Bytes"] == len("[General]\r\nVersion=1\r\n")
    result = verdict("smb-path:win1/dc1", negotiate, mapped, ("DATA", "SYSVOL"), "SYSVOL")
    assert (result.outcome, result.observed) == (Outcome.PASSED, "works"), result.message
    assert "read SYSVOL\\lab.example" in result.message


def test_a_wrong_password_is_a_refused_login(smb_port: int) -> None:
    negotiate = smb_client.ANSWERS["smb-negotiate"](None, request(), None)
    mapped = smb_client.ANSWERS["smb-path"](None, request("Wrong-pw-77", ("DATA",)), None)
    assert isinstance(mapped, dict) and mapped["Login"]["ErrorCode"] == 1326
    result = verdict("smb-path:win1/fs1", negotiate, mapped, ("DATA",))
    assert (result.outcome, result.observed) == (Outcome.FAILED, "refused")
    assert "Wrong-pw-77" not in json.dumps(mapped) + result.message


def test_a_share_the_server_does_not_have_is_refused(smb_port: int) -> None:
    negotiate = smb_client.ANSWERS["smb-negotiate"](None, request(), None)
    mapped = smb_client.ANSWERS["smb-path"](None, request(shares=("DATA", "missing")), None)
    result = verdict("smb-path:win1/fs1", negotiate, mapped, ("DATA", "missing"))
    assert (result.outcome, result.observed) == (Outcome.FAILED, "broken")
    assert "missing: ERROR_" in result.message and "opened" not in result.message


def serve_once(behaviour: str) -> tuple[int, threading.Thread]:
    """A listener that accepts one connection, reads the NEGOTIATE, then hangs up or stays
    silent until the client gives up (bounded)."""
    server = socket.create_server((LOOPBACK, 0))
    server.settimeout(5)

    def run() -> None:
        with server, server.accept()[0] as conn:
            conn.settimeout(5)
            conn.recv(4096)
            if behaviour == "silent":
                conn.recv(1)  # until the client closes, at most 5 s

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return int(server.getsockname()[1]), thread


@pytest.mark.parametrize(
    ("behaviour", "detail"),
    [("hang-up", "the server hung up"), ("silent", "TimedOut")],
)
def test_smb_silent_after_the_handshake_is_tcp_only(
    behaviour: str, detail: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    port, thread = serve_once(behaviour)
    monkeypatch.setattr(smb_client, "SMB_PORT", port)
    body = json.dumps({"host": LOOPBACK, "timeout_ms": 300}).encode()
    negotiate = smb_client.ANSWERS["smb-negotiate"](None, body, None)
    thread.join(6)
    assert isinstance(negotiate, dict) and negotiate["Connected"] and not negotiate["Answered"]
    assert negotiate["Detail"] == f"SMB2 NEGOTIATE after the handshake: {detail}"
    check = PLAN["smb-path:win1/fs1"]
    document = {"Negotiate": smb_negotiate_reading(negotiate, LOOPBACK), "Login": None}
    obs = smb_path.observe(check, Facts({SmbNeed.PATH_FROM_WINDOWS: document}, account="u"))
    assert judge(check, obs, CONFIG.policy, TODAY).observed == "tcp-only"


def test_no_listener_is_no_tcp(monkeypatch: pytest.MonkeyPatch) -> None:
    bound = socket.socket()
    bound.bind((LOOPBACK, 0))
    monkeypatch.setattr(smb_client, "SMB_PORT", bound.getsockname()[1])
    try:
        negotiate = smb_client.ANSWERS["smb-negotiate"](None, request(), None)
    finally:
        bound.close()
    assert isinstance(negotiate, dict)
    assert (negotiate["Connected"], negotiate["Detail"]) == (False, "ConnectionRefused")


def test_the_account_travels_on_stdin_and_is_in_no_log(
    compliant: Double, caplog: pytest.LogCaptureFixture
) -> None:
    """Through the double's WinRM: SMB 'answered' (a forged negotiate), so the probe sends
    smb-path with the password; the double's client finds no SMB on 445 and says so."""
    caplog.set_level(logging.DEBUG)
    forged = {
        "Host": LOOPBACK,
        "Connected": True,
        "Answered": True,
        "Status": 0,
        "Dialect": "3.0.2",
        "SecurityMode": 3,
        "Detail": "answered",
    }
    state = default_state()
    state["lab_faults"]["stdout"]["smb-negotiate"] = json.dumps(forged)
    compliant.set_state(state)
    probe = compliant.probe()
    try:
        account = Credentials("smblab", "LAB", SECRET)
        document = probe.map_shares(ShareRequest(LOOPBACK, ("data",), None, account, 1.0))
    finally:
        probe.close()
    assert isinstance(document, dict) and document["Negotiate"] == forged
    assert document["Login"]["Mapped"] is False and document["Shares"] == []
    assert SECRET not in json.dumps(document) + caplog.text + compliant.log()
    assert "kind=smb-path" in compliant.log()
