"""The lean per-item protocol (plugins/lean.py) writes what pytest's whole protocol writes:
the same outcomes and messages, JUnit XML, Allure results and warnings, on a scenario with
passes, failures, errors and a warning. Only what the lab itself varies between two runs (times,
uuids, measured milliseconds) is normalised away."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from smbtests.dates import utc_today
from smbtests.lab.paths import POLICY_OVERLAY
from tests.conftest import Lab
from tests.engine.test_live_suite import run_suite

CASE_NAME = re.compile(r' name="([^"]*)"')
NUMBERS = re.compile(r"\d+(\.\d+)?")  # times, durations, counts a second run may measure anew
# deny records: the router's log grows with every run, so the second run reads more lines
VOLATILE = {"uuid", "start", "stop", "source", "time", "timestamp", "hostname", "deny_records"}


def normalised(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: normalised(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [normalised(v) for v in value if not _thread_label(v)]
    if isinstance(value, bool) or value is None:
        return value
    return NUMBERS.sub("N", str(value))


def _thread_label(value: Any) -> bool:
    return isinstance(value, dict) and value.get("name") == "thread"


SWEEP_TEXTS = {"description", "steps", "statusDetails", "attachments"}


def steady(check: str) -> bool:
    """A sweep's or a discovery's count of refused and unreachable addresses varies between
    two runs (the router's ICMP answers are rate-limited): their records and JUnit cases are
    compared by outcome, their Allure results without the texts that carry the counts."""
    return re.match(r"(test_policy\[)?'?(sweep|discovery):", check) is None


def allure_results(directory: Path) -> dict[str, Any]:
    found = {}
    for path in directory.glob("*-result.json"):
        result = json.loads(path.read_text())
        check = next(p["value"] for p in result["parameters"] if p["name"] == "smb_check")
        if not steady(check):  # all but the texts that carry the counts
            result = {k: v for k, v in result.items() if k not in SWEEP_TEXTS}
        found[check] = normalised(result)
    return found


def records(document: dict[str, Any]) -> dict[str, Any]:
    return {c["id"]: normalised(c) if steady(c["id"]) else c["outcome"] for c in document["checks"]}


def junit(path: Path) -> dict[str, Any]:
    """Each test case by its name (not its classname, which every case shares); the closing
    tags after the last case are not part of it (the cases' order may differ: plugins/ready.py)."""
    text = re.sub(r'(time|timestamp|hostname)="[^"]*"', "", path.read_text())
    text = text.split("</testsuite>")[0]
    cases = [CASE_NAME.split(case, 1)[1:] for case in text.split("<testcase ")[1:]]
    return {name: normalised(rest) if steady(name) else _verdict(rest) for name, rest in cases}


def _verdict(case: str) -> str:
    found = re.search(r"<(failure|error|skipped)\b", case)
    return found.group(1) if found else "passed"


def same(lean: dict[str, Any], full: dict[str, Any]) -> None:
    """Equal, or the first check that differs, both ways, named."""
    assert lean.keys() == full.keys()
    differing = sorted(key for key in lean if lean[key] != full[key])
    for key in differing[:1]:
        raise AssertionError(f"{differing}: {lean[key]} != {full[key]}")


def warnings_summary(stdout: str) -> str:
    return NUMBERS.sub("N", stdout.split("warnings summary", 1)[-1].split("-- Docs")[0])


@pytest.mark.lab
def test_lean_protocol_writes_what_the_full_protocol_writes(lab: Lab, tmp_path: Path) -> None:
    runs = {}
    soon = utc_today() + timedelta(days=7)  # an exception about to expire passes with a warning
    with lab.scenario("approved-path-blocked"):
        POLICY_OVERLAY.write_text(f"exceptions:\n  - id: EXC-0001\n    expires: {soon}\n")
        try:
            for mode, extra in (("lean", ()), ("full", ("--smb-full-protocol",))):
                out = tmp_path / mode
                reports = ("--alluredir", str(out / "allure"), "--junitxml", str(out / "junit.xml"))
                done, document = run_suite(lab, out / "results.json", *reports, *extra)
                runs[mode] = (done, document, out)
        finally:
            POLICY_OVERLAY.unlink(missing_ok=True)
    (lean, lean_doc, lean_out), (full, full_doc, full_out) = runs["lean"], runs["full"]
    outcomes = {c["id"]: c["outcome"] for c in lean_doc["checks"]}
    assert {"passed", "failed", "error"} <= set(outcomes.values())
    same(records(lean_doc), records(full_doc))
    same(junit(lean_out / "junit.xml"), junit(full_out / "junit.xml"))
    lean_allure = allure_results(lean_out / "allure")
    assert len(lean_allure) == len(outcomes)
    same(lean_allure, allure_results(full_out / "allure"))
    assert "SmbPolicyWarning" in lean.stdout
    assert warnings_summary(lean.stdout) == warnings_summary(full.stdout)
    assert lean.returncode == full.returncode == 1
