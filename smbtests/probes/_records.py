"""Turn the scanner's JSON records into ConnectResults, refusing anything malformed."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from smbtests.errors import BadOutputError
from smbtests.observations import ConnectResult, ConnectState, Target


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
        target = targets[int(record["i"])]
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


def results_from_records(
    probe: str, targets: Sequence[Target], records: Iterable[dict[str, Any]]
) -> list[ConnectResult]:
    """One result per target, in target order; a missing, extra or odd record is a ProbeError."""
    results: dict[int, ConnectResult] = {}
    done: int | None = None
    for record in records:
        if "done" in record:
            done = record["done"]
            continue
        result = record_result(probe, targets, record)
        index = int(record["i"])
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
