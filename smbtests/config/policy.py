"""The policy file as validated, frozen models: what must hold (seed guide steps 1-7)."""

from __future__ import annotations

import ipaddress
from datetime import date, timedelta
from typing import Annotated, Literal

from pydantic import Field

from smbtests.config.types import Address, ConfigModel, Name, Network, Port

DIALECTS: tuple[str, ...] = ("2.0.2", "2.1", "3.0", "3.0.2", "3.1.1")
Dialect = Literal["2.0.2", "2.1", "3.0", "3.0.2", "3.1.1"]
SegmentKind = Literal["mgmt", "trusted", "untrusted", "servers", "perimeter"]
HostRole = Literal["file", "dc", "print", "admin"]
# TCP 445 (SMB direct) and 139 (NetBIOS session service): blocking one and not the other
# leaves SMB open, so both are tested unless the policy says otherwise.
DEFAULT_SMB_PORTS: tuple[int, ...] = (445, 139)


class Segment(ConfigModel):
    kind: SegmentKind
    cidrs: tuple[Network, ...] = Field(min_length=1)
    description: str = ""


class Hardening(ConfigModel):
    """Hardening baseline (seed step 4). Every field optional so hosts/roles can override parts."""

    smb1: Literal["refused", "allowed"] | None = None
    signing: Literal["required", "optional"] | None = None
    min_dialect: Dialect | None = None
    encryption: Literal["required", "optional"] | None = None
    anonymous: Literal["refused", "allowed"] | None = None
    guest: Literal["refused", "allowed"] | None = None
    # Windows SMB clients (Server 2025 / 11 24H2): `Set-SmbClientConfiguration -BlockNTLM`
    block_ntlm: bool | None = None

    def below_floor(self) -> tuple[str, ...]:
        """The SMB2/3 dialects under `min_dialect`, oldest first (none at the lowest)."""
        return DIALECTS[: DIALECTS.index(self.min_dialect or DIALECTS[0])]

    def over(self, base: Hardening) -> Hardening:
        """This override laid over `base`: fields set here win."""
        return base.model_copy(update=self.model_dump(exclude_none=True))


BASELINE_DEFAULTS = Hardening(
    smb1="refused",
    signing="required",
    min_dialect="2.0.2",
    encryption="optional",
    anonymous="refused",
    guest="refused",
)


class SmbHost(ConfigModel):
    address: Address
    # every further address the host answers on (its IPv6 address, a second interface): each
    # is tested like the first, so an interface the firewall forgot cannot hide
    addresses: tuple[Address, ...] = ()
    role: HostRole
    shares: tuple[str, ...] = ()
    description: str = ""
    hardening: Hardening = Hardening()

    @property
    def all_addresses(self) -> tuple[Address, ...]:
        return (self.address, *self.addresses)


class ApprovedPath(ConfigModel):
    from_: tuple[str, ...] = Field(alias="from", min_length=1)
    to: tuple[str, ...] = Field(min_length=1)
    ports: tuple[Port, ...] = (445,)
    reason: str = Field(min_length=3)


class OutboundTarget(ConfigModel):
    address: Address
    port: Port = 445
    description: str = ""


class QuicAccess(ConfigModel):
    """SMB over QUIC for remote users: the SMB hosts they reach on UDP `port` from perimeter
    segments. Every other host from there, and every host from an untrusted segment, must not
    complete a QUIC handshake with ALPN smb (`quic` checks)."""

    hosts: tuple[Name, ...] = ()
    port: Port = 443


class Perimeter(ConfigModel):
    outbound_targets: dict[Name, OutboundTarget] = {}
    quic: QuicAccess | None = None
    # what the internet sees of the organisation (its edge firewall's or NAT's addresses): swept
    # from perimeter probes, so a port-forward to an inside SMB server shows up
    public_addresses: tuple[Address, ...] = ()


class Discovery(ConfigModel):
    ranges: tuple[Network, ...] = ()
    ports: tuple[Port, ...] = (445,)


class Sweep(ConfigModel):
    """Every probe connects on every SMB port to every address of every segment (IPv4), to the
    declared addresses of every IPv6 segment plus `ranges` (a /64 cannot be swept), and, from
    perimeter probes, to the public addresses; any listener not on an approved path fails."""

    enabled: bool = True
    # extra ranges to sweep: IPv6 sub-ranges where hosts live, internet samples for outbound
    ranges: tuple[Network, ...] = ()
    # a range larger than this is refused unless raised here: sweeps stay polite and bounded
    max_addresses: int = Field(default=4096, ge=1, le=1 << 20)


class PolicyException(ConfigModel):
    id: Annotated[str, Field(pattern=r"^EXC-\d{4}$")]
    from_: str = Field(alias="from")
    to: str
    port: Port = 445
    owner: str = Field(min_length=1)
    approver: str = Field(min_length=1)
    reason: str = Field(min_length=3)
    ticket: str = Field(min_length=1)
    created: date
    expires: date
    review_every_days: int = Field(default=30, ge=1, le=366)
    last_reviewed: date

    @property
    def review_due(self) -> date:
        return self.last_reviewed + timedelta(days=self.review_every_days)

    def governance_problem(self, today: date) -> tuple[str, str] | None:
        """(status, reason) when the paperwork alone already fails the exception (step 7)."""
        if self.approver.strip().lower() == self.owner.strip().lower():
            return (
                "self-approved",
                f"approved by its own owner {self.owner}; an exception needs a second person",
            )
        if self.expires < today:
            return "expired", f"EXPIRED on {self.expires} (owner {self.owner}); remove or renew"
        if self.review_due < today:
            return (
                "overdue",
                f"review OVERDUE since {self.review_due} (every {self.review_every_days} days; "
                f"owner {self.owner})",
            )
        return None


class Deployment(ConfigModel):
    """Seed step 5: what the host firewall of every Windows host must look like."""

    firewall_profiles: tuple[Literal["Domain", "Private", "Public"], ...] = (
        "Domain",
        "Private",
        "Public",
    )
    firewall_log_min_kb: int = Field(default=16384, ge=1)


class Policy(ConfigModel):
    version: Literal[1] = 1
    name: str
    segments: dict[Name, Segment] = Field(min_length=1)
    smb_hosts: dict[Name, SmbHost] = Field(min_length=1)
    smb_ports: tuple[Port, ...] = Field(default=DEFAULT_SMB_PORTS, min_length=1)
    approved_paths: tuple[ApprovedPath, ...] = ()
    hardening: Hardening = BASELINE_DEFAULTS
    hardening_by_role: dict[HostRole, Hardening] = {}
    perimeter: Perimeter = Perimeter()
    discovery: Discovery = Discovery()
    sweep: Sweep = Sweep()
    deployment: Deployment = Deployment()
    exceptions: tuple[PolicyException, ...] = ()

    def baseline_for(self, host_name: str) -> Hardening:
        host = self.smb_hosts[host_name]
        baseline = self.hardening.over(BASELINE_DEFAULTS)
        role_override = self.hardening_by_role.get(host.role)
        if role_override is not None:
            baseline = role_override.over(baseline)
        return host.hardening.over(baseline)

    def segment_of(self, address: Address) -> str | None:
        for name, segment in sorted(self.segments.items()):
            if any(address in cidr for cidr in segment.cidrs):
                return name
        return None

    def networks_of(self, reference: str) -> tuple[Network, ...]:
        """A segment name or a CIDR, as networks (references are checked at load)."""
        if reference in self.segments:
            return self.segments[reference].cidrs
        return (ipaddress.ip_network(reference, strict=False),)


# ---------------------------------------------------------------- environment
