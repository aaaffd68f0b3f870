"""Start lab daemons detached, name them by (pid, start time), and end them within a deadline."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from smbtests.errors import LabError
from smbtests.lab import netns
from smbtests.lab.state import TrackedProcess

POLL_INTERVAL = 0.02
TERM_GRACE = 3.0
KILL_GRACE = 2.0


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/PID/stat from field 3 (state) on, None if the process is gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    fields = stat[stat.rindex(")") + 2 :].split()
    return None if fields[0] == "Z" else fields


def start_time(pid: int) -> int | None:
    """The kernel start time of a live process, None if it is gone."""
    fields = _stat_fields(pid)
    return None if fields is None else int(fields[19])


def session_id(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return None if fields is None else int(fields[3])


def is_running(proc: TrackedProcess) -> bool:
    return start_time(proc.pid) == proc.start_time


def spawn(namespace: str, argv: Sequence[str], log_path: Path) -> TrackedProcess:
    """Start `argv` in `namespace`, detached from the caller, stdout and stderr to `log_path`."""
    command = netns.exec_argv(namespace, argv)
    with log_path.open("ab") as log:
        try:
            # A session of its own: smbd signals its whole process group when it stops, which must
            # never reach the CLI or pytest that started it. `ip netns exec` execs the command, so
            # the pid is the daemon's own.
            child = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
        except OSError as exc:
            raise LabError(f"cannot start {argv[0]} in {namespace}: {exc}") from exc
    started = start_time(child.pid)
    if started is None:
        child.wait(timeout=KILL_GRACE)
        raise LabError(f"{argv[0]} in {namespace} exited at once; see {log_path}")
    return TrackedProcess(child.pid, started, namespace, tuple(argv))


def _signal_all(pids: Iterable[int], signum: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


def _wait_gone(processes: dict[int, int], deadline: float) -> dict[int, int]:
    """Poll until every (pid, start time) is gone or the deadline passes; return the survivors."""
    alive = dict(processes)
    while alive:
        alive = {pid: started for pid, started in alive.items() if start_time(pid) == started}
        if not alive or time.monotonic() >= deadline:
            break
        time.sleep(POLL_INTERVAL)
    return alive


def terminate(pids: Iterable[int]) -> None:
    """SIGTERM, then SIGKILL what is left after a grace period; raise if anything survives."""
    processes = {pid: started for pid in set(pids) if (started := start_time(pid)) is not None}
    if not processes:
        return
    _signal_all(processes, signal.SIGTERM)
    survivors = _wait_gone(processes, time.monotonic() + TERM_GRACE)
    if survivors:
        _signal_all(survivors, signal.SIGKILL)
        survivors = _wait_gone(survivors, time.monotonic() + KILL_GRACE)
    if survivors:
        raise LabError(f"processes {sorted(survivors)} survived SIGKILL")


def service_pids(proc: TrackedProcess, others: Iterable[TrackedProcess]) -> list[int]:
    """The tracked process and whatever it started, but nothing of the other tracked services.

    Samba forks helpers (smbd children, samba-dcerpcd, rpcd_*) that only `ip netns pids` lists;
    every daemon was spawned as a session leader, so a helper belongs to the service whose
    session it is in, and a process in no tracked session belongs to the one being stopped.
    """
    found = [proc.pid] if is_running(proc) else []
    if proc.namespace not in netns.lab_namespaces():
        return found
    other_sessions = {o.pid for o in others if o.namespace == proc.namespace and is_running(o)}
    other_sessions.discard(proc.pid)
    for pid in netns.pids(proc.namespace):
        if pid not in found and session_id(pid) not in other_sessions:
            found.append(pid)
    return found
