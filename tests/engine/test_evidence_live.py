"""Audit evidence from real lab runs: a rollout diff that names exactly what changed, Allure
results labelled per seed step, a baseline comparison, a bundle that detects tampering, the
router's deny records on the closed paths, and the assessor's audit document."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from smbtests.reports.html import external_urls
from smbtests.reports.offline import external_references
from tests.conftest import Lab
from tests.engine.test_live_suite import PLANNED, ROOT, run_suite

SMBTESTS = [sys.executable, "-m", "smbtests.cli"]


def by_check(results: list[dict[str, Any]], check_id: str) -> dict[str, Any]:
    """The Allure result of one check, found by its `smb_check` parameter (not its title)."""
    return next(
        r
        for r in results
        if {"name": "smb_check", "value": repr(check_id)} in r["parameters"]
        or {"name": "smb_check", "value": check_id} in r["parameters"]
    )


def smbtests(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SMBTESTS, *args], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.lab
def test_rollout_diff_baseline_allure_and_bundle(lab: Lab, tmp_path: Path) -> None:
    before, after = tmp_path / "before.json", tmp_path / "after.json"
    allure = tmp_path / "allure"
    run_suite(lab, before)
    with lab.scenario("guest-445-open"):
        done, _ = run_suite(lab, after, "--baseline", str(before), "--alluredir", str(allure))

    assert "changed since baseline" in done.stdout
    assert re.search(r"deny records: \d+ closed paths, \d+ matched, \d+ with no deny", done.stdout)
    assert "reach:guest1/fs1:445: newly open: passed/filtered -> failed/open" in done.stdout

    diff = smbtests("diff", str(before), str(after), "--format", "json")
    assert diff.returncode == 1
    changes = json.loads(diff.stdout)["changes"]
    assert [(c["id"], c["change"]) for c in changes] == [("reach:guest1/fs1:445", "newly open")]

    results = [json.loads(p.read_text()) for p in allure.glob("*-result.json")]
    assert len(results) == PLANNED
    for result in results:
        labels = {label["name"] for label in result["labels"]}
        assert {"epic", "feature", "story", "severity", "tag"} <= labels, result["name"]
        names = [p["name"] for p in result["parameters"]]
        assert names[0] == "smb_check"
        steps = [s["name"].split(":")[0] for s in result["steps"]]
        assert steps == ["plan", "probe", "observe", "judge"], result["name"]
        # titles say the rule in words; pytest's function name never shows
        assert not result["name"].startswith("test_policy["), result["name"]
        assert "Policy: " in result["description"], result["name"]
    guest = by_check(results, "reach:guest1/fs1:445")
    assert guest["name"] == "guest1 -> fs1:445 must be closed"
    assert "untrusted segment guest must not reach SMB hosts" in guest["description"]
    assert by_check(results, "smb1:fs1")["name"] == "fs1: SMB1 negotiation is refused"
    assert guest["status"] == "failed"
    assert {"name": "epic", "value": "2 Perimeter and untrusted zones"} in guest["labels"]
    properties = (allure / "environment.properties").read_text()
    assert "environment = lab" in properties and "policy.sha256 = " in properties
    assert json.loads((allure / "categories.json").read_text())[0]["name"] == (
        "Exception governance"
    )

    # the auditor's HTML report from this very run: built offline, no outside URL in it
    html = tmp_path / "html"
    report = smbtests("report", str(allure), "-o", str(html))
    assert report.returncode == 0, report.stderr
    assert external_urls(html) == []
    assert (html / "index.html").is_file()

    bundle = tmp_path / "bundle"
    built = smbtests("evidence", str(after), "-o", str(bundle), "--allure-results", str(allure))
    assert built.returncode == 0, built.stderr
    assert smbtests("evidence", "verify", str(bundle)).returncode == 0
    records = bundle / "records.csv"
    data = bytearray(records.read_bytes())
    data[10] ^= 0x01
    records.write_bytes(bytes(data))
    tampered = smbtests("evidence", "verify", str(bundle))
    assert tampered.returncode == 1
    assert "CHANGED records.csv" in tampered.stdout

    _deny_records_and_audit(tmp_path, before, after, allure)


AUDIT_PARTS = (
    "1. Summary",
    "2. Scope",
    "3. Methodology",
    "4. Segment &times; host matrix",
    "5. Every flow tested",
    "6. Hardening per host",
    "7. Exceptions",
    "8. Changes since the previous test",
    "9. Allow-list proposals",
    "10. Integrity (SHA-256)",
)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _deny_records_and_audit(tmp_path: Path, before: Path, after: Path, allure: Path) -> None:
    compliant = {c["id"]: c for c in json.loads(before.read_text())["checks"]}
    deny = compliant["reach:guest1/fs1:445"]["deny_records"]
    assert deny["status"] == "matched", deny
    assert deny["logs_read"] == ["router", "win1-firewall"], deny  # win1's read over WinRM
    assert {(r["source"], r["destination"], r["port"]) for r in deny["records"]} == {
        ("10.45.30.31", "10.45.10.11", 445)
    }
    assert "smblab-deny guest" in deny["records"][0]["line"]
    results = [json.loads(p.read_text()) for p in allure.glob("*-result.json")]
    denied = by_check(results, "reach:guest1/dc1:445")
    assert "deny records: matched" in [a["name"] for a in denied["attachments"]]

    out = tmp_path / "audit"
    made = smbtests(
        "audit", str(after), "--previous", str(before), "-o", str(out),
        "--tester", "Lab Tester", "--independence", "not part of network operations",
        "--change", "CHG-0042",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    html = (out / "audit" / "audit.html").read_text()
    for part in (*AUDIT_PARTS, "Lab Tester", "CHG-0042", "WN19-SO-000190", "EXC-0001"):
        assert part in html, part
    assert (out / "audit" / "audit.pdf").read_bytes().startswith(b"%PDF")
    assert external_references(out / "audit") == []
    document = json.loads((out / "audit" / "audit.json").read_text())
    column = document["columns"].index(["fs1", 445])
    guest = next(row for row in document["matrix"] if row["probe"] == "guest1")
    cell = guest["cells"][column]
    assert (cell["observed"], cell["outcome"], cell["changed"]) == ("open", "failed", "newly open")
    unchanged = [c for row in document["matrix"] for c in row["cells"] if c and c["changed"]]
    assert len(unchanged) == 1
    assert document["hashes"]["results"] == _sha256(after) == _sha256(out / "results.json")
    assert document["hashes"]["manifest"] == _sha256(out / "MANIFEST.sha256")
    assert document["hashes"]["policy"] == _sha256(out / "inputs" / "lab-policy.yaml")
    assert document["hashes"]["environment"] == _sha256(out / "inputs" / "lab.yaml")
    assert smbtests("evidence", "verify", str(out)).returncode == 0
