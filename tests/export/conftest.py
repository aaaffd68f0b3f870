"""Results files written by the tests, shaped like the ones the plugin writes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

Record = dict[str, Any]
WriteResults = Callable[..., Path]


def record(check_id: str, outcome: str, step: int = 2, **extra: Any) -> Record:
    return {
        "id": check_id,
        "kind": check_id.split(":")[0],
        "step": step,
        "rule": f"rule of {check_id}",
        "outcome": outcome,
        "observed": "open" if outcome == "failed" else "filtered",
        "message": "the one-line message (never exported)",
        "expect": "closed",
        "warning": extra.pop("warning", None),
        "evidence": {"detail": "never exported"},
        **extra,
    }


COMPLIANT = [
    record("reach:guest1/fs1:445", "passed"),
    record("reach:corp1/fs1:445", "passed", step=3),
    record("smb1:dc1", "passed", step=4),
    record("exception:EXC-0001", "passed", step=7),
]


@pytest.fixture
def write_results(tmp_path: Path) -> WriteResults:
    """write_results(records, finished=..., exit_status=...) -> the results file's path."""

    def write(
        records: list[Record],
        finished: str = "2026-11-26T10:00:05+00:00",
        exit_status: int = 0,
        name: str = "results.json",
    ) -> Path:
        path = tmp_path / name
        path.write_text(
            json.dumps(
                {
                    "format": "smbtests-results/1",
                    "environment": "lab",
                    "policy_sha256": "ab" * 32,
                    "started": "2026-11-26T10:00:00+00:00",
                    "finished": finished,
                    "exit_status": exit_status,
                    "versions": {"smbtests": "0.1.0"},
                    "checks": records,
                }
            )
        )
        return path

    return write
