"""`smbtests import ansible|netbox|csv SOURCE -o DIR`: a draft policy and environment from
where the hosts are already kept. The files validate as written; what the source cannot know
(which paths are approved, the probes' controls, credentials, real subnets) is a guess marked
`# TODO(human): ...`. Existing files are never overwritten without --force."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from smbtests.dates import utc_today
from smbtests.imports import ansible, csvfile, netbox
from smbtests.imports.draft import DEFAULT_PREFIX, build_draft
from smbtests.imports.hosts import SourceInventory
from smbtests.imports.mapping import ROLES, parse_mapping
from smbtests.imports.render import write_draft

SOURCES: dict[str, tuple[Callable[[Path], SourceInventory], str, str]] = {
    "ansible": (
        ansible.read_inventory,
        "INVENTORY",
        "an Ansible inventory: INI, or YAML when it ends in .yml/.yaml",
    ),
    "netbox": (
        netbox.read_export,
        "EXPORT",
        "a NetBox export of IP addresses or devices: CSV, or the REST API's JSON",
    ),
    "csv": (csvfile.read_csv, "FILE", "a CSV file with columns name,address[,role,segment,shares]"),
}


def _import(args: argparse.Namespace) -> int:
    from smbtests.checks.registry import build_plan
    from smbtests.config import load

    reader = SOURCES[args.source][0]
    inventory = reader(Path(args.file))
    draft = build_draft(inventory, args.name, parse_mapping(args.map or ()), args.prefix)
    environment, policy = write_draft(draft, Path(args.output), args.force)
    config = load(environment)  # the draft must validate; a PolicyError here is our bug
    checks = build_plan(config, utc_today())
    print(f"wrote {environment} and {policy}")
    print(
        f"{len(inventory.hosts)} hosts read: {len(config.policy.smb_hosts)} SMB hosts, "
        f"{len(config.policy.segments)} segments, {len(config.environment.probes)} probes, "
        f"{len(checks)} checks; {len(inventory.skipped)} left out"
    )
    print(f"{draft.todo_count} TODO(human) to decide; then: smbtests validate {environment}")
    return 0


def _prefix(text: str) -> int:
    if not text.isdigit() or not 8 <= int(text) <= 30:
        raise argparse.ArgumentTypeError(f"{text!r}: give a prefix length from 8 to 30")
    return int(text)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "import",
        help="draft a policy and environment from an Ansible inventory, NetBox export or CSV",
        description=__doc__,
    )
    sources = parser.add_subparsers(dest="source", metavar="SOURCE", required=True)
    for name, (_, metavar, what) in SOURCES.items():
        source = sources.add_parser(name, help=f"from {what}", description=f"Import {what}.")
        source.add_argument("file", metavar=metavar, help=what)
        source.add_argument(
            "-o", "--output", required=True, metavar="DIR", help="folder for the two files"
        )
        source.add_argument(
            "--name",
            default="draft",
            help="environment name: DIR/NAME.yaml and DIR/NAME-policy.yaml (default: draft)",
        )
        source.add_argument(
            "--map",
            action="append",
            metavar="LABEL=ROLE",
            help=f"give a group/role/tag a role ({', '.join(ROLES)}); repeatable; "
            "wins over the default mapping by words (docs/import.md)",
        )
        source.add_argument(
            "--prefix",
            type=_prefix,
            default=DEFAULT_PREFIX,
            help="subnet size assumed around hosts whose subnet the source does not give "
            f"(default {DEFAULT_PREFIX})",
        )
        source.add_argument("--force", action="store_true", help="overwrite existing files")
        source.set_defaults(func=_import)
