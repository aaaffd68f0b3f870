"""`smbtests export RESULTS --format prometheus|nagios [-o FILE]`: results for monitoring;
`smbtests audit RESULTS [--previous RESULTS] -o DIR`: the audit document in an evidence bundle.

Prometheus: exit 0 once the file is written (the run's outcome is in the series, and a failing
exporter would hide it); an unreadable results file exits 2. Nagios: the exit code is the
plugin state (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN), and an unreadable results file is
UNKNOWN, as Nagios expects of a plugin.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from smbtests.errors import SmbtestsError
from smbtests.records import load_results
from smbtests.reports import export
from smbtests.reports.audit import Meta
from smbtests.reports.evidence import AUDIT_DIR, build_bundle, sha256_of


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` in one step: node_exporter's textfile collector may read at any moment and
    must never see half a file. The temporary name does not end in .prom, so the collector
    ignores it; it is made readable like a normal file (mkstemp creates it 0600, and
    node_exporter runs as another user)."""
    folder = path.parent
    if not folder.is_dir():
        raise SmbtestsError(f"-o {path}: folder {folder} does not exist; create it first")
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _emit(text: str, output: str | None) -> None:
    if output is None:
        sys.stdout.write(text)
    else:
        write_atomically(Path(output), text)


def _export(args: argparse.Namespace) -> int:
    if args.format == "prometheus":
        _emit(export.render_prometheus(load_results(Path(args.results))), args.output)
        return 0
    max_age = timedelta(seconds=args.max_age) if args.max_age is not None else None
    try:
        results = load_results(Path(args.results))
        status = export.render_nagios(results, datetime.now(UTC), max_age)
    except SmbtestsError as exc:
        status = export.nagios_unknown(str(exc))
    _emit(status.line + "\n", args.output)
    return int(status.state)


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: give a number of seconds above 0")
    return value


AUDIT_VARIABLES = {
    "tester": "SMBTESTS_AUDIT_TESTER",
    "organisation": "SMBTESTS_AUDIT_ORGANISATION",
    "independence": "SMBTESTS_AUDIT_INDEPENDENCE",
    "change": "SMBTESTS_AUDIT_CHANGE",
}


def audit_meta(args: argparse.Namespace | None = None) -> Meta:
    """Tester, organisation, independence statement and change reference: an option wins over
    its environment variable (AUDIT_VARIABLES)."""
    found = {}
    for key, variable in AUDIT_VARIABLES.items():
        given = getattr(args, key, None) if args is not None else None
        found[key] = given or os.environ.get(variable) or None
    return Meta(**found)


def _audit(args: argparse.Namespace) -> int:
    previous = load_results(Path(args.previous)) if args.previous else None
    manifest = build_bundle(
        load_results(Path(args.results)),
        Path(args.output),
        meta=audit_meta(args),
        previous=previous,
    )
    folder = manifest.parent / AUDIT_DIR
    print(f"audit document: {folder / 'audit.html'}")
    print(f"audit PDF:      {folder / 'audit.pdf'}")
    print(f"evidence manifest SHA-256 (record it with the audit): {sha256_of(manifest)}")
    return 0


def _register_audit(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "audit",
        help="the segmentation test report for an assessor (HTML + PDF) in an evidence bundle",
        description="Write an evidence bundle to DIR with the audit document (audit/audit.html, "
        "audit/audit.pdf) built from the results file and the policy alone. Tester details come "
        "from the options or the variables " + ", ".join(AUDIT_VARIABLES.values()) + ".",
    )
    parser.add_argument("results", metavar="RESULTS", help="the results file of the run")
    parser.add_argument("--previous", metavar="RESULTS", help="an earlier run, for the changes")
    parser.add_argument("-o", "--output", required=True, metavar="DIR", help="new bundle folder")
    parser.add_argument("--tester", help="who ran the test (name, qualification)")
    parser.add_argument("--organisation", help="the tester's organisation")
    parser.add_argument("--independence", help="statement of the tester's independence")
    parser.add_argument("--change", help="the change or ticket this test follows")
    parser.set_defaults(func=_audit)


def register(subparsers: Any) -> None:
    _register_audit(subparsers)
    parser = subparsers.add_parser(
        "export",
        help="results for monitoring: Prometheus textfile metrics or a Nagios status line",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("results", metavar="RESULTS", help="the results file of a run")
    parser.add_argument(
        "--format", choices=("prometheus", "nagios"), required=True, help="output format"
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write FILE atomically (temp file + rename) instead of printing; for the "
        "textfile collector name it *.prom",
    )
    parser.add_argument(
        "--max-age",
        type=_positive_seconds,
        metavar="SECONDS",
        help="nagios: UNKNOWN when the run finished longer ago than this (a stopped timer)",
    )
    parser.set_defaults(func=_export)
