"""Turn the scanner's JSON records into ConnectResults, refusing anything malformed."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from smbtests.errors import BadOutputError
from smbtests.observations import ConnectResult, ConnectState, OnResult, Target


def scan_request(
    targets: Sequence[Target], timeout: float, concurrency: int, rate: float | None = None
) -> bytes:
    body = {
        "targets": [[t.host, t.port, t.source] for t in targets],
        "timeout": timeout,
        "concurrency": concurrency,
        "rate": rate,
    }
    return json.dumps(body).encode()


def parse_lines(probe: str, text: str) -> list[dict[str, Any]]:
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            raise BadOutputError(
                probe, f"scanner output line {number} is not JSON: {line[:80]!r}"
            ) from None
        if not isinstance(record, dict):
            raise BadOutputError(probe, f"scanner output line {number} is not a JSON object")
        records.append(record)
    return records


def record_result(probe: str, targets: Sequence[Target], record: dict[str, Any]) -> ConnectResult:
    """One scanner record as a result; a malformed record is a ProbeError."""
    try:
        target = targets[_index(record, len(targets))]
        err = record["errno"]
        return ConnectResult(
            target=target,
            state=ConnectState(record["state"]),
            errno=None if err is None else int(err),
            latency_ms=float(record["ms"]),
            detail=str(record["detail"])[:200],
        )
    except (KeyError, ValueError, TypeError, IndexError):
        raise BadOutputError(
            probe, f"scanner returned a malformed record: {record!r:.120}"
        ) from None


def _index(record: dict[str, Any], count: int) -> int:
    index = record["i"]
    if type(index) is not int or not 0 <= index < count:  # bool and -1 would index a target
        raise ValueError(index)
    return index


def results_from_records(
    probe: str, targets: Sequence[Target], records: Iterable[dict[str, Any]]
) -> list[ConnectResult]:
    """One result per target, in target order, then exactly one end marker; a missing, extra,
    repeated or late record is a ProbeError (two records for one target contradict each other
    or repeat: neither is evidence)."""
    results: dict[int, ConnectResult] = {}
    done: int | None = None
    for record in records:
        if done is not None:
            raise BadOutputError(probe, "scanner wrote after its end marker")
        if "done" in record:
            done = record["done"] if type(record["done"]) is int else -1
            continue
        result = record_result(probe, targets, record)
        index = _index(record, len(targets))
        if index in results:
            raise BadOutputError(probe, f"scanner answered target {index} twice")
        results[index] = result
    if done != len(targets) or len(results) != len(targets):
        raise BadOutputError(
            probe,
            f"scanner output incomplete: {len(results)} of {len(targets)} targets answered "
            f"(end marker {'missing' if done is None else done})",
        )
    return [results[i] for i in range(len(targets))]


class ScanReader:
    """The probe protocol of a streaming scanner: JSON lines in, each result streamed as it
    arrives, then the whole answer checked (exit status, end marker, one record per target).
    Streamed results are provisional: the executor holds them until `finish` returned."""

    def __init__(self, probe: str, targets: Sequence[Target], on_result: OnResult | None) -> None:
        self._probe = probe
        self._targets = targets
        self._on_result = on_result
        self._records: list[dict[str, Any]] = []

    def line(self, text: str) -> None:
        for record in parse_lines(self._probe, text):
            self._records.append(record)
            if self._on_result is not None and "done" not in record:
                self._on_result(record_result(self._probe, self._targets, record))

    def finish(self, code: int, stderr: str) -> list[ConnectResult]:
        if code != 0:
            tail = stderr.strip().splitlines()[-1:] or ["no stderr"]
            raise BadOutputError(self._probe, f"scanner exited {code}: {tail[0][:160]}")
        return results_from_records(self._probe, self._targets, self._records)
