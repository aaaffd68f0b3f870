"""SMB from the vantage: the SMB1 refusal needs a server answer, smb-path verdicts, the reach
follow-up negotiate for denied paths found open, and the executor's follow-up mechanism."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from impacket import smb3structs
from impacket.smbconnection import SessionError

from smbtests import smb
from smbtests.checks.registry import build_plan, judge
from smbtests.checks.verdicts import Outcome
from smbtests.config import DIALECTS, Hardening, load
from smbtests.errors import PolicyError, SmbSilentError
from smbtests.execute import Executor
from smbtests.observations import (
    ConnectResult,
    ConnectState,
    NegotiateResult,
    ReachObservation,
    SessionObservation,
    SessionResult,
    SmbPathObservation,
    Target,
    offer_name,
)
from smbtests.probes.base import ScanJob
from smbtests.smb import session as smb_session

TODAY = date(2026, 11, 26)
CONFIG = load(Path(__file__).resolve().parents[2] / "environments" / "lab.yaml")
PLAN = {c.id: c for c in build_plan(CONFIG, TODAY)}
CONTROL = Target("10.45.10.10", 8000)


def smb1_answer(status: int = 0, word_count: int = 1, index: int = 0) -> bytes:
    header = b"\xffSMB" + b"\x72" + struct.pack("<I", status) + b"\x00" * 23
    return header + bytes([word_count]) + struct.pack("<H", index) + b"\x00\x00"


# ------------------------------------------------------------------ smb1: one test per branch


def test_smb1_hang_up_with_nothing_read_is_unprovable() -> None:
    with pytest.raises(SmbSilentError, match="nothing read: unprovable"):
        smb.smb1_verdict("h", None)


def test_smb1_smb2_answer_is_a_refusal() -> None:
    result = smb.smb1_verdict("h", b"\xfeSMB" + b"\x00" * 60)
    assert not result.accepted and "SMB2" in result.detail


def test_smb1_ntstatus_answer_is_a_refusal() -> None:
    result = smb.smb1_verdict("h", smb1_answer(status=0xC0000002, word_count=0))
    assert not result.accepted and "0xc0000002" in result.detail


def test_smb1_answered_with_a_busy_servers_status_is_unprovable() -> None:
    """STATUS_INSUFFICIENT_RESOURCES (a connection limit) says nothing of SMB1."""
    with pytest.raises(SmbSilentError, match="0xc000009a: unprovable"):
        smb.smb1_verdict("h", smb1_answer(status=0xC000009A, word_count=0))


def test_smb1_no_common_dialect_is_a_refusal() -> None:
    result = smb.smb1_verdict("h", smb1_answer(index=0xFFFF))
    assert not result.accepted and "no common dialect" in result.detail


def test_smb1_dialect_chosen_is_accepted() -> None:
    assert smb.smb1_verdict("h", smb1_answer(index=0)).accepted


def test_smb1_garbage_is_unprovable() -> None:
    with pytest.raises(SmbSilentError, match="not an SMB answer"):
        smb.smb1_verdict("h", b"HTTP/1.1 400")


def test_smb1_against_a_service_that_reads_and_hangs_up_errors() -> None:
    """The fault of the issue: accept, read, close. Bounded: one connection, one thread."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def serve() -> None:
        conn, _ = server.accept()
        conn.recv(4096)
        conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with pytest.raises(SmbSilentError):
            smb.negotiate_smb1("127.0.0.1", port, 2.0)
    finally:
        thread.join(5)
        server.close()


def test_an_offer_of_every_dialect_carries_the_3_1_1_contexts_where_it_says() -> None:
    packet = smb3structs.SMB2Packet(smb.wire._negotiate_request(DIALECTS))
    request = smb3structs.SMB2Negotiate(packet["Data"])
    assert request["DialectCount"] == 5
    offset = smb3structs.SMB311ContextData(request["ClientStartTime"])["NegotiateContextOffset"]
    assert offset % 8 == 0 and offset >= 64 + 36 + 2 * 5
    first = smb3structs.SMB2NegotiateContext(packet.getData()[offset:])
    assert first["ContextType"] == smb3structs.SMB2_PREAUTH_INTEGRITY_CAPABILITIES


