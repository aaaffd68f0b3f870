"""Evidence bundles for auditors: what was tested, from where, how judged, with a SHA-256
manifest that `smbtests evidence verify` checks for any changed, added or missing file.

The audit document (audit.py) sits in `audit/` beside the manifest it names: MANIFEST.sha256
covers every file but `audit/`; `audit/AUDIT.sha256` covers the document's files, and
`audit/audit.json` records the SHA-256 of the policy, environment, results and manifest that
the document shows, which `verify` compares with the bundle's files."""

from __future__ import annotations

import csv
import hashlib
import importlib.metadata
import io
import json
import platform
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from smbtests.checks.base import STEP_TITLES
from smbtests.config import LoadedConfig, load
from smbtests.errors import InternalError, SmbtestsError
from smbtests.records import RunResults, require_complete
from smbtests.reports import audit, audit_html, audit_pdf
from smbtests.reports.coverage import Coverage, coverage
from smbtests.reports.register import build_register, render_csv, render_markdown

MANIFEST = "MANIFEST.sha256"
AUDIT_DIR = "audit"
AUDIT_MANIFEST = "AUDIT.sha256"
AUDIT_FILES = ("audit.html", "audit.pdf", "audit.json")
RECORD_COLUMNS = (
    "id",
    "kind",
    "step",
    "probe",
    "host",
    "target",
    "expect",
    "outcome",
    "observed",
    "observed_at",
    "message",
)


