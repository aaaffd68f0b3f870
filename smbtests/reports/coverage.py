"""Coverage that tells the truth: the segment x SMB host x port matrix a run actually proved.

A cell (segment, host, port) is covered by a reach check that ran (not an error) from a probe
source in that segment which is NOT itself the source of an exception for that host and port:
a probe that an exception lets through proves nothing about the rest of its segment. Each
covered cell names what the policy expected, what was seen, and by which probe and source.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from smbtests.checks._paths import smb_ports
from smbtests.config import LoadedConfig
from smbtests.records import OUTCOME_RANK, CheckRecord, RunResults


@dataclass(frozen=True)
class Cell:
    segment: str
    host: str
    port: int
    expected: str  # "open", "closed", or "mixed" where sources of the segment differ
    observed: str  # the worst observation among the checks that cover it
    outcome: str
    by: tuple[str, ...]  # "probe" or "probe[source]" of every check that covers it


@dataclass(frozen=True)
class Coverage:
    cells: tuple[Cell, ...]
    uncovered: tuple[tuple[str, str, int], ...]

    @property
    def probed(self) -> tuple[tuple[str, str, int], ...]:
        return tuple((c.segment, c.host, c.port) for c in self.cells)

    @property
    def share(self) -> float:
        total = len(self.cells) + len(self.uncovered)
        return len(self.cells) / total if total else 1.0

    def as_plain(self) -> dict[str, Any]:
        return {
            "cells": [vars(cell) | {"by": list(cell.by)} for cell in self.cells],
            "uncovered": [list(key) for key in self.uncovered],
        }


def _sources(config: LoadedConfig) -> Callable[[CheckRecord], tuple[str, str] | None]:
    """(probe label, source address) of a reach record: the address it bound, else its
    probe's default for the target's IP version (looked up once per probe and version)."""
    probes = config.environment.probes

    @functools.cache
    def default(probe_name: str, version: int) -> str | None:
        address = probes[probe_name].default_source(version)
        return None if address is None else str(address)

    def source(record: CheckRecord) -> tuple[str, str] | None:
        probe_name = str(record.raw.get("probe"))
        if probe_name not in probes:
            return None
        evidence = record.raw.get("evidence") or {}
        target = (evidence.get("result") or {}).get("target") or {}
        bound = str(target.get("source") or "")
        if bound:
            return f"{probe_name}[{bound}]", bound
        address = default(probe_name, 6 if ":" in str(target.get("host") or "") else 4)
        return None if address is None else (probe_name, address)

    return source


def _excepted(config: LoadedConfig) -> Callable[[str, str, int], bool]:
    """Whether an exception lets (source address, host, port) through."""
    policy = config.policy
    address = functools.cache(ipaddress.ip_address)  # a probe's checks share their source

    def excepted(source: str, host: str, port: int) -> bool:
        return any(
            exc.to == host
            and exc.port == port
            and any(address(source) in net for net in policy.networks_of(exc.from_))
            for exc in policy.exceptions
        )

    return excepted


def coverage(config: LoadedConfig, results: RunResults) -> Coverage:
    policy = config.policy
    found: dict[tuple[str, str, int], list[tuple[str, CheckRecord]]] = {}
    excepted, source_of = _excepted(config), _sources(config)
    for record in results.checks.values():
        host = str(record.raw.get("host"))
        if record.kind != "reach" or record.outcome == "error" or host not in policy.smb_hosts:
            continue
        source = source_of(record)
        # the port from the target, or from the id (reach:PROBE/HOST:PORT) of a bare record
        port_text = str(record.raw.get("target") or record.id).rpartition(":")[2]
        if source is None or not port_text.isdigit():
            continue
        port = int(port_text)
        if excepted(source[1], host, port):
            continue
        segment = config.environment.probes[str(record.raw["probe"])].segment
        found.setdefault((segment, host, port), []).append((source[0], record))
    cells, uncovered = [], []
    ports = smb_ports(policy)
    for segment in sorted(policy.segments):
        for host in sorted(policy.smb_hosts):
            for port in ports:
                covering = found.get((segment, host, port))
                if not covering:
                    uncovered.append((segment, host, port))
                    continue
                expects = {r.expect or "-" for _, r in covering}
                worst = max((r for _, r in covering), key=lambda r: OUTCOME_RANK.get(r.outcome, 2))
                cells.append(
                    Cell(
                        segment,
                        host,
                        port,
                        expects.pop() if len(expects) == 1 else "mixed",
                        worst.observed,
                        worst.outcome,
                        tuple(sorted({label for label, _ in covering})),
                    )
                )
    return Coverage(tuple(cells), tuple(uncovered))
