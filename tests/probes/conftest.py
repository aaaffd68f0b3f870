"""A scratch network namespace per test module: loopback only, so nothing leaves the machine."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest

NetnsRun = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def scratch_netns() -> Iterator[str]:
    if os.geteuid() != 0:
        pytest.skip("needs root to create a network namespace")
    name = f"smbtests-scratch-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


@pytest.fixture(scope="module")
def in_netns(scratch_netns: str) -> NetnsRun:
    """in_netns(*argv, input=...) runs argv inside the scratch namespace (bounded by 30 s)."""

    def run(*argv: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["ip", "netns", "exec", scratch_netns, *argv],
            input=input,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    return run


PYTHON = sys.executable
