"""Both WS-Man doubles are lab services like any other: a stopped one comes back."""

from __future__ import annotations

import os
import signal
import time

import pytest

from tests.conftest import Lab
from tests.lab.conftest import alive, tracked_process

STOP_WAIT = 5.0


@pytest.mark.lab
@pytest.mark.parametrize(
    ("service", "status_line"),
    [
        ("win1/wsman", "wsman 10.45.20.22:5985 open, wsman-tls 10.45.20.22:5986 open"),
        (
            "dc1/wsman",
            "smbd 10.45.10.12:445 open, wsman 10.45.10.12:5985 open, "
            "wsman-tls 10.45.10.12:5986 open",
        ),
    ],
)
def test_stopped_double_is_restarted_by_compliant(lab: Lab, service: str, status_line: str) -> None:
    pid = tracked_process(lab, service)["pid"]
    assert isinstance(pid, int)
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_WAIT
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)  # a poll interval under a deadline
    assert not alive(pid)
    lab.cli_ok("lab", "scenario", "compliant")
    assert tracked_process(lab, service)["pid"] != pid
    result = lab.cli("lab", "status")
    assert result.returncode == 0, result.stdout
    assert status_line in result.stdout
