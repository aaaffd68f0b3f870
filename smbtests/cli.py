"""The `smbtests` console script.

The policy suite itself runs under pytest (`pytest --env NAME`); this command checks files,
manages the lab, turns results into diffs, registers, evidence bundles, reports and monitoring
exports, and drafts policy files from inventories.
Exit codes: 0 ok; 1 a finding (invalid file, worse diff, failed verification, lab unhealthy);
2 the command could not run (bad arguments, unreadable input).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from smbtests import __version__
from smbtests.dates import utc_today
from smbtests.errors import PolicyError, SmbtestsError

# Modules with their own subcommands expose register(subparsers); loaded lazily, in this order.
_COMMAND_MODULES = (
    "smbtests.lab.cli",
    "smbtests.reports.html",
    "smbtests.reports.cli",
    "smbtests.imports.cli",
)


def _cmd_validate(args: argparse.Namespace) -> int:
    from smbtests.checks.registry import build_plan
    from smbtests.config import load

    failed = False
    for path in args.files:
        try:
            config = load(Path(path))
            checks = build_plan(config, utc_today())
        except PolicyError as exc:
            hint = ""
            if _looks_like_policy(Path(path)):
                hint = " (this is a policy file: validate an environment file that names it)"
            print(f"INVALID {exc}{hint}", file=sys.stderr)
            failed = True
            continue
        print(
            f"ok {path}: environment {config.environment.name}, policy "
            f"{config.policy_path.name} (sha256 {config.policy_sha256[:12]}), "
            f"{len(config.environment.probes)} probes, {len(checks)} checks"
        )
        for warning in config.warnings:
            print(f"WARNING {warning}")
    return 1 if failed else 0


def _looks_like_policy(path: Path) -> bool:
    try:
        text = path.read_text()
    except OSError:
        return False
    return "\nsegments:" in f"\n{text}" and "\nprobes:" not in f"\n{text}"


def _cmd_schema(args: argparse.Namespace) -> int:
    from smbtests.config import Environment, Policy

    model = Policy if args.kind == "policy" else Environment
    print(json.dumps(model.model_json_schema(by_alias=True), indent=2))
    return 0


def _cmd_diff(args: argparse.Namespace) -> int:
    from smbtests.records import load_results
    from smbtests.reports import diff

    result = diff.diff_runs(load_results(Path(args.before)), load_results(Path(args.after)))
    render = {"text": diff.render_text, "json": diff.render_json, "markdown": diff.render_markdown}[
        args.format
    ]
    sys.stdout.write(render(result))
    return 1 if result.worse else 0


def _cmd_exceptions(args: argparse.Namespace) -> int:
    from smbtests.config import load, resolve_environment_path
    from smbtests.records import load_results
    from smbtests.reports import register

    config = load(resolve_environment_path(args.env, Path(args.environments)))
    results = load_results(Path(args.results)) if args.results else None
    try:
        today = date.fromisoformat(args.as_of) if args.as_of else utc_today()
    except ValueError:
        raise SmbtestsError(f"--as-of {args.as_of}: not a YYYY-MM-DD date") from None
    rows = register.build_register(config.policy, today, results)
    render = {
        "table": register.render_table,
        "csv": register.render_csv,
        "markdown": register.render_markdown,
    }[args.format]
    sys.stdout.write(render(rows))
    return 1 if any(r.status not in ("active", "expiring") for r in rows) else 0


def _cmd_evidence(args: argparse.Namespace) -> int:
    from smbtests.records import load_results
    from smbtests.reports import evidence

    if args.target[0] == "verify":
        if len(args.target) != 2:
            raise SmbtestsError("usage: smbtests evidence verify BUNDLE")
        check = evidence.verify_bundle(Path(args.target[1]))
        for label, names in (
            ("CHANGED", check.changed),
            ("ADDED", check.added),
            ("MISSING", check.missing),
        ):
            for name in names:
                print(f"{label} {name}")
        print(
            "bundle verified: every file matches the manifest"
            if check.ok
            else "bundle FAILED verification"
        )
        return 0 if check.ok else 1
    if len(args.target) != 1 or args.output is None:
        raise SmbtestsError("usage: smbtests evidence RESULTS -o BUNDLE [--allure-results DIR]")
    allure = Path(args.allure_results) if args.allure_results else None
    if allure is not None and not allure.is_dir():
        raise SmbtestsError(f"--allure-results {allure}: no such folder")
    from smbtests.reports.cli import audit_meta

    results = load_results(Path(args.target[0]))
    manifest = evidence.build_bundle(results, Path(args.output), allure, meta=audit_meta())
    digest = evidence.sha256_of(manifest)
    print(f"bundle written: {manifest.parent}")
    print(f"manifest SHA-256 (record it with the audit): {digest}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="smbtests",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        epilog="Run the live policy suite with: pytest --env NAME  (see `pytest --help`, "
        "group smbtests). Exit codes: 0 ok, 1 finding, 2 could not run.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    validate = sub.add_parser(
        "validate", help="check environment files (and their policies) without touching the network"
    )
    validate.add_argument(
        "files", nargs="+", metavar="ENV_FILE", help="environment YAML file(s) to check"
    )
    validate.set_defaults(func=_cmd_validate)

    schema = sub.add_parser("schema", help="print the JSON Schema of a file kind, for editors")
    schema.add_argument(
        "kind", choices=("policy", "environment"), help="which file kind: policy or environment"
    )
    schema.set_defaults(func=_cmd_schema)

    diff = sub.add_parser("diff", help="what changed between two runs; exit 1 if worse")
    diff.add_argument("before", metavar="BEFORE_RESULTS", help="results file of the earlier run")
    diff.add_argument("after", metavar="AFTER_RESULTS", help="results file of the later run")
    diff.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    diff.set_defaults(func=_cmd_diff)

    exceptions = sub.add_parser(
        "exceptions", help="the exceptions register (monthly review); exit 1 if any needs action"
    )
    exceptions.add_argument("--env", required=True, help="environment NAME or YAML path")
    exceptions.add_argument("--results", help="a results file, for the last observed use")
    exceptions.add_argument("--format", choices=("table", "csv", "markdown"), default="table")
    exceptions.add_argument(
        "--as-of", help="judge as of this UTC date (YYYY-MM-DD; default today in UTC)"
    )
    exceptions.add_argument(
        "--environments",
        default="environments",
        help="folder of NAME.yaml files (default: environments)",
    )
    exceptions.set_defaults(func=_cmd_exceptions)

    evidence = sub.add_parser(
        "evidence",
        help="build an evidence bundle (RESULTS -o BUNDLE) or check one (verify BUNDLE)",
    )
    evidence.add_argument(
        "target",
        nargs="+",
        metavar="RESULTS | verify BUNDLE",
        help="a results file to bundle, or `verify` and a bundle folder to check",
    )
    evidence.add_argument("-o", "--output", help="bundle folder to create")
    evidence.add_argument("--allure-results", help="Allure results folder to include")
    evidence.set_defaults(func=_cmd_evidence)

    for module_name in _COMMAND_MODULES:
        importlib.import_module(module_name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except PolicyError as exc:
        print(f"smbtests: {exc}", file=sys.stderr)
        return 1 if args.command == "validate" else 2
    except SmbtestsError as exc:
        print(f"smbtests: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
