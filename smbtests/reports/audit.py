"""The audit document (PCI DSS 11.4.5 shape): a segmentation test report built from one results
file and the policy alone, for a reader who never saw pytest.

Pure: config, results (and a previous run) in, one frozen `AuditDocument` out; audit_html.py
renders it, audit_pdf.py prints it, evidence.py bundles and hashes it. The allow-list proposals
(seed step 6) are proposals only: nothing here changes a policy.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import date, datetime

from smbtests.checks.base import STEP_TITLES
from smbtests.checks.registry import KINDS
from smbtests.config import LoadedConfig
from smbtests.records import OUTCOME_RANK, CheckRecord, RunResults, as_plain
from smbtests.reports.audit_refs import REFERENCES, Reference
from smbtests.reports.diff import diff_runs
from smbtests.reports.register import RegisterRow, build_register

CLOSED = frozenset({"filtered", "refused", "unreachable"})
VERDICT_WORDS = {"passed": "as the policy says", "failed": "VIOLATION", "error": "NOT PROVEN"}


@dataclass(frozen=True)
class Meta:
    """Who tested, how independent, for which change (options or environment variables)."""

    tester: str | None
    organisation: str | None
    independence: str | None
    change: str | None


@dataclass(frozen=True)
class Hashes:
    policy: str
    environment: str
    results: str
    manifest: str


@dataclass(frozen=True)
class ProbeRow:
    name: str
    segment: str
    transport: str
    address: str
    control: str
    control_outcome: str  # the control check's verdict in this run


@dataclass(frozen=True)
class Flow:
    check_id: str
    probe: str
    segment: str
    source: str
    host: str
    target: str
    port: int
    expected: str
    observed: str
    outcome: str
    verdict: str
    rule: str
    deny_status: str  # "-" where no deny log applies
    deny_lines: tuple[str, ...]
    tried_by_others: tuple[str, ...]  # "source at time" of denials from anyone but the probe


@dataclass(frozen=True)
class Cell:
    expected: str
    observed: str
    outcome: str
    probe: str
    check_id: str
    changed: str | None  # how the cell changed since the previous run


@dataclass(frozen=True)
class MatrixRow:
    segment: str
    probe: str
    cells: tuple[Cell | None, ...]  # one per column; None: no check from this probe


@dataclass(frozen=True)
class HardeningRow:
    host: str
    check_id: str
    kind: str
    outcome: str
    observed: str
    message: str
    references: tuple[Reference, ...]


@dataclass(frozen=True)
class KindMethod:
    kind: str
    checks: int
    proves: str  # the kind's docstring


@dataclass(frozen=True)
class ChangeRow:
    check_id: str
    change: str
    before: str
    after: str
    worse: bool


@dataclass(frozen=True)
class Proposal:
    what: str  # "unused approved path", "unused exception", "denied path someone tried"
    subject: str
    evidence: str
    suggestion: str


@dataclass(frozen=True)
class AuditDocument:
    title: str
    environment: str
    policy: str
    started: str
    finished: str
    as_of: str
    generated: str
    meta: Meta
    hashes: Hashes
    totals: dict[str, int]
    segments: tuple[tuple[str, str, str, str], ...]  # name, kind, cidrs, description
    smb_hosts: tuple[tuple[str, str, str, str], ...]  # name, address, role, segment
    probes: tuple[ProbeRow, ...]
    steps: tuple[tuple[str, int], ...]
    methods: tuple[KindMethod, ...]
    columns: tuple[tuple[str, int], ...]  # (host, port)
    matrix: tuple[MatrixRow, ...]
    flows: tuple[Flow, ...]
    hardening: tuple[HardeningRow, ...]
    exceptions: tuple[RegisterRow, ...]
    previous: str | None
    changes: tuple[ChangeRow, ...]
    proposals: tuple[Proposal, ...]


def _port(record: CheckRecord) -> int:
    return int(str(record.raw.get("target") or ":0").rpartition(":")[2])


def _deny(record: CheckRecord) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    field = record.raw.get("deny_records")
    if not isinstance(field, dict):
        return "-", (), ()
    lines = tuple(str(r.get("line", "")) for r in field.get("records", []))
    others = tuple(
        f"{r.get('source')} at {r.get('time')}" for r in field.get("tried_by_others", [])
    )
    return str(field.get("status", "-")), lines, others


def _flows(config: LoadedConfig, results: RunResults) -> tuple[Flow, ...]:
    probes = config.environment.probes
    flows = []
    for record in sorted(results.checks.values(), key=lambda r: r.id):
        probe = probes.get(str(record.raw.get("probe")))
        if record.kind != "reach" or probe is None:
            continue
        status, lines, others = _deny(record)
        flows.append(
            Flow(
                check_id=record.id,
                probe=str(record.raw["probe"]),
                segment=probe.segment,
                source=str(probe.own_address),
                host=str(record.raw.get("host")),
                target=str(record.raw.get("target")),
                port=_port(record),
                expected=record.expect or "-",
                observed=record.observed,
                outcome=record.outcome,
                verdict=VERDICT_WORDS.get(record.outcome, record.outcome),
                rule=record.rule,
                deny_status=status,
                deny_lines=lines,
                tried_by_others=others,
            )
        )
    return tuple(flows)


def _worse(flow: Flow, than: Flow, changed: dict[str, str]) -> bool:
    def rank(f: Flow) -> tuple[int, bool]:
        return OUTCOME_RANK.get(f.outcome, 2), f.check_id in changed

    return rank(flow) > rank(than)


def _matrix(
    flows: tuple[Flow, ...], config: LoadedConfig, changed: dict[str, str]
) -> tuple[tuple[tuple[str, int], ...], tuple[MatrixRow, ...]]:
    hosts = config.policy.smb_hosts
    columns = tuple(sorted({(f.host, f.port) for f in flows if f.host in hosts}))
    rows = []
    for name, probe in sorted(
        config.environment.probes.items(), key=lambda p: (p[1].segment, p[0])
    ):
        # a cell stands for every flow of its probe, host and port (both IP families, every
        # source address): it shows the worst of them, a changed one before an unchanged one
        by_column: dict[tuple[str, int], Flow] = {}
        for flow in (f for f in flows if f.probe == name):
            key = (flow.host, flow.port)
            if key not in by_column or _worse(flow, by_column[key], changed):
                by_column[key] = flow
        cells = tuple(
            None
            if (f := by_column.get(column)) is None
            else Cell(
                f.expected, f.observed, f.outcome, f.probe, f.check_id, changed.get(f.check_id)
            )
            for column in columns
        )
        if any(cells):
            rows.append(MatrixRow(probe.segment, name, cells))
    return columns, tuple(rows)


def _hardening(results: RunResults) -> tuple[HardeningRow, ...]:
    rows = []
    for record in sorted(results.checks.values(), key=lambda r: (str(r.raw.get("host")), r.id)):
        if record.step != 4 and record.kind not in REFERENCES:
            continue
        rows.append(
            HardeningRow(
                host=str(record.raw.get("host") or "-"),
                check_id=record.id,
                kind=record.kind,
                outcome=record.outcome,
                observed=record.observed,
                message=record.message,
                references=REFERENCES.get(record.kind, ()),
            )
        )
    return tuple(rows)


def _methods(results: RunResults) -> tuple[KindMethod, ...]:
    counts: dict[str, int] = {}
    for record in results.checks.values():
        counts[record.kind] = counts.get(record.kind, 0) + 1
    return tuple(
        KindMethod(name, counts[name], " ".join((kind.__doc__ or "").split()))
        for name, kind in KINDS.items()
        if name in counts
    )


def _proposals(
    config: LoadedConfig, flows: tuple[Flow, ...], exceptions: tuple[RegisterRow, ...]
) -> tuple[Proposal, ...]:
    """Seed step 6, adjusting allow lists: what the observed data suggests, never a change."""
    policy, found = config.policy, []
    for path in policy.approved_paths:
        sources = set(path.from_)
        used = [
            f
            for f in flows
            if f.expected == "open"
            and f.observed == "open"
            and f.segment in sources
            and ("*" in path.to or f.host in path.to)
        ]
        if not used:
            subject = f"{', '.join(path.from_)} -> {', '.join(path.to)} ports {list(path.ports)}"
            found.append(
                Proposal(
                    "unused approved path",
                    subject,
                    "no probe in its source segments completed a handshake on this path",
                    "confirm it is still needed; narrow or remove it in the policy",
                )
            )
    for row in exceptions:
        if row.status == "unused":
            found.append(
                Proposal(
                    "unused exception",
                    f"{row.id} {row.path} (owner {row.owner})",
                    f"status {row.status}; last observed use: {row.last_observed_use or 'none'}",
                    "retire the exception if the owner confirms it is no longer used",
                )
            )
    for flow in flows:
        if flow.tried_by_others:
            shown = ", ".join(flow.tried_by_others[:3])
            found.append(
                Proposal(
                    "denied path someone tried",
                    f"-> {flow.host}:{flow.port} (tested from {flow.segment})",
                    f"{len(flow.tried_by_others)} denial(s) from other sources: {shown}",
                    "keep it denied unless a business need is shown; then add an approved path "
                    "or a time-limited exception with an owner",
                )
            )
    # several probes test one destination; one proposal per destination and kind is enough
    return tuple({(p.what, p.subject.partition(" (")[0]): p for p in found}.values())


def build(
    config: LoadedConfig,
    results: RunResults,
    previous: RunResults | None,
    meta: Meta,
    hashes: Hashes,
    generated: datetime,
) -> AuditDocument:
    policy, env = config.policy, config.environment
    run_diff = diff_runs(previous, results) if previous is not None else None
    changes = () if run_diff is None else run_diff.changes
    flows = _flows(config, results)
    columns, matrix = _matrix(flows, config, {c.id: c.change.value for c in changes})
    as_of = date.fromisoformat(str(results.raw.get("as_of") or results.started[:10]))
    exceptions = tuple(build_register(policy, as_of, results))
    control_outcomes = {
        str(r.raw.get("probe")): r.outcome for r in results.checks.values() if r.kind == "control"
    }
    totals: dict[str, int] = {}
    for record in results.checks.values():
        totals[record.outcome] = totals.get(record.outcome, 0) + 1
    return AuditDocument(
        title=f"SMB segmentation test report: {policy.name}, environment {env.name}",
        environment=env.name,
        policy=config.policy_path.name,
        started=results.started,
        finished=str(results.raw.get("finished", "-")),
        as_of=as_of.isoformat(),
        generated=generated.isoformat(timespec="seconds"),
        meta=meta,
        hashes=hashes,
        totals=dict(sorted(totals.items())),
        segments=tuple(
            (name, s.kind, ", ".join(map(str, s.cidrs)), s.description)
            for name, s in sorted(policy.segments.items())
        ),
        smb_hosts=tuple(
            (name, str(h.address), h.role, policy.segment_of(h.address) or "-")
            for name, h in sorted(policy.smb_hosts.items())
        ),
        probes=tuple(
            ProbeRow(
                name,
                p.segment,
                p.transport,
                str(p.own_address),
                f"{p.control.address}:{p.control.port}" if p.control else "-",
                control_outcomes.get(name, "not run"),
            )
            for name, p in sorted(env.probes.items())
        ),
        steps=tuple(
            (STEP_TITLES[s], sum(r.step == s for r in results.checks.values()))
            for s in sorted({r.step for r in results.checks.values()})
        ),
        methods=_methods(results),
        columns=columns,
        matrix=matrix,
        flows=flows,
        hardening=_hardening(results),
        exceptions=exceptions,
        previous=None if previous is None else f"{previous.path.name} (started {previous.started})",
        changes=tuple(ChangeRow(c.id, c.change.value, c.before, c.after, c.worse) for c in changes),
        proposals=_proposals(config, flows, exceptions),
    )


def as_json(document: AuditDocument) -> str:
    """The document's data, for machines and for `smbtests evidence verify` (its hashes)."""
    return json.dumps(as_plain(dataclasses.asdict(document)), indent=2, sort_keys=True) + "\n"
