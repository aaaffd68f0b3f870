"""A spreadsheet's CSV export as SourceHosts (the module is not named csv: that is stdlib's).

Columns, matched case-insensitively, in any order; others are ignored:
`name` (required), `address` (required: IPv4, optionally with /prefix, which then is the
host's subnet), `role` (file, dc, print, admin, probe, or any word the mapping knows:
"File server", "guest"), `segment` (the segment the host's subnet belongs to), `shares`
(separated by `;`), `ssh_user` (for probes). Commas, semicolons or tabs separate the columns
(Excel writes semicolons in some locales).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from smbtests.errors import SmbtestsError
from smbtests.imports.hosts import SourceHost, SourceInventory, parse_address

COMMAND = "smbtests import csv"
REQUIRED = ("name", "address")


def read_csv(path: Path) -> SourceInventory:
    try:
        text = path.read_text(encoding="utf-8-sig")  # -sig: Excel's byte-order mark
    except OSError as exc:
        raise SmbtestsError(f"{path}: cannot read the file ({exc.strerror})") from None
    first_line = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first_line.count)
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    columns = [c.strip().lower() for c in reader.fieldnames or ()]
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        found = ", ".join(columns) or "nothing"
        raise SmbtestsError(
            f"{path}:1: missing column {', '.join(missing)} (found: {found}); the header "
            "needs name,address and optionally role,segment,shares"
        )
    hosts: list[SourceHost] = []
    for row in reader:
        cells = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k is not None}
        where = f"{path}:{reader.line_num}"
        if not cells["name"] and not cells["address"]:
            continue
        parsed = parse_address(cells["address"])
        if parsed is None or not cells["name"]:
            problem = "no name" if parsed is not None else f"`{cells['address']}` is not IPv4"
            raise SmbtestsError(f"{where}: {problem}; fix the row or delete it")
        hosts.append(
            SourceHost(
                name=cells["name"],
                address=parsed[0],
                labels=tuple(v for v in (cells.get("role", ""),) if v),
                origin=f"{path.name}:{reader.line_num}",
                subnet_known=parsed[1],
                segment=cells.get("segment") or None,
                shares=tuple(s.strip() for s in cells.get("shares", "").split(";") if s.strip()),
                ssh_user=cells.get("ssh_user") or None,
            )
        )
    return SourceInventory(path, COMMAND, tuple(hosts))
