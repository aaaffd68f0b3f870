"""Read the environment's deny logs (`deny_logs`): on the runner, or over an ssh probe.

I/O only; parsing and matching are in smbtests/denylog.py. A log that cannot be read is
named with the reason and never stops the run's results from being written.
"""

from __future__ import annotations

from pathlib import Path

from smbtests.config import Environment
from smbtests.denylog import PARSERS, DenyRecord
from smbtests.errors import ProbeError
from smbtests.probes.registry import open_probe

# Only the end of a log can hold this run's records; a rotated-away log is not read whole.
TAIL_BYTES = 8 * 1024 * 1024


def _tail(path: Path) -> str:
    with path.open("rb") as stream:
        stream.seek(0, 2)
        stream.seek(max(0, stream.tell() - TAIL_BYTES))
        return stream.read().decode("utf-8", "replace")


def _text(env: Environment, name: str) -> str:
    deny = env.deny_logs[name]
    if deny.via is None:
        return _tail(Path(deny.path))
    from smbtests.probes.ssh import SshProbe

    probe = open_probe(deny.via, env.probes[deny.via], env.timing)
    try:
        assert isinstance(probe, SshProbe)  # references.py admits ssh probes only
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
            text = _text(env, name)
        except (OSError, ProbeError) as exc:
            unreadable[name] = f"{deny.path}: {exc}"
            continue
        records += PARSERS[deny.format](name, text, deny.timezone)
        read.append(name)
    return records, unreadable, read
