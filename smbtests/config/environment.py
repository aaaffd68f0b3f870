"""The environment file as validated, frozen models: where the policy is checked from."""

from __future__ import annotations

import ipaddress
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator

from smbtests.config.types import ConfigModel, Name, Port

ENV_VAR_PATTERN = r"^[A-Z_][A-Z0-9_]*$"


class Control(ConfigModel):
    """A service the probe is meant to reach across the same boundary as its 445 tests."""

    address: IPv4Address
    port: Port
    description: str = ""


class Credential(ConfigModel):
    username: str = Field(min_length=1)
    domain: str = ""
    password_env: Annotated[str, Field(pattern=ENV_VAR_PATTERN)]


class ProbeConfig(ConfigModel):
    segment: str
    transport: Literal["local", "ssh", "winrm"]
    address: str | None = None
    source_address: IPv4Address | None = None
    port: Port | None = None
    user: str | None = None
    key: Path | None = None
    known_hosts: Path | None = None
    python: str = "python3"
    credential: Credential | None = None
    winrm_auth: Literal["ntlm", "kerberos", "credssp", "basic"] = "ntlm"
    winrm_scheme: Literal["https", "http"] = "https"
    allow_basic: bool = False
    ca_bundle: Path | None = None
    verify_tls: bool = True
    # Test-NetConnection instead of TcpClient: slower (no timeout; ~21 s per filtered port on
    # Windows) and cannot tell refused from filtered, but it is the command auditors know
    winrm_test_netconnection: bool = False
    control: Control | None = None
    rings: tuple[Name, ...] = ()

    @property
    def own_address(self) -> IPv4Address:
        """The address this probe's connections come from (checked at load)."""
        if self.source_address is not None:
            return self.source_address
        return ipaddress.IPv4Address(self.address)


class Timing(ConfigModel):
    connect_timeout: float = Field(default=2.0, gt=0, le=30)
    concurrency: int = Field(default=128, ge=1, le=4096)
    probe_timeout: float = Field(default=60.0, gt=0, le=900)
    smb_timeout: float = Field(default=5.0, gt=0, le=60)


class SmbVantage(ConfigModel):
    credential: Credential | None = None


class EnvDiscovery(ConfigModel):
    probe: str | None = None


class WinRMConnection(ConfigModel):
    """How to reach a Windows host over WinRM when it is not also a vantage (a probe)."""

    address: str
    port: Port | None = None
    credential: Credential
    winrm_auth: Literal["ntlm", "kerberos", "credssp", "basic"] = "ntlm"
    winrm_scheme: Literal["https", "http"] = "https"
    allow_basic: bool = False
    ca_bundle: Path | None = None
    verify_tls: bool = True
    winrm_test_netconnection: bool = False


class WindowsHost(ConfigModel):
    """A Windows host whose own configuration is read over WinRM: through a winrm probe entry
    (`probe`) or its own connection (`winrm`), exactly one of them.

    `server` hosts may allow 445 only from named addresses; `endpoint` hosts (laptops) may not
    allow inbound 445 in the Public or Private profile at all (seed step 2, remote users).
    `smb_host` names the policy host it is, so the wire and its configuration can be compared.
    """

    probe: str | None = None
    winrm: WinRMConnection | None = None
    role: Literal["server", "endpoint"]
    smb_host: str | None = None
    remote_access: bool = False


class DenyLog(ConfigModel):
    """Where one firewall writes the packets it denies (seed step 6: review the denials).

    `netfilter`: kernel / ulogd2 log lines (`SRC= DST= DPT=`) with an RFC 3339 time first;
    `pfirewall`: the Windows Firewall log (columns from its `#Fields:` line). Read on the
    runner, or over the ssh probe `via`.
    """

    format: Literal["netfilter", "pfirewall"]
    path: str = Field(min_length=1)
    via: str | None = None
    # the zone of times written without an offset (pfirewall.log writes the host's local time)
    timezone: str = "UTC"
    description: str = ""


class Environment(ConfigModel):
    name: Name
    description: str = ""
    policy: Path
    policy_overlay: Path | None = None
    scope: tuple[IPv4Network, ...] = Field(min_length=1)
    timing: Timing = Timing()
    smb: SmbVantage = SmbVantage()
    probes: dict[Name, ProbeConfig] = Field(min_length=1)
    discovery: EnvDiscovery = EnvDiscovery()
    host_rings: dict[str, tuple[Name, ...]] = {}
    windows_hosts: dict[Name, WindowsHost] = {}
    deny_logs: dict[Name, DenyLog] = {}

    @field_validator("scope")
    @classmethod
    def _scope_not_everything(cls, value: tuple[IPv4Network, ...]) -> tuple[IPv4Network, ...]:
        for network in value:
            if network.prefixlen < 8:
                raise ValueError(f"scope {network} is wider than a /8; name the networks you own")
        return value