def methodology(config: LoadedConfig, results: RunResults, cover: Coverage) -> str:
    env, policy = config.environment, config.policy
    lines = [
        f"# Methodology: {policy.name} in environment {env.name}",
        "",
        f"Run started {results.started}; policy SHA-256 `{config.policy_sha256}`.",
        "",
        "## What is tested, from where",
        "",
        "| probe | segment | transport | source address | positive control |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, probe in sorted(env.probes.items()):
        control = probe.control
        target = f"{control.address}:{control.port}" if control else "-"
        lines.append(
            f"| {name} | {probe.segment} | {probe.transport} | {probe.own_address} | {target} |"
        )
    lines += [
        "",
        "Each probe connects to all of its targets in one batch (TCP connect, timeout "
        f"{env.timing.connect_timeout:g} s, at most {env.timing.concurrency} at once). SMB facts "
        "(SMB1, signing, dialect floor, encryption, anonymous and guest access, "
        "declared shares) are read with impacket from the runner.",
        "",
        "## How verdicts are decided",
        "",
        "- A path the policy approves must complete a TCP handshake (`open`).",
        "- A path the policy denies must be refused (RST), filtered (no answer within the "
        "timeout) or unreachable (an ICMP error). Such a result counts **only** if the same "
        "probe reached its positive control in the same batch; otherwise the check is an "
        "**error**, never a pass.",
        "- A probe that cannot be reached, authenticates wrongly, or returns malformed output "
        "makes its checks errors.",
        "- SMB1 is refused when the server answers an SMB1-only negotiate with 'no common "
        "dialect', in SMB2, or with NOT_SUPPORTED or NOT_IMPLEMENTED (a hang-up with nothing "
        "read, or another status, proves nothing: an error); signing is judged from the "
        "server's own SecurityMode in its answer to a negotiate offering every dialect "
        "2.0.2-3.1.1 (by MS-SMB2 3.3.5.4 one setting for every dialect, RequireMessageSigning); "
        "the dialect floor holds when an offer of only the dialects below it is refused and "
        "the offer of all chooses none below it; "
        "encryption is required when the account opens the shares over SMB 3.x but not over "
        "unencrypted SMB 2.1.",
        "- Exceptions fail when self-approved, expired, overdue for review, or unused (their "
        "path is closed).",
        "",
        "## Seed steps covered",
        "",
    ]
    steps = sorted({r.step for r in results.checks.values()})
    lines += [
        f"- {STEP_TITLES[s]}: {sum(r.step == s for r in results.checks.values())} checks"
        for s in steps
    ]
    lines += [
        "",
        "## Coverage of the segment x SMB-host matrix",
        "",
        f"{len(cover.probed)} of {len(cover.probed) + len(cover.uncovered)} segment x host x "
        f"port cells proved ({cover.share:.0%}); a probe an exception lets through proves "
        "nothing for the rest of its segment and does not count.",
    ]
    if cover.uncovered:
        lines += ["", "Pairs no probe covers (add a probe in the segment to test them):", ""]
        lines += [f"- {segment} -> {host}:{port}" for segment, host, port in cover.uncovered]
    return "\n".join(lines) + "\n"


def _records_csv(results: RunResults) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(
        out, fieldnames=RECORD_COLUMNS, extrasaction="ignore", lineterminator="\n"
    )
    writer.writeheader()
    for check_id in sorted(results.checks):
        writer.writerow({k: results.checks[check_id].raw.get(k) for k in RECORD_COLUMNS})
    return out.getvalue()


def _versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in (
        "smbtests",
        "impacket",
        "pytest",
        "pytest-xdist",
        "paramiko",
        "pytest-testinfra",
        "pywinrm",
        "allure-pytest",
        "pydantic",
    ):
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            found[package] = "not installed"
    return found


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _files(bundle: Path) -> list[str]:
    return sorted(
        name
        for p in bundle.rglob("*")
        if p.is_file()
        and p.name != MANIFEST
        and not (name := str(p.relative_to(bundle))).startswith(f"{AUDIT_DIR}/")
    )


def _write_audit(
    out: Path,
    config: LoadedConfig,
    results: RunResults,
    previous: RunResults | None,
    meta: audit.Meta,
) -> None:
    hashes = audit.Hashes(
        policy=sha256_of(out / "inputs" / config.policy_path.name),
        environment=sha256_of(out / "inputs" / config.environment_path.name),
        results=sha256_of(out / "results.json"),
        manifest=sha256_of(out / MANIFEST),
    )
    document = audit.build(config, results, previous, meta, hashes, datetime.now(UTC))
    folder = out / AUDIT_DIR
    folder.mkdir()
    (folder / "audit.json").write_text(audit.as_json(document))
    (folder / "audit.html").write_text(audit_html.render(document))
    outside = audit_html.outside_references(folder)
    if outside:
        raise InternalError(f"the audit document references outside addresses: {outside[:3]}")
    audit_pdf.print_pdf(folder / "audit.html", folder / "audit.pdf")
    (folder / AUDIT_MANIFEST).write_text(
        "".join(f"{sha256_of(folder / name)}  {name}\n" for name in AUDIT_FILES)
    )


def _verify_audit(bundle: Path) -> tuple[list[str], list[str]]:
    """(changed, missing) among the audit document's files and the hashes it shows."""
    folder = bundle / AUDIT_DIR
    if not (folder / AUDIT_MANIFEST).is_file():
        return [], [f"{AUDIT_DIR}/{AUDIT_MANIFEST}"]
    changed, missing = [], []
    for line in (folder / AUDIT_MANIFEST).read_text().splitlines():
        digest, _, name = line.partition("  ")
        if not (folder / name).is_file():
            missing.append(f"{AUDIT_DIR}/{name}")
        elif sha256_of(folder / name) != digest:
            changed.append(f"{AUDIT_DIR}/{name}")
    if missing or changed:
        return changed, missing
    shown = json.loads((folder / "audit.json").read_text())["hashes"]
    inputs = sorted((bundle / "inputs").iterdir())
    files = {"results": bundle / "results.json", "manifest": bundle / MANIFEST}
    for key, path in files.items():
        if not path.is_file() or sha256_of(path) != shown[key]:
            changed.append(f"{path.relative_to(bundle)} (not the file the audit document shows)")
    for key in ("policy", "environment"):
        if not any(sha256_of(p) == shown[key] for p in inputs):
            changed.append(f"inputs/ ({key} file: not the one the audit document shows)")
    return changed, missing


def build_bundle(
    results: RunResults,
    out: Path,
    allure_results: Path | None = None,
    *,
    meta: audit.Meta | None = None,
    previous: RunResults | None = None,
) -> Path:
    """Write the bundle folder; return its manifest path. Refuses to overwrite a bundle, and
    an interrupted run (an audit must not read unrun checks as covered)."""
    require_complete(results, "bundled as evidence")
    try:
        config = load(Path(results.raw["environment_file"]))
        as_of = date.fromisoformat(results.raw["as_of"])
    except (KeyError, TypeError, ValueError):
        raise SmbtestsError(
            f"{results.path}: no usable environment_file/as_of; was it written by smbtests?"
        ) from None
    if config.policy_sha256 != results.policy_sha256:
        raise SmbtestsError(
            f"the policy changed since the run ({results.policy_sha256[:12]} -> "
            f"{config.policy_sha256[:12]}); evidence would not match the run: run again"
        )
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise SmbtestsError(f"{out} exists and is not empty; choose a new bundle folder")
    # built beside its final place, then renamed: a failed build leaves no half a bundle
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    except OSError as exc:
        raise SmbtestsError(f"{out}: cannot create the bundle ({exc.strerror or exc})") from None
    try:
        _write_bundle(work, config, results, as_of, allure_results, previous, meta)
        if out.exists():
            out.rmdir()  # empty, checked above
        work.rename(out)
    except OSError as exc:
        raise SmbtestsError(f"{out}: cannot write the bundle ({exc.strerror or exc})") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out / MANIFEST


def _write_bundle(
    out: Path,
    config: LoadedConfig,
    results: RunResults,
    as_of: date,
    allure: Path | None,
    previous: RunResults | None,
    meta: audit.Meta | None,
) -> None:
    cover = coverage(config, results)
    (out / "methodology.md").write_text(methodology(config, results, cover))
    (out / "records.csv").write_text(_records_csv(results))
    shutil.copy(results.path, out / "results.json")
    inputs = out / "inputs"
    inputs.mkdir()
    # environment files name credential variables, never values; they are safe to hand over
    shutil.copy(config.environment_path, inputs / config.environment_path.name)
    shutil.copy(config.policy_path, inputs / config.policy_path.name)
    if config.overlay_applied and config.environment.policy_overlay is not None:
        shutil.copy(config.environment.policy_overlay, inputs / "policy-overlay.yaml")
    # the register as the run judged it, not as of the day the bundle is built
    rows = build_register(config.policy, as_of, results)
    (out / "exceptions.csv").write_text(render_csv(rows))
    (out / "exceptions.md").write_text(render_markdown(rows))
    (out / "versions.json").write_text(json.dumps(_versions(), indent=2) + "\n")
    if allure is not None:
        shutil.copytree(allure, out / "allure-results")
    manifest = out / MANIFEST
    manifest.write_text("".join(f"{sha256_of(out / name)}  {name}\n" for name in _files(out)))
    _write_audit(out, config, results, previous, meta or audit.Meta(None, None, None, None))


@dataclass(frozen=True)
class Verification:
    changed: tuple[str, ...]
    added: tuple[str, ...]
    missing: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not (self.changed or self.added or self.missing)


def verify_bundle(bundle: Path) -> Verification:
    manifest = bundle / MANIFEST
    if not manifest.is_file():
        raise SmbtestsError(f"{bundle}: no {MANIFEST}; not an smbtests evidence bundle")
    expected: dict[str, str] = {}
    for number, line in enumerate(manifest.read_text().splitlines(), start=1):
        digest, sep, name = line.partition("  ")
        if not sep or len(digest) != 64:
            raise SmbtestsError(f"{manifest}:{number}: malformed manifest line")
        expected[name] = digest
    present = set(_files(bundle))
    audit_changed, audit_missing = _verify_audit(bundle)
    return Verification(
        changed=tuple(
            sorted(n for n in expected if n in present and sha256_of(bundle / n) != expected[n])
        )
        + tuple(audit_changed),
        added=tuple(sorted(present - set(expected))),
        missing=tuple(sorted(set(expected) - present)) + tuple(audit_missing),
    )
