"""The winrm probe end to end: our probe -> unmodified pywinrm -> the double -> real connects."""

from __future__ import annotations

import base64
import json
import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from smbtests.errors import PolicyError, ProbeError
from smbtests.lab.wsman import default_state, scenario_state
from smbtests.lab.wsman.tls import make_lab_ca
from smbtests.observations import ConnectState, Target
from smbtests.probes.base import ScanJob
from smbtests.probes.winrm import HostQuery, WinRMProbe

from .conftest import USER, Double


@pytest.fixture
def listening() -> Iterator[int]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    yield server.getsockname()[1]
    server.close()


@pytest.fixture
def refusing() -> Iterator[int]:
    """A bound port nobody listens on: the kernel answers RST, and the port stays ours."""
    bound = socket.socket()
    bound.bind(("127.0.0.1", 0))
    yield bound.getsockname()[1]
    bound.close()


def probe_error(probe: WinRMProbe, call: str = "run_json", *args: object) -> ProbeError:
    with pytest.raises(ProbeError) as caught:
        getattr(probe, call)(*(args or (HostQuery.SMB1_FEATURE,)))
    error = caught.value
    assert error.__cause__ is None and error.__suppress_context__, "no cause may carry locals"
    return error


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_reads_every_host_query(compliant: Double, scheme: str) -> None:
    state = default_state()
    probe = compliant.probe(scheme)
    try:
        assert (
            probe.run_json(HostQuery.SMB_SERVER_CONFIGURATION) == state["smb_server_configuration"]
        )
        assert probe.run_json("smb1-feature") == state["smb1_feature"]
        assert probe.run_json(HostQuery.FIREWALL_PROFILES) == state["firewall_profiles"]
        rules = probe.run_json(HostQuery.FIREWALL_RULES_445)
        assert isinstance(rules, list)
        assert [r["DisplayName"] for r in rules] == ["SMB-In (corp servers)"]  # 445 only
        assert probe.run_json(HostQuery.SMB_CERTIFICATE_MAPPING) == {
            "Supported": True,
            "EnableSMBQUIC": False,
            "Mappings": [],
        }
    finally:
        probe.close()


def test_scenarios_apply_live(compliant: Double) -> None:
    probe = compliant.probe()
    try:
        compliant.set_state(scenario_state("win-445-allow-any"))
        rules = probe.run_json(HostQuery.FIREWALL_RULES_445)
        assert isinstance(rules, list)
        assert {r["DisplayName"] for r in rules} == {"SMB-In (corp servers)", "SMB-In (any)"}
        compliant.set_state(scenario_state("win-signing-off"))
        config = probe.run_json(HostQuery.SMB_SERVER_CONFIGURATION)
        assert isinstance(config, dict) and config["RequireSecuritySignature"] is False
    finally:
        probe.close()


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_scan_open_and_refused(
    compliant: Double, scheme: str, listening: int, refusing: int
) -> None:
    probe = compliant.probe(scheme)
    targets = [Target("127.0.0.1", listening), Target("127.0.0.1", refusing)]
    try:
        opened, refused = probe.scan(ScanJob(targets, 2.0, 16))
    finally:
        probe.close()
    assert (opened.target, opened.state, opened.errno) == (targets[0], ConnectState.OPEN, None)
    assert (refused.target, refused.state, refused.errno) == (
        targets[1],
        ConnectState.REFUSED,
        10061,
    )
    assert refused.detail == "ConnectionRefused"
    assert 0 <= opened.latency_ms < 2000


def test_a_big_batch_is_one_command_in_one_shell(
    compliant: Double, listening: int, refusing: int
) -> None:
    targets = [Target("127.0.0.1", refusing)] * 299 + [Target("127.0.0.1", listening)]
    log_before = len(compliant.log())
    probe = compliant.probe()
    try:
        results = probe.scan(ScanJob(targets, 2.0, 64))
        probe.run_json(HostQuery.SMB1_FEATURE)
    finally:
        probe.close()
    assert [r.target for r in results] == targets
    assert [r.state for r in results] == [ConnectState.REFUSED] * 299 + [ConnectState.OPEN]
    log = compliant.log()[log_before:]
    assert log.count(" Create shell=") == 1
    assert log.count("kind=reach\n") == 1  # the Command line; its Receive says kind=reach exit=0


def test_test_netconnection_mode(compliant: Double, listening: int, refusing: int) -> None:
    probe = compliant.probe(test_netconnection=True)
    try:
        opened, closed = probe.scan(
            ScanJob([Target("127.0.0.1", listening), Target("127.0.0.1", refusing)], 2.0, 16)
        )
    finally:
        probe.close()
    assert opened.state is ConnectState.OPEN
    assert closed.state is ConnectState.FILTERED
    assert "cannot tell refused from filtered" in closed.detail


def test_https_against_the_wrong_ca_is_a_tls_error(compliant: Double, tmp_path: Path) -> None:
    other = make_lab_ca(tmp_path / "other", "win1", ["127.0.0.1"])
    probe = compliant.probe("https", ca_bundle=other.ca)
    error = probe_error(probe)
    assert "TLS" in str(error) and "CERTIFICATE_VERIFY_FAILED" in str(error)


