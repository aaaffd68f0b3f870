"""The audit document: its pure model, its HTML (self-contained, escaped), its place in the
evidence bundle, and deny-record parsing and matching."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from smbtests import denylog
from smbtests.records import load_results
from smbtests.reports import audit, audit_html, evidence
from tests.unit.test_diff_register_evidence import BASE, CONFIG, record, write

META = audit.Meta(
    "A. Tester (QSA)", "Example Assessors Ltd", "no role in running the network", "CHG-42"
)
HASHES = audit.Hashes("p" * 64, "e" * 64, "r" * 64, "m" * 64)
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
DENY = {
    "status": "matched",
    "records": [{"line": "2026-11-26T10:00:01+00:00 r smblab-deny guest SRC=10.45.30.31"}],
    "tried_by_others": [{"source": "10.45.30.77", "time": "2026-11-25T22:00:00+00:00"}],
}


def _document(
    tmp_path: Path, after: list[dict[str, object]], before: list[dict[str, object]] | None = None
) -> audit.AuditDocument:
    results = load_results(write(tmp_path / "after.json", after))
    previous = None if before is None else load_results(write(tmp_path / "before.json", before))
    return audit.build(CONFIG, results, previous, META, HASHES, NOW)


def _targeted(entries: list[dict[str, object]]) -> list[dict[str, object]]:
    return [{**e, "target": "10.45.10.11:445"} if e["kind"] == "reach" else e for e in entries]


def test_matrix_marks_the_cell_that_changed(tmp_path: Path) -> None:
    before = _targeted(BASE)
    after = [dict(r) for r in before]
    after[0] = {
        **record("reach:guest1/fs1:445", "failed", "open", probe="guest1", host="fs1"),
        "target": "10.45.10.11:445",
    }
    document = _document(tmp_path, after, before)
    assert document.columns == (("fs1", 445),)
    cells = {row.probe: row.cells[0] for row in document.matrix}
    assert cells["guest1"] is not None and cells["guest1"].changed == "newly open"
    assert cells["guest1"].observed == "open" and cells["guest1"].outcome == "failed"
    assert cells["corp1"] is not None and cells["corp1"].changed is None
    assert [c.change for c in document.changes] == ["newly open"]


def test_flows_hardening_references_and_proposals(tmp_path: Path) -> None:
    entries = _targeted(BASE)
    entries[0] = {**entries[0], "deny_records": DENY}
    document = _document(tmp_path, entries)
    flows = {f.check_id: f for f in document.flows}
    assert flows["reach:guest1/fs1:445"].deny_status == "matched"
    assert flows["reach:guest1/fs1:445"].source == "10.45.30.31"
    signing = next(h for h in document.hardening if h.kind == "signing")
    assert any(r.item.startswith("WN19-SO-000190") and r.verified for r in signing.references)
    assert any(r.item == "2.3.9.2" for r in signing.references)
    tried = [p for p in document.proposals if p.what == "denied path someone tried"]
    assert len(tried) == 1 and "10.45.30.77" in tried[0].evidence
    # the lab policy approves mgmt -> *; nothing from mgmt answered in this run
    assert any(p.what == "unused approved path" and "mgmt" in p.subject for p in document.proposals)
    assert {m.kind for m in document.methods} == {"reach", "signing", "exception"}
    assert all(m.proves for m in document.methods)


def test_html_is_escaped_and_self_contained(tmp_path: Path) -> None:
    entries = _targeted(BASE)
    entries[1] = {**entries[1], "rule": "<script>alert(1)</script> https://evil.example/x"}
    document = _document(tmp_path, entries)
    html = audit_html.render(document)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "A. Tester (QSA)" in html and "CHG-42" in html and "m" * 64 in html
    (tmp_path / "doc").mkdir()
    (tmp_path / "doc" / "audit.html").write_text(
        audit_html.render(_document(tmp_path, _targeted(BASE)))
    )
    assert audit_html.outside_references(tmp_path / "doc") == []


def test_the_document_counts_closed_paths_without_a_deny_record(tmp_path: Path) -> None:
    entries = _targeted(BASE)
    entries[0] = {**entries[0], "deny_records": {**DENY, "status": "no deny record"}}
    html = audit_html.render(_document(tmp_path, entries))
    assert "1 proved-closed paths, 0 with a matching deny record" in html
    assert '<span class="mark">1 with no deny record</span>' in html
    assert "Firewall deny records" not in audit_html.render(_document(tmp_path, _targeted(BASE)))


def test_bundle_audit_hashes_match_and_verify_catches_a_swapped_results_file(
    tmp_path: Path,
) -> None:
    results = load_results(write(tmp_path / "r.json", _targeted(BASE)))
    bundle = tmp_path / "bundle"
    evidence.build_bundle(results, bundle, meta=META)
    folder = bundle / "audit"
    assert folder.joinpath("audit.pdf").read_bytes().startswith(b"%PDF")
    shown = json.loads((folder / "audit.json").read_text())["hashes"]
    assert shown["results"] == evidence.sha256_of(bundle / "results.json")
    assert shown["manifest"] == evidence.sha256_of(bundle / evidence.MANIFEST)
    assert shown["policy"] == CONFIG.policy_sha256
    assert evidence.verify_bundle(bundle).ok
    # a consistent forgery: new results file and a rewritten manifest; the audit still objects
    (bundle / "results.json").write_text("{}\n")
    manifest = "".join(f"{evidence.sha256_of(bundle / n)}  {n}\n" for n in evidence._files(bundle))
    (bundle / evidence.MANIFEST).write_text(manifest)
    changed = evidence.verify_bundle(bundle).changed
    assert any(c.startswith("results.json") for c in changed)
    assert any(c.startswith(evidence.MANIFEST) for c in changed)


NETFILTER = """# smbtests nflog reader listening on group 1
2026-11-26T10:00:01.5+00:00 smblab-router smblab-deny guest IN=br-guest OUT=br-servers \
SRC=10.45.30.31 DST=10.45.10.11 PROTO=TCP SPT=50000 DPT=445
2026-11-26T10:00:01+00:00 smblab-router smblab-deny guest SRC=10.45.30.31 DST=10.45.10.12 DPT=445
2026-11-26T11:30:00+00:00 smblab-router smblab-deny guest SRC=10.45.30.31 DST=10.45.10.11 DPT=445
2026-11-20T08:00:00+00:00 smblab-router smblab-deny guest SRC=10.45.30.77 DST=10.45.10.11 DPT=445
garbage SRC=1.2.3.4
"""
PFIREWALL = """#Version: 1.5
#Software: Microsoft Windows Firewall
#Time Format: Local
#Fields: date time action protocol src-ip dst-ip src-port dst-port size \
tcpflags tcpsyn tcpack tcpwin icmptype icmpcode info path
2026-11-26 11:00:02 DROP TCP 10.45.30.31 10.45.10.11 50001 445 52 S 1 0 64240 - - - RECEIVE
2026-11-26 11:00:03 ALLOW TCP 10.45.30.31 10.45.10.11 50002 445 52 S 1 0 64240 - - - RECEIVE
"""


def test_deny_records_match_source_destination_port_and_window() -> None:
    found = denylog.parse_netfilter("router", NETFILTER) + denylog.parse_pfirewall(
        "win", PFIREWALL, "Europe/Berlin"
    )
    assert len(found) == 5  # comment, garbage and ALLOW lines are not records
    window = denylog.Window.of_run("2026-11-26T10:00:00+00:00", "2026-11-26T10:00:05+00:00")
    matched = denylog.matching(found, "10.45.30.31", "10.45.10.11:445", window)
    # the Berlin-local 11:00:02 is 10:00:02 UTC; the 11:30 UTC line is outside the window
    assert sorted(r.log for r in matched) == ["router", "win"]
    entries = {
        "a": {
            **record("reach:guest1/fs1:445", "passed", "filtered", probe="guest1"),
            "target": "10.45.10.11:445",
        },
        "b": {
            **record("reach:guest1/dc1:445", "passed", "filtered", probe="guest1"),
            "target": "10.45.10.99:445",
        },
        "c": {
            **record("reach:corp1/fs1:445", "passed", "open", expect="open", probe="corp1"),
            "target": "10.45.10.11:445",
        },
    }
    attached = denylog.attach(
        entries, {"guest1": {4: "10.45.30.31"}}, found, {}, ["router"], window
    )
    assert attached["a"]["deny_records"]["status"] == "matched"
    others = attached["a"]["deny_records"]["tried_by_others"]
    assert [o["source"] for o in others] == ["10.45.30.77"]
    assert attached["b"]["deny_records"]["status"] == "no deny record"  # marked, still passed
    assert attached["b"]["outcome"] == "passed"
    assert "deny_records" not in attached["c"]
    counts = denylog.status_counts(attached.values())
    assert counts == {"matched": 1, "no deny record": 1}
    assert denylog.summary_line(counts) == (
        "deny records: 2 closed paths, 1 matched, 1 with no deny record (dropped somewhere other "
        "than the firewalls whose logs were read), 0 with a log unreadable"
    )
