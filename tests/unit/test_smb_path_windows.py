"""smb-path from a winrm vantage: the plan, the documents smb-negotiate.ps1 and smb-path.ps1
print read into the same verdicts as from the other probes, their shape checks, and the
executor handing the need to a probe that maps shares (the password never in a message)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest

from smbtests.checks import smb_path
from smbtests.checks.base import Facts, SmbNeed
from smbtests.checks.registry import judge
from smbtests.checks.verdicts import Outcome
from smbtests.errors import ProbeError, SmbSilentError
from smbtests.execute import Executor
from smbtests.observations import SmbPathObservation
from smbtests.probes import winrm as winrm_probe
from smbtests.probes.base import ShareRequest
from smbtests.probes.winrm import WinRMProbe, WinRMSettings
from smbtests.probes.winrm_errors import OutputError, powershell_error
from smbtests.probes.winrm_output import smb_negotiate_reading, smb_path_reading
from smbtests.probes.winrm_scripts import (
    CMD_LINE_LIMIT,
    SMB_NEGOTIATE_KIND,
    SMB_PATH_KIND,
    command_line,
    script,
    smb_path_request,
)
from smbtests.secrets import Credentials
from tests.unit.test_vantage import CONFIG, PLAN, TODAY
from tests.unit.test_winrm_probe import FakeHost

FS1, DC1 = "10.45.10.11", "10.45.10.12"
SECRET = "Canary-Pa55word"
ACCOUNT = Credentials("smblab", "", SECRET)


def negotiate(host: str = FS1, connected: bool = True, answered: bool = True) -> dict[str, Any]:
    return {
        "Host": host,
        "Connected": connected,
        "Answered": answered,
        "Status": 0 if answered else None,
        "Dialect": "3.0.2" if answered else None,
        "SecurityMode": 3 if answered else None,
        "Detail": "answered"
        if answered
        else "SMB2 NEGOTIATE after the handshake: the server hung up",
    }


def row(share: str, code: int | None = None, readable: bool = True) -> dict[str, Any]:
    mapped = code is None
    return {
        "Share": share,
        "Mapped": mapped,
        "Readable": mapped and readable,
        "ErrorCode": code,
        "Error": None if mapped else "some Windows words.",
    }


def document(
    host: str = FS1,
    login: int | None = None,
    shares: Sequence[dict[str, Any]] = (),
    sysvol: dict[str, Any] | None = None,
    **negotiated: bool,
) -> dict[str, Any]:
    return {
        "Negotiate": negotiate(host, **negotiated),
        "Login": row("IPC$", login),
        "Shares": list(shares) if login is None else [],
        "Dialect": "3.1.1",
        "Sysvol": sysvol,
    }


def verdict(check_id: str, doc: dict[str, Any]) -> tuple[Outcome, str, str]:
    check = PLAN[check_id]
    facts = Facts({SmbNeed.PATH_FROM_WINDOWS: doc}, account="smblab")
    obs = smb_path.observe(check, facts)
    result = judge(check, obs, CONFIG.policy, TODAY)
    return result.outcome, result.observed, result.message


def test_planned_for_win1_as_a_mapping_from_its_own_smb_client() -> None:
    check = PLAN["smb-path:win1/fs1"]
    assert str(check.batch) == "smb:fs1@win1"
    assert smb_path.needs(check, CONFIG) == (SmbNeed.PATH_FROM_WINDOWS,)
    assert smb_path.needs(PLAN["smb-path:corp1/fs1"], CONFIG) == (SmbNeed.PATH,)
    assert "smb-path:win1/fs1:139" not in PLAN  # a Windows mapping names no port


def test_every_share_mapped_and_read_passes_with_the_connection_dialect() -> None:
    outcome, observed, message = verdict("smb-path:win1/fs1", document(shares=[row("data")]))
    assert (outcome, observed) == (Outcome.PASSED, "works")
    assert message == "win1 -> fs1 as smblab over SMB 3.1.1: opened data"


def test_a_dc_passes_once_its_gpt_ini_is_read() -> None:
    sysvol = {"Share": "sysvol", "File": "lab\\gpt.ini", "Bytes": 24, "ErrorCode": None}
    doc = document(DC1, shares=[row("netlogon"), row("sysvol")], sysvol={**sysvol, "Error": None})
    outcome, _, message = verdict("smb-path:win1/dc1", doc)
    assert outcome is Outcome.PASSED
    assert message.endswith("opened netlogon, sysvol, read sysvol\\lab\\gpt.ini (24 bytes)")


def test_no_smb_after_the_handshake_is_tcp_only() -> None:
    outcome, observed, message = verdict("smb-path:win1/fs1", document(answered=False))
    assert (outcome, observed) == (Outcome.FAILED, "tcp-only")
    assert "reachable but unusable" in message and "the server hung up" in message


def test_no_tcp_from_windows_is_unprovable() -> None:
    doc = document(connected=False, answered=False)
    doc["Negotiate"]["Detail"] = "TimedOut"
    with pytest.raises(ProbeError, match=r"TCP 445: TimedOut"):
        verdict("smb-path:win1/fs1", doc)


def test_a_refused_login_fails_whatever_the_shares() -> None:
    outcome, observed, message = verdict("smb-path:win1/fs1", document(login=1326))
    assert (outcome, observed) == (Outcome.FAILED, "refused")
    assert "ERROR_LOGON_FAILURE (1326" in message
    assert "the shares do not work for the approved account" in message


def test_a_missing_share_fails_as_broken() -> None:
    outcome, observed, message = verdict("smb-path:win1/fs1", document(shares=[row("data", 67)]))
    assert (outcome, observed) == (Outcome.FAILED, "broken")
    assert "data: ERROR_BAD_NET_NAME (67" in message


def test_a_share_that_maps_but_cannot_be_read_fails() -> None:
    doc = document(shares=[row("data", readable=False)])
    assert verdict("smb-path:win1/fs1", doc)[:2] == (Outcome.FAILED, "broken")


def test_an_unreadable_sysvol_fails() -> None:
    sysvol = {"Share": "sysvol", "File": None, "Bytes": None, "ErrorCode": 5, "Error": "denied"}
    doc = document(DC1, shares=[row("netlogon"), row("sysvol")], sysvol=sysvol)
    outcome, observed, message = verdict("smb-path:win1/dc1", doc)
    assert (outcome, observed) == (Outcome.FAILED, "no-sysvol")
    assert "ERROR_ACCESS_DENIED" in message


def test_a_connection_lost_while_mapping_is_tcp_only() -> None:
    doc = document(shares=[row("data", 64)])
    assert verdict("smb-path:win1/fs1", doc)[:2] == (Outcome.FAILED, "tcp-only")


def test_a_credential_conflict_on_the_vantage_is_its_error_with_the_fix() -> None:
    with pytest.raises(ProbeError, match=r"1219.*Remove-SmbMapping"):
        verdict("smb-path:win1/fs1", document(login=1219))


@pytest.mark.parametrize("code", [None, 50, 1240])
def test_an_unexplained_mapping_failure_is_an_error_never_a_pass(code: int | None) -> None:
    failed = {**row("data", 50), "ErrorCode": code}  # None: no Win32 code in the error record
    with pytest.raises(ProbeError, match="not a refusal"):
        verdict("smb-path:win1/fs1", document(shares=[failed]))


# ------------------------------------------------------------------ the scripts' documents


def test_the_negotiate_document_is_checked() -> None:
    assert smb_negotiate_reading(negotiate(), FS1)["Answered"] is True
    with pytest.raises(OutputError, match="answered for"):
        smb_negotiate_reading(negotiate(DC1), FS1)
    lying = {**negotiate(), "Connected": False}
    with pytest.raises(OutputError, match="without a connection"):
        smb_negotiate_reading(lying, FS1)


def test_the_path_document_must_answer_the_shares_asked() -> None:
    printed = {"Host": FS1, "Login": row("IPC$"), "Shares": [row("data")], "Dialect": "3.1.1"}
    assert smb_path_reading(printed, FS1, ["data"], None)["Shares"] == [row("data")]
    with pytest.raises(OutputError, match="mapped"):
        smb_path_reading({**printed, "Shares": []}, FS1, ["data"], None)
    with pytest.raises(OutputError, match="Login"):
        smb_path_reading({**printed, "Login": 1}, FS1, ["data"], None)


READ = {"Share": "sysvol", "File": "lab/Policies/GPT.INI", "Bytes": 57, "ErrorCode": None}


@pytest.mark.parametrize(
    "sysvol",
    [
        None,  # a DC's document that leaves the SYSVOL read out proves nothing
        {**READ, "Error": None, "Share": "netlogon"},  # another share than the one asked
        {**READ, "Error": None, "Bytes": None},  # a file without its size
        {**READ, "Error": "x", "ErrorCode": 5},  # a file and a failure at once
        {**READ, "Error": "x", "File": None, "Bytes": None, "ErrorCode": None},  # no code
    ],
)
def test_a_dc_document_without_a_proper_sysvol_read_is_an_error(sysvol: object) -> None:
    printed = {"Host": DC1, "Login": row("IPC$"), "Shares": [], "Dialect": "3.1.1"}
    assert smb_path_reading({**printed, "Sysvol": {**READ, "Error": None}}, DC1, [], "sysvol")
    with pytest.raises(OutputError, match=r"(?i)sysvol"):
        smb_path_reading({**printed, "Sysvol": sysvol}, DC1, [], "sysvol")
    with pytest.raises(OutputError, match="not asked"):
        smb_path_reading({**printed, "Sysvol": {**READ, "Error": None}}, DC1, [], None)


@pytest.mark.parametrize("kind", [SMB_NEGOTIATE_KIND, SMB_PATH_KIND])
def test_each_script_fits_cmd_exe_s_command_line(kind: str) -> None:
    assert len(command_line(script(kind))) <= CMD_LINE_LIMIT


def test_the_password_travels_only_in_the_stdin_document() -> None:
    request = smb_path_request(ShareRequest(FS1, ("data",), None, ACCOUNT, 2.0))
    assert SECRET.encode() in request  # where the script reads it, over the encrypted session
    assert SECRET not in repr(ACCOUNT)


# ------------------------------------------------------------------ the executor


class FakeMapper:
    """A winrm-like probe: it cannot dial, it maps shares; it fails with the password in hand."""

    name = "win1"

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.asked: list[tuple[str, tuple[str, ...], str | None]] = []

    def scan(self, *args: object, **kwargs: object) -> list[object]:
        raise AssertionError("an SMB batch does not scan")

    def map_shares(self, request: ShareRequest) -> object:
        self.asked.append((request.host, request.shares, request.sysvol))
        if self.fail:
            raise ProbeError(self.name, "PowerShell exited 1: ***")
        return document(request.host, shares=[row(s) for s in request.shares])

    def close(self) -> None:
        pass


def test_the_executor_asks_the_mapping_from_the_windows_probe() -> None:
    probe = FakeMapper()
    checks = [PLAN["smb-path:win1/fs1"], PLAN["smb-path:win1/dc1"]]
    executor = Executor(CONFIG, checks, lambda name: probe, ACCOUNT)  # type: ignore[arg-type,return-value]
    try:
        obs = executor.observe(PLAN["smb-path:win1/fs1"])
        dc = executor.observe(PLAN["smb-path:win1/dc1"])
    finally:
        executor.close()
    assert isinstance(obs, SmbPathObservation) and obs.session is not None
    assert obs.session.opened_shares == ("data",)
    assert isinstance(dc, SmbPathObservation)
    assert sorted(probe.asked) == [(FS1, ("data",), None), (DC1, ("netlogon", "sysvol"), "sysvol")]


def test_a_failing_mapping_errors_the_check_only() -> None:
    probe = FakeMapper(fail=True)
    executor = Executor(CONFIG, [PLAN["smb-path:win1/fs1"]], lambda name: probe, ACCOUNT)  # type: ignore[arg-type,return-value]
    try:
        with pytest.raises(ProbeError, match="PowerShell exited 1") as caught:
            executor.observe(PLAN["smb-path:win1/fs1"])
    finally:
        executor.close()
    assert SECRET not in str(caught.value)


# ------------------------------------------------------------------ the probe's transcript


@pytest.fixture
def fake_host(monkeypatch: pytest.MonkeyPatch) -> FakeHost:
    fake = FakeHost()
    monkeypatch.setattr(winrm_probe, "Protocol", fake.new_protocol)
    return fake


def windows_answers(answered: bool = True, error: bytes = b"") -> Any:
    def answer(script_text: str, stdin: bytes) -> tuple[bytes, bytes, int]:
        if script_text.startswith("# smbtests:smb-negotiate"):
            return json.dumps(negotiate(answered=answered)).encode(), b"", 0
        if error:
            return b"", error, 1
        printed = {"Host": FS1, "Login": row("IPC$"), "Shares": [row("data")], "Dialect": "3.1.1"}
        return json.dumps(printed | {"Sysvol": None}).encode(), b"", 0

    return answer


def mapped(fake_host: FakeHost) -> object:
    probe = WinRMProbe("win1", WinRMSettings(address="10.45.20.22", username="smbprobe"), "pw-x1")
    try:
        return probe.map_shares(ShareRequest(FS1, ("data",), None, ACCOUNT, 2.0))
    finally:
        probe.close()


def test_the_probe_sends_both_packaged_scripts_and_the_password_only_on_stdin(
    fake_host: FakeHost,
) -> None:
    stdins: list[bytes] = []
    answer = windows_answers()

    def recording(text: str, stdin: bytes) -> tuple[bytes, bytes, int]:
        stdins.append(stdin)
        return answer(text, stdin)

    fake_host.answer = recording
    document = mapped(fake_host)
    assert fake_host.scripts == [script(SMB_NEGOTIATE_KIND), script(SMB_PATH_KIND)]
    assert isinstance(document, dict) and document["Shares"] == [row("data")]
    arguments = [c[3] for c in fake_host.calls if c[0] == "run_command"]
    assert not any(SECRET in text for text in fake_host.scripts)
    assert not any(SECRET in " ".join(a) for a in arguments)
    assert SECRET.encode() not in stdins[0] and SECRET.encode() in stdins[1]


def test_no_smb_answer_sends_no_password(fake_host: FakeHost) -> None:
    fake_host.answer = windows_answers(answered=False)
    document = mapped(fake_host)
    assert fake_host.scripts == [script(SMB_NEGOTIATE_KIND)]
    assert isinstance(document, dict) and document["Login"] is None


def test_a_script_error_echoing_the_password_is_masked(fake_host: FakeHost) -> None:
    echo = f'#< CLIXML\r\n<Objs><S S="Error">bad -Password {SECRET}_x000D__x000A_</S></Objs>'
    fake_host.answer = windows_answers(error=echo.encode())
    with pytest.raises(ProbeError) as caught:
        mapped(fake_host)
    assert SECRET not in str(caught.value) and "-Password ***" in str(caught.value)


def test_a_refusal_of_the_offered_dialects_still_counts_as_smb_answering(
    fake_host: FakeHost,
) -> None:
    """A server whose floor is 3.1.1 refuses 2.0.2-3.0.2; the host's own client then maps."""
    answer = windows_answers()

    def floor_311(text: str, stdin: bytes) -> tuple[bytes, bytes, int]:
        if text.startswith("# smbtests:smb-negotiate"):
            refused = negotiate() | {"Status": 0xC00000BB, "Dialect": None}
            return json.dumps(refused).encode(), b"", 0
        return answer(text, stdin)

    fake_host.answer = floor_311
    document = mapped(fake_host)
    assert fake_host.scripts == [script(SMB_NEGOTIATE_KIND), script(SMB_PATH_KIND)]
    outcome, _, message = verdict("smb-path:win1/fs1", document)  # type: ignore[arg-type]
    assert outcome is Outcome.PASSED and "over SMB 3.1.1" in message


