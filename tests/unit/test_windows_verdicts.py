"""Windows configuration verdicts, judged from cmdlet-shaped readings (the double's states)."""

from __future__ import annotations

import csv
import dataclasses
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from smbtests import records
from smbtests.checks import drift as drift_kind
from smbtests.checks.base import Check, Facts, SmbNeed
from smbtests.checks.registry import build_plan, judge, kind_of
from smbtests.checks.verdicts import Outcome, Verdict
from smbtests.checks.win_445_scope import approved_sources, beyond, merged, remote_interval
from smbtests.config import DIALECTS, load
from smbtests.config.environment import SmbVantage
from smbtests.errors import ProbeError
from smbtests.lab.wsman.state import SCENARIOS, default_state
from smbtests.observations import (
    EncryptionObservation,
    HostQuery,
    NegotiateResult,
    SessionResult,
    Smb1Result,
    WindowsObservation,
)
from smbtests.reports import evidence

ROOT = Path(__file__).resolve().parents[2]
TODAY = date(2026, 11, 26)


@pytest.fixture(scope="module")
def windows_env(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The lab environment plus win1 as a Windows endpoint and a Windows server for fs1."""
    folder = tmp_path_factory.mktemp("env")
    data = yaml.safe_load((ROOT / "environments" / "lab.yaml").read_text())
    data["policy"] = str(ROOT / "environments" / "lab-policy.yaml")
    data.pop("policy_overlay", None)
    data["probes"]["win1"] = {
        "segment": "corp",
        "transport": "winrm",
        "address": "10.45.20.22",
        "port": 5986,
        "ca_bundle": "/run/smbtests-lab/win1/ca.pem",
        "credential": {"username": "labadmin", "password_env": "SMBTESTS_LAB_WIN_PASSWORD"},
        "control": {"address": "10.45.10.10", "port": 8000},
    }
    data["windows_hosts"] = {
        "win1": {
            "probe": "win1",
            "role": "endpoint",
            "hardening": {"min_dialect": "3.0", "block_ntlm": True},
        },
        "fs1-windows": {
            "winrm": {
                "address": "10.45.10.11",
                "ca_bundle": "fs1-ca.pem",
                "credential": {"username": "labadmin", "password_env": "SMBTESTS_LAB_WIN_PASSWORD"},
            },
            "role": "server",
            "smb_host": "fs1",
            "remote_access": True,
        },
    }
    path = folder / "lab-win.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture(scope="module")
def plan(windows_env: Path) -> tuple[Any, dict[str, Check]]:
    config = load(windows_env)
    return config, {c.id: c for c in build_plan(config, TODAY)}


def readings(state: dict[str, Any]) -> dict[str, object]:
    return {
        "smb-server-configuration": state["smb_server_configuration"],
        "smb1-feature": state["smb1_feature"],
        "firewall-profiles": state["firewall_profiles"],
        "firewall-rules-445": [r for r in state["firewall_rules"] if "445" in r["LocalPort"]],
        "smb-certificate-mapping": state["smb_certificate_mapping"],
        "smb-server-limits": state["smb_server_limits"],
        "smb-client-configuration": state["smb_client_configuration"],
        "network-profiles": state["network_profiles"],
        "smb-client-access": state["smb_client_access"],
    }


def verdicts(
    plan: tuple[Any, dict[str, Check]],
    host: str,
    change: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    wire: WindowsObservation | None = None,
) -> dict[str, Outcome]:
    config, checks = plan
    state = default_state() if change is None else change(default_state())
    observation = WindowsObservation(
        readings(state), *(() if wire is None else (wire.wire_smb1, wire.wire_negotiations))
    )
    return {
        c.kind: judge(c, observation, config.policy, TODAY).outcome
        for c in checks.values()
        if c.host == host and c.kind.startswith("win-")
    }


def test_plan_has_windows_checks_per_role(plan: tuple[Any, dict[str, Check]]) -> None:
    config, checks = plan
    win1 = sorted(c.kind for c in checks.values() if c.host == "win1")
    assert win1 == [
        "win-445-rules",
        "win-auth-limiter",
        "win-dialect",
        "win-firewall",
        "win-firewall-log",
        "win-guest-logons",
        "win-ntlm",
        "win-profile",
        "win-restrictive",
        "win-signing",
        "win-smb1",
    ]
    fs1 = sorted(c.kind for c in checks.values() if c.host == "fs1-windows")
    assert fs1 == [
        "drift",
        "win-445-rules",
        "win-445-scope",
        "win-auth-limiter",
        "win-dialect",
        "win-encryption",
        "win-firewall",
        "win-firewall-log",
        "win-guest-logons",
        "win-profile",
        "win-quic",
        "win-quic-access",
        "win-restrictive",
        "win-signing",
        "win-smb1",
    ]
    assert checks["win-firewall:win1"].marker == "smb_deployment"
    assert str(checks["win-firewall:win1"].batch) == "win:win1"
    assert all(set(kind_of(c).needs(c, config)) for c in checks.values() if c.host == "win1")


def test_compliant_endpoint_passes(plan: tuple[Any, dict[str, Check]]) -> None:
    assert set(verdicts(plan, "win1").values()) == {Outcome.PASSED}


@pytest.mark.parametrize(
    ("scenario", "failing"),
    [
        ("win-smb1-enabled", {"win-smb1"}),
        ("win-signing-off", {"win-signing"}),
        ("win-firewall-logging-off", {"win-firewall-log"}),
        ("win-445-allow-any", {"win-445-rules"}),
        ("win-dialect-floor-lowered", {"win-dialect"}),
        ("win-rate-limiter-off", {"win-auth-limiter"}),
        ("win-ntlm-allowed", {"win-ntlm"}),
        ("win-restrictive-open", {"win-restrictive"}),
        # the corp rule now applies in Public, which is in force: live, so win-profile's alone
        ("win-public-profile-445", {"win-profile"}),
    ],
)
def test_each_win_scenario_fails_exactly_its_check(
    plan: tuple[Any, dict[str, Check]], scenario: str, failing: set[str]
) -> None:
    seen = verdicts(plan, "win1", SCENARIOS[scenario])
    assert {k for k, v in seen.items() if v is Outcome.FAILED} == failing
    assert {k for k, v in seen.items() if v is not Outcome.FAILED} == set(seen) - failing


def test_builds_without_the_2025_settings(plan: tuple[Any, dict[str, Check]]) -> None:
    """Server 2016-2022 lack the floor, the limiter and BlockNTLM: reported null, judged."""

    def older(state: dict[str, Any]) -> dict[str, Any]:
        state["smb_server_limits"] = dict.fromkeys(state["smb_server_limits"])
        state["smb_client_configuration"]["BlockNTLM"] = None
        return state

    seen = verdicts(plan, "win1", older)
    assert seen["win-dialect"] is Outcome.FAILED  # no floor of its own, the policy wants 3.0
    assert seen["win-auth-limiter"] is Outcome.FAILED
    assert seen["win-ntlm"] is Outcome.FAILED
    assert verdicts(plan, "fs1-windows", older)["win-dialect"] is Outcome.PASSED  # 2.0.2 asked


def test_signing_message_names_the_server_2025_default(plan: tuple[Any, dict[str, Check]]) -> None:
    config, checks = plan
    state = SCENARIOS["win-signing-off"](default_state())
    verdict = judge(
        checks["win-signing:win1"], WindowsObservation(readings(state)), config.policy, TODAY
    )
    assert "Windows Server 2025 requires signing by default only outbound" in verdict.message


def test_smb1_audit_switch_counts_where_it_exists(plan: tuple[Any, dict[str, Check]]) -> None:
    def audit(value: object) -> Callable[[dict[str, Any]], dict[str, Any]]:
        def change(state: dict[str, Any]) -> dict[str, Any]:
            state["smb_server_configuration"]["AuditSmb1Access"] = value
            return state

        return change

    assert verdicts(plan, "win1", audit(False))["win-smb1"] is Outcome.FAILED
    assert verdicts(plan, "win1", audit(None))["win-smb1"] is Outcome.PASSED


def test_server_may_allow_445_from_named_addresses_only(plan: tuple[Any, dict[str, Check]]) -> None:
    assert verdicts(plan, "fs1-windows")["win-445-rules"] is Outcome.PASSED
    opened = verdicts(plan, "fs1-windows", SCENARIOS["win-445-allow-any"])
    assert opened["win-445-rules"] is Outcome.FAILED


def corp_rule_from(
    *remote: str, enabled: str = "True"
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def change(state: dict[str, Any]) -> dict[str, Any]:
        (corp,) = [
            r for r in state["firewall_rules"] if r["DisplayName"] == "SMB-In (corp servers)"
        ]
        corp.update(RemoteAddress=list(remote), Enabled=enabled)
        return state

    return change


def scope(plan: tuple[Any, dict[str, Check]], change: Any = None, today: date = TODAY) -> Verdict:
    config, checks = plan
    state = default_state() if change is None else change(default_state())
    observation = WindowsObservation(readings(state))
    return judge(checks["win-445-scope:fs1-windows"], observation, config.policy, today)


def test_server_445_rules_stay_within_the_approved_sources(
    plan: tuple[Any, dict[str, Check]],
) -> None:
    _, checks = plan
    assert "win-445-scope:win1" not in checks  # an endpoint: win-445-rules speaks for it
    assert checks["win-445-scope:fs1-windows"].rule == (
        "inbound 445 allow rules admit only the approved sources of fs1 (corp, mgmt) "
        "and its unexpired exceptions'"
    )
    compliant = scope(plan)
    assert compliant.outcome is Outcome.PASSED and compliant.observed == "within-approved"
    # corp and mgmt as Windows writes them: masks, a bare address, a range inside corp
    inside = corp_rule_from("10.45.20.0/255.255.255.0", "10.45.0.7", "10.45.20.10-10.45.20.99")
    assert scope(plan, inside).outcome is Outcome.PASSED
    assert scope(plan, corp_rule_from("fd45:0:0:20::/64", "fd45::1")).outcome is Outcome.PASSED
    # a range typed too long runs into guest: win-445-rules does not see it, this does
    widened = corp_rule_from("10.45.20.0-10.45.30.255")
    assert verdicts(plan, "fs1-windows", widened)["win-445-rules"] is Outcome.PASSED
    verdict = scope(plan, widened)
    assert verdict.outcome is Outcome.FAILED and verdict.observed == "beyond-approved"
    assert (
        "'SMB-In (corp servers)' allows 445 from 10.45.20.0-10.45.30.255: 10.45.21.0-10.45.30.255 "
        "beyond the approved sources (corp, mgmt)" in verdict.message
    )
    masked = scope(plan, corp_rule_from("10.45.0.0/255.255.0.0"))
    assert "10.45.1.0-10.45.19.255, 10.45.21.0-10.45.255.255 beyond" in masked.message
    keyword = scope(plan, corp_rule_from("LocalSubnet"))
    assert keyword.outcome is Outcome.FAILED
    assert "LocalSubnet (a keyword, not an address) beyond" in keyword.message
    assert scope(plan, corp_rule_from("Any")).outcome is Outcome.FAILED
    # a disabled rule admits nothing
    assert scope(plan, corp_rule_from("Any", enabled="False")).outcome is Outcome.PASSED


def test_approved_sources_union_and_exceptions(plan: tuple[Any, dict[str, Check]]) -> None:
    v4 = [remote_interval(n) for n in ("10.45.0.0/24", "10.45.1.0/255.255.255.0")]
    approved = merged(i for i in v4 if i is not None)
    assert len(approved) == 1  # adjacent networks merge: a /23 the two cover is within
    wide = remote_interval("10.45.0.0/255.255.254.0")
    assert wide is not None and beyond(wide, approved) == []
    wider = remote_interval("10.45.0.0/22")
    assert wider is not None
    assert [remote_interval("10.45.2.0/23")] == beyond(wider, approved)
    assert remote_interval("10.45.20.9-10.45.20.1") is None
    assert remote_interval("Intranet") is None
    policy = plan[0].policy  # without the lab's overlay, which a running lab may have written
    assert approved_sources(policy, "print1", TODAY) == ["corp", "mgmt", "10.45.40.41/32"]
    assert approved_sources(policy, "print1", date(2027, 9, 1)) == ["corp", "mgmt"]


def test_quic_needs_switch_and_certificate(plan: tuple[Any, dict[str, Check]]) -> None:
    def quic(state: dict[str, Any]) -> dict[str, Any]:
        state["smb_server_configuration"]["EnableSMBQUIC"] = True
        state["smb_certificate_mapping"]["Mappings"] = [
            {"Name": "fs1.contoso.com", "Subject": "CN=fs1"}
        ]
        return state

    assert verdicts(plan, "fs1-windows")["win-quic"] is Outcome.FAILED
    assert verdicts(plan, "fs1-windows", quic)["win-quic"] is Outcome.PASSED


def quic_access(
    *mappings: dict[str, Any], supported: bool = True
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def change(state: dict[str, Any]) -> dict[str, Any]:
        state["smb_client_access"] = {"Supported": supported, "Mappings": list(mappings)}
        return state

    return change


def mapping(required: bool = True, *access: str) -> dict[str, Any]:
    """A certificate mapping as Get-SmbClientAccessToServer reports its entries."""
    entries = [
        {"IdentifierType": "ISSUER", "Identifier": f"CN=Corp CA {n}", "Access": a}
        for n, a in enumerate(access)
    ]
    return {"Name": "fs1.corp.example", "RequireClientAuthentication": required, "Entries": entries}


def test_quic_client_access_control_where_remote_access_is_declared(
    plan: tuple[Any, dict[str, Check]],
) -> None:
    config, checks = plan
    assert "win-quic-access:win1" not in checks  # win1 declares no remote access

    def seen(change: Any) -> Verdict:
        state = change(default_state())
        observation = WindowsObservation(readings(state))
        return judge(checks["win-quic-access:fs1-windows"], observation, config.policy, TODAY)

    granted = seen(quic_access(mapping(True, "Allow", "Deny")))
    assert granted.outcome is Outcome.PASSED and granted.observed == "quic-access-on"
    for change, words in (
        (lambda state: state, "no SMB server certificate mapping"),
        (quic_access(mapping(False, "Allow")), "does not require client authentication"),
        (quic_access(mapping(True, "Deny")), "grants no client"),
        (quic_access(mapping(True)), "grants no client"),
        (quic_access(supported=False), "this build has no SMB over QUIC client access control"),
    ):
        verdict = seen(change)
        assert verdict.outcome is Outcome.FAILED and words in verdict.message
        assert verdict.observed == "quic-access-off"


def wire(
    smb1_accepted: bool, signing_mode: int, dialects: tuple[str, ...] = ("3.0", "3.0.2", "3.1.1")
) -> WindowsObservation:
    """What the runner's negotiates showed: SMB1, and each SMB2/3 dialect accepted or refused
    (the compliant state's floor is SMB300, its ceiling SMB311)."""
    negotiations = tuple(
        NegotiateResult(d, d in dialects, d if d in dialects else None, signing_mode, "")
        for d in DIALECTS
    )
    return WindowsObservation({}, Smb1Result(smb1_accepted, ""), negotiations)


def drift(plan: tuple[Any, dict[str, Check]], change: Any, observed: WindowsObservation) -> Verdict:
    config, checks = plan
    state = default_state() if change is None else change(default_state())
    observation = WindowsObservation(
        readings(state), observed.wire_smb1, observed.wire_negotiations
    )
    return judge(checks["drift:fs1-windows"], observation, config.policy, TODAY)


def test_drift_between_wire_and_configuration(plan: tuple[Any, dict[str, Check]]) -> None:
    assert drift(plan, None, wire(False, 3)).outcome is Outcome.PASSED
    verdict = drift(plan, None, wire(True, 3))
    assert verdict.outcome is Outcome.FAILED
    assert "config EnableSMB1Protocol=False but the wire accepted SMB1" in verdict.message
    signing = drift(plan, SCENARIOS["win-signing-off"], wire(False, 3))
    assert signing.outcome is Outcome.FAILED
    assert "RequireSecuritySignature=False but the wire requires signing" in signing.message
    assert drift(plan, None, WindowsObservation({}, None, ())).outcome is Outcome.ERROR


def limits(**values: str | None) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def change(state: dict[str, Any]) -> dict[str, Any]:
        state["smb_server_limits"].update(values)
        return state

    return change


def test_drift_in_the_dialects(plan: tuple[Any, dict[str, Check]]) -> None:
    agree = drift(plan, None, wire(False, 3))
    assert agree.outcome is Outcome.PASSED and "dialects 3.0 to 3.1.1" in agree.message
    # the wire still takes 2.0.2 although the configuration's floor is SMB300
    lower = drift(plan, None, wire(False, 3, ("2.0.2", "2.1", "3.0", "3.0.2", "3.1.1")))
    assert lower.outcome is Outcome.FAILED
    assert (
        "config Smb2DialectMin=SMB300 (3.0) but the lowest dialect the wire accepted is 2.0.2"
        in lower.message
    )
    # the configuration was lowered, the wire was not: the setting did not apply
    lowered = drift(plan, SCENARIOS["win-dialect-floor-lowered"], wire(False, 3))
    assert lowered.outcome is Outcome.FAILED and "Smb2DialectMin=SMB202 (2.0.2)" in lowered.message
    capped = drift(plan, limits(Smb2DialectMax="SMB302"), wire(False, 3))
    assert capped.outcome is Outcome.FAILED
    assert "the highest dialect the wire accepted is 3.1.1" in capped.message
    # "None" sets no limit: every SMB2 dialect is admitted
    open_ended = limits(Smb2DialectMin="None", Smb2DialectMax="None")
    assert drift(plan, open_ended, wire(False, 3, DIALECTS)).outcome is Outcome.PASSED
    assert drift(plan, open_ended, wire(False, 3)).outcome is Outcome.FAILED
    # a build without the settings has nothing to compare: SMB1 and signing still are
    old_build = limits(Smb2DialectMin=None, Smb2DialectMax=None)
    assert drift(plan, old_build, wire(False, 3, ("2.0.2",))).outcome is Outcome.PASSED
    assert drift(plan, old_build, wire(True, 3, ("2.0.2",))).outcome is Outcome.FAILED


def test_own_connection_paths_anchor_to_the_environment(
    plan: tuple[Any, dict[str, Check]], windows_env: Path
) -> None:
    config, checks = plan
    host = config.environment.windows_hosts["fs1-windows"]
    assert host.winrm.ca_bundle == windows_env.parent / "fs1-ca.pem"
    assert checks["drift:fs1-windows"].probe is None
    assert str(checks["drift:fs1-windows"].batch) == "win:fs1-windows"


def test_windows_host_needs_exactly_one_connection(windows_env: Path, tmp_path: Path) -> None:
    from smbtests.errors import PolicyError

    data = yaml.safe_load(windows_env.read_text())
    data["windows_hosts"]["win1"]["winrm"] = data["windows_hosts"]["fs1-windows"]["winrm"]
    broken = tmp_path / "both.yaml"
    broken.write_text(yaml.safe_dump(data))
    with pytest.raises(PolicyError, match=r"windows_hosts\.win1: give exactly one of"):
        load(broken)


@pytest.mark.parametrize(
    ("change", "outcome", "observed"),
    [(None, "passed", "smb1-off"), (SCENARIOS["win-smb1-enabled"], "failed", "smb1-on")],
)
def test_smb1_word_in_the_bundle_records(
    plan: tuple[Any, dict[str, Check]],
    tmp_path: Path,
    change: Callable[[dict[str, Any]], dict[str, Any]] | None,
    outcome: str,
    observed: str,
) -> None:
    """The word says what the host does: SMB1 off passes as `smb1-off`, read back from the
    evidence bundle's records.csv as an auditor would."""
    config, checks = plan
    check = checks["win-smb1:win1"]
    state = default_state() if change is None else change(default_state())
    observation = WindowsObservation(readings(state))
    verdict = judge(check, observation, config.policy, TODAY)
    entry = records.record(check, verdict, records.as_plain(observation), None)
    document = records.document(
        config,
        {check.id: entry},
        as_of=TODAY.isoformat(),
        started="2026-11-26T10:00:00",
        finished="2026-11-26T10:00:01",
        exit_status=0,
        versions={},
    )
    results = tmp_path / "results.json"
    records.write(results, document)
    evidence.build_bundle(records.load_results(results), tmp_path / "bundle")
    with (tmp_path / "bundle" / "records.csv").open(newline="") as stream:
        (row,) = csv.DictReader(stream)
    assert (row["id"], row["outcome"], row["observed"]) == ("win-smb1:win1", outcome, observed)


def test_an_outbound_445_block_on_the_windows_vantage_makes_closed_an_error() -> None:
    """Closes the positive control's known limit: the vantage's own rule, not the network."""
    import dataclasses

    from smbtests.checks import reach
    from smbtests.checks.verdicts import Judging
    from smbtests.lab.wsman.current import SCENARIOS as CURRENT
    from smbtests.observations import ConnectResult, ConnectState, ReachObservation, Target

    config = load(ROOT / "environments" / "lab.yaml")
    check = next(c for c in build_plan(config, TODAY) if c.id == "reach:win1/inet-smb:445")
    assert HostQuery.FIREWALL_OUTBOUND_445 in reach.needs(check, config)
    assert check.target is not None
    control = ConnectResult(Target("10.45.10.10", 8000), ConnectState.OPEN, None, 1.0, "")
    dropped = ConnectResult(check.target, ConnectState.FILTERED, None, 1500.0, "")
    clean = ReachObservation(dropped, control, "win1", default_state()["firewall_outbound"])
    judging = Judging(config.policy, TODAY)
    assert reach.judge(check, clean, judging).outcome is Outcome.PASSED
    blocked = CURRENT["win-outbound-445-blocked"](default_state())["firewall_outbound"]
    verdict = reach.judge(check, dataclasses.replace(clean, vantage_outbound=blocked), judging)
    assert verdict.outcome is Outcome.ERROR
    assert "'Block outbound SMB' blocks TCP 445" in verdict.message
    default_block = default_state()["firewall_outbound"]
    default_block["Profiles"][0]["DefaultOutboundAction"] = "Block"
    obs = dataclasses.replace(clean, vantage_outbound=default_block)
    assert reach.judge(check, obs, judging).outcome is Outcome.ERROR
    ssh_check = next(c for c in build_plan(config, TODAY) if c.id == "reach:corp1/fs1:445")
    assert HostQuery.FIREWALL_OUTBOUND_445 not in reach.needs(ssh_check, config)


@pytest.mark.parametrize("category", ["DomainAuthenticated", "Private", "Public"])
@pytest.mark.parametrize("profile", ["Domain", "Private", "Public", "Domain, Public", "Any"])
def test_an_endpoint_445_rule_is_reported_once(
    plan: tuple[Any, dict[str, Check]], category: str, profile: str
) -> None:
    """win-profile (in force now) and win-445-rules (latent) never report the same exposure:
    on an endpoint every win-profile failure is a rule in the Public profile with Public in
    force, which win-445-rules leaves to it; its other profiles stay win-445-rules' own."""

    def change(state: dict[str, Any]) -> dict[str, Any]:
        state["network_profiles"][0]["NetworkCategory"] = category
        (corp,) = [r for r in state["firewall_rules"] if "445" in r["LocalPort"]]
        corp["Profile"] = profile
        return state

    seen = verdicts(plan, "win1", change)
    live = category == "Public" and ("Public" in profile or profile == "Any")
    latent = "Private" in profile or profile == "Any" or ("Public" in profile and not live)
    assert (seen["win-profile"] is Outcome.FAILED) == live
    assert (seen["win-445-rules"] is Outcome.FAILED) == latent


CAPABLE = SessionResult("3.1.1", True, True, ("data",), None, "OK", opened_shares=("data",))
PLAIN_OPENS = SessionResult("2.1", True, True, ("data",), None, "OK", opened_shares=("data",))
PLAIN_REFUSED = SessionResult(
    "2.1", True, True, (), None, "OK", failed_shares=(("data", "STATUS_ACCESS_DENIED"),)
)
CAPABLE_FAILS = SessionResult("3.1.1", False, False, (), None, "STATUS_LOGON_FAILURE")


def encrypting(state: dict[str, Any]) -> dict[str, Any]:
    state["smb_server_configuration"].update(EncryptData=True, RejectUnencryptedAccess=True)
    return state


@pytest.mark.parametrize(
    ("change", "capable", "plain", "outcome", "words"),
    [
        (None, CAPABLE, PLAIN_OPENS, Outcome.PASSED, "encryption optional"),
        (encrypting, CAPABLE, PLAIN_REFUSED, Outcome.PASSED, "encryption required"),
        # the configuration demands it, the wire lets the account in unencrypted: not applied
        (
            encrypting,
            CAPABLE,
            PLAIN_OPENS,
            Outcome.FAILED,
            "config EncryptData=True, RejectUnencryptedAccess=True but the wire opened",
        ),
        # the wire demands what the configuration does not say (a share-level setting)
        (None, CAPABLE, PLAIN_REFUSED, Outcome.FAILED, "EncryptData=False, "),
        # the account's 3.x session proves nothing: encryption was planned and not compared
        (encrypting, CAPABLE_FAILS, PLAIN_REFUSED, Outcome.ERROR, "encryption not compared"),
        (
            lambda state: SCENARIOS["win-signing-off"](encrypting(state)),
            CAPABLE_FAILS,
            PLAIN_REFUSED,
            Outcome.FAILED,
            "RequireSecuritySignature=False but the wire requires",
        ),
    ],
)
def test_drift_in_encryption(
    plan: tuple[Any, dict[str, Check]],
    change: Any,
    capable: SessionResult,
    plain: SessionResult,
    outcome: Outcome,
    words: str,
) -> None:
    base = wire(False, 3)
    observed = WindowsObservation(
        {}, base.wire_smb1, base.wire_negotiations, EncryptionObservation(capable, plain, "u")
    )
    config, checks = plan
    state = default_state() if change is None else change(default_state())
    observation = WindowsObservation(
        readings(state),
        observed.wire_smb1,
        observed.wire_negotiations,
        observed.wire_encryption,
    )
    verdict = judge(checks["drift:fs1-windows"], observation, config.policy, TODAY)
    assert verdict.outcome is outcome and words in verdict.message


def test_drift_reads_the_account_sessions_only_when_there_is_an_account(
    plan: tuple[Any, dict[str, Check]],
) -> None:
    config, checks = plan
    check = checks["drift:fs1-windows"]
    assert SmbNeed.ACCOUNT_UNENCRYPTED in kind_of(check).needs(check, config)
    environment = config.environment.model_copy(update={"smb": SmbVantage()})
    anonymous = dataclasses.replace(config, environment=environment)
    assert SmbNeed.ACCOUNT not in kind_of(check).needs(check, anonymous)


def drift_with_sessions(
    plan: tuple[Any, dict[str, Check]], account: object, unencrypted: object
) -> Verdict:
    """drift:fs1-windows judged from a compliant wire and configuration and these values of
    the account's two sessions (planned: the lab has an account and declared shares)."""
    config, checks = plan
    check = checks["drift:fs1-windows"]
    base = wire(False, 3)
    values: dict[Any, object] = {q: readings(default_state())[str(q)] for q in drift_kind.READINGS}
    values |= {SmbNeed.SMB1: base.wire_smb1, SmbNeed.NEGOTIATIONS: base.wire_negotiations}
    values[SmbNeed.SOURCE] = "10.45.20.99"
    values |= {SmbNeed.ACCOUNT: account, SmbNeed.ACCOUNT_UNENCRYPTED: unencrypted}
    observation = kind_of(check).observe(check, Facts(values))
    assert isinstance(observation, WindowsObservation) and observation.wire_encryption is None
    return judge(check, observation, config.policy, TODAY)


def test_a_failed_account_session_errs_drift_and_names_what_was_compared(
    plan: tuple[Any, dict[str, Check]],
) -> None:
    verdict = drift_with_sessions(plan, ProbeError("runner", "login refused"), PLAIN_OPENS)
    assert verdict.outcome is Outcome.ERROR
    assert "encryption not compared: the account's sessions failed" in verdict.message
    assert "the rest agrees" in verdict.message and "signing required" in verdict.message


def test_planned_account_sessions_without_a_result_err_drift(
    plan: tuple[Any, dict[str, Check]],
) -> None:
    """Planned, yet no session's result: never a pass."""
    verdict = drift_with_sessions(plan, None, None)
    assert verdict.outcome is Outcome.ERROR and "gave no result" in verdict.message


def firewall_drift(
    plan: tuple[Any, dict[str, Check]], change: Any, source: str | None, answered: bool = True
) -> Verdict:
    config, checks = plan
    state = default_state() if change is None else change(default_state())
    base = wire(False, 3) if answered else WindowsObservation({}, None, ())
    observation = WindowsObservation(
        readings(state), base.wire_smb1, base.wire_negotiations, wire_source=source
    )
    return judge(checks["drift:fs1-windows"], observation, config.policy, TODAY)


def public_category(state: dict[str, Any]) -> dict[str, Any]:
    state["network_profiles"][0]["NetworkCategory"] = "Public"
    return state


def firewall_off(state: dict[str, Any]) -> dict[str, Any]:
    for profile in state["firewall_profiles"]:
        profile["Enabled"] = "False"
    return state


def test_drift_between_the_firewall_and_the_wire(plan: tuple[Any, dict[str, Check]]) -> None:
    """The compliant state admits 445 from corp (10.45.20.0/24) in the Domain profile only."""
    admitted = firewall_drift(plan, None, "10.45.20.99")
    assert admitted.outcome is Outcome.PASSED
    assert "'SMB-In (corp servers)' admits 10.45.20.99 in the Domain profile" in admitted.message
    # no rule admits the runner's address, yet SMB answered it: the firewall is not in force
    blocked = firewall_drift(plan, None, "10.45.0.10")
    assert blocked.outcome is Outcome.FAILED
    assert "admits 445 from 10.45.0.10 by no rule, but the wire answered" in blocked.message
    # a Public interface takes the Public profile, where the Domain rule is not in force
    public = firewall_drift(plan, public_category, "10.45.20.99")
    assert public.outcome is Outcome.FAILED and "the Public profile in force" in public.message
    # the firewall switched off: it blocks nothing, so an answer agrees
    assert firewall_drift(plan, firewall_off, "10.45.0.10").outcome is Outcome.PASSED
    # no address to compare (an old results file, a probe vantage): the rest still is
    assert firewall_drift(plan, None, None).outcome is Outcome.PASSED
    assert "firewall not compared" in firewall_drift(plan, None, None).message


def test_the_reverse_firewall_drift_stays_an_error(plan: tuple[Any, dict[str, Check]]) -> None:
    """Admitted by the configuration but silent on the wire: the network between may drop it,
    so one vantage cannot judge it; the error names the rule that admits it."""
    silent = firewall_drift(plan, None, "10.45.20.99", answered=False)
    assert silent.outcome is Outcome.ERROR
    assert "the configuration admits 10.45.20.99 ('SMB-In (corp servers)'" in silent.message
