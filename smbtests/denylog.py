"""Deny records: a firewall's own log lines matched to the closed paths a run proved (seed step 6).

Pure: log text in, records out; records and results-file entries in, each closed path's
`deny_records` field out (its shape is documented in records.py). A closed path with no matching
record is *marked*, never failed: the packet was dropped, only not (or not visibly) by a firewall
whose log was read, so the drop may come from somewhere other than the firewall you believe.
"""

from __future__ import annotations

import ipaddress
import re
import zoneinfo
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

CLOSED_STATES = frozenset({"filtered", "refused", "unreachable"})
# A results file keeps whole seconds; connects begin just after `started` and the last drop is
# logged just before `finished`, so a little slack on both sides keeps the window honest.
WINDOW_SLACK = timedelta(seconds=2)

_NETFILTER_TIME = re.compile(r"^(?P<time>\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?\S*)\s")
_FIELD = re.compile(r"\b(SRC|DST|DPT|PROTO)=(\S+)")


@dataclass(frozen=True)
class DenyRecord:
    log: str  # the environment's name for the log (deny_logs key)
    time: datetime  # UTC
    source: str
    destination: str
    port: int
    protocol: str
    action: str
    line: str


def _utc(text: str, zone: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zoneinfo.ZoneInfo(zone))
    return moment.astimezone(UTC)