def test_smb_from_windows_is_refused_over_unverified_https(fake_host: FakeHost) -> None:
    settings = WinRMSettings(address="10.45.20.22", username="smbprobe", verify_tls=False)
    probe = WinRMProbe("win1", settings, "pw-x1")
    with pytest.raises(ProbeError, match="verify_tls"):
        probe.map_shares(ShareRequest(FS1, ("data",), None, ACCOUNT, 2.0))
    assert fake_host.scripts == []  # nothing was sent, the password least of all


def test_a_password_split_by_the_message_cut_or_by_spaces_is_masked_first() -> None:
    spaced = "Canary  Pa55\tword-xx"
    text = ("x" * 290 + SECRET + " " + spaced).encode()
    message = powershell_error(text, (SECRET, spaced))
    assert "Canary" not in message and "Pa55" not in message


@pytest.mark.parametrize("answered", [True, False])
def test_a_denied_path_found_open_from_windows_says_whether_smb_answered(
    fake_host: FakeHost, answered: bool
) -> None:
    fake_host.answer = windows_answers(answered=answered)
    probe = WinRMProbe("win1", WinRMSettings(address="10.45.20.22", username="smbprobe"), "pw-x1")
    try:
        if answered:
            result = probe.smb_answers(FS1, 445, 2.0)
            assert (result.dialect, result.signing_required) == ("3.0.2", True)
        else:
            with pytest.raises(SmbSilentError, match=r"SMB to 10\.45\.10\.11"):
                probe.smb_answers(FS1, 445, 2.0)
        with pytest.raises(ProbeError, match="not port 139"):
            probe.smb_answers(FS1, 139, 2.0)
    finally:
        probe.close()
    assert fake_host.scripts == [script(SMB_NEGOTIATE_KIND)]  # no account, no mapping
