"""The WS-Management DOUBLE as a fixture: started once per module on 127.0.0.1, free ports."""

from __future__ import annotations

import json
import os
import secrets
import selectors
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from smbtests.lab.wsman import State, default_state, write_state
from smbtests.probes.winrm import WinRMProbe, WinRMSettings

READY_WITHIN = 20.0
USER = "labadmin"


@dataclass
class Double:
    process: subprocess.Popen[bytes]
    http_port: int
    https_port: int
    ca: Path
    state_path: Path
    log_path: Path
    password: str = field(repr=False)  # pytest prints fixture values of a failing test

    def set_state(self, state: State) -> None:
        write_state(self.state_path, state)

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def settings(self, scheme: str = "http", **overrides: object) -> WinRMSettings:
        port = self.http_port if scheme == "http" else self.https_port
        values: dict[str, Any] = {
            "address": "127.0.0.1",
            "username": USER,
            "port": port,
            "scheme": scheme,
            "ca_bundle": self.ca,
            "operation_timeout": 2,
            "read_timeout": 5,
            "command_timeout": 10.0,
        }
        values.update(overrides)
        return WinRMSettings(**values)

    def probe(
        self, scheme: str = "http", password: str | None = None, **overrides: object
    ) -> WinRMProbe:
        return WinRMProbe(
            "win1",
            self.settings(scheme, **overrides),
            self.password if password is None else password,
        )


def _wait_ready(process: subprocess.Popen[bytes], log_path: Path) -> dict[str, object]:
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + READY_WITHIN
    line = b""
    while not line.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not selector.select(remaining):
            raise RuntimeError(f"the double did not start: {log_path.read_text()[-2000:]}")
        chunk = os.read(process.stdout.fileno(), 4096)
        if not chunk:
            raise RuntimeError(f"the double exited: {log_path.read_text()[-2000:]}")
        line += chunk
    ready: dict[str, object] = json.loads(line)
    return ready


@pytest.fixture(scope="module")
def double_password() -> str:
    """A canary: it must never show up in a log, an exception or a report."""
    return f"Canary-{secrets.token_hex(8)}-pw!"


@pytest.fixture(scope="module")
def double(tmp_path_factory: pytest.TempPathFactory, double_password: str) -> Iterator[Double]:
    root = tmp_path_factory.mktemp("wsman-double")
    password_file = root / "password"
    password_file.write_text(double_password + "\n")
    password_file.chmod(0o600)
    state_path = root / "state.json"
    write_state(state_path, default_state())
    log_path = root / "double.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "smbtests.lab.wsman",
                "--bind",
                "127.0.0.1",
                "--http-port",
                "0",
                "--https-port",
                "0",
                "--state",
                str(state_path),
                "--cert-dir",
                str(root / "certs"),
                "--user",
                USER,
                "--password-file",
                str(password_file),
                "--log-level",
                "DEBUG",
            ],
            stdout=subprocess.PIPE,
            stderr=log,
        )
    try:
        ready = _wait_ready(process, log_path)
        http, https = ready["http"], ready["https"]
        assert isinstance(http, list) and isinstance(https, list)
        yield Double(
            process=process,
            http_port=int(http[1]),
            https_port=int(https[1]),
            ca=Path(str(ready["ca"])),
            state_path=state_path,
            log_path=log_path,
            password=double_password,
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


@pytest.fixture
def compliant(double: Double) -> Iterator[Double]:
    """The double with the compliant state, restored after the test whatever it changed."""
    double.set_state(default_state())
    yield double
    double.set_state(default_state())
