"""Read the environment's deny logs (`deny_logs`): on the runner, over an ssh probe, or a
Windows Firewall log over WinRM (the `firewall-log-tail` reading).

I/O only; parsing and matching are in smbtests/denylog.py. A log that cannot be read is
named with the reason and never stops the run's results from being written.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from smbtests.config.environment import DenyLog, Environment
from smbtests.denylog import PARSERS, DenyRecord
from smbtests.errors import ProbeError
from smbtests.observations import HostQuery
from smbtests.probes.registry import open_probe, open_reader

# Only the end of a log can hold this run's records; a rotated-away log is not read whole.
# (Over WinRM the script bounds it in lines: ps1/firewall-log-tail.ps1.)
TAIL_BYTES = 8 * 1024 * 1024
OVER_WINRM = "the firewall profiles' LogFileName over WinRM"


# A firewall's records reach its log a moment after the packets (the lab's pass through an NFLOG
# reader process): read a local log once it has been quiet this long, waiting at most
# LOG_SETTLE_MAX seconds, so the last probes' denials are not missed.
LOG_QUIET = 0.3
LOG_SETTLE_MAX = 3.0


def _settled(path: Path) -> None:
    deadline = time.monotonic() + LOG_SETTLE_MAX
    while time.monotonic() < deadline:
        try:
            if time.time() - path.stat().st_mtime >= LOG_QUIET:
                return
        except OSError:
            return  # the read below names the problem
        time.sleep(LOG_QUIET / 3)


def _tail(path: Path) -> str:
    _settled(path)
    with path.open("rb") as stream:
        stream.seek(0, 2)
        stream.seek(max(0, stream.tell() - TAIL_BYTES))
        return stream.read().decode("utf-8", "replace")


def firewall_log_text(reading: Any) -> str:
    """The pfirewall.log text of a `firewall-log-tail` reading (shape-checked): each file's
    header comments, then its last lines. The head's other lines are left out: in a short log
    they are also in the tail, and a record must not count twice."""
    parts = []
    for file in reading["Files"]:
        parts += [line for line in file["Head"] if line.startswith("#")]
        parts += file["Lines"]
    return "\n".join(parts)


def _over_winrm(env: Environment, via: str) -> str:
    if via in env.probes:
        reader: Any = open_probe(via, env.probes[via], env.timing)
    else:
        reader = open_reader(via, env.windows_hosts[via], env)
    try:
        return firewall_log_text(reader.run_json(HostQuery.FIREWALL_LOG_TAIL))
    finally:
        reader.close()


def _text(env: Environment, deny: DenyLog) -> str:
    if deny.via is None:
        assert deny.path is not None  # references.py: a local log names its path
        return _tail(Path(deny.path))
    if deny.path is None:  # references.py: only a log read over WinRM leaves it out
        return _over_winrm(env, deny.via)
    from smbtests.probes.ssh import SshProbe

    probe = open_probe(deny.via, env.probes[deny.via], env.timing)
    try:
        assert isinstance(probe, SshProbe)  # references.py admits ssh probes here
        return probe.read_tail(deny.path, TAIL_BYTES)
    finally:
        probe.close()


def read_all(env: Environment) -> tuple[list[DenyRecord], dict[str, str], list[str]]:
    """(every record, log name -> why it could not be read, names of the logs read)."""
    records: list[DenyRecord] = []
    unreadable: dict[str, str] = {}
    read: list[str] = []
    for name, deny in sorted(env.deny_logs.items()):
        try:
            text = _text(env, deny)
        except (OSError, ProbeError) as exc:
            unreadable[name] = f"{deny.path or OVER_WINRM}: {exc}"
            continue
        records += PARSERS[deny.format](name, text, deny.timezone)
        read.append(name)
    return records, unreadable, read
