"""paramiko is imported without invoke (smbtests/probes/_paramiko.py), and the process keeps
invoke; an ssh probe made, or its scanner started, imports no paramiko at all: checked in a
fresh interpreter, since this one may have imported either already."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROGRAM = """
import sys
import smbtests.probes._ssh_paramiko
import paramiko.config
loaded_with_paramiko = "invoke" in sys.modules or "unittest.mock" in sys.modules
import invoke
print(loaded_with_paramiko, paramiko.config.invoke is None, invoke.Context.__name__)
"""

ALREADY_IMPORTED = """
import invoke
import smbtests.probes._ssh_paramiko
import paramiko.config
print(paramiko.config.invoke is invoke)
"""


def _run(program: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout.strip()


def test_paramiko_comes_without_invoke_and_invoke_stays_importable() -> None:
    assert _run(PROGRAM) == "False True Context"


def test_an_invoke_imported_before_is_left_to_paramiko() -> None:
    assert _run(ALREADY_IMPORTED) == "True"


NOT_IMPORTED = """
import sys
from pathlib import Path
from smbtests.probes import registry
from smbtests.probes.ssh import SshProbe
SshProbe("p", "192.0.2.1", "u", Path(sys.argv[1]), Path(sys.argv[1]), openssh="/usr/bin/ssh")
print("paramiko" in sys.modules)
"""


def test_an_ssh_probe_made_imports_no_paramiko(tmp_path: Path) -> None:
    """Its channels (dial, relay) import it when first opened; its commands go through OpenSSH."""
    stand_in = tmp_path / "file"
    stand_in.write_text("")
    done = subprocess.run(
        [sys.executable, "-c", NOT_IMPORTED, str(stand_in)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == "False"
