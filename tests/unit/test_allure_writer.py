"""plugins/allure_writer.py: Allure's own result format, identical attachments written once."""

from __future__ import annotations

import json
from pathlib import Path

from allure_commons import model2

from plugins.allure_writer import LeanAllureWriter


def _result(sources: list[str]) -> model2.TestResult:
    step = model2.TestStepResult(
        name="probe", attachments=[model2.Attachment(name="v", source=s) for s in sources]
    )
    return model2.TestResult(uuid="u1", name="check", status="passed", steps=[step])


def test_an_identical_attachment_is_written_once_and_results_point_at_it(tmp_path: Path) -> None:
    writer = LeanAllureWriter(tmp_path)
    writer.report_attached_data(body='{"vantage": "mgmt"}', file_name="a-attachment.json")
    writer.report_attached_data(body='{"vantage": "mgmt"}', file_name="b-attachment.json")
    writer.report_attached_data(body='{"vantage": "mgmt"}', file_name="c-attachment.txt")
    writer.report_attached_data(body="other", file_name="d-attachment.json")
    writer.report_result(_result(["a-attachment.json", "b-attachment.json", "c-attachment.txt"]))
    writer.report_container(object())  # fixture containers are not written
    writer.flush()
    attachments = sorted(p.name for p in tmp_path.glob("*-attachment.*"))
    assert attachments == ["a-attachment.json", "c-attachment.txt", "d-attachment.json"]
    (result_file,) = tmp_path.glob("*-result.json")
    assert len(list(tmp_path.iterdir())) == 4
    result = json.loads(result_file.read_text())
    sources = [a["source"] for a in result["steps"][0]["attachments"]]
    assert sources == ["a-attachment.json", "a-attachment.json", "c-attachment.txt"]
    assert result["name"] == "check" and result["status"] == "passed"


def test_reports_after_a_flush_are_written_too(tmp_path: Path) -> None:
    writer = LeanAllureWriter(tmp_path)
    writer.flush()
    writer.report_attached_data(body=b"late", file_name="late-attachment.txt")
    writer.flush()
    assert (tmp_path / "late-attachment.txt").read_bytes() == b"late"
    assert not list(tmp_path.glob("*.tmp"))