def test_https_without_verification_is_loud(
    compliant: Double, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    other = make_lab_ca(tmp_path / "other", "win1", ["127.0.0.1"])
    with caplog.at_level(logging.WARNING, logger="smbtests.probes.winrm"):
        probe = compliant.probe("https", ca_bundle=other.ca, verify_tls=False)
    try:
        assert probe.run_json(HostQuery.SMB1_FEATURE) == default_state()["smb1_feature"]
    finally:
        probe.close()
    assert "TLS certificate verification is OFF" in caplog.text


def test_basic_needs_an_explicit_opt_in(compliant: Double) -> None:
    with pytest.raises(PolicyError, match="allow_basic"):
        compliant.settings("https", transport="basic")
    with pytest.raises(PolicyError, match="https"):
        compliant.settings("http", transport="basic", allow_basic=True)
    probe = compliant.probe("https", transport="basic", allow_basic=True)
    try:
        assert probe.run_json(HostQuery.SMB1_FEATURE) == default_state()["smb1_feature"]
    finally:
        probe.close()


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_wrong_password(compliant: Double, scheme: str) -> None:
    error = probe_error(compliant.probe(scheme, password="Wrong-canary-7f3e"))
    assert "rejected the credentials" in str(error) and USER in str(error)
    assert "Wrong-canary-7f3e" not in str(error)


def test_auth_broken_scenario(compliant: Double) -> None:
    compliant.set_state(scenario_state("win-auth-broken"))
    assert "rejected the credentials" in str(probe_error(compliant.probe()))


def test_soap_fault_errors_and_the_next_call_starts_clean(compliant: Double) -> None:
    probe = compliant.probe()
    try:
        probe.run_json(HostQuery.SMB1_FEATURE)
        # Delete the probe's shell behind its back, as an idle timeout on the host would.
        assert probe._protocol is not None and probe._shell_id is not None
        probe._protocol.close_shell(probe._shell_id, close_session=False)
        error = probe_error(probe)
        assert "shell not found" in str(error) and "2150858843" in str(error)
        assert probe.run_json(HostQuery.SMB1_FEATURE) == default_state()["smb1_feature"]
    finally:
        probe.close()


def with_stdout(kind: str, text: str) -> dict[str, object]:
    state = default_state()
    state["lab_faults"]["stdout"][kind] = text
    return state


def test_output_that_is_not_json(compliant: Double) -> None:
    compliant.set_state(with_stdout("smb1-feature", "WARNING: profile loaded\r\n{"))
    assert "printed no JSON" in str(probe_error(compliant.probe()))


def test_json_of_the_wrong_shape(compliant: Double) -> None:
    compliant.set_state(with_stdout("smb1-feature", '{"FeatureName":"SMB1Protocol"}'))
    assert "lacks State" in str(probe_error(compliant.probe()))


def test_reach_output_for_other_targets(compliant: Double, listening: int) -> None:
    row = {"i": 0, "host": "10.9.9.9", "port": 445, "state": "open", "errno": None}
    row |= {"latency_ms": 1.0, "detail": "connected"}
    compliant.set_state(with_stdout("reach", json.dumps([row])))
    error = probe_error(
        compliant.probe(), "scan", ScanJob([Target("127.0.0.1", listening)], 1.0, 4)
    )
    assert "expected 127.0.0.1" in str(error)


def test_powershell_error(compliant: Double) -> None:
    state = default_state()
    del state["smb1_feature"]
    compliant.set_state(state)
    error = probe_error(compliant.probe())
    assert "PowerShell exited 1" in str(error) and "Cannot answer smb1-feature" in str(error)


def test_a_stalled_command_times_out_and_the_probe_recovers(compliant: Double) -> None:
    state = default_state()
    state["lab_faults"]["stall"] = ["smb-server-configuration"]
    compliant.set_state(state)
    probe = compliant.probe(operation_timeout=1, read_timeout=3, command_timeout=1.5)
    try:
        started = time.monotonic()
        error = probe_error(probe, "run_json", HostQuery.SMB_SERVER_CONFIGURATION)
        assert time.monotonic() - started < 6
        assert "did not finish within 1.5 s" in str(error)
        assert probe.run_json(HostQuery.SMB1_FEATURE) == default_state()["smb1_feature"]
    finally:
        probe.close()


def test_an_endpoint_that_never_answers(compliant: Double) -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # the kernel completes the handshake; nobody ever reads the request
    try:
        probe = compliant.probe(port=silent.getsockname()[1], operation_timeout=1, read_timeout=2)
        started = time.monotonic()
        error = probe_error(probe)
        assert time.monotonic() - started < 6
        assert "did not answer within 2 s" in str(error)
    finally:
        silent.close()


def test_an_endpoint_that_refuses(compliant: Double, refusing: int) -> None:
    error = probe_error(compliant.probe(port=refusing))
    assert "cannot connect to http://127.0.0.1" in str(error) and "refused" in str(error)


def test_the_password_never_leaks(
    compliant: Double, tmp_path: Path, caplog: pytest.LogCaptureFixture, listening: int
) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    probe = compliant.probe()
    texts.append(repr(probe))
    probe.run_json(HostQuery.FIREWALL_PROFILES)
    probe.scan(ScanJob([Target("127.0.0.1", listening)], 1.0, 4))
    probe.close()
    other = make_lab_ca(tmp_path / "other", "win1", ["127.0.0.1"])
    compliant.set_state(with_stdout("smb1-feature", "not json"))
    for failing in (
        compliant.probe(password=compliant.password + "x"),
        compliant.probe("https", ca_bundle=other.ca),
        compliant.probe(),
        compliant.probe(
            "https", transport="basic", allow_basic=True, password="x" + compliant.password
        ),
    ):
        error = probe_error(failing)
        texts += [str(error), repr(error), repr(failing)]
    basic = base64.b64encode(f"{USER}:{compliant.password}".encode()).decode()
    texts += [caplog.text, compliant.log()]
    for text in texts:
        assert compliant.password not in text
        assert basic not in text
    assert "DOUBLE" in compliant.log()
    assert "TlRMTVNTUA" not in caplog.text + compliant.log()  # base64 of an NTLM message header
