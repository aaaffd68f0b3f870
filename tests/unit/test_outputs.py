"""Outputs are written in one step and checked before a run: a failed write never destroys
the previous valid file, and an unwritable path is a usage error before any probe runs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from smbtests.atomic import unwritable, write_text_atomically


def test_a_failed_write_keeps_the_previous_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "results.json"
    write_text_atomically(path, '{"valid": true}\n')

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        write_text_atomically(path, '{"valid": false, "truncated')
    assert path.read_text() == '{"valid": true}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]  # no temporary left


def test_unwritable_outputs_are_named(tmp_path: Path) -> None:
    assert unwritable(tmp_path / "new" / "deeper" / "results.json") is None
    assert unwritable(tmp_path) is None
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert unwritable(blocker / "results.json") == f"{blocker} is not a folder"
    assert unwritable(Path("/proc/results.json")) is not None


def test_the_results_document_is_written_as_json_dumps_would_write_it_in_utf_8(
    tmp_path: Path,
) -> None:
    import json

    from smbtests import records

    checks = [{"id": "reach:guest1/fs1:445", "evidence": {"b": [1, {}], "a": None}}, {"id": "é"}]
    for content in (
        {"b": [1, 2.5, {"z": None, "a": "é"}], "a": {"x": [True, False]}, "checks": checks},
        {"checks": [], "as_of": "2026-12-01", "z": {}},
    ):
        records.write(tmp_path / "r.json", content)
        expected = json.dumps(content, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        assert (tmp_path / "r.json").read_text(encoding="utf-8") == expected
    write_text_atomically(tmp_path / "p.txt", iter(["a", "b\n"]))
    assert (tmp_path / "p.txt").read_text() == "ab\n"
