"""The `smbtests` console script: one subcommand group per module, registered here."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from smbtests.errors import SmbtestsError

# Each module exposes register(subparsers); its parsers set `func(args) -> int` as default.
_COMMAND_MODULES = ("smbtests.lab.cli",)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="smbtests",
        description=(
            "Live tests of a TCP 445 / SMB exposure policy. The policy suite itself runs under "
            "pytest: `pytest --env NAME`. This command manages the lab and the files around a run."
        ),
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in _COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except SmbtestsError as exc:
        print(f"smbtests: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
