"""Every smbtests option in one group; each has an ini key of the same name, resolved once."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TypeVar

import pytest

from smbtests.dates import utc_today

T = TypeVar("T", int, float)

# (option, ini key, help, type) — one table so the CLI flag and ini key never drift apart.
_OPTIONS: tuple[tuple[str, str, str, str], ...] = (
    (
        "--env",
        "smb_env",
        "run the LIVE policy suite for environment NAME (environments/NAME.yaml) or a YAML path; "
        "without it pytest runs the project's own tests",
        "string",
    ),
    (
        "--smb-connect-timeout",
        "smb_connect_timeout",
        "seconds one TCP connect may take before it counts as filtered (overrides the "
        "environment's timing.connect_timeout; old name --smb-timeout)",
        "string",
    ),
    (
        "--smb-concurrency",
        "smb_concurrency",
        "connects in flight per probe (overrides timing.concurrency; keep production runs polite)",
        "string",
    ),
    (
        "--smb-results",
        "smb_results",
        "where to write the machine-readable results (JSON); default reports/<env>-results.json",
        "string",
    ),
    (
        "--smb-as-of",
        "smb_as_of",
        "judge exception expiry and reviews as of this UTC date (YYYY-MM-DD; default today in "
        "UTC, not the local date), "
        "e.g. to see what breaks next month",
        "string",
    ),
    (
        "--ring",
        "smb_ring",
        "run only the checks that involve hosts or probes tagged with this pilot ring",
        "string",
    ),
    (
        "--baseline",
        "smb_baseline",
        "a previous results file: mark each check with its change since then",
        "string",
    ),
)


# Old flag names still accepted, so scripts written for them keep working.
_ALIASES = {"--smb-connect-timeout": ("--smb-timeout",)}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("smbtests", "smbtests: live TCP 445 / SMB policy tests")
    for flag, ini, help_text, kind in _OPTIONS:
        group.addoption(
            flag,
            *_ALIASES.get(flag, ()),
            dest=ini,
            default=None,
            metavar=ini.removeprefix("smb_").upper(),
            help=f"{help_text} [ini: {ini}]",
        )
        parser.addini(ini, help=help_text, type=kind, default=None)  # type: ignore[arg-type]
    parser.addini(
        "smb_environments",
        help="folder holding NAME.yaml environments",
        type="string",
        default="environments",
    )


@dataclass(frozen=True)
class RunOptions:
    env: str | None
    connect_timeout: float | None
    concurrency: int | None
    results: Path | None
    as_of: date
    ring: str | None
    baseline: Path | None
    environments_dir: Path


def _value(config: pytest.Config, ini: str) -> str | None:
    cli = config.getoption(ini)
    if cli is not None:
        return str(cli)
    value = config.getini(ini)
    return str(value) if value else None


def _number(config: pytest.Config, ini: str, kind: type[T]) -> T | None:
    text = _value(config, ini)
    if text is None:
        return None
    try:
        number = kind(text)
    except ValueError:
        raise pytest.UsageError(f"--{ini.replace('_', '-')}: `{text}` is not a number") from None
    if not math.isfinite(number) or number <= 0:
        raise pytest.UsageError(f"--{ini.replace('_', '-')}: must be greater than 0")
    return number


def resolve(config: pytest.Config) -> RunOptions:
    """Read every option once into a frozen object; bad values are usage errors."""
    as_of_text = _value(config, "smb_as_of")
    try:
        as_of = date.fromisoformat(as_of_text) if as_of_text else utc_today()
    except ValueError:
        raise pytest.UsageError(f"--smb-as-of: `{as_of_text}` is not a YYYY-MM-DD date") from None
    results = _value(config, "smb_results")
    baseline = _value(config, "smb_baseline")
    return RunOptions(
        env=_value(config, "smb_env"),
        connect_timeout=_number(config, "smb_connect_timeout", float),
        concurrency=_number(config, "smb_concurrency", int),
        results=Path(results) if results else None,
        as_of=as_of,
        ring=_value(config, "smb_ring"),
        baseline=Path(baseline) if baseline else None,
        # relative to where pytest was started: a path argument outside the repository can move
        # pytest's rootdir, but `--env lab` still means ./environments/lab.yaml
        environments_dir=config.invocation_params.dir / str(config.getini("smb_environments")),
    )
