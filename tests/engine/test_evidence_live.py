"""Audit evidence from real lab runs: a rollout diff that names exactly what changed, Allure
results labelled per seed step, a baseline comparison, and a bundle that detects tampering."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from smbtests.reports.html import external_urls
from tests.conftest import Lab
from tests.engine.test_live_suite import PLANNED, ROOT, run_suite

SMBTESTS = [sys.executable, "-m", "smbtests.cli"]


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
    guest = next(r for r in results if "reach:guest1/fs1:445" in r["name"])
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
