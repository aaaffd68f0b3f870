"""Policy and environment loading: every kind of error names file, line, key and fix."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from smbtests.config import load, resolve_environment_path
from smbtests.errors import PolicyError
from smbtests.secrets import read_secret

ENVIRONMENTS = Path(__file__).resolve().parents[2] / "environments"
Editor = Callable[[str, Callable[[dict], None]], Path]


def test_lab_files_load_and_resolve() -> None:
    config = load(ENVIRONMENTS / "lab.yaml")
    assert config.environment.name == "lab"
    assert sorted(config.policy.smb_hosts) == ["dc1", "fs1", "print1"]
    assert re.fullmatch(r"[0-9a-f]{64}", config.policy_sha256)
    assert config.policy.baseline_for("fs1").encryption == "required"
    assert config.policy.baseline_for("dc1").encryption == "optional"


def test_typo_in_segment_reference_suggests_the_name(edit: Editor) -> None:
    env = edit("lab.yaml", lambda d: d["probes"]["guest1"].update(segment="gest"))
    with pytest.raises(PolicyError) as info:
        load(env)
    message = str(info.value)
    assert "lab.yaml:" in message
    assert "probes.guest1.segment" in message
    assert "unknown segment `gest`; did you mean `guest`?" in message


def test_unknown_key_is_rejected_with_line_and_suggestion(lab_files: Path) -> None:
    env = lab_files / "lab.yaml"
    text = env.read_text().replace("  connect_timeout: 1.5", "  conect_timeout: 1.5")
    env.write_text(text)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "conect_timeout" in row)
    with pytest.raises(PolicyError) as info:
        load(env)
    message = str(info.value)
    assert f"lab.yaml:{line}:3: timing.conect_timeout: unknown key `conect_timeout`" in message
    assert "did you mean `connect_timeout`?" in message


def test_missing_required_key_is_named(edit: Editor) -> None:
    env = edit("lab-policy.yaml", lambda d: d["exceptions"][0].pop("owner"))
    expected = r"lab-policy\.yaml:\d+:\d+: exceptions\[0\]\.owner: required key `owner` is missing"
    with pytest.raises(PolicyError, match=expected):
        load(env)


def test_unknown_host_in_approved_path(edit: Editor) -> None:
    env = edit("lab-policy.yaml", lambda d: d["approved_paths"][0]["to"].append("fs2"))
    with pytest.raises(PolicyError, match=r"approved_paths\[0\]\.to\[3\]: unknown SMB host `fs2`"):
        load(env)


def test_probe_without_control_is_refused(edit: Editor) -> None:
    env = edit("lab.yaml", lambda d: d["probes"]["corp1"].pop("control"))
    with pytest.raises(PolicyError, match=r"probes\.corp1\.control: every probe needs a positive"):
        load(env)


def test_host_outside_scope_is_refused(edit: Editor) -> None:
    env = edit("lab.yaml", lambda d: d.update(scope=["10.45.0.0/24", "198.51.100.0/24"]))
    with pytest.raises(PolicyError, match=r"outside the (environment's )?scope"):
        load(env)


def test_bad_address_value(edit: Editor) -> None:
    env = edit("lab-policy.yaml", lambda d: d["smb_hosts"]["fs1"].update(address="10.45.10.300"))
    with pytest.raises(PolicyError, match=r"smb_hosts\.fs1\.address: .*fix the value"):
        load(env)


def test_yaml_syntax_error_names_line(lab_files: Path) -> None:
    policy = lab_files / "lab-policy.yaml"
    policy.write_text(policy.read_text() + "\nbroken: [unclosed\n")
    with pytest.raises(PolicyError, match=r"lab-policy\.yaml:\d+:\d+: YAML syntax error"):
        load(lab_files / "lab.yaml")


def test_yaml_1_1_traps_are_explained(lab_files: Path) -> None:
    policy = lab_files / "lab-policy.yaml"
    text = policy.read_text()
    policy.write_text(text.replace('min_dialect: "2.0.2"', "min_dialect: 3.0"))
    with pytest.raises(PolicyError, match=r"YAML read `3\.0` as a number: write it in quotes"):
        load(lab_files / "lab.yaml")
    policy.write_text(text.replace("  signing: required", "\tsigning: required"))
    with pytest.raises(PolicyError, match="a tab character; YAML indents with spaces only"):
        load(lab_files / "lab.yaml")


def test_merge_keys_merge(lab_files: Path) -> None:
    policy = lab_files / "lab-policy.yaml"
    text = policy.read_text().replace(
        "hardening:\n  smb1: refused", "hardening: &base\n  smb1: refused"
    )
    policy.write_text(
        text.replace(
            "hardening_by_role:\n",
            "hardening_by_role:\n  dc:\n    <<: *base\n    encryption: required\n",
        )
    )
    loaded = load(lab_files / "lab.yaml")
    dc = loaded.policy.hardening_by_role["dc"]
    assert (dc.smb1, dc.signing, dc.encryption) == ("refused", "required", "required")


def test_duplicate_key_is_refused(lab_files: Path) -> None:
    policy = lab_files / "lab-policy.yaml"
    policy.write_text(policy.read_text() + "\nname: twice\n")
    with pytest.raises(PolicyError, match="key `name` appears twice"):
        load(lab_files / "lab.yaml")


def test_basic_auth_needs_opt_in(edit: Editor) -> None:
    def add_winrm(d: dict) -> None:
        d["probes"]["win1"] = {
            "segment": "corp",
            "transport": "winrm",
            "address": "10.45.20.22",
            "winrm_auth": "basic",
            "credential": {"username": "labadmin", "password_env": "SMBTESTS_LAB_WIN_PASSWORD"},
            "control": {"address": "10.45.10.10", "port": 8000},
        }

    with pytest.raises(PolicyError, match="allow_basic: true"):
        load(edit("lab.yaml", add_winrm))


def test_overlay_moves_expiry(lab_files: Path) -> None:
    (lab_files / "overlay.yaml").write_text(
        "exceptions:\n  - id: EXC-0001\n    expires: 2026-10-01\n"
    )
    config = load(lab_files / "lab.yaml")
    assert config.overlay_applied
    assert str(config.policy.exceptions[0].expires) == "2026-10-01"
    plain = load(ENVIRONMENTS / "lab.yaml")
    assert config.policy_sha256 != plain.policy_sha256


def test_overlay_naming_unknown_exception_is_refused(lab_files: Path) -> None:
    (lab_files / "overlay.yaml").write_text(
        "exceptions:\n  - id: EXC-9999\n    expires: 2026-10-01\n"
    )
    with pytest.raises(PolicyError, match="must name an existing `id`"):
        load(lab_files / "lab.yaml")


def test_missing_secret_is_named_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    config = load(ENVIRONMENTS / "lab.yaml")
    credential = config.environment.smb.credential
    assert credential is not None
    monkeypatch.delenv(credential.password_env, raising=False)
    with pytest.raises(PolicyError, match="SMBTESTS_LAB_SMB_PASSWORD is not set"):
        read_secret(credential, "lab.yaml")
    monkeypatch.setenv(credential.password_env, "canary-s3cret")
    assert read_secret(credential, "lab.yaml") == "canary-s3cret"


def test_validation_errors_never_echo_input(edit: Editor) -> None:
    env = edit("lab.yaml", lambda d: d["smb"]["credential"].update(password_env="canary-s3cret"))
    with pytest.raises(PolicyError) as info:
        load(env)
    assert "canary-s3cret" not in str(info.value)


def test_environment_name_resolution(tmp_path: Path) -> None:
    assert resolve_environment_path("lab", ENVIRONMENTS) == ENVIRONMENTS / "lab.yaml"
    with pytest.raises(PolicyError, match="did you mean `lab`"):
        resolve_environment_path("lba", ENVIRONMENTS)
    assert resolve_environment_path("x/y.yaml", tmp_path) == Path("x/y.yaml")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("expires_on: 2025-02-30\n", "cannot read the value"),
        ("x: !!python/object:os.system echo\n", "cannot read the value"),
        ("x: \x07\n", "not readable as YAML"),
        ("? [a]\n: 1\n", "a key must be a plain name"),
    ],
)
def test_unreadable_yaml_is_one_message(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(PolicyError, match=expected) as info:
        load(path)
    assert str(path) in str(info.value)


def test_probe_address_must_lie_in_its_segment(edit: Editor) -> None:
    env = edit("lab.yaml", lambda d: d["probes"]["corp1"].update(segment="guest"))
    with pytest.raises(PolicyError, match=r"probes\.corp1\.segment: the probe's address 10\.45"):
        load(env)


def test_outbound_target_may_not_shadow_an_smb_host(edit: Editor) -> None:
    def clash(d: dict) -> None:
        d["perimeter"]["outbound_targets"]["fs1"] = {"address": "198.51.100.52"}

    with pytest.raises(PolicyError, match="`fs1` is also an SMB host"):
        load(edit("lab-policy.yaml", clash))


def test_paths_are_relative_to_the_environment_file(
    lab_files: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir("/")
    config = load(lab_files / "lab.yaml")
    assert config.policy_path == (lab_files / "lab-policy.yaml").resolve()
    assert config.environment.policy_overlay == (lab_files / "overlay.yaml")
