"""plugins/allure_writer.py: Allure's own result format, identical attachments written once."""

from __future__ import annotations

import errno
import io
import json
from pathlib import Path

import attr
import pytest
from allure_commons import model2

from plugins.allure_files import plain
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


def test_uuids_are_distinct_version_4_uuids_across_batches() -> None:
    import uuid

    from plugins.allure_writer import Uuids

    fresh = Uuids()
    many = [fresh() for _ in range(600)]  # more than two batches of 256
    assert len(set(many)) == 600
    assert all(uuid.UUID(u).version == 4 and str(uuid.UUID(u)) == u for u in many)


def test_evidence_steps_are_passed_steps_with_their_attachment_first_in_the_test(
    tmp_path: Path,
) -> None:
    from allure_commons.types import AttachmentType

    writer = LeanAllureWriter(tmp_path)
    test = model2.TestResult(uuid="u1", name="check", steps=[model2.TestStepResult(name="body")])
    vantage = ("probe: from mgmt", "vantage", '{"vantage": "mgmt"}', AttachmentType.JSON)
    writer.steps(
        test,
        [
            ("plan: rule", "policy rule", "{}", AttachmentType.JSON),
            vantage,
            ("judge: passed", None, "", AttachmentType.TEXT),
        ],
    )
    other = model2.TestResult(uuid="u2", name="other")
    writer.steps(other, [vantage])  # the same vantage: one file for both
    writer.report_result(test)
    writer.report_result(other)
    writer.close()
    assert writer.error is None
    results = [json.loads(p.read_text()) for p in tmp_path.glob("*-result.json")]
    first, second = sorted(results, key=lambda r: r["uuid"])
    plan, probe, judge, _ = first["steps"]
    assert [s["name"] for s in first["steps"]] == [
        "plan: rule", "probe: from mgmt", "judge: passed", "body",
    ]  # fmt: skip
    assert plan["status"] == probe["status"] == judge["status"] == "passed"
    assert list(plan) == ["name", "status", "attachments", "start", "stop"]
    (attachment,) = plan["attachments"]
    assert attachment["name"] == "policy rule" and attachment["type"] == "application/json"
    assert (tmp_path / attachment["source"]).read_text() == "{}"
    assert attachment["source"].endswith("-attachment.json")
    assert "attachments" not in judge and plan["start"] == plan["stop"]
    assert second["steps"][0]["attachments"] == probe["attachments"]
    assert len(list(tmp_path.glob("*-attachment.json"))) == 2


def test_a_file_that_cannot_be_written_is_kept_as_the_error_and_the_rest_still_written(
    tmp_path: Path,
) -> None:
    writer = LeanAllureWriter(tmp_path)
    (tmp_path / "blocked-attachment.txt").mkdir()  # the name is taken by a folder
    writer.report_attached_data(body=b"x", file_name="blocked-attachment.txt")
    writer.report_attached_data(body=b"y", file_name="fine-attachment.txt")
    writer.flush()
    assert isinstance(writer.error, OSError)
    assert (tmp_path / "fine-attachment.txt").read_bytes() == b"y"  # the writer lives on
    writer.close()


def test_a_file_cut_short_by_a_full_disk_is_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from plugins import allure_files

    written: list[bytes] = []

    def full_after_one_byte(handle: int, data: memoryview) -> int:
        if written:
            raise OSError(errno.ENOSPC, "No space left on device")
        written.append(bytes(data[:1]))
        return 1

    monkeypatch.setattr("plugins.allure_files.os.write", full_after_one_byte)
    with pytest.raises(OSError, match="No space"):
        allure_files.write_file(f"{tmp_path}/", "a-result.json", b"{}")
    assert written == [b"{"] and list(tmp_path.iterdir()) == []


