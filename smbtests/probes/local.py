"""The `local` probe: connects from the runner's own network stack."""

from __future__ import annotations

import socket
import threading
from typing import Any

from smbtests.observations import ConnectResult
from smbtests.probes import scanner, udprelay
from smbtests.probes._records import record_result, results_from_records
from smbtests.probes.base import ScanJob


class LocalProbe:
    def __init__(self, name: str, connects_per_second: float = scanner.INFINITE) -> None:
        self.name = name
        self._rate = connects_per_second

    def scan(self, job: ScanJob) -> list[ConnectResult]:
        records: list[dict[str, Any]] = []

        def emit(record: dict[str, Any]) -> None:
            records.append(record)
            if job.on_result is not None:
                job.on_result(record_result(self.name, job.targets, record))

        concurrency = scanner.raise_file_limit(job.concurrency)
        request = [[t.host, t.port, t.source] for t in job.targets]
        scanner.scan(request, job.timeout, concurrency, emit, self._rate)
        records.append({"done": len(job.targets)})
        return results_from_records(self.name, job.targets, records)

    def dial(self, host: str, port: int, timeout: float) -> socket.socket:
        return socket.create_connection((host, port), timeout=timeout)

    def relay(self, lifetime: float) -> socket.socket:
        """The UDP relay in a thread of this process, its stream a socket pair."""
        mine, theirs = socket.socketpair()

        def run() -> None:
            with theirs:
                udprelay.serve(theirs.fileno(), theirs.fileno(), lifetime)

        threading.Thread(target=run, daemon=True, name=f"smbtests-udprelay-{self.name}").start()
        return mine

    def close(self) -> None:
        """Nothing to release: the local probe holds no connection."""
