"""The Windows Firewall log as a deny-log source: the `firewall-log-tail` reading, the lab
double's pfirewall.log, and the environment's `deny_logs` entries read over WinRM."""

from __future__ import annotations

import ipaddress
import struct
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from smbtests import denylog
from smbtests.config import load
from smbtests.errors import PolicyError, ProbeError
from smbtests.lab import nflog
from smbtests.lab.wsman import default_state, firewall_log
from smbtests.observations import HostQuery
from smbtests.probes import denylogs
from smbtests.probes.winrm_errors import OutputError
from smbtests.probes.winrm_output import check_shape

from .conftest import Editor

MOMENT = datetime(2025, 3, 1, 9, 30, 5, tzinfo=UTC)


def tcp_packet(source: str, destination: str, sport: int, dport: int) -> bytes:
    ip = struct.pack(
        "!BBHHHBBH4s4s",
        0x45, 0, 40, 0, 0, 64, 6, 0,
        ipaddress.IPv4Address(source).packed, ipaddress.IPv4Address(destination).packed,
    )  # fmt: skip
    return ip + struct.pack("!HHIIBBHHH", sport, dport, 0, 0, 0x50, 0x02, 64240, 0, 0)


def double_log(tmp_path: Path, drops: int) -> Path:
    path = firewall_log.beside(tmp_path / "state.json")
    firewall_log.ensure(path)
    with path.open("a") as log:
        log.write(f"{nflog.READY} on group 1\n")
        for n in range(drops):
            attrs = {nflog.NFULA_PAYLOAD: tcp_packet("10.45.20.21", "10.45.20.22", 40000 + n, 5986)}
            log.write(f"{nflog.pfirewall_line(attrs, MOMENT)}\n")
    firewall_log.ensure(path)  # a second start keeps what is there
    return path


def test_the_nflog_reader_writes_a_pfirewall_drop_line() -> None:
    attrs = {nflog.NFULA_PAYLOAD: tcp_packet("10.45.20.21", "10.45.20.22", 40000, 5986)}
    assert nflog.pfirewall_line(attrs, MOMENT) == (
        "2025-03-01 09:30:05 DROP TCP 10.45.20.21 10.45.20.22 40000 5986 0 - - - - - - - RECEIVE"
    )
    assert nflog.pfirewall_line({}, MOMENT) is None


def test_the_double_answers_a_reading_the_parser_turns_into_records(tmp_path: Path) -> None:
    path = double_log(tmp_path, 3)
    reading = check_shape(HostQuery.FIREWALL_LOG_TAIL, firewall_log.answer(default_state(), path))
    text = denylogs.firewall_log_text(reading)
    records = denylog.parse_pfirewall("win1-firewall", text)
    # a short log sits in the head and the tail: each drop counts once
    assert [(r.source, r.destination, r.port, r.time) for r in records] == [
        ("10.45.20.21", "10.45.20.22", 5986, MOMENT)
    ] * 3
    assert reading["Files"][0]["Path"] == "C:\\Windows\\system32\\LogFiles\\Firewall\\pfirewall.log"  # type: ignore[index]


def test_the_reading_keeps_the_header_of_a_log_longer_than_its_tail(tmp_path: Path) -> None:
    path = double_log(tmp_path, firewall_log.TAIL_LINES + 10)
    reading: Any = firewall_log.answer(default_state(), path)
    assert len(reading["Files"][0]["Lines"]) == firewall_log.TAIL_LINES
    text = denylogs.firewall_log_text(reading)
    assert len(denylog.parse_pfirewall("w", text)) == firewall_log.TAIL_LINES


def test_a_reading_with_a_line_that_is_not_text_is_refused() -> None:
    bad = {"Files": [{"Path": "C:\\x.log", "Head": [], "Lines": [1]}], "TailLines": 5000}
    with pytest.raises(OutputError, match="Lines holds a non-string"):
        check_shape(HostQuery.FIREWALL_LOG_TAIL, bad)


class FakeReader:
    def __init__(self, reading: object) -> None:
        self.reading = reading
        self.closed = False

    def run_json(self, kind: HostQuery) -> object:
        assert kind is HostQuery.FIREWALL_LOG_TAIL
        if isinstance(self.reading, Exception):
            raise self.reading
        return self.reading

    def close(self) -> None:
        self.closed = True


def test_the_lab_reads_win1s_log_over_its_winrm_probe(
    edit: Editor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = str(tmp_path / "no-router.log")
    env = load(edit("lab.yaml", lambda d: d["deny_logs"]["router"].update(path=missing)))
    reader = FakeReader(firewall_log.answer(default_state(), double_log(tmp_path, 1)))
    opened: list[str] = []

    def open_probe(name: str, *_: object) -> FakeReader:
        opened.append(name)
        return reader

    monkeypatch.setattr(denylogs, "open_probe", open_probe)
    records, unreadable, read = denylogs.read_all(env.environment)
    assert opened == ["win1"] and reader.closed
    assert read == ["win1-firewall"]
    assert set(unreadable) == {"router"}
    assert [(r.log, r.source, r.port) for r in records] == [("win1-firewall", "10.45.20.21", 5986)]


def test_a_winrm_failure_marks_the_log_unreadable(
    lab_files: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = load(lab_files / "lab.yaml").environment
    failing = FakeReader(ProbeError("win1", "PowerShell exited 1: Cannot find path"))
    monkeypatch.setattr(denylogs, "open_probe", lambda *_: failing)
    _, unreadable, _ = denylogs.read_all(env)
    assert unreadable["win1-firewall"] == (
        "the firewall profiles' LogFileName over WinRM: probe win1: PowerShell exited 1: "
        "Cannot find path"
    )
    assert failing.closed


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"path": "C:\\pfirewall.log"}, r"deny_logs\.win1-firewall\.path: leave `path` out"),
        ({"format": "netfilter"}, r"deny_logs\.win1-firewall\.format: a log read over WinRM"),
        ({"via": "guest1"}, r"deny_logs\.win1-firewall\.path: give the log's absolute path"),
        (
            {"via": "nobody", "path": "/var/log/x"},
            r"deny_logs\.win1-firewall\.via: unknown ssh or winrm probe, Windows host `nobody`",
        ),
    ],
)
def test_a_winrm_deny_log_is_checked_at_load(
    edit: Editor, change: dict[str, str], message: str
) -> None:
    env = edit("lab.yaml", lambda d: d["deny_logs"]["win1-firewall"].update(change))
    with pytest.raises(PolicyError, match=message):
        load(env)


def test_a_windows_host_without_a_probe_can_be_the_source(edit: Editor) -> None:
    env = edit("lab.yaml", lambda d: d["deny_logs"]["win1-firewall"].update(via="dc1"))
    assert load(env).environment.deny_logs["win1-firewall"].via == "dc1"
