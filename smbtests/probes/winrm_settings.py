"""Where and how to reach one Windows host over WinRM: checked when made, safe to print."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from smbtests.errors import PolicyError

Scheme = Literal["https", "http"]
Auth = Literal["ntlm", "kerberos", "credssp", "basic"]


@dataclass(frozen=True)
class WinRMSettings:
    """Where and how to reach one Windows host. Holds no secret, so it is safe to print."""

    address: str
    username: str
    port: int | None = None  # 5986 for https, 5985 for http
    scheme: Scheme = "https"
    transport: Auth = "ntlm"
    allow_basic: bool = False
    ca_bundle: Path | None = None  # None: the system's trust store
    verify_tls: bool = True
    test_netconnection: bool = False
    operation_timeout: int = 20  # seconds the host may hold one Receive open
    read_timeout: int = 30  # seconds for one HTTP exchange, connect included
    command_timeout: float = 120.0  # seconds one command may run, on top of its connects

    def __post_init__(self) -> None:
        if self.transport == "basic" and not self.allow_basic:
            raise PolicyError(
                f"winrm {self.address}: transport basic sends the password with every request; "
                "set allow_basic: true to accept that (labs only) or use ntlm/kerberos"
            )
        if self.transport == "basic" and self.scheme != "https":
            raise PolicyError(
                f"winrm {self.address}: transport basic over http would send the password in "
                "clear; use scheme https"
            )
        if not 1 <= self.operation_timeout < self.read_timeout:
            raise PolicyError(
                f"winrm {self.address}: operation_timeout ({self.operation_timeout}) must be at "
                f"least 1 and below read_timeout ({self.read_timeout})"
            )
        if self.command_timeout <= 0:
            raise PolicyError(f"winrm {self.address}: command_timeout must be positive")

    @property
    def endpoint(self) -> str:
        port = self.port or (5986 if self.scheme == "https" else 5985)
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{self.scheme}://{host}:{port}/wsman"