def _address(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def parse_netfilter(log: str, text: str, zone: str = "UTC") -> list[DenyRecord]:
    """Kernel `log` / ulogd2 lines with an RFC 3339 time first; other lines are not records."""
    found = []
    for line in text.splitlines():
        head = _NETFILTER_TIME.match(line)
        fields = dict(_FIELD.findall(line))
        if head is None or not {"SRC", "DST", "DPT"} <= fields.keys():
            continue
        moment = _utc(head["time"], zone)
        src, dst = _address(fields["SRC"]), _address(fields["DST"])
        if moment is None or src is None or dst is None or not fields["DPT"].isdigit():
            continue
        found.append(
            DenyRecord(
                log, moment, src, dst, int(fields["DPT"]), fields.get("PROTO", "?"), "DROP", line
            )
        )
    return found


def parse_pfirewall(log: str, text: str, zone: str = "UTC") -> list[DenyRecord]:
    """The Windows Firewall log: columns from its `#Fields:` line, DROP lines only."""
    columns: list[str] = []
    found = []
    for line in text.splitlines():
        if line.startswith("#Fields:"):
            columns = line.removeprefix("#Fields:").split()
            continue
        if line.startswith("#") or not columns:
            continue
        row = dict(zip(columns, line.split(), strict=False))
        if row.get("action") != "DROP":
            continue
        moment = _utc(f"{row.get('date')}T{row.get('time')}", zone)
        src, dst = _address(row.get("src-ip", "")), _address(row.get("dst-ip", ""))
        port = row.get("dst-port", "")
        if moment is None or src is None or dst is None or not port.isdigit():
            continue
        found.append(
            DenyRecord(log, moment, src, dst, int(port), row.get("protocol", "?"), "DROP", line)
        )
    return found


PARSERS = {"netfilter": parse_netfilter, "pfirewall": parse_pfirewall}


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime

    @classmethod
    def of_run(cls, started: str, finished: str) -> Window:
        return cls(
            datetime.fromisoformat(started) - WINDOW_SLACK,
            datetime.fromisoformat(finished) + WINDOW_SLACK,
        )

    def holds(self, moment: datetime) -> bool:
        return self.start <= moment <= self.end


def is_closed_path(entry: Mapping[str, Any]) -> bool:
    """A reach check that expected and proved a closed path: the ones a firewall should log."""
    return (
        entry.get("kind") == "reach"
        and entry.get("expect") == "closed"
        and entry.get("outcome") == "passed"
        and entry.get("observed") in CLOSED_STATES
    )


def matching(
    records: Iterable[DenyRecord], source: str, target: str, window: Window
) -> list[DenyRecord]:
    """Records of `source` -> `target` ("address:port") within the window."""
    host, _, port = target.rpartition(":")
    destination = _address(host.strip("[]"))
    return [
        r
        for r in records
        if r.source == source
        and r.destination == destination
        and str(r.port) == port
        and window.holds(r.time)
    ]


OTHERS_KEPT = 20


def tried_by_others(records: Iterable[DenyRecord], source: str, target: str) -> list[DenyRecord]:
    """Denials of the same destination and port from other sources, at any time in the logs
    read: someone besides the probe tried this path (seed step 6)."""
    host, _, port = target.rpartition(":")
    destination = _address(host.strip("[]"))
    return [
        r
        for r in records
        if r.destination == destination and str(r.port) == port and r.source != source
    ]


def _plain(record: DenyRecord) -> dict[str, Any]:
    return {
        "log": record.log,
        "time": record.time.isoformat(),
        "source": record.source,
        "destination": record.destination,
        "port": record.port,
        "protocol": record.protocol,
        "action": record.action,
        "line": record.line,
    }


def field_for(
    found: list[DenyRecord],
    window: Window,
    logs_read: list[str],
    unreadable: dict[str, str],
    others: list[DenyRecord] | None = None,
) -> dict[str, Any]:
    """One closed path's `deny_records` entry (shape in records.py)."""
    if found:
        status = "matched"
    elif unreadable:
        status = "log unreadable"
    else:
        status = NO_RECORD
    return {
        "status": status,
        "logs_read": sorted(logs_read),
        "unreadable": dict(sorted(unreadable.items())),
        "window": [window.start.isoformat(), window.end.isoformat()],
        "records": [_plain(r) for r in sorted(found, key=lambda r: (r.time, r.log))],
        "tried_by_others": [
            _plain(r) for r in sorted(others or [], key=lambda r: r.time)[-OTHERS_KEPT:]
        ],
    }


def _source(entry: Mapping[str, Any], defaults: Mapping[int, str]) -> str | None:
    """The address the check's connect came from: the one it bound, else the probe's default
    for the target's IP version."""
    target = ((entry.get("evidence") or {}).get("result") or {}).get("target") or {}
    bound = target.get("source") if isinstance(target, dict) else None
    if bound:
        return str(bound)
    version = 6 if ":" in str(entry.get("target", "")).rpartition(":")[0] else 4
    return defaults.get(version)


def attach(
    entries: Mapping[str, dict[str, Any]],
    probe_addresses: Mapping[str, Mapping[int, str]],
    records: list[DenyRecord],
    unreadable: Mapping[str, str],
    logs_read: list[str],
    window: Window,
) -> dict[str, dict[str, Any]]:
    """The results-file entries with `deny_records` on every closed path a probe proved."""
    attached = {}
    for key, entry in entries.items():
        source = _source(entry, probe_addresses.get(str(entry.get("probe")), {}))
        if is_closed_path(entry) and source is not None and entry.get("target"):
            target = str(entry["target"])
            found = matching(records, source, target, window)
            others = tried_by_others(records, source, target)
            field = field_for(found, window, logs_read, dict(unreadable), others)
            entry = {**entry, "deny_records": field}
        attached[key] = entry
    return attached


NO_RECORD = "no deny record"


def status_counts(entries: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """How many closed paths carry each `deny_records` status ("matched", "no deny record",
    "log unreadable"): the run's answer to "did the firewall I believe drop these?"."""
    counts: dict[str, int] = {}
    for entry in entries:
        field = entry.get("deny_records")
        if isinstance(field, Mapping):
            status = str(field.get("status"))
            counts[status] = counts.get(status, 0) + 1
    return counts


def summary_line(counts: Mapping[str, int]) -> str:
    """The terminal's one line about deny records."""
    closed = sum(counts.values())
    return (
        f"deny records: {closed} closed paths, {counts.get('matched', 0)} matched, "
        f"{counts.get(NO_RECORD, 0)} with no deny record (dropped somewhere other than the "
        f"firewalls whose logs were read), {counts.get('log unreadable', 0)} with a log unreadable"
    )
