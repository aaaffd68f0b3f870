"""`pip install <checkout>` into a fresh venv gives a runner: the command and the pytest plugin,
without root, the lab's Debian packages, or this repository's conftest.py."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from smbtests import __version__
from tests.conftest import Lab

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


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(a fresh venv with the checkout pip-installed in it, a folder with no config of ours)."""
    tmp_path = tmp_path_factory.mktemp("install")
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
    return runner, elsewhere


@pytest.mark.install
def test_fresh_venv_gets_command_and_plugin(installed: tuple[Path, Path]) -> None:
    runner, elsewhere = installed

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


@pytest.mark.install
@pytest.mark.lab
def test_installed_runner_runs_the_suite_against_ssh_probes(
    installed: tuple[Path, Path], lab: Lab, tmp_path: Path
) -> None:
    """The pip-installed runner alone (no checkout, no lab code on its path) runs the live
    suite against the lab's ssh probes from inside the lab."""
    runner, elsewhere = installed
    results = tmp_path / "results.json"
    done = subprocess.run(
        [
            "ip", "netns", "exec", "smblab-mgmt", str(runner / "bin" / "pytest"),
            "--env", str(ROOT / "environments" / "lab.yaml"), "-p", "no:cacheprovider", "-q",
            "-k", "guest1 or corp1", "--smb-results", str(results),
        ],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "SMBTESTS_LAB_SMB_PASSWORD": lab.smb_password(),
            "SMBTESTS_LAB_WIN_PASSWORD": lab.win_password(),
        },
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    checks = json.loads(results.read_text())["checks"]
    probes = {c["probe"] for c in checks}
    assert {"guest1", "corp1"} <= probes
    assert checks and all(c["outcome"] == "passed" for c in checks)
