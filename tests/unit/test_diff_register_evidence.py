"""Rollout diff, exceptions register and evidence bundles, from results files."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from smbtests.config import load
from smbtests.errors import SmbtestsError
from smbtests.records import load_results
from smbtests.reports import coverage, diff, evidence, register

ENV = Path(__file__).resolve().parents[2] / "environments" / "lab.yaml"
CONFIG = load(ENV)


def record(check_id: str, outcome: str, observed: str, **extra: object) -> dict[str, object]:
    kind = check_id.split(":")[0]
    return {
        "id": check_id,
        "kind": kind,
        "step": 2,
        "rule": f"rule of {check_id}",
        "outcome": outcome,
        "observed": observed,
        "message": "m",
        "expect": extra.pop("expect", "closed"),
        "probe": extra.pop("probe", None),
        "host": extra.pop("host", None),
        "target": None,
        "warning": None,
        "evidence": {},
        **extra,
    }


def write(
    path: Path, records: list[dict[str, object]], started: str = "2026-11-26T10:00:00"
) -> Path:
    path.write_text(
        json.dumps(
            {
                "format": "smbtests-results/1",
                "environment": "lab",
                "environment_file": str(ENV),
                "policy_file": str(CONFIG.policy_path),
                "policy_sha256": CONFIG.policy_sha256,
                "as_of": "2026-11-26",
                "started": started,
                "checks": records,
            }
        )
    )
    return path


BASE = [
    record("reach:guest1/fs1:445", "passed", "filtered", probe="guest1", host="fs1"),
    record("reach:corp1/fs1:445", "passed", "open", expect="open", probe="corp1", host="fs1"),
    record("signing:print1", "passed", "required"),
    record("exception:EXC-0001", "passed", "active"),
]


def test_guest_path_opened_is_newly_open_and_worse(tmp_path: Path) -> None:
    after = [dict(r) for r in BASE]
    after[0] = record("reach:guest1/fs1:445", "failed", "open", probe="guest1", host="fs1")
    result = diff.diff_runs(
        load_results(write(tmp_path / "a.json", BASE)),
        load_results(write(tmp_path / "b.json", after)),
    )
    assert [(c.id, c.change) for c in result.changes] == [
        ("reach:guest1/fs1:445", diff.Change.NEWLY_OPEN)
    ]
    assert result.worse and result.unchanged == 3
    text = diff.render_text(result)
    assert (
        "NEWLY OPEN (1)" in text
        and "! reach:guest1/fs1:445: passed/filtered -> failed/open" in text
    )
    assert json.loads(diff.render_json(result))["worse"] is True
    assert "| `reach:guest1/fs1:445` |" in diff.render_markdown(result)


def test_categories(tmp_path: Path) -> None:
    after = [
        record("reach:guest1/fs1:445", "error", "filtered", probe="guest1", host="fs1"),
        record(
            "reach:corp1/fs1:445", "failed", "filtered", expect="open", probe="corp1", host="fs1"
        ),
        record("signing:print1", "failed", "optional"),
        record("exception:EXC-0001", "failed", "expired"),
        record("smb1:dc1", "passed", "refused"),
    ]
    result = diff.diff_runs(
        load_results(write(tmp_path / "a.json", BASE)),
        load_results(write(tmp_path / "b.json", after)),
    )
    assert {c.id: c.change for c in result.changes} == {
        "reach:guest1/fs1:445": diff.Change.NOW_UNPROVABLE,
        "reach:corp1/fs1:445": diff.Change.APPROVED_BROKEN,
        "signing:print1": diff.Change.HARDENING_FAILING,
        "exception:EXC-0001": diff.Change.EXCEPTION_CHANGED,
        "smb1:dc1": diff.Change.ADDED,
    }
    assert not next(c for c in result.changes if c.id == "smb1:dc1").worse


def test_identical_runs_are_not_worse(tmp_path: Path) -> None:
    result = diff.diff_runs(
        load_results(write(tmp_path / "a.json", BASE)),
        load_results(write(tmp_path / "b.json", BASE)),
    )
    assert not result.changes and not result.worse and result.unchanged == 4


def test_not_a_results_file_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text('{"hello": 1}')
    with pytest.raises(SmbtestsError, match="not an smbtests results file"):
        load_results(tmp_path / "x.json")
    with pytest.raises(SmbtestsError, match="no such results file"):
        load_results(tmp_path / "missing.json")


def test_register_statuses(tmp_path: Path) -> None:
    rows = register.build_register(CONFIG.policy, date(2026, 11, 26))
    assert [(r.id, r.status, r.days_left) for r in rows] == [("EXC-0001", "active", 278)]
    assert rows[0].last_observed_use == "not observed (no results file given)"
    unused = [record("exception:EXC-0001", "failed", "unused")]
    results = load_results(write(tmp_path / "r.json", unused))
    assert register.build_register(CONFIG.policy, date(2026, 11, 26), results)[0].status == "unused"
    assert register.build_register(CONFIG.policy, date(2027, 9, 1))[0].status == "expired"
    assert register.build_register(CONFIG.policy, date(2027, 8, 20))[0].status == "overdue"
    csv_text = register.render_csv(rows)
    assert csv_text.splitlines()[0].startswith("id,path,owner,approver,reason,ticket")
    assert "EXC-0001" in register.render_table(rows)


def test_bundle_verifies_and_catches_one_changed_byte(tmp_path: Path) -> None:
    results = load_results(write(tmp_path / "r.json", BASE))
    bundle = tmp_path / "bundle"
    evidence.build_bundle(results, bundle)
    names = {p.name for p in bundle.rglob("*")}
    assert {
        "methodology.md",
        "records.csv",
        "results.json",
        "exceptions.csv",
        "versions.json",
        evidence.MANIFEST,
        "lab.yaml",
        "lab-policy.yaml",
    } <= names
    assert evidence.verify_bundle(bundle).ok
    records = bundle / "records.csv"
    data = bytearray(records.read_bytes())
    data[-2] ^= 1
    records.write_bytes(bytes(data))
    (bundle / "extra.txt").write_text("x")
    (bundle / "versions.json").unlink()
    check = evidence.verify_bundle(bundle)
    assert (check.changed, check.added, check.missing) == (
        ("records.csv",),
        ("extra.txt",),
        ("versions.json",),
    )


def test_methodology_names_uncovered_pairs(tmp_path: Path) -> None:
    results = load_results(write(tmp_path / "r.json", BASE))
    cover = coverage.coverage(CONFIG, results)
    assert ("guest", "fs1", 445) in cover.probed and ("corp", "fs1", 445) in cover.probed
    assert ("servers", "fs1", 445) in cover.uncovered
    text = evidence.methodology(CONFIG, results, cover)
    assert "- servers -> fs1" in text
    assert "never a pass" in text
