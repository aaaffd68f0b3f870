"""NetBox exports as SourceHosts: IP addresses or devices, as CSV (the list view's Export) or
JSON (the REST API's `/api/ipam/ip-addresses/` or `/api/dcim/devices/`, one page or a list).

Columns are matched by name, case-insensitively, so both the table export (`IP Address`,
`DNS Name`, `Role`) and the all-fields export (`address`, `dns_name`) work. A row's labels are
its device role, its tags and its IP role; its subnet is the address's own prefix length,
which NetBox records. Only active rows are read (status empty or `active`); others are listed
in the draft as left out.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from smbtests.errors import SmbtestsError
from smbtests.imports.hosts import SourceHost, SourceInventory, parse_address

COMMAND = "smbtests import netbox"
ADDRESS_COLUMNS = ("address", "ip address", "primary ipv4", "primary_ip4", "primary ip")
NAME_COLUMNS = ("device", "name", "dns name", "dns_name", "virtual machine")
LABEL_COLUMNS = ("device role", "device_role", "role", "tags")
ACTIVE = frozenset({"", "active"})


def _text(value: Any) -> str:
    """A cell or JSON field as text: nested objects give their slug, name or address."""
    if isinstance(value, dict):
        for key in ("slug", "value", "name", "address", "display"):
            if value.get(key):
                return str(value[key])
        return ""
    return "" if value is None else str(value).strip()


def _first(row: dict[str, Any], columns: Iterable[str]) -> str:
    for column in columns:
        text = _text(row.get(column))
        if text:
            return text
    return ""


def _labels(row: dict[str, Any]) -> tuple[str, ...]:
    labels: list[str] = []
    for column in LABEL_COLUMNS:
        value = row.get(column)
        if isinstance(value, list):  # JSON tags
            labels.extend(_text(v) for v in value)
        else:
            labels.extend(part.strip() for part in _text(value).split(","))
    return tuple(dict.fromkeys(label for label in labels if label))


def _json_name(row: dict[str, Any]) -> str:
    assigned = row.get("assigned_object")
    if isinstance(assigned, dict):
        for owner in ("device", "virtual_machine"):
            if isinstance(assigned.get(owner), dict) and assigned[owner].get("name"):
                return str(assigned[owner]["name"])
    return ""


def _rows(text: str, path: Path) -> list[tuple[str, dict[str, Any]]]:
    """(where, row with lowercased keys) for each record of the export."""
    if text.lstrip().startswith(("{", "[")):
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SmbtestsError(f"{path}: not JSON ({exc})") from None
        records = document.get("results") if isinstance(document, dict) else document
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise SmbtestsError(f"{path}: expected a list of objects or an API page with `results`")
        return [
            (f"{path.name} record {n}", {str(k).lower(): v for k, v in r.items()})
            for n, r in enumerate(records, start=1)
        ]
    reader = csv.DictReader(io.StringIO(text))
    rows = [
        (f"{path.name}:{reader.line_num}", {str(k).strip().lower(): v for k, v in row.items()})
        for row in reader
    ]
    columns = {c.strip().lower() for c in reader.fieldnames or ()}
    if not columns & set(ADDRESS_COLUMNS):
        raise SmbtestsError(
            f"{path}: no address column (looked for {', '.join(ADDRESS_COLUMNS)}); export "
            "IP addresses, or devices with their primary IPv4"
        )
    return rows


def read_export(path: Path) -> SourceInventory:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise SmbtestsError(f"{path}: cannot read the export ({exc.strerror})") from None
    hosts: list[SourceHost] = []
    skipped: list[str] = []
    for where, row in _rows(text, path):
        address = _first(row, ADDRESS_COLUMNS)
        name = _json_name(row) or _first(row, NAME_COLUMNS) or address.split("/")[0]
        status = _text(row.get("status")).lower()
        if status not in ACTIVE:
            skipped.append(f"{name} ({where}): status {status}")
            continue
        parsed = parse_address(address)
        if parsed is None:
            skipped.append(f"{name} ({where}): no IPv4 address (`{address}`)")
            continue
        hosts.append(
            SourceHost(
                name=name,
                address=parsed[0],
                labels=_labels(row),
                origin=where,
                subnet_known=parsed[1],
            )
        )
    return SourceInventory(path, COMMAND, tuple(hosts), tuple(skipped))