def negotiate_with(
    status: int,
    chosen: int,
    offer: tuple[str, ...],
    ask: Callable[..., NegotiateResult] = smb.negotiate_smb2,
) -> NegotiateResult:
    """One negotiate (`ask`) against a one-connection server answering `status` and `chosen`."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    response = smb3structs.SMB2Negotiate_Response()
    response["SecurityMode"] = 3
    response["DialectRevision"] = chosen
    response["Buffer"] = b""
    packet = smb3structs.SMB2Packet()
    packet["Flags"] = smb3structs.SMB2_FLAGS_SERVER_TO_REDIR
    packet["Status"] = status
    packet["Data"] = b"\x09\x00\x00\x00" if status else response.getData()
    reply = packet.getData()

    def serve() -> None:
        conn, _ = server.accept()
        conn.recv(4096)
        conn.sendall(struct.pack(">I", len(reply)) + reply)
        conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        return ask("127.0.0.1", port, offer, 2.0)
    finally:
        thread.join(5)
        server.close()


def test_a_negotiate_names_its_offer_and_the_dialect_the_server_chose() -> None:
    chosen = negotiate_with(0, 0x0311, DIALECTS)
    assert (chosen.offered, chosen.accepted, chosen.dialect) == (
        offer_name(DIALECTS),
        True,
        "3.1.1",
    )
    refused = negotiate_with(smb.wire.STATUS_NOT_SUPPORTED, 0, ("2.0.2", "2.1"))
    assert (refused.offered, refused.accepted) == ("2.0.2, 2.1", False)


def test_a_server_choosing_a_dialect_it_was_not_offered_proves_nothing() -> None:
    with pytest.raises(smb.SmbUnreachableError, match="did not offer"):
        negotiate_with(0, 0x0202, ("3.0", "3.0.2"))


def test_an_answer_in_another_dialect_still_shows_that_smb_answers() -> None:
    def answers(host: str, port: int, _offer: object, timeout: float) -> NegotiateResult:
        return smb_session.smb_answers(host, port, timeout)

    answer = negotiate_with(0, 0x0210, ("3.1.1",), answers)
    assert (answer.accepted, answer.dialect) == (False, "2.1") and "did not offer" in answer.detail


def test_an_offer_below_the_highest_floor_carries_no_contexts() -> None:
    below = Hardening(min_dialect="3.1.1").below_floor()
    assert below == ("2.0.2", "2.1", "3.0", "3.0.2")
    assert Hardening().below_floor() == Hardening(min_dialect="2.0.2").below_floor() == ()
    request = smb3structs.SMB2Negotiate(
        smb3structs.SMB2Packet(smb.wire._negotiate_request(below))["Data"]
    )
    assert request["DialectCount"] == 4 and request["ClientStartTime"] == bytes(8)
    with pytest.raises(ValueError, match="at least one dialect"):
        smb.wire._negotiate_request(())


def test_the_executor_offers_the_hosts_own_floor(monkeypatch: pytest.MonkeyPatch) -> None:
    """print1's role has the floor 2.1: every dialect, then 2.0.2 alone; fs1's (2.0.2): one."""
    offers: dict[str, list[tuple[str, ...]]] = {}

    def negotiate(host: str, port: int, offer: tuple[str, ...], *_: object) -> NegotiateResult:
        offers.setdefault(host, []).append(offer)
        chosen = None if offer == ("2.0.2",) else offer[-1]
        return NegotiateResult(offer_name(offer), chosen is not None, chosen, 3, "")

    monkeypatch.setattr(smb, "negotiate_smb2", negotiate)
    checks = [PLAN["dialect:print1"], PLAN["dialect:fs1"]]

    def no_probe(name: str) -> OpenEverywhere:
        raise AssertionError(f"hardening from the runner opened probe {name}")

    executor = Executor(CONFIG, checks, no_probe, None)
    try:
        verdicts = {c.id: judge(c, executor.observe(c), CONFIG.policy, TODAY) for c in checks}
    finally:
        executor.close()
    assert sorted(offers["10.45.10.13"]) == sorted([DIALECTS, ("2.0.2",)])
    assert offers["10.45.10.11"] == [DIALECTS]
    assert all(v.outcome is Outcome.PASSED for v in verdicts.values())


def test_failures_name_the_exception_class_and_its_text() -> None:
    assert smb.describe(ConnectionResetError("peer reset")) == "ConnectionResetError: peer reset"
    assert smb.describe(RuntimeError()) == "RuntimeError"


# ------------------------------------------------------------------ smb-path and access


def session(
    logged_in: bool = True, failed: tuple[tuple[str, str], ...] = (), sysvol: str | None = None
) -> SessionResult:
    status = "listed 2 shares" if logged_in else "login refused: STATUS_ACCESS_DENIED"
    return SessionResult("3.1.1", logged_in, logged_in, (), None, status, ("data",), failed, sysvol)


def path_verdict(check_id: str, obs: SmbPathObservation) -> tuple[Outcome, str, str]:
    verdict = judge(PLAN[check_id], obs, CONFIG.policy, TODAY)
    return verdict.outcome, verdict.observed, verdict.message


def test_smb_path_is_planned_per_approved_probe_and_host() -> None:
    paths = sorted(c for c in PLAN if c.startswith("smb-path:"))
    assert paths == [
        *(f"smb-path:corp1/{h}" for h in ("dc1", "fs1", "print1")),
        "smb-path:iot1/print1",
        # mgmt's path approves the NetBIOS session service too: the port is named where not 445
        *(f"smb-path:mgmt/{h}{p}" for h in ("dc1", "fs1", "print1") for p in ("", ":139")),
        # win1 maps from its own SMB client (smb-path.ps1), which names no port: 445 only
        *(f"smb-path:win1/{h}" for h in ("dc1", "fs1", "print1")),
    ]
    check = PLAN["smb-path:corp1/fs1"]
    assert str(check.batch) == "smb:fs1@corp1"


def test_smb_path_verdicts() -> None:
    ok = path_verdict("smb-path:corp1/fs1", SmbPathObservation(session(), None, "smblab"))
    assert ok[:2] == (Outcome.PASSED, "works")
    silent = path_verdict("smb-path:corp1/fs1", SmbPathObservation(None, "timed out", "smblab"))
    assert silent[:2] == (Outcome.FAILED, "tcp-only")
    assert "reachable but unusable: SMB" in silent[2] and "after the handshake" in silent[2]
    refused = path_verdict("smb-path:corp1/fs1", SmbPathObservation(session(False), None, "u"))
    assert refused[:2] == (Outcome.FAILED, "refused")
    assert "the shares do not work for the approved account" in refused[2]
    broken = SmbPathObservation(session(failed=(("data", "STATUS_ACCESS_DENIED"),)), None, "u")
    assert path_verdict("smb-path:corp1/fs1", broken)[:2] == (Outcome.FAILED, "broken")
    no_sysvol = SmbPathObservation(session(sysvol="refused: STATUS_ACCESS_DENIED"), None, "u")
    outcome, observed, message = path_verdict("smb-path:corp1/dc1", no_sysvol)
    assert (outcome, observed) == (Outcome.FAILED, "no-sysvol") and "group policy" in message


def test_access_login_refused_is_a_failure_not_an_error() -> None:
    obs = SessionObservation(session(False), "smblab")
    verdict = judge(PLAN["access:fs1"], obs, CONFIG.policy, TODAY)
    assert verdict.outcome is Outcome.FAILED
    assert "the shares do not work for the approved account" in verdict.message


# ------------------------------------------------------------------ reach follow-up


def open_denied(**smb_fields: object) -> tuple[Outcome, str, str]:
    check = PLAN["reach:guest1/fs1:445"]
    assert check.target is not None
    result = ConnectResult(check.target, ConnectState.OPEN, None, 1.0, "")
    control = ConnectResult(CONTROL, ConnectState.OPEN, None, 1.0, "")
    obs = ReachObservation(result, control, "guest1", **smb_fields)  # type: ignore[arg-type]
    verdict = judge(check, obs, CONFIG.policy, TODAY)
    return verdict.outcome, verdict.observed, verdict.message


def test_denied_path_open_says_whether_smb_answered() -> None:
    answered = NegotiateResult("3.1.1", True, "3.1.1", 3, "server chose 3.1.1, SecurityMode 0x3")
    outcome, observed, message = open_denied(smb=answered)
    assert (outcome, observed) == (Outcome.FAILED, "open")
    assert "SMB ANSWERED" in message and "signing required" in message
    outcome, observed, message = open_denied(smb_note="no answer", tcp_only=True)
    assert (outcome, observed) == (Outcome.FAILED, "tcp-only")
    assert "only TCP answered" in message and "proxy or tarpit" in message


class OpenEverywhere:
    """A probe whose every connect completes and whose dial hands over a socket that a
    tarpit holds: accepted, never a byte."""

    name = "guest1"

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.dialled: list[Target] = []

    def scan(self, job: ScanJob) -> list[ConnectResult]:
        return [ConnectResult(t, ConnectState.OPEN, None, 1.0, "") for t in job.targets]

    def dial(self, host: str, port: int, timeout: float) -> socket.socket:
        self.dialled.append(Target(host, port))
        return socket.create_connection(self.server.getsockname(), timeout=timeout)

    def close(self) -> None:
        pass


def test_executor_asks_the_follow_up_from_the_same_probe() -> None:
    probe = OpenEverywhere()
    checks = [c for c in PLAN.values() if c.probe == "guest1" and c.kind in ("reach", "control")]
    timing = CONFIG.environment.timing.model_copy(update={"smb_timeout": 0.3})
    fast = replace(CONFIG, environment=CONFIG.environment.model_copy(update={"timing": timing}))
    executor = Executor(fast, checks, lambda name: probe, None)
    try:
        obs = executor.observe(PLAN["reach:guest1/fs1:445"])
        assert isinstance(obs, ReachObservation) and obs.tcp_only
        control = executor.observe(PLAN["control:guest1"])
        assert isinstance(control, ReachObservation) and control.smb_note is None
    finally:
        executor.close()
        probe.server.close()
    assert Target("10.45.10.11", 445) in probe.dialled
    assert CONTROL not in probe.dialled  # only denied targets found open are asked


def test_hardening_runs_from_the_probe_the_environment_names(lab_files: Path) -> None:
    env = lab_files / "lab.yaml"
    env.write_text(
        env.read_text().replace(
            "    password_env: SMBTESTS_LAB_SMB_PASSWORD\n",
            "    password_env: SMBTESTS_LAB_SMB_PASSWORD\n  host_vantage: {dc1: corp1}\n",
            1,
        )
    )
    plan = {c.id: c for c in build_plan(load(env), TODAY)}
    assert str(plan["smb1:dc1"].batch) == "smb:dc1@corp1"
    assert str(plan["smb1:fs1"].batch) == "smb:fs1"


def test_host_vantage_must_be_a_probe_that_can_dial(lab_files: Path) -> None:
    env = lab_files / "lab.yaml"
    env.write_text(
        env.read_text().replace(
            "    password_env: SMBTESTS_LAB_SMB_PASSWORD\n",
            "    password_env: SMBTESTS_LAB_SMB_PASSWORD\n  host_vantage: {dc1: win1}\n",
            1,
        )
    )
    with pytest.raises(PolicyError, match="unknown local or ssh probe `win1`"):
        load(env)


class PolicyEntry:
    def __init__(self, name: str, size: int) -> None:
        self.name, self.size = name, size

    def get_longname(self) -> str:
        return self.name

    def is_directory(self) -> bool:
        return False

    def get_filesize(self) -> int:
        return self.size


class ClosingBadly:
    """A SYSVOL whose gpt.ini reads, then fails with `status` after `delivered` bytes."""

    def __init__(self, delivered: bytes, size: int, status: int = 0xC000000D) -> None:
        self.delivered, self.size, self.status = delivered, size, status

    def connectTree(self, share: str) -> int:  # noqa: N802 (impacket's names)
        return 1

    def disconnectTree(self, tree: int) -> None:  # noqa: N802
        pass

    def listPath(self, share: str, pattern: str) -> list[PolicyEntry]:  # noqa: N802
        return [PolicyEntry("gpt.ini", self.size)]

    def getFile(self, share: str, path: str, callback: Callable[[bytes], None]) -> None:  # noqa: N802
        if self.delivered:
            callback(self.delivered)
        raise SessionError(self.status)


def test_a_failed_close_after_every_byte_was_read_is_a_read() -> None:
    """Samba answers the CLOSE of a fully read gpt.ini with STATUS_INVALID_PARAMETER now and
    then under concurrent readers: the policy was read."""
    read = smb_session._read_policy_file(ClosingBadly(b"x" * 57, 57), "dc1", "sysvol")
    assert read == "sysvol\\gpt.ini (57 bytes)"


@pytest.mark.parametrize(("delivered", "size"), [(b"x" * 10, 57), (b"", 0)])
def test_a_failure_before_the_last_byte_is_unreadable(delivered: bytes, size: int) -> None:
    conn = ClosingBadly(delivered, size, status=0xC0000022)  # STATUS_ACCESS_DENIED
    read = smb_session._read_policy_file(conn, "dc1", "sysvol")
    assert read == "refused: STATUS_ACCESS_DENIED"
