"""`pip install <checkout>` into a fresh venv gives a runner: the command and the pytest plugin,
without root, the lab's Debian packages, or this repository's conftest.py."""

from __future__ import annotations

import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from smbtests import __version__

ROOT = Path(__file__).resolve().parents[2]
PIP_TIMEOUT = 600.0


def _copy_checkout(target: Path) -> Path:
    """The files git would ship (tracked, plus new ones not ignored): no .venv, no build/."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


@pytest.mark.install
def test_fresh_venv_gets_command_and_plugin(tmp_path: Path) -> None:
    checkout = _copy_checkout(tmp_path / "checkout")
    runner = tmp_path / "runner"
    # No pip inside the new venv: this venv's pip installs into it (`--python`), which skips
    # ensurepip and reuses pip's wheel cache, so the test takes seconds once wheels are cached.
    venv.create(runner, with_pip=False)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(runner / "bin" / "python"),
            "install",
            "-q",
            str(checkout),
        ],
        check=True,
        timeout=PIP_TIMEOUT,
    )
    elsewhere = tmp_path / "elsewhere"  # no conftest.py or pytest.ini of ours here
    elsewhere.mkdir()

    version = subprocess.run(
        [runner / "bin" / "smbtests", "--version"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        check=True,
    )
    assert version.stdout == f"smbtests {__version__}\n"

    located = subprocess.run(
        [runner / "bin" / "python", "-c", "import smbtests; print(smbtests.__file__)"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        check=True,
    )
    assert located.stdout.startswith(str(runner))  # the installed copy, not the checkout

    # the engine's backends import with what pip brought (impacket, paramiko, pywinrm)
    imports = (
        "import smbtests.smb, smbtests.probes.ssh, smbtests.probes.winrm, smbtests_pytest.entry"
    )
    subprocess.run([runner / "bin" / "python", "-c", imports], cwd=elsewhere, check=True)
    # the glue installs under its own name: no generic top-level `plugins` in site-packages
    generic = subprocess.run(
        [runner / "bin" / "python", "-c", "import plugins"], cwd=elsewhere, check=False
    )
    assert generic.returncode != 0
    read_licence = (
        "import importlib.metadata as m; print(m.metadata('smbtests')['License-Expression'])"
    )
    licence = subprocess.run(
        [runner / "bin" / "python", "-c", read_licence],
        cwd=elsewhere, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert licence.stdout == "MIT\n"

    helped = subprocess.run(
        [runner / "bin" / "pytest", "--help"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "smbtests: live TCP 445 / SMB policy tests" in helped.stdout
    assert "--env" in helped.stdout
