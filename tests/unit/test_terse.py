"""The live suite's one line per check that did not pass names the check by its whole id."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from plugins.terse import _write_lines


@dataclass
class Report:
    nodeid: str
    longrepr: str
    when: str = "call"


@dataclass
class Reporter:
    stats: dict[str, list[Report]]
    lines: list[str] = field(default_factory=list)

    def write_sep(self, sep: str, title: str) -> None:
        self.lines.append(f"{sep} {title}")

    def write_line(self, line: str) -> None:
        self.lines.append(line)


def test_a_bracketed_id_is_named_whole() -> None:
    node = "plugins/live.py::test_policy[reach:mgmt[10.45.20.5]/fs1:445]"
    errored = Report("plugins/live.py::test_policy[smb1:fs1]", "ERROR probe down", "setup")
    stats: dict[str, Any] = {"failed": [Report(node, "mgmt -> fs1:445 OPEN")], "error": [errored]}
    reporter = Reporter(stats)
    _write_lines(reporter)
    assert "FAILED reach:mgmt[10.45.20.5]/fs1:445: mgmt -> fs1:445 OPEN" in reporter.lines
    assert "ERROR smb1:fs1: probe down" in reporter.lines
