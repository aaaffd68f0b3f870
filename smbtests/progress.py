"""Progress of one probe's scan, for a terminal that would otherwise sit still on the first
item until the whole scan is in (a scan's items are held until its answer is verified).

Counts come from the streamed records (provisional until the answer is verified, which is why
they are "settled so far", never verdicts). Quiet scans stay quiet: nothing is reported before
`interval` seconds have passed, then at most one line per interval, and a last line when done.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from smbtests.observations import ConnectResult, ConnectState, Target


@dataclass(frozen=True)
class ScanProgress:
    probe: str
    settled: int
    total: int
    open: int
    elapsed: float
    done: bool

    def line(self) -> str:
        state = "scan done" if self.done else "scanning"
        return (
            f"smbtests: probe {self.probe} {state}: {self.settled}/{self.total} targets settled,"
            f" {self.open} open so far ({self.elapsed:.1f} s)"
        )


OnProgress = Callable[[ScanProgress], None]


class ScanCounter:
    """Counts one scan's streamed records (each target once) and reports them, throttled."""

    def __init__(
        self,
        probe: str,
        total: int,
        report: OnProgress,
        interval: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._probe, self._total, self._report = probe, total, report
        self._interval, self._clock = interval, clock
        self._started = self._last = clock()
        self._seen: set[Target] = set()
        self._open = 0
        self._reported = False
        self._lock = threading.Lock()  # records may stream from a reader thread

    def saw(self, result: ConnectResult) -> None:
        with self._lock:
            if result.target in self._seen:
                return
            self._seen.add(result.target)
            self._open += result.state is ConnectState.OPEN
            if self._clock() - self._last >= self._interval:
                self._emit(done=False)

    def finish(self) -> None:
        """The scan returned: a last line, if this scan was long enough to report at all."""
        with self._lock:
            if self._reported or self._clock() - self._started >= self._interval:
                self._emit(done=True)

    def _emit(self, done: bool) -> None:
        now = self._clock()
        self._last, self._reported = now, True
        self._report(
            ScanProgress(
                self._probe, len(self._seen), self._total, self._open, now - self._started, done
            )
        )
