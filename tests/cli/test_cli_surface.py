"""The command line's own surface: --version, help for every positional argument, and the
shipped environments validating."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

import pytest

from smbtests import __version__
from smbtests.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[2]


def _positionals(
    parser: argparse.ArgumentParser, prefix: str
) -> Iterator[tuple[str, argparse.Action]]:
    """(command path, action) for every positional argument, subcommands included."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _positionals(child, f"{prefix} {name}")
        elif not action.option_strings:
            yield prefix, action


def test_version_prints_name_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out == f"smbtests {__version__}\n"


def test_every_positional_of_every_command_has_help() -> None:
    found = list(_positionals(build_parser(), "smbtests"))
    missing = [
        f"{where} {action.metavar or action.dest}" for where, action in found if not action.help
    ]
    assert len(found) >= 8  # the walk reached the subcommands (lab, report)
    assert missing == []


@pytest.mark.parametrize(
    "environment",
    sorted(p.name for p in (ROOT / "environments").glob("*.yaml") if "-policy" not in p.name),
)
def test_every_shipped_environment_validates(
    environment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The files users copy first load as they are (the example's /16 once exceeded the sweep
    limit and was refused)."""
    assert main(["validate", str(ROOT / "environments" / environment)]) == 0
    assert capsys.readouterr().out.startswith(f"ok {ROOT / 'environments' / environment}:")
