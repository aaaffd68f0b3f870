"""Fixtures for the pure parts: copies of the lab files that a test may break on purpose."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

ENVIRONMENTS = Path(__file__).resolve().parents[2] / "environments"


@pytest.fixture
def lab_files(tmp_path: Path) -> Path:
    """environments/lab.yaml and its policy copied into tmp_path, overlay pointed there too."""
    for name in ("lab.yaml", "lab-policy.yaml"):
        shutil.copy(ENVIRONMENTS / name, tmp_path / name)
    env = tmp_path / "lab.yaml"
    env.write_text(
        env.read_text().replace(
            "/run/smbtests-lab/policy-overlay.yaml", str(tmp_path / "overlay.yaml")
        )
    )
    return tmp_path


Editor = Callable[[str, Callable[[dict], None]], Path]


@pytest.fixture
def edit(lab_files: Path) -> Editor:
    """edit("lab-policy.yaml", change) loads the YAML, applies change(data), writes it back."""

    def apply(name: str, change: Callable[[dict], None]) -> Path:
        path = lab_files / name
        data = yaml.safe_load(path.read_text())
        change(data)
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return lab_files / "lab.yaml"

    return apply
