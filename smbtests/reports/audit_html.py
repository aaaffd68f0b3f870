"""The audit document as one self-contained HTML file (Jinja2, autoescaped, print CSS).

Every value comes from the policy or a results file, so every value is escaped; the template
(templates/audit.html.j2) references nothing outside itself, and `outside_references` proves
it with the offline report's own scanners.
"""

from __future__ import annotations

from pathlib import Path

import jinja2

from smbtests.reports.audit import AuditDocument
from smbtests.reports.offline import external_references

_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("smbtests.reports", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def render(document: AuditDocument) -> str:
    return _TEMPLATES.get_template("audit.html.j2").render(d=document)


def outside_references(folder: Path) -> list[tuple[str, str]]:
    """(file, URL) of every reference to anything outside the folder's files."""
    return external_references(folder)
