"""paramiko is imported without invoke (smbtests/probes/_paramiko.py), and the process keeps
invoke: checked in a fresh interpreter, since this one may have imported either already."""

from __future__ import annotations

import subprocess
import sys

PROGRAM = """
import sys
import smbtests.probes.ssh
import paramiko.config
loaded_with_paramiko = "invoke" in sys.modules or "unittest.mock" in sys.modules
import invoke
print(loaded_with_paramiko, paramiko.config.invoke is None, invoke.Context.__name__)
"""

ALREADY_IMPORTED = """
import invoke
import smbtests.probes.ssh
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
