"""Fixtures shared by the project's own tests.

The lab fixtures need root: the `lab` fixture brings the lab up once per session (`smbtests lab
up`) and down at the end; tests that use it skip with the reason when not run as root.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

LAB_STATE_DIR = Path("/run/smbtests-lab")
SYSTEM_PYTHON = "/usr/bin/python3"
CLI_TIMEOUT = 120.0


def netns_python(
    namespace: str,
    code: str,
    timeout: float,
    *,
    args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    python: str = SYSTEM_PYTHON,
) -> str:
    """Run `python -c code args...` inside a lab namespace and return its stdout.

    A non-zero exit is an error of the test's own machinery, never evidence: it raises
    RuntimeError (an error in pytest's report), not AssertionError.
    """
    result = subprocess.run(
        ["ip", "netns", "exec", namespace, python, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"python in {namespace} exited {result.returncode}: {result.stderr.strip()[-2000:]}"
        )
    return result.stdout


class Lab:
    """A handle on the running lab for tests: its CLI, its files, its scenarios."""

    state_dir = LAB_STATE_DIR
    netns_python = staticmethod(netns_python)

    def cli(
        self, *args: str, env: Mapping[str, str] | None = None, prefix: Sequence[str] = ()
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*prefix, sys.executable, "-m", "smbtests.cli", *args],
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT,
            env=dict(env) if env is not None else None,
            check=False,
        )

    def cli_as_nobody(self, *args: str) -> subprocess.CompletedProcess[str]:
        nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        return self.cli(*args, prefix=nobody)

    def cli_ok(self, *args: str) -> str:
        result = self.cli(*args)
        if result.returncode != 0:
            raise RuntimeError(f"`smbtests {' '.join(args)}` failed: {result.stderr.strip()}")
        return result.stdout

    @contextmanager
    def scenario(self, name: str) -> Iterator[None]:
        """Apply scenario `name` for the duration of the block, then restore the compliant lab."""
        self.cli_ok("lab", "scenario", name)
        try:
            yield
        finally:
            self.cli_ok("lab", "scenario", "compliant")

    def smb_password(self) -> str:
        # Read each time: a test that brings the lab down and up again gets a new one.
        return (self.state_dir / "secrets" / "smb_password").read_text().strip()

    def win_password(self) -> str:
        """win1's WinRM password (the WS-Management double's labadmin), new at every `up`."""
        return (self.state_dir / "secrets" / "win_password").read_text().strip()


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    if os.geteuid() != 0:
        pytest.skip("the lab needs root (network namespaces, nftables, smbd, sshd, the double)")
    handle = Lab()
    handle.cli_ok("lab", "up")
    yield handle
    handle.cli_ok("lab", "down")


@pytest.fixture(name="netns_python", scope="session")
def netns_python_fixture() -> Callable[..., str]:
    return netns_python
