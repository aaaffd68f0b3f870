"""The environment file as validated, frozen models: where the policy is checked from."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Literal, Protocol

from pydantic import Field, field_validator

from smbtests.config.policy import Hardening
from smbtests.config.types import Address, ConfigModel, Name, Network, Port

ENV_VAR_PATTERN = r"^[A-Z_][A-Z0-9_]*$"
WIDEST_SCOPE = {4: 8, 6: 32}  # prefix length: wider than this is not a network anyone owns


class _Addressed(Protocol):
    @property
    def address(self) -> Address: ...
    @property
    def addresses(self) -> tuple[Address, ...]: ...


class _AllAddresses:
    """For a listener a probe connects to on its address and, in the probe's other IP
    versions, on its other `addresses`."""

    @property
    def all_addresses(self: _Addressed) -> tuple[Address, ...]:
        return (self.address, *self.addresses)


class Control(_AllAddresses, ConfigModel):
    """A service the probe is meant to reach across the same boundary as its SMB tests."""

    address: Address
    port: Port
    description: str = ""
    # the same control on its other addresses (its IPv6 one): a probe proves it can connect in
    # every family (and from every source address) it tests, or those checks error
    addresses: tuple[Address, ...] = ()
    # the same control also completes a QUIC handshake (ALPN smb) on this UDP port: the proof
    # a probe's "no QUIC answer" is the network's (`quic` checks)
    quic_port: Port | None = None


class QuicVerification(ConfigModel):
    """How `quic` checks treat the servers' certificates: verified against `ca_bundle` for the
    name in `server_names` (default: the address dialled), or recorded as unverified."""

    ca_bundle: Path | None = None
    server_names: dict[str, str] = {}


class SmbPortControl(_AllAddresses, ConfigModel):
    """A listener on the SMB ports inside the probe's own segment (no router between them): the
    proof that the probe's own host lets its SYNs to those ports out. A routed control on
    another port cannot show that: a drop in the probe's own output chain for 445 only looks
    exactly like the network's at the socket."""

    address: Address
    ports: tuple[Port, ...] = Field(min_length=1)
    description: str = ""
    # its address in the probe's other IP versions: one per version the probe sends from
    addresses: tuple[Address, ...] = ()


class Credential(ConfigModel):
    username: str = Field(min_length=1)
    domain: str = ""
    password_env: Annotated[str, Field(pattern=ENV_VAR_PATTERN)]


class WinRMOptions(ConfigModel):
    """How the runner talks WinRM to a host, written flat in a winrm probe entry and in a Windows
    host's own `winrm` connection alike."""

    winrm_auth: Literal["ntlm", "kerberos", "credssp", "basic"] = "ntlm"
    winrm_scheme: Literal["https", "http"] = "https"
    allow_basic: bool = False
    ca_bundle: Path | None = None
    verify_tls: bool = True
    # Test-NetConnection instead of TcpClient: slower (no timeout; ~21 s per filtered port on
    # Windows) and cannot tell refused from filtered, but it is the command auditors know
    winrm_test_netconnection: bool = False


class ProbeConfig(WinRMOptions):
    segment: str
    transport: Literal["local", "ssh", "winrm"]
    address: str | None = None
    source_address: Address | None = None
    # further addresses the probe can send from (its IPv6 address, a second IPv4 address in its
    # segment): the first of each family tests that family; any others test again from there,
    # e.g. a host in the segment that a one-host exception does not name
    sources: tuple[Address, ...] = ()
    port: Port | None = None
    user: str | None = None
    key: Path | None = None
    known_hosts: Path | None = None
    python: str = "python3"
    credential: Credential | None = None
    control: Control | None = None
    smb_port_control: SmbPortControl | None = None
    rings: tuple[Name, ...] = ()

    @property
    def own_address(self) -> Address:
        """The address this probe's connections come from (checked at load)."""
        if self.source_address is not None:
            return self.source_address
        return ipaddress.ip_address(str(self.address))

    @property
    def all_sources(self) -> tuple[Address, ...]:
        return (self.own_address, *self.sources)

    def default_source(self, version: int) -> Address | None:
        """The address the probe's connections of this IP version come from by default."""
        return next((a for a in self.all_sources if a.version == version), None)


class Timing(ConfigModel):
    connect_timeout: float = Field(default=2.0, gt=0, le=30)
    concurrency: int = Field(default=128, ge=1, le=4096)
    # new connects a probe starts per second: sweeps touch every address, so they stay polite
    connects_per_second: float = Field(default=2000.0, gt=0, le=100_000)
    probe_timeout: float = Field(default=60.0, gt=0, le=900)
    smb_timeout: float = Field(default=5.0, gt=0, le=60)


class SmbVantage(ConfigModel):
    credential: Credential | None = None
    # SMB host -> the probe its hardening checks talk SMB from (some servers answer differently
    # per interface); a host not named here is checked from the runner
    host_vantage: dict[str, Name] = {}


class EnvDiscovery(ConfigModel):
    probe: str | None = None


class WinRMConnection(WinRMOptions):
    """How to reach a Windows host over WinRM when it is not also a vantage (a probe)."""

    address: str
    port: Port | None = None
    credential: Credential


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
    # laid over the policy's baseline for this host (e.g. a Windows dialect floor above the
    # SMB hosts' one); a field left out keeps the policy's value
    hardening: Hardening = Hardening()


class DenyLog(ConfigModel):
    """Where one firewall writes the packets it denies (seed step 6: review the denials).

    `netfilter`: kernel / ulogd2 log lines (`SRC= DST= DPT=`) with an RFC 3339 time first;
    `pfirewall`: the Windows Firewall log (columns from its `#Fields:` line). Read on the
    runner (`path`), over the ssh probe `via` (`path` on that host), or, for `pfirewall`, over
    WinRM from the winrm probe or Windows host `via`, where the profiles' `LogFileName` names
    the file and `path` is left out.
    """

    format: Literal["netfilter", "pfirewall"]
    path: str | None = Field(default=None, min_length=1)
    via: str | None = None
    # the zone of times written without an offset (pfirewall.log writes the host's local time)
    timezone: str = "UTC"
    description: str = ""


class Environment(ConfigModel):
    name: Name
    description: str = ""
    policy: Path
    policy_overlay: Path | None = None
    scope: tuple[Network, ...] = Field(min_length=1)
    timing: Timing = Timing()
    smb: SmbVantage = SmbVantage()
    probes: dict[Name, ProbeConfig] = Field(min_length=1)
    discovery: EnvDiscovery = EnvDiscovery()
    host_rings: dict[str, tuple[Name, ...]] = {}
    windows_hosts: dict[Name, WindowsHost] = {}
    deny_logs: dict[Name, DenyLog] = {}
    quic: QuicVerification = QuicVerification()

    @field_validator("scope")
    @classmethod
    def _scope_not_everything(cls, value: tuple[Network, ...]) -> tuple[Network, ...]:
        for network in value:
            widest = WIDEST_SCOPE[network.version]
            if network.prefixlen < widest:
                raise ValueError(
                    f"scope {network} is wider than a /{widest}; name the networks you own"
                )
        return value
