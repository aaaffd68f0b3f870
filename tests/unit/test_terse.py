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


def test_the_cells_not_covered_are_shown_a_few_then_counted() -> None:
    from plugins.results import SHOWN_UNCOVERED, not_covered

    assert not_covered([]) == "none"
    few = [("guest", "fs1", 445), ("iot", "dc1", 139)]
    assert not_covered(few) == "guest->fs1:445, iot->dc1:139"
    many = [("corp", f"t-{n}", 445) for n in range(SHOWN_UNCOVERED + 1788)]
    text = not_covered(many)
    assert text.count("->") == SHOWN_UNCOVERED
    assert text.endswith("and 1788 more (the results file's coverage.uncovered)")
