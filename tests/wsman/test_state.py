"""The double's state: the compliant host, and scenarios that each change only what they name."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from smbtests.lab.wsman import (
    SCENARIO_FIELDS,
    SCENARIOS,
    default_state,
    read_state,
    scenario_state,
    write_state,
)


def changed_paths(old: Any, new: Any, prefix: str = "") -> set[str]:
    """Dotted paths that differ; list items by index, items appended as `<list>.+`."""
    if isinstance(old, dict) and isinstance(new, dict):
        paths: set[str] = set()
        for key in old.keys() | new.keys():
            if key not in old or key not in new:
                paths.add(f"{prefix}{key}")
            else:
                paths |= changed_paths(old[key], new[key], f"{prefix}{key}.")
        return paths
    if isinstance(old, list) and isinstance(new, list):
        paths = set()
        for index, (a, b) in enumerate(zip(old, new, strict=False)):
            paths |= changed_paths(a, b, f"{prefix}{index}.")
        if len(new) > len(old):
            paths.add(f"{prefix}+")
        if len(new) < len(old):
            paths.add(f"{prefix}-")
        return paths
    return set() if old == new and type(old) is type(new) else {prefix.rstrip(".")}


def matches(path: str, pattern: str) -> bool:
    parts, wanted = path.split("."), pattern.split(".")
    return len(parts) == len(wanted) and all(
        w == p or (w == "*" and p.isdigit()) for p, w in zip(parts, wanted, strict=True)
    )


def test_every_scenario_declares_its_fields() -> None:
    assert SCENARIOS.keys() == SCENARIO_FIELDS.keys()
    assert set(SCENARIOS) == {
        "win-smb1-enabled",
        "win-signing-off",
        "win-firewall-logging-off",
        "win-445-allow-any",
        "win-auth-broken",
        "win-dialect-floor-lowered",
        "win-rate-limiter-off",
        "win-ntlm-allowed",
        "win-restrictive-open",
        "win-public-profile-445",
        "win-outbound-445-blocked",
    }


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_changes_exactly_its_fields(name: str) -> None:
    before = default_state()
    after = SCENARIOS[name](before)
    changed = changed_paths(before, after)
    declared = SCENARIO_FIELDS[name]
    assert changed, f"{name} changed nothing"
    for path in changed:
        assert any(matches(path, pattern) for pattern in declared), f"{name} changed {path}"
    for pattern in declared:
        assert any(matches(path, pattern) for path in changed), f"{name} left {pattern} alone"
    assert before == default_state(), "a scenario must not change the state it was given"


def test_compliant_host_is_hardened() -> None:
    state = default_state()
    smb = state["smb_server_configuration"]
    assert smb["EnableSMB1Protocol"] is False
    assert smb["RequireSecuritySignature"] is True and smb["EnableSecuritySignature"] is True
    assert smb["EncryptData"] is False
    assert state["smb1_feature"] == {"FeatureName": "SMB1Protocol", "State": "Disabled"}
    assert state["auth_broken"] is False
    assert [p["Name"] for p in state["firewall_profiles"]] == ["Domain", "Private", "Public"]
    for profile in state["firewall_profiles"]:
        assert profile["Enabled"] == "True"
        assert profile["DefaultInboundAction"] == "Block"
        assert profile["LogBlocked"] == "True"
        assert profile["LogFileName"] == "%systemroot%\\system32\\LogFiles\\Firewall\\pfirewall.log"
        assert profile["LogMaxSizeKilobytes"] == 16384
    smb_rules = [r for r in state["firewall_rules"] if "445" in r["LocalPort"]]
    assert [r["DisplayName"] for r in smb_rules] == ["SMB-In (corp servers)"]
    (scoped,) = smb_rules
    assert scoped["RemoteAddress"] == ["10.45.20.0/255.255.255.0"]
    assert (scoped["Direction"], scoped["Action"], scoped["Profile"]) == (
        "Inbound",
        "Allow",
        "Domain",
    )
    assert not [
        r
        for r in state["firewall_rules"]
        if r["RemoteAddress"] == ["Any"] and r["Enabled"] == "True" and "445" in r["LocalPort"]
    ]


def test_445_allow_any_adds_an_enabled_any_rule() -> None:
    (added,) = [
        r
        for r in SCENARIOS["win-445-allow-any"](default_state())["firewall_rules"]
        if r["DisplayName"] == "SMB-In (any)"
    ]
    assert added["RemoteAddress"] == ["Any"] and added["Enabled"] == "True"
    assert added["LocalPort"] == ["445"] and added["Action"] == "Allow"


def test_scenario_state_and_compliant() -> None:
    assert scenario_state("compliant") == default_state()
    assert scenario_state("win-auth-broken")["auth_broken"] is True


def test_state_file_round_trip_is_atomic(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    write_state(path, scenario_state("win-signing-off"))
    assert read_state(path) == scenario_state("win-signing-off")
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]  # no temporary left behind


def test_read_state_refuses_other_json(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"hello": "world"}))
    with pytest.raises(ValueError, match="not a WS-Management double state file"):
        read_state(path)