def test_plain_is_what_attrs_asdict_makes_of_a_result() -> None:
    result = model2.TestResult(name="guest1 -> fs1:445 must be closed", uuid="u", status="failed")
    result.statusDetails = model2.StatusDetails(message="Failed: open", trace="open")
    result.labels.append(model2.Label(name="tag", value="env:lab"))
    result.parameters.append(model2.Parameter(name="port", value="445"))
    step = model2.TestStepResult(name="observe: open", status="passed", start=1, stop=2)
    step.attachments.append(model2.Attachment(source="a.json", name="observation", type="json"))
    result.steps.append(step)
    result.titlePath = ["plugins", "live.py"]
    expected = attr.asdict(result, filter=lambda _, v: v or v is False)
    assert plain(result) == expected
    assert plain(result)["steps"][0]["attachments"][0]["source"] == "a.json"


def test_the_writer_process_answers_each_flush_after_the_files_before_it(tmp_path: Path) -> None:
    from plugins import allure_files

    def frame(kind: bytes, name: str = "", data: bytes = b"") -> bytes:
        header = allure_files.HEADER.pack(kind, len(name.encode()), len(data))
        return header + name.encode() + data

    frames = io.BytesIO(
        frame(b"W", "a-result.json", b"{}")
        + frame(b"F")
        + frame(b"W", "missing/b-result.json", b'{"b": 1}')  # its folder does not exist
        + frame(b"W", "c-result.json", b"[]")
    )  # then the input ends without C: what was sent is written, and answered
    answers = io.BytesIO()
    allure_files.serve(str(tmp_path), frames, answers)
    first, last = answers.getvalue().splitlines()
    assert first == b"ok"
    number, _, name = last.decode().split("\t")
    assert int(number) == errno.ENOENT and name.endswith("missing/b-result.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-result.json", "c-result.json"]


def test_a_writer_process_that_ended_early_is_the_error(tmp_path: Path) -> None:
    writer = LeanAllureWriter(tmp_path)
    writer.report_attached_data(body=b"x", file_name="a-attachment.txt")
    writer.flush()
    assert writer._process is not None and writer.error is None
    writer._process.kill()
    writer._process.wait()
    writer.report_result(_result([]))
    writer.close()
    assert isinstance(writer.error, OSError)


def test_a_writer_that_writes_nothing_starts_no_process(tmp_path: Path) -> None:
    writer = LeanAllureWriter(tmp_path)  # an xdist controller's: the workers write the results
    writer.flush()
    writer.close()
    assert writer._process is None and writer.error is None


def test_an_attachment_whose_first_copy_failed_is_written_by_the_next_identical_one(
    tmp_path: Path,
) -> None:
    from plugins import allure_files

    files = allure_files.Files(str(tmp_path))
    (tmp_path / "a-attachment.json").mkdir()  # the first copy cannot be written
    files.take(allure_files.WRITE, "a-attachment.json", b"{}")
    files.take(allure_files.WRITE, "b-attachment.json", b"{}")
    assert files.failure and (tmp_path / "b-attachment.json").read_bytes() == b"{}"


def test_steps_held_twice_for_one_test_are_all_kept(tmp_path: Path) -> None:
    import pickle

    from plugins import allure_files

    files = allure_files.Files(str(tmp_path))
    for title in ("plan: rule", "judge: passed"):
        steps = pickle.dumps((1, [(title, None, b"", "text/plain", "txt")]))
        files.take(allure_files.STEPS, "u1", steps)
    result = model2.TestResult(uuid="u1", name="check")
    files.take(allure_files.RESULT, "u1-result.json", pickle.dumps(result))
    written = json.loads((tmp_path / "u1-result.json").read_text())
    assert [s["name"] for s in written["steps"]] == ["plan: rule", "judge: passed"]


def test_deny_records_skip_a_result_cut_short_and_reach_the_others(tmp_path: Path) -> None:
    from plugins.allure_report import _attach_deny_records

    (tmp_path / "cut-result.json").write_text('{"name": "guest1 -> fs1:44')
    whole = {"name": "x", "parameters": [{"name": "smb_check", "value": "'reach:g/fs1:445'"}]}
    (tmp_path / "whole-result.json").write_text(json.dumps(whole))
    deny = {"deny_records": {"status": "seen", "lines": ["DROP"]}}
    _attach_deny_records(tmp_path, {"reach:g/fs1:445": deny})
    (attachment,) = json.loads((tmp_path / "whole-result.json").read_text())["attachments"]
    assert attachment["name"] == "deny records: seen"
