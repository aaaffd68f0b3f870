"""The distribution ships every engine package, and the pytest glue under its own name."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from setuptools import find_packages

ROOT = Path(__file__).resolve().parents[2]


def test_every_engine_package_is_listed() -> None:
    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {p for p in find_packages(str(ROOT), include=["smbtests", "smbtests.*"])}
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"
    assert "plugins" not in listed and "smbtests_pytest" in listed


def test_generic_plugins_name_is_not_importable_outside_the_checkout(tmp_path: Path) -> None:
    outside = subprocess.run(
        [sys.executable, "-c", "import smbtests_pytest.entry; import plugins"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert "No module named 'plugins'" in outside.stderr, outside.stderr
